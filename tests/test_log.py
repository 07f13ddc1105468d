"""`ccm log`: what it writes, what it prints, and every input it refuses without writing."""

import csv
import io
import json
import os
import re
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ccmcli.actions import recording
from ccmcli.actions.entry_input import ACTIVITIES
from ccmcli.codes.identifiers import is_entry_id
from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month, current_month, today_in
from ccmcli.models.typed import parse_date
from ccmcli.store import log_parser, logappend, timelog
from ccmcli.store import record_files as record_files_mod
from ccmcli.store.datadir import DataDir
from helpers import data_files

TZ = "America/Chicago"
ID_SHAPE = re.compile(r"E\d{8}T\d{9}-[0-9A-HJKMNP-TV-Z]{5}")
PATIENT = """\
id: {pid}
name: Test Patient {pid}
birth_date: 1950-01-02
conditions:
  - code: E11.9
  - code: I10
consent:
  date: 2025-01-06
  method: verbal
initiating_visit:
  date: 2025-01-06
  type: awv
care_plan:
  established: 2025-01-06
"""


def add_patient(root: Path, pid: str) -> None:
    (root / "patients" / f"{pid}.yaml").write_text(PATIENT.format(pid=pid))


@pytest.fixture
def data(datadir: Path) -> Path:
    for pid in ("P0001", "P0002"):
        add_patient(datadir, pid)
    return datadir


def log_file(root: Path, month: Month | None = None) -> Path:
    return root / "logs" / f"{month or current_month(TZ)}.csv"


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))


def month_problems(root: Path) -> list:
    """What check and validate would report about this month's log (patients known)."""
    known = {p.stem for p in (root / "patients").glob("*.yaml")}
    return log_parser.read_month(DataDir(root), current_month(TZ), known.__contains__).problems


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file a person or ccm wrote (the caches of parsed files aside)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in data_files(root)}


