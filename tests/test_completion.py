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


def complete(words: str, data: Path, **env: str) -> list[str]:
    """What bash offers after `words` (the last word is the one being completed)."""
    env = {**os.environ, "_CCM_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
           "CCM_DATA_DIR": str(data), **env}  # fmt: skip
    out = subprocess.run([CCM], capture_output=True, text=True, env=env, timeout=60)
    return out.stdout.split()


HEADER = "id,patient_id,date,minutes,role,staff,activity,start,end,note,logged_at,voids\n"


@pytest.fixture
def logged(data: Path) -> Path:
    """October and November logs; in November one entry is voided and one is not."""
    (data / "logs" / "2026-10.csv").write_text(
        HEADER + "E1001,P0001,2026-10-02,20,clinical_staff,rn.a,,,,,2026-10-02T09:00:00-05:00,\n"
    )
    (data / "logs" / "2026-11.csv").write_text(
        HEADER
        + "E1101,P0001,2026-11-02,20,clinical_staff,rn.a,,,,,2026-11-02T09:00:00-06:00,\n"
        + "E1102,P0002,2026-11-03,15,clinical_staff,rn.a,,,,,2026-11-03T09:00:00-06:00,\n"
        + "E1103,P0002,2026-11-04,,clinical_staff,rn.a,,,,wrong,2026-11-04T09:00:00-06:00,E1102\n"
    )
    (data / "logs" / "notes.csv").write_text("not a month")
    return data


@pytest.mark.parametrize(("words", "offered"), [
    ("ccm log P0001 5 --activity ca", ["care_coordination", "care_plan"]),
    ("ccm start P0001 --activity med", ["medication_management"]),
    ("ccm log P0001 5 --service b", ["bhi"]),
    ("ccm start P0001 --service r", ["rpm", "rtm"]),
    ("ccm log P0001 5 --role p", ["practitioner"]),
    ("ccm void E1 --role c", ["clinical_staff"]),
    ("ccm check --status b", ["billable", "blocked", "below_threshold"]),
])  # fmt: skip
def test_options_complete_to_their_allowed_values(data, words, offered):
    assert complete(words, data) == offered


@pytest.mark.parametrize("command", ["check", "worklist", "entries", "export", "report",
                                     "compare", "audit P0001", "explain P0001"])  # fmt: skip
def test_month_completes_to_the_months_with_logs(logged, command):
    assert complete(f"ccm {command} --month 2026-", logged) == ["2026-11", "2026-10"]
    assert complete(f"ccm {command} --month 2026-1", logged) == ["2026-11", "2026-10"]


def test_void_completes_the_current_months_entries_not_yet_voided(logged):
    now = {"CCM_NOW": "2026-11-20T10:00:00-06:00"}
    assert complete("ccm void E", logged, **now) == ["E1101"]
    assert complete("ccm void E10", logged, **now) == []  # October is not the current month
    assert complete("ccm void E", logged, CCM_NOW="2026-12-02T10:00:00-06:00") == []


def test_value_completion_does_not_load_pydantic(logged):
    code = ("import sys; from types import SimpleNamespace as N;"
            "from ccmcli.cli import completion as c;"
            f"ctx = N(params={{'data': {str(logged)!r}}}, parent=None);"
            "print(c.log_months(ctx, ''), c.entry_ids(ctx, ''), c.activities('c'), c.roles(''));"
            "print('pydantic' in sys.modules, 'yaml' in sys.modules)")  # fmt: skip
    env = {**os.environ, "CCM_NOW": "2026-11-20T10:00:00-06:00"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)  # fmt: skip
    assert out.stdout.splitlines()[1] == "False False"
    assert "['2026-11', '2026-10'] ['E1101']" in out.stdout.splitlines()[0]
