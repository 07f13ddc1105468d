"""Shell completion: Typer's scripts for bash, zsh and fish; patient ids from the data directory."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from ccmcli.cli.completion import patient_ids
from helpers import CCM, ELIGIBLE_PATIENT


@pytest.fixture
def data(datadir: Path) -> Path:
    for pid in ("P0001", "P0002", "Q7"):
        (datadir / "patients" / f"{pid}.yaml").write_text(ELIGIBLE_PATIENT.format(pid=pid))
    (datadir / "patients" / "notes.txt").write_text("not a patient")
    (datadir / "patients" / "bad id.yaml").write_text("not a valid id")
    return datadir


def ctx(params: dict, parent=None):
    return SimpleNamespace(params=params, parent=parent)


def test_patient_ids_from_the_command_s_data_dir(data):
    assert patient_ids(ctx({"data": str(data)}), "") == ["P0001", "P0002", "Q7"]
    assert patient_ids(ctx({"data": str(data)}), "P") == ["P0001", "P0002"]


def test_patient_ids_from_the_root_option_or_environment(data, monkeypatch):
    root = ctx({"data_dir": str(data)})
    assert patient_ids(ctx({"data": None}, root), "Q") == ["Q7"]
    monkeypatch.setenv("CCM_DATA_DIR", str(data))
    assert patient_ids(ctx({}), "P0002") == ["P0002"]


def test_no_data_directory_completes_nothing(tmp_path):
    assert patient_ids(ctx({"data": str(tmp_path / "nowhere")}), "") == []
    assert patient_ids(ctx({}), "") == []  # the test's working folder holds no ccm.yaml


def test_completion_does_not_load_pydantic(data):
    code = ("import sys; from types import SimpleNamespace as N;"
            "from ccmcli.cli.completion import patient_ids;"
            f"print(patient_ids(N(params={{'data': {str(data)!r}}}, parent=None), ''));"
            "print('pydantic' in sys.modules, 'yaml' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["['P0001', 'P0002', 'Q7']", "False False"]


# Typer picks the shell from the process tree; its own switch makes it take the shell's name.
NAMED_SHELL = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
SCRIPT_MARK = {"bash": "complete -o default -F _ccm_completion ccm", "zsh": "#compdef ccm",
               "fish": "complete --command ccm"}  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script(shell):
    env = {**os.environ, **NAMED_SHELL}
    out = subprocess.run([CCM, "--show-completion", shell], capture_output=True, text=True,
                         env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert SCRIPT_MARK[shell] in out.stdout and "_CCM_COMPLETE=complete_" in out.stdout


def test_show_completion_bash_prints_a_script_as_typed():
    out = subprocess.run([CCM, "--show-completion", "bash"], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0 and "_CCM_COMPLETE" in out.stdout


@pytest.mark.parametrize(("shell", "installed"), [
    ("bash", ".bash_completions/ccm.sh"), ("zsh", ".zfunc/_ccm"),
    ("fish", ".config/fish/completions/ccm.fish"),
])  # fmt: skip
def test_install_completion_for_each_shell(tmp_path, shell, installed):
    env = {**os.environ, **NAMED_SHELL, "HOME": str(tmp_path)}
    out = subprocess.run([CCM, "--install-completion", shell], capture_output=True, text=True,
                         env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "_CCM_COMPLETE" in (tmp_path / installed).read_text()


SHELL_ENV = {
    "bash": lambda words: {"_CCM_COMPLETE": "complete_bash", "COMP_WORDS": words,
                           "COMP_CWORD": str(len(words.split()) - 1)},
    "zsh": lambda words: {"_CCM_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words},
    "fish": lambda words: {"_CCM_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": words,
                           "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
}  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_completes_patient_ids(data, shell):
    env = {**os.environ, **SHELL_ENV[shell]("ccm log P"), "CCM_DATA_DIR": str(data)}
    out = subprocess.run([CCM], capture_output=True, text=True, env=env, timeout=60)
    assert "P0001" in out.stdout and "P0002" in out.stdout and "Q7" not in out.stdout


@pytest.mark.parametrize(
    "words", ["ccm log P", "ccm start P", "ccm explain P", "ccm patient show P"]
)
def test_the_shell_completes_patient_ids(data, words):
    env = {**os.environ, "_CCM_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1), "CCM_DATA_DIR": str(data)}  # fmt: skip
    out = subprocess.run([CCM], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["P0001", "P0002"]


def test_the_shell_completes_commands(data):
    env = {**os.environ, "_CCM_COMPLETE": "complete_bash", "COMP_WORDS": "ccm sta",
           "COMP_CWORD": "1"}  # fmt: skip
    out = subprocess.run([CCM], capture_output=True, text=True, env=env, timeout=60)
    assert {"start", "status"} <= set(out.stdout.split())
    assert "log" not in out.stdout.split()
