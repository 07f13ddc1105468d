"""Hostile or broken input files: each is a problem with file and line, never a hang, a crash or
a leak of patient data, and every other row still counts (issue: defects found under attack)."""

import csv
import io
import json
from pathlib import Path

import pytest

from ccmcli.store import timelog
from helpers import ELIGIBLE_PATIENT

MONTH = "2026-10"


def row(eid: str, minutes: str = "20", note: str = "", pid: str = "P1") -> list[str]:
    return [eid, pid, f"{MONTH}-05", minutes, "clinical_staff", "rn.a", "call", "", "", note,
            f"{MONTH}-05T10:00:00-05:00", ""]  # fmt: skip


def write_log(root: Path, rows: list[list[str]], raw_tail: str = "") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = root / "logs" / f"{MONTH}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(timelog.HEADER + out.getvalue() + raw_tail, encoding="utf-8")
    return path


@pytest.fixture
def data(datadir) -> Path:
    (datadir / "patients" / "P1.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P1"))
    return datadir


def checked(cli, root: Path) -> tuple[dict, object]:
    r = cli("check", "-d", root, "--month", MONTH, "--format", "json")
    assert "unexpected error" not in r.stderr
    return json.loads(r.stdout), r


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
