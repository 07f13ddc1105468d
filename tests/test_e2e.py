"""A few runs of the installed `ccm` as a separate process: the entry point, real stdout/stderr,
exit codes and file modes as a cron job or a shell would see them."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from helpers import CCM, example_copy


def run(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CCM, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


def test_version_and_module_entry_point():
    assert run("--version").stdout.startswith("ccm ")
    module = subprocess.run([sys.executable, "-m", "ccmcli", "--version"], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert module.returncode == 0
    assert module.stdout == run("--version").stdout


def test_validate_the_examples(tmp_path):
    for name in ("clinic", "broken"):  # copies: a command may write its caches inside
        example_copy(name, tmp_path / name)
    clean = run("-d", tmp_path / "clinic", "validate")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    broken = run("validate", "-d", tmp_path / "broken")
    assert broken.returncode == 1
    assert len(broken.stdout.splitlines()) == 11
    assert all(": error: " in line for line in broken.stdout.splitlines())


def test_set_up_a_practice_from_nothing(tmp_path):
    root = tmp_path / "practice"
    init = run("init", root, "--practice", "Test", "--timezone", "America/Chicago", "--npi",
               "1234567893")  # fmt: skip
    assert init.returncode == 0, init.stderr
    add = run("patient", "add", "P0001", "--name", "Jane Doe", "--birth-date", "1948-03-02",
              "--condition", "E11.9", "--condition", "I10", cwd=root / "logs")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert stat.S_IMODE((root / "patients" / "P0001.yaml").stat().st_mode) == 0o600
    listed = run("patient", "list", "--format", "json", cwd=root)
    assert [p["patient_id"] for p in json.loads(listed.stdout)["patients"]] == ["P0001"]
    again = run("patient", "add", "P0001", "--name", "X", "--birth-date", "1950-01-01", cwd=root)
    assert again.returncode == 1
    assert again.stderr.startswith("ccm: ") and len(again.stderr.splitlines()) == 1
    assert run("validate", cwd=root).returncode == 0


def test_no_data_directory_from_cron(tmp_path):
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "ccm init" in result.stderr
    assert "Traceback" not in result.stderr


def test_piped_output_has_no_colour_codes(tmp_path):
    example_copy("clinic", tmp_path / "c")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run([CCM, "-d", tmp_path / "c", "patient", "list"], capture_output=True,
                            text=True, env=env, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout
    assert "P0013" in result.stdout
