"""Every problem message, one fixture each, against a golden list (hledger's habit).

Fixtures live in tests/fixtures/problems/: `settings/*.yaml` are read as ccm.yaml,
`patients/*.yaml` as patient files, `logs/*.csv` as the October 2026 log of a practice whose
patients are P0001 and P0002, and `validate/` is a whole data directory for the checks that span
files. `expected.txt` holds the rendered problems, `FILE:LINE: severity: message`, with FILE
relative to the fixtures folder. A fixture named `ok_*` must produce nothing.

To review a changed message: `python3 tests/test_problems.py` prints the current list.
"""

import sys
from pathlib import Path

import pytest

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.models.records import Settings
from ccmcli.reports import validate
from ccmcli.store import log_parser, record_files
from ccmcli.store.datadir import DataDir

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "problems"
GOLDEN = FIXTURES / "expected.txt"
OCTOBER = Month(2026, 10)
KNOWN = {"P0001", "P0002"}.__contains__


class _OneLog:
    """Stands in for a DataDir whose October log is one fixture file (read_month needs only
    these two methods), so decoding, BOM and torn-line handling run exactly as in use."""

    root = FIXTURES

    def __init__(self, path: Path) -> None:
        self.path = path

    def log_path(self, month: Month) -> Path:
        return self.path

    def relative(self, path: Path) -> str:
        return path.relative_to(FIXTURES).as_posix()


def settings_problems(path: Path) -> list[Problem]:
    rel = path.relative_to(FIXTURES).as_posix()
    return record_files.parse_model(Settings, record_files.read_text(path), rel)[1]


def patient_problems(path: Path) -> list[Problem]:
    return record_files.load_patient_file(DataDir(FIXTURES), path)[1]


def log_problems(path: Path) -> list[Problem]:
    return log_parser.read_month(_OneLog(path), OCTOBER, KNOWN).problems


def validate_problems() -> list[Problem]:
    found = validate.validate(DataDir(FIXTURES / "validate")).problems
    return [Problem(f"validate/{p.file}", p.line, p.severity, p.message, p.column) for p in found]


READERS = {"settings": settings_problems, "patients": patient_problems, "logs": log_problems}


def fixture_files() -> list[Path]:
    return sorted(p for folder in READERS for p in (FIXTURES / folder).iterdir() if p.is_file())


def problems_of(path: Path) -> list[str]:
    return [p.render() for p in READERS[path.parent.name](path)]


def current_list() -> list[str]:
    lines = [line for path in fixture_files() for line in problems_of(path)]
    return lines + [p.render() for p in validate_problems()]


def golden() -> list[str]:
    return [ln for ln in GOLDEN.read_text().splitlines() if ln and not ln.startswith("#")]


def test_every_message_matches_the_golden_list():
    assert current_list() == golden()


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_fixture_has_exactly_its_golden_lines(path):
    """One fixture per message: each bad fixture yields problems, each `ok_` fixture none."""
    rel = path.relative_to(FIXTURES).as_posix()
    expected = [ln for ln in golden() if ln.startswith(f"{rel}:")]
    assert problems_of(path) == expected
    if path.name.startswith("ok_"):
        assert expected == []
    else:
        assert expected, f"{rel} is a fixture for a problem but none is expected"


def test_every_golden_line_names_a_fixture_file_and_a_severity():
    for line in golden():
        file = line.split(":", 1)[0]
        assert (FIXTURES / file).is_file(), line
        assert ": error: " in line or ": warning: " in line, line


def test_validate_fixture_reports_duplicate_ids_across_months_and_stray_files():
    """The checks that need the whole data directory, asserted on their own as well."""
    found = validate_problems()
    dup = [p for p in found if "already used" in p.message]
    assert [(p.file, p.line) for p in dup] == [("validate/logs/2026-10.csv", 3)]
    assert "logs/2026-09.csv:2" in dup[0].message
    strays = sorted(p.file for p in found if p.severity == "warning")
    assert strays == [
        "validate/logs/october.csv",
        "validate/patients/P0002.yml",
        "validate/patients/notes.txt",
    ]
    # P0003's file is invalid, but it exists: its log rows are not "unknown patient".
    assert not [p for p in found if "unknown patient" in p.message]


