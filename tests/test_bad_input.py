"""Hostile or broken input files: each is a problem with file and line, never a hang, a crash or
a leak of patient data, and every other row still counts (issue: defects found under attack)."""

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from ccmcli.store import timelog
from helpers import CCM, ELIGIBLE_PATIENT

MONTH = "2026-10"


def row(eid: str, minutes: str = "20", note: str = "", pid: str = "P1") -> list[str]:
    return [eid, pid, f"{MONTH}-05", minutes, "clinical_staff", "rn.a", "call", "", "", note,
            f"{MONTH}-05T10:00:00-05:00", ""]  # fmt: skip


def write_log(root: Path, rows: list[list[str]], raw_tail: str = "") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = root / "logs" / f"{MONTH}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(timelog.HEADER_12 + out.getvalue() + raw_tail, encoding="utf-8")
    return path


@pytest.fixture
def data(datadir) -> Path:
    (datadir / "patients" / "P1.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P1"))
    return datadir


def checked(cli, root: Path) -> tuple[dict, object]:
    r = cli("check", "-d", root, "--month", MONTH, "--format", "json")
    assert "unexpected error" not in r.stderr
    return json.loads(r.stdout), r


def statuses(report: dict) -> dict[str, str]:
    return {p["patient_id"]: p["status"] for p in report["patients"]}


def minutes_of(report: dict) -> int:
    return report["patients"][0]["minutes"]["clinical_staff"]


# ---- item 10: a cell over the csv module's limit -------------------------------------------------


def test_a_huge_cell_is_a_problem_on_its_line_and_other_rows_count(cli, data):
    write_log(data, [row("E1"), row("E2", note="x" * 200_000), row("E3", minutes="25")])
    report, r = checked(cli, data)
    assert r.exit_code == 1
    assert minutes_of(report) == 45
    (problem,) = report["problems"]
    assert (problem["file"], problem["line"]) == (f"logs/{MONTH}.csv", 3)
    assert "longer than 131,072 characters" in problem["message"]
    v = cli("validate", "-d", data)
    assert v.exit_code == 1 and "unexpected error" not in v.stderr
    assert f"logs/{MONTH}.csv:3: error: a cell is longer" in v.stdout + v.stderr


def test_a_huge_open_quote_says_which_lines_it_swallowed(cli, data):
    open_quote = 'E2,P1,2026-10-05,20,clinical_staff,rn.a,call,,,"' + "y" * 100_000 + "\n"
    write_log(data, [row("E1")], open_quote + "z" * 100_000 + "\n" + "E3,P1,2026-10-06,25,"
              "clinical_staff,rn.a,call,,,,2026-10-06T10:00:00-05:00,\n")  # fmt: skip
    report, _ = checked(cli, data)
    assert minutes_of(report) == 45
    assert [
        (p["line"], "lines 3-4 are not counted" in p["message"]) for p in report["problems"]
    ] == [(3, True)]


def test_log_appends_after_a_huge_cell(cli, data):
    write_log(
        data, [row("E1")], 'E2,P1,2026-10-05,20,clinical_staff,rn.a,call,,,"' + "y" * 200_000 + "\n"
    )
    r = cli("log", "P1", "10", "-d", data, "--date", "2026-10-07", "--staff", "x")
    assert r.exit_code == 0, r.stderr
    report, _ = checked(cli, data)
    assert minutes_of(report) == 30


# ---- item 18: control characters in log cells ----------------------------------------------------


def test_control_characters_in_a_log_are_problems_and_those_rows_count_for_nothing(cli, data):
    write_log(data, [row("E1"), row("E2", note="a\x00b"), row("E3", note="\x1b[2J"),
                     row("E4", note="x\x7f"), row("E5", minutes="5", note="tab\tand\r\nbreak")])  # fmt: skip
    report, r = checked(cli, data)
    assert r.exit_code == 1
    assert minutes_of(report) == 25  # E1 and E5: a tab and a line break inside a cell are fine
    found = [(p["line"], p["message"]) for p in report["problems"]]
    assert [line for line, _ in found] == [3, 4, 5]
    assert all(m.startswith("note holds a control character") for _, m in found)
    assert "U+0000" in found[0][1] and "U+001B" in found[1][1] and "U+007F" in found[2][1]


