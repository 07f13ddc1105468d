"""What a new user meets first (issue 23, item 13): messages that say what is wrong, choices
taken in any case, a warning where a record will be blocked, and nothing written where it does
not belong (timers' lock in git, HOME, matplotlib's config)."""

import os
import shutil
import subprocess

import pytest

from helpers import CCM

NOW = "2026-11-27T10:00:00-06:00"  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)


def _add(cli, root, pid, *more):
    return cli("-d", root, "patient", "add", pid, "--name", "Ann Lee", "--birth-date",
               "1950-01-02", *more)  # fmt: skip


def test_a_birth_date_after_today_is_said_plainly(cli, clinic, today):
    result = cli("-d", clinic, "patient", "add", "X1", "--name", "A B", "--birth-date",
                 "2030-01-01")  # fmt: skip
    assert result.exit_code == 1
    assert "--birth-date: the date is after today (2026-11-27)" in result.stderr
    assert "date the date" not in result.stderr and "2030" not in result.stderr


def test_negative_minutes_are_out_of_range_not_a_bad_number(cli, clinic, today):
    result = cli("-d", clinic, "log", "P0001", "--", "-5")
    assert result.exit_code == 2
    assert "MINUTES -5 is outside 1-720 minutes" in result.stderr
    assert "whole number" not in result.stderr
    words = cli("-d", clinic, "log", "P0001", "five")
    assert words.exit_code == 2 and "not a whole number of minutes (1-720)" in words.stderr


@pytest.mark.parametrize("typed", ["11/31/2026", "2026-11-31", "2/30/2026"])
def test_a_day_the_month_lacks_is_not_a_real_date_in_every_form(cli, clinic, today, typed):
    result = cli("-d", clinic, "log", "P0001", "5", "--date", typed)
    assert result.exit_code == 2
    assert f'"{typed}" is not a real date' in result.stderr


def test_explain_says_a_files_error_once(cli, clinic, today):
    path = clinic / "patients" / "P0006.yaml"
    path.write_text(path.read_text().replace("E11.22", "Z99.ZZ"))
    result = cli("-d", clinic, "explain", "P0006", "--month", "2026-10")
    assert result.exit_code == 1
    said = (result.stdout + result.stderr).count("Z99.ZZ is not in the ICD-10-CM code set")
    assert said == 1


def test_audit_without_month_says_which_month(cli, clinic, today):
    result = cli("-d", clinic, "audit", "P0001")
    assert result.exit_code == 0
    assert "audit of 2026-11, the current month" in result.stderr
    assert "2026-11" in result.stdout
    quiet = cli("-d", clinic, "audit", "P0001", "--month", "2026-10")
    assert "audit of" not in quiet.stderr