def test_bad_rows_count_toward_nothing_and_good_rows_still_count():
    """Contract section 4: a row with an error counts toward nothing; every other row counts."""
    log = log_parser.read_month(
        _OneLog(FIXTURES / "logs" / "minutes_not_number.csv"), OCTOBER, KNOWN
    )
    assert [(e.id, e.minutes) for e in log.entries] == [("E1", 20)]


def test_the_ok_fixture_reads_bom_crlf_and_quoted_line_breaks():
    log = log_parser.read_month(
        _OneLog(FIXTURES / "logs" / "ok_bom_crlf_quoted.csv"), OCTOBER, KNOWN
    )
    assert log.problems == []
    by_id = log.by_id()
    assert by_id["E2"].note == "note, with comma\r\nand a line break"
    assert by_id["E1"].voided_by == "V1"
    assert [e.id for e in log.time_entries()] == ["E2"]


def test_void_row_problems_leave_the_target_counting():
    """A void that fails its checks cancels nothing: the entry it named still counts."""
    for name in ("void_missing_target", "void_other_patient", "void_bad_role"):
        log = log_parser.read_month(_OneLog(FIXTURES / "logs" / f"{name}.csv"), OCTOBER, KNOWN)
        assert [e.id for e in log.time_entries()] == ["E1"], name


def test_a_second_void_of_the_same_entry_is_refused_but_the_first_stands():
    log = log_parser.read_month(_OneLog(FIXTURES / "logs" / "void_twice.csv"), OCTOBER, KNOWN)
    assert log.by_id()["E1"].voided_by == "V1"
    assert "V2" not in log.by_id()


def test_unknown_patients_are_not_checked_without_a_patient_list():
    text = (FIXTURES / "logs" / "unknown_patient.csv").read_text()
    log = log_parser.parse_month(text, OCTOBER, "logs/2026-10.csv")
    assert log.problems == []
    assert [e.patient_id for e in log.entries] == ["P0001", "P0099"]


def test_a_log_that_cannot_be_read_is_one_problem(tmp_path):
    folder = tmp_path / "2026-10.csv"
    folder.mkdir()
    log = log_parser.read_month(_OneLogIn(tmp_path, folder), OCTOBER, KNOWN)
    assert [(p.file, p.line, p.severity) for p in log.problems] == [("2026-10.csv", None, "error")]
    assert log.problems[0].message.startswith("cannot read")


def test_a_patient_file_that_cannot_be_read_is_one_problem(tmp_path):
    (tmp_path / "patients" / "P1.yaml").mkdir(parents=True)
    patient, problems = record_files.load_patient_file(
        DataDir(tmp_path), tmp_path / "patients/P1.yaml"
    )
    assert patient is None
    assert [p.render() for p in problems] == [
        "patients/P1.yaml: error: cannot read the file: it is a folder, not a regular file"
    ]


def test_a_missing_log_is_an_empty_month_not_a_problem(tmp_path):
    log = log_parser.read_month(_OneLogIn(tmp_path, tmp_path / "2026-10.csv"), OCTOBER, KNOWN)
    assert (log.exists, log.entries, log.problems) == (False, [], [])


class _OneLogIn(_OneLog):
    def __init__(self, root: Path, path: Path) -> None:
        self.root, self.path = root, path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def test_problem_render_forms():
    assert Problem("a.csv", 7, "error", "m").render() == "a.csv:7: error: m"
    assert Problem("a.yaml", 3, "error", "m", column=5).render() == "a.yaml:3:5: error: m"
    assert Problem("a.yaml", None, "warning", "m", column=5).render() == "a.yaml: warning: m"


if __name__ == "__main__":
    sys.stdout.write("\n".join(current_list()) + "\n")
