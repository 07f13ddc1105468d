"""Every CSV ccm writes guards its cells against spreadsheet formulas (contract sections 2 and 5):
`check`, `entries`, `log` and `export`, with one rule (store/csv_safe.py)."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccmcli.store import csv_safe

NASTY = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "|calc", "\uff1dSUM(A1)",
         "\uff0b1", "\uff0d1", "\uff20SUM(A1)"]  # fmt: skip


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def assert_guarded(text: str) -> None:
    bad = [c for c in cells(text) if c.startswith(csv_safe.FORMULA_STARTS)]
    assert bad == []


@pytest.fixture
def nasty(cli, datadir):
    """Patients named with formulas, each with an entry whose staff, activity and note are too."""
    for i, text in enumerate(NASTY):
        pid = f"P{i}"
        r = cli("patient", "add", pid, "-d", datadir, "--name", text, "--birth-date", "1950-01-02",
                "--condition", "E11.9", "--condition", "I10", "--consent-date", "2025-01-06",
                "--consent-method", "verbal", "--initiating-visit", "2025-01-06",
                "--visit-type", "awv", "--care-plan", "2025-01-06")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        r = cli("log", pid, "25", "-d", datadir, "--staff", text, "--activity", text,
                "--note", text, "--format", "csv")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert_guarded(r.stdout)
        assert f"'{text}" in cells(r.stdout)
    return datadir


def test_check_csv_guards_every_cell(cli, nasty):
    r = cli("check", "-d", nasty, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert_guarded(r.stdout)
    names = [row["name"] for row in csv.DictReader(io.StringIO(r.stdout))]
    assert sorted(names) == sorted("'" + n for n in NASTY)


def test_entries_csv_guards_every_cell(cli, nasty):
    r = cli("entries", "-d", nasty, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert_guarded(r.stdout)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sorted(row["note"] for row in rows) == sorted("'" + n for n in NASTY)
    assert all(row["minutes"] == "25" for row in rows)  # numbers are left as they are


def test_export_guards_full_width_signs_and_pipe(cli, nasty):
    r = cli("export", "-d", nasty, "--month", _this_month(cli, nasty), "--allow-open-month")
    assert r.exit_code == 0, r.stderr
    assert_guarded(r.stdout)
    names = [row["patient_name"] for row in csv.DictReader(io.StringIO(r.stdout))]
    assert set(names) == {"'" + n for n in NASTY}


def _this_month(cli, root) -> str:
    r = cli("entries", "-d", root, "--format", "json")
    import json

    return json.loads(r.stdout)["month"]


@given(st.text())
def test_defuse_guards_every_start_and_changes_only_the_start(cell):
    out = csv_safe.defuse(cell)
    assert not out.startswith(csv_safe.FORMULA_STARTS)
    assert out in (cell, "'" + cell)
    assert csv_safe.defuse(out) == out


@pytest.mark.parametrize("start", ["|", "\uff1d", "\uff0b", "\uff0d", "\uff20"])
def test_full_width_signs_and_pipe_are_guarded(start):
    assert csv_safe.defuse(start + "1") == "'" + start + "1"


def test_a_bare_cr_inside_a_cell_stays_inside_it():
    text = csv_safe.csv_text([["a\rb", "c"]], ["x", "y"])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["x", "y"], ["a\rb", "c"]]
