"""Shared fixtures: an isolated environment and temporary data directories."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccmcli.cli import app
from helpers import example_copy

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def icd_cache(tmp_path_factory) -> Path:
    """One ICD-10-CM index for the whole session (building it takes a few seconds)."""
    return tmp_path_factory.mktemp("ccm-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path, tmp_path_factory, icd_cache):
    """No colour, a fixed width, no CCM_* from the developer's shell, a private cache, and a
    home of its own: nothing a test runs may write to the real home or its cache folder."""
    for var in ("CCM_DATA_DIR", "CCM_STAFF", "CCM_ROLE", "CCM_DEBUG", "CCM_NO_CACHE"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("CCM_CACHE_DIR", str(icd_cache))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Run `ccm ARGS...`; returns the Result (exit_code, stdout, stderr kept apart)."""

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def forked_worker(monkeypatch) -> list[int]:
    """One forked worker for every parse_many, whatever the number of items; the list fills
    with a 1 for each fork, so a test can tell that work was shared out."""
    import os

    from ccmcli import workers

    forks: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(workers, "worker_count", lambda todo, least=None: 1)
    monkeypatch.setattr(os, "fork", fork)
    return forks


@pytest.fixture
def base():
    """A folder every user may enter, for tests that run ccm as other users (pytest's own
    temporary folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="ccm-users-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def clinic(tmp_path) -> Path:
    """A private copy of examples/clinic, whatever a person's commands wrote there."""
    return example_copy("clinic", tmp_path / "clinic")


@pytest.fixture
def broken(tmp_path) -> Path:
    return example_copy("broken", tmp_path / "broken")


@pytest.fixture
def datadir(tmp_path, cli) -> Path:
    """A new, empty data directory made by `ccm init`."""
    root = tmp_path / "data"
    result = cli("init", root, "--practice", "Test Practice", "--timezone", "America/Chicago",
                 "--npi", "1234567893")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return root


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden", action="store_true", default=False,
        help="Rewrite tests/golden/ from the current renderings (test_tables.py).",
    )  # fmt: skip
