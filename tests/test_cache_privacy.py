"""The caches hold patient data, so they never leave the data directory (issue 11, item 20).

They live in `.ccm-cache/<user>/` inside it (0700, files 0600), ignored by git and by
`validate`; `ccm cache clear` removes them. Only the ICD-10-CM code index, which holds no patient
data, stays in the user's cache folder.
"""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ccmcli.store import cache

NAME = b"Margaret Ellison"  # a patient of examples/clinic
OCTOBER = ("--month", "2026-10")


@pytest.fixture(autouse=True)
def trusting(monkeypatch):
    monkeypatch.setattr(cache, "RACY_NS", 0)  # files copied a moment ago are still cached


def files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def run_everything(cli, clinic: Path) -> None:
    for args in (("check", *OCTOBER), ("validate",), ("patient", "list"), ("entries", *OCTOBER),
                 ("explain", "P0001", *OCTOBER), ("patient", "show", "P0001")):  # fmt: skip
        assert cli(*args, "-d", clinic).exit_code in (0, 1)


def test_no_patient_data_reaches_the_user_cache_folder_or_home(cli, clinic):
    run_everything(cli, clinic)
    assert files_holding(clinic / ".ccm-cache", NAME)  # the cache is used, inside
    for outside in (Path(os.environ["CCM_CACHE_DIR"]), Path(os.environ["HOME"])):
        assert files_holding(outside, NAME) == [], outside


def test_init_lists_the_caches_in_gitignore_and_git_ignores_them(cli, tmp_path):
    root = tmp_path / "practice"
    r = cli("init", root, "--practice", "P", "--timezone", "America/Chicago", "--npi", "1234567893")
    assert r.exit_code == 0, r.stderr
    assert ".ccm-cache/" in (root / ".gitignore").read_text().splitlines()
    shutil.copytree(Path(__file__).parent.parent / "examples/clinic/patients", root / "patients",
                    dirs_exist_ok=True)  # fmt: skip
    assert cli("patient", "list", "-d", root).exit_code == 0
    assert list((root / ".ccm-cache").rglob("*.cache"))
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "-uall"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert ".ccm-cache" not in status and "patients/" in status


def test_init_adds_the_line_to_an_existing_gitignore_once(cli, tmp_path):
    root = tmp_path / "practice"
    root.mkdir()
    (root / ".gitignore").write_text("*.bak")
    r = cli("init", root, "--practice", "P", "--timezone", "America/Chicago", "--npi", "1234567893")
    assert r.exit_code == 0, r.stderr
    assert (root / ".gitignore").read_text() == "*.bak\n.ccm-cache/\n"


def test_the_cache_folder_ignores_itself_without_a_gitignore_of_the_practice(cli, clinic):
    assert not (clinic / ".gitignore").exists()  # a data directory made before ccm init wrote one
    run_everything(cli, clinic)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(clinic)], check=True)
        status = subprocess.run(["git", "-C", str(clinic), "status", "--porcelain", "-uall"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert ".ccm-cache" not in status and "ccm.yaml" in status


def test_cache_clear_removes_the_caches_and_older_ones_outside(cli, clinic):
    run_everything(cli, clinic)
    legacy = Path(os.environ["CCM_CACHE_DIR"]) / "records"
    legacy.mkdir(parents=True, exist_ok=True)
    old = legacy / f"{hashlib.sha256(os.fsencode(clinic.resolve())).hexdigest()[:32]}.cache"
    old.write_bytes(NAME)  # named as earlier versions named it: a hash of the path
    other = legacy / ("0" * 32 + ".cache")  # another data directory's: not ours to remove
    other.write_bytes(b"x")
    r = cli("cache", "clear", "-d", clinic)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith("removed ")
    assert not (clinic / ".ccm-cache").exists()
    assert not old.exists() and other.exists()
    expected = cli("check", "-d", clinic, *OCTOBER, "--format", "json").stdout
    assert list((clinic / ".ccm-cache").rglob("*.cache"))
    assert cli("check", "-d", clinic, *OCTOBER, "--format", "json").stdout == expected


def test_validate_does_not_read_the_cache_folder(cli, clinic):
    run_everything(cli, clinic)
    (clinic / ".ccm-cache" / cache.user_name() / "stray.yaml").write_text("not: [valid")
    r = cli("validate", "-d", clinic, "--no-code-check")
    assert r.exit_code == 0 and r.stdout == ""


def test_a_cache_folder_that_is_a_symlink_or_open_to_others_is_not_written(cli, clinic, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (clinic / ".ccm-cache").mkdir(mode=0o700)
    (clinic / ".ccm-cache" / cache.user_name()).symlink_to(elsewhere)
    run_everything(cli, clinic)
    assert list(elsewhere.iterdir()) == []
    (clinic / ".ccm-cache" / cache.user_name()).unlink()
    (clinic / ".ccm-cache" / cache.user_name()).mkdir(mode=0o755)
    os.chmod(clinic / ".ccm-cache" / cache.user_name(), 0o755)
    run_everything(cli, clinic)
    assert list((clinic / ".ccm-cache" / cache.user_name()).iterdir()) == []
