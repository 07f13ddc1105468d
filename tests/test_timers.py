"""`ccm start`, `ccm stop`, `ccm status` and `ccm cancel` (contract section 7), clock from CCM_NOW."""

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ccmcli.store import timelog, timerstate
from ccmcli.store.datadir import DataDir
from helpers import CCM, ELIGIBLE_PATIENT

DAY = "2026-11-03"
CRASH_AT = str(Path(__file__).with_name("crash_at.py"))


@pytest.fixture
def data(datadir: Path) -> Path:
    for pid in ("P0001", "P0002"):
        (datadir / "patients" / f"{pid}.yaml").write_text(ELIGIBLE_PATIENT.format(pid=pid))
    return datadir


@pytest.fixture
def ccm(cli, data, monkeypatch):
    """Run `ccm -d DATA ARGS...` with the clock at `when` (local Chicago time unless an offset is
    given) and CCM_STAFF=rn.a."""
    monkeypatch.setenv("CCM_STAFF", "rn.a")

    def run(when: str, *args: str):
        stamp = when if when[-6] in "+-" else f"{when}-06:00"
        monkeypatch.setenv("CCM_NOW", stamp)
        return cli("-d", data, *args)

    return run


def rows(root: Path, month: str = "2026-11") -> list[dict]:
    path = root / "logs" / f"{month}.csv"
    if not path.exists():
        return []
    return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))


def timer_files(root: Path) -> list[Path]:
    return sorted((root / "timers").glob("*.json")) if (root / "timers").exists() else []


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def test_normal_stop_logs_one_entry_and_prints_what_log_prints(ccm, data):
    ok(ccm(f"{DAY}T09:15:00", "start", "P0001", "--activity", "care_coordination"))
    result = ok(ccm(f"{DAY}T09:35:00", "stop", "--note", "called about BP"))
    [row] = rows(data)
    assert (row["patient_id"], row["date"], row["minutes"]) == ("P0001", DAY, "20")
    assert (row["start"], row["end"], row["staff"], row["role"]) == (
        "09:15",
        "09:35",
        "rn.a",
        "clinical_staff",
    )
    assert (row["activity"], row["note"]) == ("care_coordination", "called about BP")
    assert row["logged_at"] == f"{DAY}T09:35:00-06:00"  # the stand-in clock, not the host's
    assert row["id"].startswith("E20261103T153500000-")
    out = result.stdout.splitlines()
    assert out == [row["id"], "P0001: 20 min in November 2026: 99490 met; 20 more for 99439"]
    assert result.stderr.count("warning: CCM_NOW is set") == 1
    assert timer_files(data) == []


def test_stop_output_matches_log_output(ccm, data, cli):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    stopped = ok(ccm(f"{DAY}T09:25:00", "stop")).stdout.splitlines()
    logged = ok(ccm(f"{DAY}T10:00:00", "log", "P0002", "25")).stdout.splitlines()
    assert stopped[1].replace("P0001", "P0002") == logged[1]


def test_59_seconds_logs_nothing_and_says_so(ccm, data):
    ok(ccm(f"{DAY}T09:15:00", "start", "P0001"))
    result = ok(ccm(f"{DAY}T09:15:59", "stop"))
    assert "under a minute (59 s): nothing logged" in result.stderr
    assert result.stdout == "" and rows(data) == [] and timer_files(data) == []


@pytest.mark.parametrize(("begin", "end", "start", "stop"), [
    ("09:15:00", "09:34:59", "09:15", "09:34"),    # 19 min 59 s: the end is rounded down
    ("09:15:01", "09:35:00", "09:16", "09:35"),    # the start is rounded up
    ("09:15:00.5", "09:35:00", "09:16", "09:35"),  # a fraction of a second still counts
])  # fmt: skip
def test_19_minutes_59_seconds_logs_19(ccm, data, begin, end, start, stop):
    ok(ccm(f"{DAY}T{begin}", "start", "P0001"))
    ok(ccm(f"{DAY}T{end}", "stop"))
    [row] = rows(data)
    assert (row["minutes"], row["start"], row["end"]) == ("19", start, stop)


def test_midnight_crossing_makes_one_entry_per_day(ccm, data):
    ok(ccm(f"{DAY}T23:50:30", "start", "P0001"))
    result = ok(ccm("2026-11-04T00:20:10", "stop"))
    got = [(r["date"], r["start"], r["end"], r["minutes"]) for r in rows(data)]
    assert got == [(DAY, "23:51", "23:59", "8"), ("2026-11-04", "00:00", "00:20", "20")]
    assert [r["id"] for r in rows(data)] == result.stdout.splitlines()[::2]
    assert result.stdout.splitlines()[-1].startswith("P0001: 28 min in November 2026")