def test_log_writes_one_row_and_prints_id_then_status(cli, data):
    result = cli("log", "P0001", "25", "-d", data, "--staff", "rn.lee", "--activity", "care_plan")
    assert result.exit_code == 0, result.stderr
    entry_id, status = result.stdout.splitlines()
    assert ID_SHAPE.fullmatch(entry_id) and is_entry_id(entry_id)
    # 25 staff minutes: 99490 needs 20, the first 99439 needs 40 in all (rules A1)
    label = current_month(TZ).label()
    assert status == f"P0001: 25 min in {label}: 99490 met; 15 more for 99439"
    assert result.stderr == ""
    (row,) = rows(log_file(data))
    assert row["id"] == entry_id
    assert (row["patient_id"], row["minutes"], row["role"]) == ("P0001", "25", "clinical_staff")
    assert (row["staff"], row["activity"], row["voids"]) == ("rn.lee", "care_plan", "")
    assert row["date"] == today_in(TZ).isoformat()
    stamp = datetime.fromisoformat(row["logged_at"])
    assert stamp.utcoffset() is not None and abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_new_log_file_has_the_header_and_owner_only_modes(cli, data):
    assert not log_file(data).exists()
    assert cli("log", "P0001", "5", "-d", data, "--staff", "x").exit_code == 0
    path = log_file(data)
    assert path.read_text().startswith(timelog.HEADER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_start_and_end_give_the_minutes_and_are_normalised(cli, data):
    result = cli("log", "P0001", "-d", data, "--start", "9:05", "--end", "09:50", "--staff", "x")
    assert result.exit_code == 0, result.stderr
    (row,) = rows(log_file(data))
    assert (row["minutes"], row["start"], row["end"]) == ("45", "09:05", "09:50")
    result = cli("log", "P0002", "20", "-d", data, "--start", "10:00", "--end", "10:20", "--staff", "x")  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_note_with_commas_quotes_and_accents_round_trips(cli, data):
    note = 'called "Mrs. Doe", daughter; señal ok, 2nd try'
    assert cli("log", "P0001", "10", "-d", data, "--note", note, "--staff", "a,b").exit_code == 0
    (row,) = rows(log_file(data))
    assert (row["note"], row["staff"]) == (note, "a,b")
    assert month_problems(data) == []


def _typed_dates():
    today = today_in(TZ)
    back = today - timedelta(days=3)
    return [
        ("today", today),
        ("yesterday", today - timedelta(days=1)),
        (back.isoformat(), back),
        (f"{back.month}/{back.day}", back),
        (f"{back:%b} {back.day}", back),
    ]


@pytest.mark.parametrize(("typed", "expected"), _typed_dates())
def test_dates_as_people_type_them(cli, data, typed, expected):
    result = cli("log", "P0001", "10", "-d", data, "--date", typed, "--staff", "x")
    assert result.exit_code == 0, result.stderr
    (row,) = rows(log_file(data, Month.of(expected)))
    assert row["date"] == expected.isoformat()


def test_staff_and_role_defaults_come_from_the_environment(cli, data, monkeypatch):
    monkeypatch.setenv("CCM_STAFF", "dr.env")
    monkeypatch.setenv("CCM_ROLE", "practitioner")
    assert cli("log", "P0001", "10", "-d", data).exit_code == 0
    assert cli("log", "P0002", "10", "-d", data, "--role", "clinical_staff", "--staff", "ma.b").exit_code == 0  # fmt: skip
    first, second = rows(log_file(data))
    assert (first["staff"], first["role"]) == ("dr.env", "practitioner")
    assert (second["staff"], second["role"]) == ("ma.b", "clinical_staff")


def test_staff_falls_back_to_the_login_name(cli, data, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "jdoe")
    assert cli("log", "P0001", "10", "-d", data).exit_code == 0
    assert rows(log_file(data))[0]["staff"] == "jdoe"


def test_no_login_name_and_no_staff_is_a_usage_error(cli, data, monkeypatch):
    def no_user():
        raise OSError("no user")

    monkeypatch.setattr("getpass.getuser", no_user)
    before = snapshot(data)
    result = cli("log", "P0001", "10", "-d", data)
    assert result.exit_code == 2
    assert "--staff" in result.stderr and "CCM_STAFF" in result.stderr
    assert snapshot(data) == before


def _future() -> str:
    return (today_in(TZ) + timedelta(days=2)).isoformat()


BAD_INPUTS = [
    (["NOPE", "10"], 1, 'unknown patient "NOPE"'),
    (["../x", "10"], 1, "not a valid patient id"),
    (["a/b", "10"], 1, "not a valid patient id"),
    (["..", "10"], 1, "not a valid patient id"),
    (["P0001", "0"], 2, "MINUTES 0 is outside 1-720"),
    (["P0001", "721"], 2, "MINUTES 721 is outside 1-720"),
    (["P0001", "2O"], 2, 'MINUTES "2O" is not a whole number'),
    (["P0001", "12.5"], 2, "is not a whole number"),
    (["P0001", "-5"], 2, "No such option"),
    (["P0001"], 2, "give MINUTES, or both --start and --end"),
    (["P0001", "10", "--role", "boss"], 2, '--role "boss" must be clinical_staff or practitioner'),
    (["P0001", "10", "--date", "2026-02-30"], 2, "is not a real date"),
    (["P0001", "10", "--date", "2/30"], 2, "is not a real date"),
    (["P0001", "10", "--date", "soon"], 2, "is not a date"),
    (["P0001", "10", "--date", _future()], 1, "is after today"),
    (["P0001", "--start", "10:00", "--end", "10:00"], 2, "--end 10:00 is not after --start 10:00"),
    (["P0001", "--start", "10:00", "--end", "09:00"], 2, "is not after"),
    (["P0001", "20", "--start", "10:00", "--end", "10:15"], 2, "disagrees with --start 10:00 --end 10:15 (15 minutes)"),
    (["P0001", "--start", "08:00", "--end", "20:01"], 2, "gives 721 minutes, outside 1-720"),
    (["P0001", "10", "--start", "24:00"], 2, '--start "24:00" is not a time of the form HH:MM'),
    (["P0001", "10", "--end", "9.30"], 2, "--end"),
    (["P0001", "10", "--note", "line one\nline two"], 2, "--note must be one line of text"),
    (["P0001", "10", "--note", "tab\there"], 2, "--note must be one line"),
    (["P0001", "10", "--activity", "a\u2028b"], 2, "--activity must be one line"),
    (["P0001", "10", "--staff", "rn\rx"], 2, "--staff must be one line"),
    (["P0001", "10", "--staff", "  "], 2, "--staff is empty"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUTS)
def test_bad_input_is_refused_and_nothing_is_written(cli, data, args, code, message):
    args = [*args, "--staff", "x"] if "--staff" not in args else args
    before = snapshot(data)
    result = cli("log", *args, "-d", data)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert snapshot(data) == before


def test_bad_role_in_the_environment_names_the_variable(cli, data, monkeypatch):
    monkeypatch.setenv("CCM_ROLE", "nurse")
    before = snapshot(data)
    result = cli("log", "P0001", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 2
    assert result.stderr == 'ccm: CCM_ROLE "nurse" must be clinical_staff or practitioner\n'
    assert snapshot(data) == before


def test_patient_file_with_errors_is_refused(cli, data):
    (data / "patients" / "P0003.yaml").write_text("id: P0003\nname: X\n")
    before = snapshot(data)
    result = cli("log", "P0003", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 1
    assert "patients/P0003.yaml" in result.stderr and "birth_date is required" in result.stderr
    assert snapshot(data) == before


def test_warns_about_overlap_for_the_same_staff_across_patients(cli, data):
    first = cli("log", "P0001", "-d", data, "--start", "09:00", "--end", "09:30", "--staff", "rn.a")
    result = cli(
        "log", "P0002", "-d", data, "--start", "09:20", "--end", "09:40", "--staff", "rn.a"
    )
    assert result.exit_code == 0
    old = first.stdout.split()[0]
    assert (
        f"warning: rn.a's time 09:20-09:40 on {today_in(TZ)} overlaps entry {old}" in result.stderr
    )
    assert len(rows(log_file(data))) == 2
    # another staff member, or time that only touches, is no overlap
    other = cli("log", "P0002", "-d", data, "--start", "09:20", "--end", "09:40", "--staff", "rn.b")
    touch = cli("log", "P0002", "-d", data, "--start", "09:40", "--end", "09:50", "--staff", "rn.a")
    assert other.stderr == "" and touch.stderr == ""


def test_warns_about_a_likely_double_entry_but_writes_it(cli, data):
    first = cli("log", "P0001", "15", "-d", data, "--staff", "rn.a").stdout.split()[0]
    result = cli("log", "P0001", "15", "-d", data, "--staff", "rn.a")
    assert result.exit_code == 0
    assert result.stderr.startswith(f"warning: possible double entry: {first} already logged 15")
    assert len(rows(log_file(data))) == 2
    assert "30 min" in result.stdout.splitlines()[1]
    assert cli("log", "P0001", "15", "-d", data, "--staff", "rn.b").stderr == ""


LEDGER_LINE = (
    "P0002,X,1950-01-01,,,11,2026-01-31,99490,1,60.49,E11.9,,,,2026-02-01T00:00:00+00:00,1,\n"
)


def test_warns_when_the_month_is_already_exported_for_the_patient(cli, data):
    from ccmcli.store.ledger import LEDGER_COLUMNS

    ledger = data / "exports" / f"{current_month(TZ)}.csv"
    ledger.write_text(",".join(LEDGER_COLUMNS) + "\n" + LEDGER_LINE)
    quiet = cli("log", "P0001", "20", "-d", data, "--staff", "x")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    result = cli("log", "P0002", "20", "-d", data, "--staff", "x")
    assert result.exit_code == 0
    assert "is already exported for P0002" in result.stderr
    assert len(rows(log_file(data))) == 2


@pytest.mark.parametrize("damage", ["a bad header", "a named pipe"])
def test_a_ledger_that_cannot_be_read_may_hold_the_patient(cli, data, damage):
    """The ledger is read by its one reader (store/ledger): when it cannot be read, any patient
    may be exported already, and `ccm log` still records the minutes (never waits on a pipe)."""
    ledger = data / "exports" / f"{current_month(TZ)}.csv"
    if damage == "a named pipe":
        os.mkfifo(ledger)
    else:
        ledger.write_text("patient_id,patient_name,code,exported_at\n" + LEDGER_LINE)
    result = cli("log", "P0001", "20", "-d", data, "--staff", "x")
    assert result.exit_code == 0
    assert f"cannot read exports/{current_month(TZ)}.csv:" in result.stderr
    assert "may already be exported for P0001" in result.stderr
    assert len(rows(log_file(data))) == 1


def test_json_output(cli, data):
    result = cli("log", "P0001", "25", "-d", data, "--staff", "x", "--format", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"schema", "entry", "patient_month", "messages"}
    assert out["entry"]["minutes"] == 25 and out["entry"]["line"] == 2
    assert out["entry"]["id"] == rows(log_file(data))[0]["id"]
    assert out["patient_month"]["status"] == "billable"
    assert out["patient_month"]["codes"] == [{"code": "99490", "units": 1}]
    assert out["patient_month"]["minutes"]["clinical_staff"] == 25


def test_quiet_prints_only_the_id(cli, data):
    result = cli("log", "P0001", "5", "-d", data, "--staff", "x", "-q")
    assert result.exit_code == 0
    assert result.stdout == rows(log_file(data))[0]["id"] + "\n"


def test_help_suggests_activities(cli):
    result = cli("log", "--help")
    assert result.exit_code == 0
    for activity in ACTIVITIES:
        assert activity in result.stdout


def test_log_reads_only_the_patient_and_the_month(cli, data, monkeypatch):
    (data / "patients" / "P0009.yaml").write_text("id: [broken\n")

    def forbidden(*args, **kwargs):
        raise AssertionError("ccm log must not read every patient")

    monkeypatch.setattr(record_files_mod, "load_patients", forbidden)
    monkeypatch.setattr(record_files_mod, "patient_files", forbidden)
    result = cli("log", "P0001", "5", "-d", data, "--staff", "x")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_torn_last_line_stays_and_the_new_row_starts_clean(cli, data):
    path = log_file(data)
    day = today_in(TZ).isoformat()
    good = f"E1,P0001,{day},20,clinical_staff,rn.a,,,,,{day}T09:00:00-06:00,\n"
    torn = f"E2,P0002,{day},15,clinical_st"
    path.write_text(timelog.HEADER_12 + good + torn)
    before = path.read_bytes()
    result = cli("log", "P0002", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 0, result.stderr
    assert "warning: logs/" in result.stderr and "line 3" in result.stderr
    after = path.read_bytes()
    assert after.startswith(before + b"\n")
    new_line = after[len(before) + 1 :].decode()
    assert new_line.count("\n") == 1 and new_line.startswith(result.stdout.split()[0] + ",P0002,")
    validate = cli("validate", "-d", data)
    assert validate.exit_code == 1
    assert f"logs/{current_month(TZ)}.csv:3: error:" in validate.stdout
    check = json.loads(cli("check", "-d", data, "--format", "json").stdout)
    minutes = {p["patient_id"]: p["minutes"]["clinical_staff"] for p in check["patients"]}
    assert minutes == {"P0001": 20, "P0002": 10}


def test_torn_line_inside_a_quoted_note_is_refused(cli, data):
    path = log_file(data)
    day = today_in(TZ).isoformat()
    path.write_text(timelog.HEADER_12 + f'E2,P0002,{day},15,clinical_staff,x,,,,"note cut, mid')
    before = path.read_bytes()
    result = cli("log", "P0001", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 1
    assert "a quoted field is never closed" in result.stderr and ":2:" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,patient,date\n", "header must be"),
        (
            timelog.HEADER_12.encode() + b"E1,P0001,2026-11-02,10,clinical_staff,\xff,,,,,,\n",
            "UTF-8",
        ),
    ],
)
def test_unreadable_month_file_is_refused(cli, data, content, message):
    path = log_file(data)
    path.write_bytes(content)
    result = cli("log", "P0001", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == content


def test_spreadsheet_saved_file_with_bom_and_crlf_is_appended_to(cli, data):
    path = log_file(data)
    day = today_in(TZ).isoformat()
    text = timelog.HEADER_12 + f"E1,P0001,{day},20,clinical_staff,a,,,,,,\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    result = cli("log", "P0001", "5", "-d", data, "--staff", "x", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["entry"]["line"] == 3
    assert json.loads(result.stdout)["patient_month"]["minutes"]["clinical_staff"] == 25
    assert month_problems(data) == []


def test_an_id_already_in_the_file_is_never_reused(data, monkeypatch):
    taken = "E20260101T000000000-AAAAA"
    day = today_in(TZ).isoformat()
    log_file(data).write_text(timelog.HEADER_12 + f"{taken},P0001,{day},5,clinical_staff,a,,,,,,\n")
    ids = iter([taken, "E20260101T000000000-BBBBB"])
    monkeypatch.setattr(logappend, "new_entry_id", lambda: next(ids))
    req = recording.LogRequest("P0001", "10", staff="x")
    recorded = recording.log_time(DataDir(data), req, environ={})
    assert recorded.entry.id == "E20260101T000000000-BBBBB"
    assert [r["id"] for r in rows(log_file(data))] == [taken, "E20260101T000000000-BBBBB"]


def test_entry_ids_have_the_documented_shape():
    stamp = datetime(2026, 11, 27, 13, 55, 1, 123456, tzinfo=UTC)
    entry_id = logappend.new_entry_id(stamp)
    assert entry_id.startswith("E20261127T135501123-")
    assert ID_SHAPE.fullmatch(entry_id)


MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@given(MOMENTS, MOMENTS)
def test_entry_ids_sort_by_time(a, b):
    """Ids made in different milliseconds sort in the order they were made."""
    assume(_ms(a) != _ms(b))
    first, second = sorted((a, b))
    assert logappend.new_entry_id(first) < logappend.new_entry_id(second)


def test_warns_about_a_late_entry_and_minutes_that_count_for_nothing(cli, data):
    late = today_in(TZ) - timedelta(days=9)
    result = cli("log", "P0001", "10", "-d", data, "--date", late.isoformat(), "--staff", "x")
    assert result.exit_code == 0
    assert f"for {late} was logged on {today_in(TZ)}, more than 7 days later" in result.stderr
    (data / "patients" / "P0003.yaml").write_text(PATIENT.format(pid="P0003").split("consent:")[0])
    result = cli("log", "P0003", "10", "-d", data, "--staff", "x")
    assert result.exit_code == 0
    assert "warning: these 10 minutes count toward nothing (no consent)" in result.stderr
    assert [r["patient_id"] for r in rows(log_file(data))].count("P0003") == 1


def test_csv_output_is_the_row_as_written(cli, data):
    result = cli("log", "P0001", "12", "-d", data, "--staff", "x", "--note", "a, b", "-f", "csv")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header + "\n" == timelog.HEADER
    assert log_file(data).read_text().splitlines()[-1] == row


# ---- a date typed without a year (contract section 2) ------------------------------------------

NOV_29 = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("10/30", date(2026, 10, 30)), ("10/29", date(2026, 10, 29)), ("Oct 29", date(2026, 10, 29)),
     ("11/29", NOV_29), ("Nov 29", NOV_29)],
)  # fmt: skip
def test_a_yearless_date_is_the_latest_not_after_today(typed, expected):
    assert parse_date(typed, NOV_29) == expected


def test_a_yearless_date_reaches_back_across_new_year():
    assert parse_date("12/30", date(2027, 1, 2)) == date(2026, 12, 30)
    assert parse_date("Feb 29", date(2028, 3, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize("typed", ["11/30", "Nov 30", "10/28", "3/4", "2/29", "12/30"])
def test_a_yearless_date_more_than_31_days_back_asks_for_the_year(typed):
    with pytest.raises(CcmError) as caught:
        parse_date(typed, NOV_29)
    assert "has no year" in caught.value.message and "type the year" in caught.value.message
    assert caught.value.exit_code == 1


def test_a_yearless_birth_date_is_refused_without_echoing_it():
    with pytest.raises(CcmError) as caught:
        parse_date("3/2", NOV_29, allow_future=False, private=True)
    assert "3/2" not in caught.value.message and "03-02" not in caught.value.message


def test_log_refuses_tomorrows_day_without_a_year_and_writes_nothing(cli, data):
    tomorrow = today_in(TZ) + timedelta(days=1)  # without a year: the same day a year ago
    before = snapshot(data)
    result = cli("log", "P0001", "5", "-d", data, "--date", f"{tomorrow.month}/{tomorrow.day}",
                 "--staff", "x")  # fmt: skip
    assert result.exit_code == 1
    assert "has no year" in result.stderr
    assert snapshot(data) == before
