"""`ccm void` and `ccm entries`: cancelling an entry by appending a row, and listing a month."""

import csv
import io
import json
from pathlib import Path

import pytest

from ccmcli.models.months import current_month, today_in
from ccmcli.store import log_parser, timelog
from ccmcli.store.datadir import DataDir
from helpers import ELIGIBLE_PATIENT, data_files

TZ = "America/Chicago"


@pytest.fixture
def data(datadir: Path) -> Path:
    for pid in ("P0001", "P0002"):
        (datadir / "patients" / f"{pid}.yaml").write_text(ELIGIBLE_PATIENT.format(pid=pid))
    return datadir


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))


def this_month(root: Path) -> Path:
    return root / "logs" / f"{current_month(TZ)}.csv"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file a person or ccm wrote (the caches of parsed files aside)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in data_files(root)}


@pytest.fixture
def logged(cli, data):
    """Log two entries for P0001 (25 and 10 min); return their ids."""

    def log(minutes: str, *extra: str) -> str:
        result = cli("log", "P0001", minutes, "-d", data, "--staff", "rn.a", *extra)
        assert result.exit_code == 0, result.stderr
        return result.stdout.split()[0]

    return log("25", "--role", "practitioner"), log("10")


def test_void_appends_a_void_row_and_reports_the_new_status(cli, data, logged):
    target, kept = logged
    result = cli("void", target, "--reason", "wrong patient", "-d", data, "--staff", "ma.b")
    assert result.exit_code == 0, result.stderr
    first, status = result.stdout.splitlines()
    void_id = first.rsplit(" ", 1)[-1]
    assert first == f"voided {target}: void row {void_id}"
    assert status.startswith(f"P0001: 10 min in {current_month(TZ).label()}")
    original, _, void = rows(this_month(data))
    assert original["id"] == target and original["minutes"] == "25"  # never edited
    assert void["id"] == void_id and void_id not in (target, kept)
    assert (void["patient_id"], void["date"]) == (original["patient_id"], original["date"])
    assert (void["minutes"], void["voids"], void["note"]) == ("", target, "wrong patient")
    assert (void["staff"], void["role"]) == ("ma.b", "practitioner")  # role repeats the entry's
    assert void["logged_at"]
    known = {"P0001", "P0002"}.__contains__
    assert log_parser.read_month(DataDir(data), current_month(TZ), known).problems == []


def test_void_role_from_option_or_environment(cli, data, logged, monkeypatch):
    target, kept = logged
    monkeypatch.setenv("CCM_ROLE", "clinical_staff")
    assert cli("void", target, "--reason", "dup", "-d", data, "--staff", "x").exit_code == 0
    assert rows(this_month(data))[-1]["role"] == "clinical_staff"
    result = cli("void", kept, "--reason", "dup", "-d", data, "--staff", "x", "--role", "boss")
    assert result.exit_code == 2 and '--role "boss"' in result.stderr


def test_void_finds_an_entry_in_an_earlier_month(cli, data):
    earlier = current_month(TZ).add(-1)
    logged = cli("log", "P0002", "30", "-d", data, "--staff", "x", "--date", str(earlier.first))
    assert logged.exit_code == 0, logged.stderr
    cli("log", "P0002", "5", "-d", data, "--staff", "x")  # this month has a log file too
    target = logged.stdout.split()[0]
    result = cli("void", target, "--reason", "entered twice", "-d", data, "--staff", "x")
    assert result.exit_code == 0, result.stderr
    old = rows(data / "logs" / f"{earlier}.csv")
    assert [r["voids"] for r in old] == ["", target]
    assert len(rows(this_month(data))) == 1
    assert f"P0002: 0 min in {earlier.label()}" in result.stdout


def test_void_json(cli, data, logged):
    target, _ = logged
    result = cli("void", target, "--reason", "r", "-d", data, "--staff", "x", "--format", "json")
    out = json.loads(result.stdout)
    assert out["voided"]["id"] == target and out["voided"]["voided"] is True
    assert out["entry"]["voids"] == target and out["entry"]["minutes"] is None
    assert out["patient_month"]["minutes"]["clinical_staff"] == 10


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["E404", "--reason", "r"], 1, "no entry E404 in any log"),
        (["E/../x", "--reason", "r"], 2, "ENTRY_ID must be 1-40 letters"),
        (["{target}"], 2, "Missing option '--reason'"),
        (["{target}", "--reason", ""], 2, "--reason must say why"),
        (["{target}", "--reason", "   "], 2, "--reason must say why"),
        (["{target}", "--reason", "a\nb"], 2, "--reason must be one line"),
    ],
)
def test_void_refusals_write_nothing(cli, data, logged, args, code, message):
    args = [a.format(target=logged[0]) for a in args]
    before = snapshot(data)
    result = cli("void", *args, "-d", data, "--staff", "x")
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert snapshot(data) == before


def test_void_refuses_a_void_row_and_an_entry_already_voided(cli, data, logged):
    target, _ = logged
    void_id = (
        cli("void", target, "--reason", "r", "-d", data, "--staff", "x")
        .stdout.splitlines()[0]
        .split()[-1]
    )
    assert void_id.startswith("E")
    before = snapshot(data)
    again = cli("void", target, "--reason", "r", "-d", data, "--staff", "x")
    assert again.exit_code == 1
    assert again.stderr == f"ccm: entry {target} is already voided by {void_id}\n"
    of_void = cli("void", void_id, "--reason", "r", "-d", data, "--staff", "x")
    assert of_void.exit_code == 1 and "is a void row" in of_void.stderr
    assert snapshot(data) == before