def test_month_crossing_writes_into_a_new_month_file(ccm, data):
    ok(ccm("2026-10-31T23:40:00-05:00", "start", "P0001"))  # still daylight time in October
    ok(ccm("2026-11-01T00:15:00-05:00", "stop"))
    october, november = rows(data, "2026-10"), rows(data, "2026-11")
    assert [(r["date"], r["start"], r["end"], r["minutes"]) for r in october] == [
        ("2026-10-31", "23:40", "23:59", "19")
    ]
    assert [(r["date"], r["start"], r["end"], r["minutes"]) for r in november] == [
        ("2026-11-01", "00:00", "00:15", "15")
    ]
    new = data / "logs" / "2026-11.csv"
    assert new.read_text().startswith(timelog.HEADER)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600


def test_13_hours_is_refused_without_at_and_the_timer_kept(ccm, data):
    ok(ccm(f"{DAY}T08:00:00", "start", "P0001"))
    result = ccm(f"{DAY}T21:00:00", "stop")
    assert result.exit_code == 1
    assert "the timer has run 13 h 00 min" in result.stderr and "--at HH:MM" in result.stderr
    assert rows(data) == []
    [running] = json.loads(ok(ccm(f"{DAY}T21:00:00", "status", "-f", "json")).stdout)
    assert running["started"] == f"{DAY}T08:00:00-06:00"


def test_13_hours_with_at_ends_at_that_time(ccm, data):
    ok(ccm(f"{DAY}T08:00:00", "start", "P0001"))
    ok(ccm(f"{DAY}T21:00:00", "stop", "--at", "16:40"))
    [row] = rows(data)
    assert (row["start"], row["end"], row["minutes"]) == ("08:00", "16:40", "520")
    assert timer_files(data) == []


def test_at_of_a_forgotten_timer_from_yesterday(ccm, data):
    ok(ccm(f"{DAY}T16:00:00", "start", "P0001"))
    ok(ccm("2026-11-04T08:30:00", "stop", "--at", "17:05"))
    [row] = rows(data)
    assert (row["date"], row["start"], row["end"], row["minutes"]) == (DAY, "16:00", "17:05", "65")