def test_control_characters_in_a_13_column_log_are_problems_too(cli, data):
    """The `service` column widens a row to 13 cells; naming the cell must not trip on it."""
    rows = [[*row("E1"), ""], [*row("E2", note="a\x00b"), ""], [*row("E3"), "bhi\x1b"]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (data / "logs").mkdir(exist_ok=True)
    (data / "logs" / f"{MONTH}.csv").write_text(timelog.HEADER + out.getvalue())
    report, r = checked(cli, data)
    assert r.exit_code == 1
    assert minutes_of(report) == 20
    found = [(p["line"], p["message"].split(" (")[0]) for p in report["problems"]]
    assert found == [
        (3, "note holds a control character"),
        (4, "service holds a control character"),
    ]


@pytest.mark.parametrize("option", ["--note", "--activity", "--staff"])
@pytest.mark.parametrize("text", ["a\x00b", "\x1b[2Jx", "a\x85b"])
def test_control_characters_typed_are_refused_and_nothing_is_written(cli, data, option, text):
    args = {"--staff": "x", option: text}
    r = cli(
        "log", "P1", "5", "-d", data, "--date", "today", *[a for kv in args.items() for a in kv]
    )
    assert r.exit_code == 2
    assert option in r.stderr and text not in r.stderr
    assert not (data / "logs").exists() or not any((data / "logs").iterdir())


def test_a_void_reason_with_a_control_character_is_refused(cli, data):
    r = cli("log", "P1", "5", "-d", data, "--staff", "x", "--format", "json")
    eid = json.loads(r.stdout)["entry"]["id"]
    r = cli("void", eid, "-d", data, "--reason", "oops\x00", "--staff", "x")
    assert r.exit_code == 2 and "--reason" in r.stderr


# ---- item 11: pipes, devices and links in logs/ and patients/ -------------------------------------


def run_ccm(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed ccm in a process of its own, so a command that would hang fails the test."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([CCM, *args, "-d", str(root)], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip


@pytest.mark.parametrize("where", ["logs/2026-10.csv", "patients/P9.yaml"])
def test_a_named_pipe_is_a_problem_and_hangs_nothing(data, where):
    if where.startswith("patients"):
        write_log(data, [row("E1")])
    else:
        (data / "logs").mkdir(exist_ok=True)
    os.mkfifo(data / where)
    v = run_ccm(data, "validate")
    assert v.returncode == 1
    assert f"{where}: error: cannot read" in v.stdout + v.stderr
    assert "named pipe" in v.stdout + v.stderr
    c = run_ccm(data, "check", "--month", MONTH, "--format", "json")
    assert c.returncode == 1 and "unexpected" not in c.stderr
    report = json.loads(c.stdout)
    assert [p["file"] for p in report["problems"]] == [where]
    lst = run_ccm(data, "patient", "list")
    assert lst.returncode in (0, 1) and "P1" in lst.stdout


def test_a_named_pipe_for_a_ledger_is_a_problem_and_hangs_nothing(data):
    (data / "exports").mkdir(exist_ok=True)
    os.mkfifo(data / "exports" / f"{MONTH}.csv")
    v = run_ccm(data, "validate")
    assert v.returncode == 1
    assert f"exports/{MONTH}.csv: error: cannot read the ledger" in v.stdout
    assert "named pipe" in v.stdout


def test_log_refuses_to_append_to_a_named_pipe(data):
    (data / "logs").mkdir(exist_ok=True)
    os.mkfifo(data / "logs" / f"{MONTH}.csv")
    r = run_ccm(data, "log", "P1", "5", "--date", f"{MONTH}-06", "--staff", "x")
    assert r.returncode == 1
    assert "not a regular file" in r.stderr


def test_log_never_writes_through_a_dangling_link_leading_outside(cli, data, tmp_path):
    outside = tmp_path / "outside" / "x.csv"
    outside.parent.mkdir()
    (data / "logs").mkdir(exist_ok=True)
    (data / "logs" / "2026-08.csv").symlink_to(outside)
    r = cli("log", "P1", "5", "-d", data, "--date", "2026-08-10", "--staff", "x")
    assert r.exit_code == 1
    assert "symbolic link" in r.stderr
    assert not outside.exists()
    assert (data / "logs" / "2026-08.csv").is_symlink()


def test_log_never_writes_into_a_logs_folder_leading_outside(cli, data, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (data / "logs").rmdir()
    (data / "logs").symlink_to(outside)
    r = cli("log", "P1", "5", "-d", data, "--date", "2026-08-10", "--staff", "x")
    assert r.exit_code == 1
    assert "outside the data directory" in r.stderr
    assert list(outside.iterdir()) == []


def test_files_linked_from_outside_are_not_read(cli, data, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "P2.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P2"))
    (data / "patients" / "P2.yaml").symlink_to(outside / "P2.yaml")
    write_log(outside, [row("E1", pid="P1")])
    (data / "logs").mkdir(exist_ok=True)
    (data / "logs" / f"{MONTH}.csv").symlink_to(outside / "logs" / f"{MONTH}.csv")
    report, r = checked(cli, data)
    assert r.exit_code == 1
    assert statuses(report) == {"P1": "no_time", "P2": "error"}  # contract 3: still listed
    (blocker,) = report["patients"][1]["blockers"]
    assert blocker["rule"] == "file_error"
    assert "leads outside the data directory" in blocker["message"]
    assert minutes_of(report) == 0
    found = {
        (p["file"], "leads outside the data directory" in p["message"]) for p in report["problems"]
    }
    assert found == {("patients/P2.yaml", True), (f"logs/{MONTH}.csv", True)}


def test_a_link_inside_the_data_directory_is_read(cli, data):
    (data / "records").mkdir()
    (data / "records" / "P2.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P2"))
    (data / "patients" / "P2.yaml").symlink_to(Path("..") / "records" / "P2.yaml")
    report, r = checked(cli, data)
    assert r.exit_code == 0, r.stderr
    assert [p["patient_id"] for p in report["patients"]] == ["P1", "P2"]


# ---- item 15: a patient file that is not UTF-8 ---------------------------------------------------


def test_a_patient_file_not_in_utf8_names_its_line(cli, data):
    text = ELIGIBLE_PATIENT.format(pid="P2").replace("Test Patient", "Jos\xe9 Ram\xedrez")
    (data / "patients" / "P2.yaml").write_bytes(text.encode("latin-1"))
    r = cli("validate", "-d", data)
    assert r.exit_code == 1
    assert "patients/P2.yaml:2: error: this line is not UTF-8 text" in r.stdout + r.stderr
    assert "Jos" not in r.stdout + r.stderr


# ---- item 14: fees no claim line can carry --------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e400", ".nan", "-5", "75.005"])
def test_a_bad_fee_is_a_validation_error_and_export_refuses_cleanly(cli, data, amount):
    settings = data / "ccm.yaml"
    settings.write_text(settings.read_text() + f'fees:\n  "99490": {amount}\n')
    write_log(data, [row("E1")])
    v = cli("validate", "-d", data)
    assert v.exit_code == 1
    line = settings.read_text().splitlines().index('  "99490": ' + amount) + 1
    assert f"ccm.yaml:{line}: error: fees.99490 must be an amount" in v.stdout + v.stderr
    e = cli("export", "-d", data, "--month", MONTH)
    assert e.exit_code == 1 and "unexpected error" not in e.stderr
    assert f"ccm.yaml:{line}" in e.stderr


# ---- item 19b: a consent revoked before its own date ----------------------------------------------


def test_a_consent_revoked_before_it_was_given_is_an_error_on_its_line(cli, data):
    text = ELIGIBLE_PATIENT.format(pid="P2").replace(
        "consent: {date: 2025-01-06, method: verbal}",
        "consent:\n  date: 2025-01-06\n  method: verbal\n  revoked: 2025-01-05",
    )
    (data / "patients" / "P2.yaml").write_text(text)
    line = text.splitlines().index("  revoked: 2025-01-05") + 1
    v = cli("validate", "-d", data)
    assert v.exit_code == 1
    assert (
        f"patients/P2.yaml:{line}: error: consent.revoked is before consent.date"
        in v.stdout + v.stderr
    )
    report, r = checked(cli, data)
    assert r.exit_code == 1
    assert statuses(report)["P2"] == "error"  # contract 3: listed, never counted
    (blocker,) = report["patients"][1]["blockers"]
    assert blocker["rule"] == "file_error"
    assert "consent.revoked is before consent.date" in blocker["message"]
    assert report["patients"][1]["codes"] == []
    (data / "patients" / "P2.yaml").write_text(
        text.replace("revoked: 2025-01-05", "revoked: 2025-01-06")
    )
    assert cli("validate", "-d", data).exit_code == 0  # revoked the day it was given: allowed