def test_stop_at_a_time_before_the_start_speaks_of_midnight(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-27T10:58:00-06:00")
    assert cli("-d", clinic, "start", "P0001", "--staff", "rn.x").exit_code == 0
    monkeypatch.setenv("CCM_NOW", "2026-11-27T11:30:00-06:00")
    result = cli("-d", clinic, "stop", "--staff", "rn.x", "--at", "00:01")
    assert result.exit_code == 1
    assert "before the timer started" in result.stderr and "midnight" in result.stderr
    assert "is after now" not in result.stderr
    assert cli("-d", clinic, "stop", "--staff", "rn.x", "--at", "11:20").exit_code == 0


def test_worklist_of_an_ended_month_says_it_ended(cli, clinic, today):
    text = cli("-d", clinic, "worklist", "--month", "2026-10").stdout
    assert text.splitlines()[0].startswith("worklist 2026-10: the month has ended")
    assert "0 days left" not in text and "at stake" not in text
    assert "not reached" in text.splitlines()[-1]
    running = cli("-d", clinic, "worklist", "--month", "2026-11").stdout
    assert running.splitlines()[0] == "worklist 2026-11: 4 days left"


def test_status_table_speaks_as_the_other_tables(cli, clinic, today):
    assert cli("-d", clinic, "start", "P0007", "--staff", "rn.x").exit_code == 0
    header = cli("-d", clinic, "status").stdout.splitlines()[1].split()
    assert header == ["staff", "patient", "started", "minutes", "activity"]
    csv = cli("-d", clinic, "status", "--format", "csv").stdout.splitlines()[0]
    assert csv == "staff,patient_id,started,elapsed_minutes,activity"  # the CSV keeps its names


def test_choices_are_taken_in_any_case(cli, clinic, today):
    added = _add(cli, clinic, "X2", "--condition", "I10", "--condition", "E11.9",
                 "--consent-method", "Verbal", "--consent-date", "2026-11-01",
                 "--visit-type", "EM", "--initiating-visit", "2026-11-01", "--program", "PCM",
                 "--principal-condition", "I10")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    text = (clinic / "patients" / "X2.yaml").read_text()
    assert "method: verbal" in text and "type: em" in text and "program: pcm" in text
    logged = cli("-d", clinic, "log", "P0001", "5", "--role", "PRACTITIONER", "--service", "BHI",
                 "--activity", "Care_Coordination", "--staff", "dr.x", "-f", "JSON")  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    row = (clinic / "logs" / "2026-11.csv").read_text().splitlines()[-1]
    assert ",practitioner,dr.x,care_coordination," in row and row.endswith(",bhi")
    started = cli("-d", clinic, "start", "P0002", "--service", "RPM", "--role", "Practitioner")
    assert started.exit_code == 0, started.stderr
    billable = cli("-d", clinic, "check", "--month", "2026-10", "--status", "BILLABLE", "-f", "csv")
    assert billable.exit_code == 0 and len(billable.stdout.splitlines()) == 1 + 12


def test_pcm_without_a_principal_condition_warns(cli, clinic, today):
    result = _add(cli, clinic, "X3", "--program", "pcm", "--condition", "I50.22")
    assert result.exit_code == 0
    assert "warning: X3 has no principal condition" in result.stderr
    fine = _add(cli, clinic, "X4", "--program", "pcm", "--condition", "I50.22",
                "--principal-condition", "I50.22")  # fmt: skip
    assert "principal condition" not in fine.stderr


def test_the_timers_lock_is_ignored_by_git(cli, clinic, today):
    assert cli("-d", clinic, "start", "P0007", "--staff", "rn.x").exit_code == 0
    assert (clinic / "timers" / ".gitignore").read_text() == ".lock\n"
    git = shutil.which("git")
    if git:
        subprocess.run([git, "init", "-q", clinic], check=True)
        shown = subprocess.run([git, "-C", clinic, "status", "--porcelain", "-uall", "timers"],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert ".lock" not in shown


def test_no_home_is_created_and_matplotlib_keeps_quiet(clinic, tmp_path):
    """As root with `HOME=/nonexistent` (a service user), ccm created it: the ICD-10-CM index and
    matplotlib's config both went under HOME. A home that cannot be written made matplotlib warn
    on every report."""
    home = tmp_path / "nonexistent"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "CCM_NOW": NOW, "CCM_STAFF": "rn.x"}
    for args in (["patient", "add", "X5", "--name", "A B", "--birth-date", "1950-01-02",
                  "--condition", "I10", "--condition", "E11.9"],
                 ["report", "--month", "2026-10", "-o", tmp_path / "r.html"]):  # fmt: skip
        done = subprocess.run([CCM, "-d", clinic, *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        said = [line for line in done.stderr.splitlines() if line != "warning: CCM_NOW is set"]
        assert len(said) == 1 and said[0].startswith(("added", "wrote")), done.stderr
        assert not home.exists()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    env["HOME"] = str(locked)
    done = subprocess.run([CCM, "-d", clinic, "report", "--month", "2026-10", "-o",
                           tmp_path / "r2.html"], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "atplotlib" not in done.stderr
    if os.geteuid() != 0:  # root writes anywhere
        assert list(locked.iterdir()) == []