def test_void_refuses_a_row_with_errors(cli, data):
    day = today_in(TZ).isoformat()
    this_month(data).write_text(timelog.HEADER_12 + f"EBAD,P0001,{day},2O,clinical_staff,a,,,,,,\n")
    before = snapshot(data)
    result = cli("void", "EBAD", "--reason", "r", "-d", data, "--staff", "x")
    assert result.exit_code == 1 and "has errors and counts for nothing" in result.stderr
    assert snapshot(data) == before


def test_void_of_an_entry_for_a_patient_without_a_file(cli, data):
    """A row for a patient without a file is in error as `check` reads it (it counts toward
    nothing already, and a void row repeating its patient would be in error too): refused, as
    any row with errors, nothing written."""
    day = today_in(TZ).isoformat()
    this_month(data).write_text(timelog.HEADER_12 + f"EX1,P0404,{day},20,clinical_staff,a,,,,,,\n")
    before = snapshot(data)
    result = cli("void", "EX1", "--reason", "no such patient", "-d", data, "--staff", "x")
    assert result.exit_code == 1 and "has errors and counts for nothing" in result.stderr
    assert snapshot(data) == before


def test_void_warns_when_the_month_is_exported(cli, data, logged):
    ledger = data / "exports" / f"{current_month(TZ)}.csv"
    from ccmcli.store.ledger import LEDGER_COLUMNS

    line = "P0001,X,1950-01-01,,,11,2026-01-31,99490,1,60.49,E11.9,,,,2026-02-01T00:00:00+00:00,1,"
    ledger.write_text(",".join(LEDGER_COLUMNS) + "\n" + line + "\n")
    result = cli("void", logged[0], "--reason", "r", "-d", data, "--staff", "x")
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "already exported for P0001" in result.stderr


def test_entries_lists_voided_entries_and_void_rows(cli, data, logged):
    target, kept = logged
    void_id = (
        cli("void", target, "--reason", "r", "-d", data, "--staff", "x")
        .stdout.splitlines()[0]
        .split()[-1]
    )
    cli("log", "P0002", "7", "-d", data, "--staff", "x")
    out = json.loads(cli("entries", "-d", data, "--format", "json").stdout)
    assert out["month"] == str(current_month(TZ)) and out["problems"] == []
    by_id = {e["id"]: e for e in out["entries"]}
    assert len(by_id) == 4
    assert by_id[target]["voided"] is True and by_id[target]["voided_by"] == void_id
    assert by_id[kept]["voided"] is False and by_id[kept]["voided_by"] is None
    assert by_id[void_id]["voids"] == target and by_id[void_id]["minutes"] is None
    table = cli("entries", "-d", data)
    assert table.exit_code == 0
    assert all(i in table.stdout for i in by_id)


def test_entries_csv_and_patient_filter(cli, data, logged):
    target, kept = logged
    cli("log", "P0002", "7", "-d", data, "--staff", "x")
    void_id = (
        cli("void", target, "--reason", "r", "-d", data, "--staff", "x")
        .stdout.splitlines()[0]
        .split()[-1]
    )
    result = cli("entries", "-d", data, "--patient", "P0001", "--format", "csv")
    assert result.exit_code == 0
    listed = list(csv.DictReader(io.StringIO(result.stdout)))
    # contract 2: the log's columns, then `voided` and `line`
    assert list(listed[0]) == ["id", "patient_id", "date", "minutes", "role", "staff", "activity",
                               "start", "end", "note", "logged_at", "voids", "service", "voided",
                               "line"]  # fmt: skip
    assert [(r["id"], r["voided"], r["voids"]) for r in listed] == [
        (target, void_id, ""), (kept, "", ""), (void_id, "", target)
    ]  # fmt: skip
    assert [r["line"] for r in listed] == ["2", "3", "5"]


def test_entries_of_another_month_and_an_empty_month(cli, data):
    earlier = current_month(TZ).add(-1)
    cli("log", "P0002", "30", "-d", data, "--staff", "x", "--date", str(earlier.last))
    result = cli("entries", "-d", data, "--month", str(earlier), "--format", "json")
    assert [e["minutes"] for e in json.loads(result.stdout)["entries"]] == [30]
    empty = cli("entries", "-d", data, "--month", "2020-01", "--format", "csv")
    assert empty.exit_code == 0 and empty.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--patient", "P0404"], 1, 'unknown patient "P0404"'),
        (["--patient", "../P0001"], 1, "not a valid patient id"),
        (["--month", "2026-13"], 2, 'month "2026-13" is not of the form YYYY-MM'),
    ],
)
def test_entries_refusals(cli, data, args, code, message):
    result = cli("entries", "-d", data, *args)
    assert result.exit_code == code and message in result.stderr
    assert result.stdout == ""


def test_entries_reports_problems_on_stderr_and_exits_1(cli, data):
    day = today_in(TZ).isoformat()
    this_month(data).write_text(
        timelog.HEADER_12
        + f"E1,P0001,{day},20,clinical_staff,a,,,,,,\n"
        + f"E2,P0404,{day},20,clinical_staff,a,,,,,,\n"
        + f"E3,P0001,{day},x,clinical_staff,a,,,,,,\n"
    )
    result = cli("entries", "-d", data, "--format", "csv")
    assert result.exit_code == 1
    assert [r["id"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["E1"]
    rel = f"logs/{current_month(TZ)}.csv"
    assert f'{rel}:3: error: unknown patient "P0404"' in result.stderr
    assert f'{rel}:4: error: minutes "x" is not a whole number' in result.stderr