def test_at_still_to_come_is_refused(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    result = ccm(f"{DAY}T09:20:00", "stop", "--at", "08:50")
    assert result.exit_code == 1 and "--at 08:50 is before the timer started" in result.stderr
    assert len(timer_files(data)) == 1


def test_at_that_is_not_a_time_is_a_usage_error(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    assert ccm(f"{DAY}T09:20:00", "stop", "--at", "25:00").exit_code == 2
    assert len(timer_files(data)) == 1


def test_two_staff_time_the_same_patient_at_once(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001", "--staff", "rn.a"))
    ok(ccm(f"{DAY}T09:05:00", "start", "P0001", "--staff", "ma.b", "--activity", "lab_review"))
    listed = json.loads(ok(ccm(f"{DAY}T09:10:00", "status", "--format", "json")).stdout)
    assert [(t["staff"], t["elapsed_minutes"]) for t in listed] == [("rn.a", 10), ("ma.b", 5)]
    ok(ccm(f"{DAY}T09:20:00", "stop", "--staff", "ma.b"))
    ok(ccm(f"{DAY}T09:30:00", "stop"))  # CCM_STAFF=rn.a
    got = [(r["staff"], r["start"], r["end"], r["minutes"], r["activity"]) for r in rows(data)]
    assert got == [
        ("ma.b", "09:05", "09:20", "15", "lab_review"),
        ("rn.a", "09:00", "09:30", "30", ""),
    ]


def test_start_while_running_is_refused_and_names_the_running_timer(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    result = ccm(f"{DAY}T09:12:00", "start", "P0002")
    assert result.exit_code == 1
    assert (
        "rn.a already has a timer running for P0001 since 2026-11-03 09:00 (12 min)"
        in result.stderr
    )
    [running] = json.loads(ok(ccm(f"{DAY}T09:12:00", "status", "-f", "json")).stdout)
    assert (running["patient_id"], running["started"]) == ("P0001", f"{DAY}T09:00:00-06:00")


def test_stop_and_cancel_with_no_timer_are_refused(ccm, data):
    for command in ("stop", "cancel"):
        result = ccm(f"{DAY}T09:00:00", command)
        assert result.exit_code == 1
        assert "no timer running for rn.a" in result.stderr


def test_cancel_discards_the_timer_and_logs_nothing(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    result = ok(ccm(f"{DAY}T09:30:00", "cancel"))
    assert "discarded" in result.stderr and "nothing logged" in result.stderr
    assert rows(data) == [] and timer_files(data) == []


def test_status_json_shape(ccm, data):
    assert json.loads(ok(ccm(f"{DAY}T09:00:00", "status", "-f", "json")).stdout) == []
    ok(ccm(f"{DAY}T09:00:30", "start", "P0002", "--activity", "education"))
    listed = json.loads(ok(ccm(f"{DAY}T09:20:40", "status", "--format", "json")).stdout)
    assert listed == [{"staff": "rn.a", "patient_id": "P0002", "started": f"{DAY}T09:00:30-06:00",
                       "elapsed_minutes": 19, "activity": "education"}]  # fmt: skip


def test_status_table_and_empty_message(ccm, data):
    assert "no timers running" in ok(ccm(f"{DAY}T09:00:00", "status")).stderr
    ok(ccm(f"{DAY}T09:00:00", "start", "P0002"))
    out = ok(ccm(f"{DAY}T10:05:00", "status")).stdout
    assert "rn.a" in out and "P0002" in out and "2026-11-03 09:00" in out and "65" in out


def test_timer_state_is_private_and_survives_between_processes(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    [path] = timer_files(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    state = json.loads(path.read_text())
    assert (state["staff"], state["patient_id"], state["stop"]) == ("rn.a", "P0001", None)


@pytest.mark.parametrize("staff", ["../../escape", "/etc/passwd", "..", "a/b\\c", "Ünïcødé nurse"])
def test_any_staff_name_stays_inside_the_timers_folder(ccm, data, staff):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001", "--staff", staff))
    [path] = timer_files(data)
    assert path.parent == data / "timers"
    assert json.loads(path.read_text())["staff"] == staff
    ok(ccm(f"{DAY}T09:10:00", "stop", "--staff", staff))
    assert [r["staff"] for r in rows(data)] == [staff]


def test_names_differing_in_case_do_not_share_a_timer(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001", "--staff", "RN.A"))
    ok(ccm(f"{DAY}T09:00:00", "start", "P0002", "--staff", "rn.a"))
    assert len(timer_files(data)) == 2


def test_stop_refused_when_the_patient_file_changed_then_forced(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    path = data / "patients" / "P0001.yaml"
    path.write_text(path.read_text().replace("Test Patient", "Other Patient"))
    result = ccm(f"{DAY}T09:20:00", "stop")
    assert result.exit_code == 1
    assert "patients/P0001.yaml changed since the timer started" in result.stderr
    assert "the timer keeps running" in result.stderr and "--force" in result.stderr
    assert rows(data) == [] and len(timer_files(data)) == 1
    ok(ccm(f"{DAY}T09:20:00", "stop", "--force"))
    assert [r["minutes"] for r in rows(data)] == ["20"]


def test_stop_refused_when_the_patient_file_vanished(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    (data / "patients" / "P0001.yaml").unlink()
    result = ccm(f"{DAY}T09:20:00", "stop", "--force")
    assert result.exit_code == 1 and "patients/P0001.yaml is gone" in result.stderr
    assert rows(data) == [] and len(timer_files(data)) == 1


def test_start_for_an_unknown_patient_is_refused(ccm, data):
    result = ccm(f"{DAY}T09:00:00", "start", "P0099")
    assert result.exit_code == 1 and 'unknown patient "P0099"' in result.stderr
    assert timer_files(data) == []


def test_a_failed_stop_leaves_the_timer_running(ccm, data):
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001"))
    (data / "logs").mkdir(exist_ok=True)
    (data / "logs" / "2026-11.csv").write_text("id,patient,what\n")  # a header no row can follow
    result = ccm(f"{DAY}T09:20:00", "stop")
    assert result.exit_code == 1 and "nothing logged; the timer keeps running" in result.stderr
    [path] = timer_files(data)
    assert json.loads(path.read_text())["stop"] is None
    (data / "logs" / "2026-11.csv").unlink()
    ok(ccm(f"{DAY}T09:30:00", "stop"))  # the later stop decides its own end
    assert [(r["end"], r["minutes"]) for r in rows(data)] == [("09:30", "30")]


def test_service_is_kept_in_the_timer_until_the_log_can_hold_it(ccm, data):
    assert ccm(f"{DAY}T09:00:00", "start", "P0001", "--service", "xyz").exit_code == 2
    ok(ccm(f"{DAY}T09:00:00", "start", "P0001", "--service", "bhi"))
    [path] = timer_files(data)
    assert json.loads(path.read_text())["service"] == "bhi"
    result = ccm(f"{DAY}T09:20:00", "stop")
    if result.exit_code == 0:  # the log's service column exists: the entry carries the service
        assert [r.get("service") for r in rows(data)] == ["bhi"]
    else:  # never logged as care-management time, which would be billed
        assert result.exit_code == 1 and "cannot log bhi time yet" in result.stderr
        assert rows(data) == [] and len(timer_files(data)) == 1


# Crash safety: a real `ccm stop` process dies (os._exit, as kill -9) at a named point.


def _run(data: Path, when: str, *args: str, crash: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CCM_DATA_DIR": str(data), "CCM_STAFF": "rn.a", "NO_COLOR": "1",
           "CCM_NOW": f"{when}-06:00"}  # fmt: skip
    command = [sys.executable, CRASH_AT, crash] if crash else [CCM]  # crash_at.py: a real ccm
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)


def test_kill_between_writing_the_entry_and_clearing_the_timer_logs_it_once(data):
    assert _run(data, f"{DAY}T09:00:00", "start", "P0001").returncode == 0
    died = _run(data, f"{DAY}T09:20:00", "stop", crash="after-entry-1")
    assert died.returncode == 137 and died.stdout == ""
    [written] = rows(data)
    assert len(timer_files(data)) == 1  # the timer was not cleared
    again = _run(data, f"{DAY}T09:45:00", "stop")
    assert again.returncode == 0, again.stderr
    assert "finishing a stop that was interrupted" in again.stderr
    assert f"{written['id']} was already logged before the stop was interrupted" in again.stderr
    assert rows(data) == [written]  # exactly once, with the end decided by the first stop
    assert (written["end"], written["minutes"]) == ("09:20", "20")
    assert again.stdout.splitlines() == [written["id"], "P0001: 20 min in November 2026: 99490 met; 20 more for 99439"]  # fmt: skip
    assert timer_files(data) == []


def test_status_after_a_kill_finishes_the_clearing(data):
    _run(data, f"{DAY}T09:00:00", "start", "P0001")
    assert _run(data, f"{DAY}T09:20:00", "stop", crash="after-entry-1").returncode == 137
    shown = _run(data, f"{DAY}T09:30:00", "status", "--format", "json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == []
    assert timer_files(data) == [] and len(rows(data)) == 1
    assert _run(data, f"{DAY}T09:31:00", "start", "P0002").returncode == 0


def test_kill_before_any_entry_logs_the_decided_stop_once(data):
    _run(data, f"{DAY}T09:00:00", "start", "P0001")
    assert _run(data, f"{DAY}T09:20:00", "stop", crash="before-entries").returncode == 137
    assert rows(data) == []
    decided = json.loads(timer_files(data)[0].read_text())["stop"]["parts"][0]["id"]
    assert _run(data, f"{DAY}T09:40:00", "stop").returncode == 0
    assert [(r["id"], r["minutes"]) for r in rows(data)] == [(decided, "20")]


def test_kill_between_the_two_days_of_a_midnight_stop(data):
    _run(data, f"{DAY}T23:30:00", "start", "P0001")
    assert _run(data, "2026-11-04T00:30:00", "stop", crash="after-entry-1").returncode == 137
    assert len(rows(data)) == 1
    shown = _run(data, "2026-11-04T00:31:00", "status", "-f", "json")
    assert [t["patient_id"] for t in json.loads(shown.stdout)] == ["P0001"]
    assert "`ccm stop --staff rn.a` finishes it" in shown.stderr
    cancel = _run(data, "2026-11-04T00:31:00", "cancel")
    assert cancel.returncode == 1 and "already logged" in cancel.stderr
    assert _run(data, "2026-11-04T00:40:00", "stop").returncode == 0
    got = [(r["date"], r["start"], r["end"]) for r in rows(data)]
    assert got == [(DAY, "23:30", "23:59"), ("2026-11-04", "00:00", "00:30")]
    assert len({r["id"] for r in rows(data)}) == 2


def test_a_damaged_timer_file_is_named(ccm, data):
    path = timerstate.state_path(DataDir(data), "rn.a")
    path.parent.mkdir(mode=0o700)
    path.write_text("{not json")
    result = ccm(f"{DAY}T09:00:00", "stop")
    assert result.exit_code == 1
    assert f"timers/{path.name} is not a timer file ccm can read" in result.stderr


def test_two_stops_at_once_log_the_timer_once(data):
    _run(data, f"{DAY}T09:00:00", "start", "P0001")
    env = {**os.environ, "CCM_DATA_DIR": str(data), "CCM_STAFF": "rn.a", "NO_COLOR": "1",
           "CCM_NOW": f"{DAY}T09:30:00-06:00"}  # fmt: skip
    procs = [subprocess.Popen([CCM, "stop"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 1]
    assert [r["minutes"] for r in rows(data)] == ["30"] and timer_files(data) == []
