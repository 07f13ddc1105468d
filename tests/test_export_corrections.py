"""The export ledger against the data now (issue 11, items 5 and 6; ccm-rules A18).

A claim already sent is wrong not only when its units are no longer supported, but when its date
of service is not what the data gives now (test_export_claims.py has the other fields). And an
export judges the month under the ledger's lock, so another export recording lines meanwhile is
never mistaken for a claim the data no longer gives.
"""

import fcntl
import os
import subprocess

import pytest

from ccmcli.actions import export
from ccmcli.reports import practice_month
from ccmcli.store import ledger
from ccmcli.store.datadir import DataDir
from helpers import CCM
from test_export import PREV, add_patient, claims, day, log, void


@pytest.fixture
def run(cli, datadir):
    def go(*args: str):
        return cli("export", "-d", datadir, *args)

    return go


def corrections(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "needs a corrected claim" in line]


def test_a_later_unit_moving_the_months_date_is_a_correction(run, datadir):
    """Before A18 this wrote a lone 99439 dated day 25: denied by a payer (no base code on the
    same date). The claim as the data gives it now carries both codes, on day 25."""
    add_patient(datadir, "P1")
    log(datadir, "P1", 20, day(10))
    assert claims(run()) == [("P1", "99490", "1")]
    log(datadir, "P1", 20, day(25))
    again = run()
    assert again.exit_code == 1
    assert claims(again) == []
    assert corrections(again.stderr) == [
        f"P1 {PREV}: exported 99490x1 on {day(10)}; the data now supports 99490x1 99439x1 on "
        f"{day(25)}: needs a corrected claim"
    ]


def test_lines_exported_together_carry_the_last_units_date_and_stay_right(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 20, day(10))
    log(datadir, "P1", 20, day(25))
    assert claims(run()) == [("P1", "99490", "1"), ("P1", "99439", "1")]
    again = run()
    assert again.exit_code == 0 and corrections(again.stderr) == []


def test_unchanged_units_and_fields_stay_quiet_under_month_end_dates(run, datadir):
    settings = datadir / "ccm.yaml"
    settings.write_text(settings.read_text() + "date_of_service: month_end\n")
    add_patient(datadir, "P1")
    first = log(datadir, "P1", 20, day(5))
    assert run().exit_code == 0
    void(datadir, first, "P1", day(5))
    log(datadir, "P1", 20, day(22))
    again = run()  # the month's last day either way: the same claim
    assert again.exit_code == 0 and corrections(again.stderr) == []


# ---- 6: two exports at once ---------------------------------------------------------------------


def test_an_export_running_meanwhile_is_no_false_correction(datadir, monkeypatch):
    """The worst interleaving, made certain: right after this export has judged the month, more
    minutes are logged and another process exports. When the ledger is free at that moment (the
    judgement was made outside its lock) the other export runs to the end first; when it is held,
    the other export waits for it. This export may not report a correction: the claim it judged
    is the one it records; the other export then finds that claim short of the data (A18)."""
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(5))
    env = {**os.environ, "CCM_DATA_DIR": str(datadir)}
    ledger_path = datadir / "exports" / f"{PREV}.csv"
    real_judge, other = practice_month.judge_month, []

    def judge_then_race(*args, **kwargs):
        report = real_judge(*args, **kwargs)
        if not other:
            more = [CCM, "log", "P1", "20", "--date", day(6), "-q", "--staff", "rn.b"]
            subprocess.run(more, env=env, check=True, capture_output=True, timeout=120)
            cmd = [CCM, "export", "--month", str(PREV)]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)  # fmt: skip
            other.append(proc)
            if ledger_is_free(ledger_path):
                other.append(proc.communicate(timeout=120))
        return report

    monkeypatch.setattr(practice_month, "judge_month", judge_then_race)
    written: list[str] = []
    outcome = export.export_month(DataDir(datadir), str(PREV), written.append)
    proc = other[0]
    _, err = other[1] if len(other) > 1 else proc.communicate(timeout=120)
    assert outcome.plan.corrections == [], [c.message() for c in outcome.plan.corrections]
    assert proc.returncode == 1, err
    assert corrections(err) == [
        f"P1 {PREV}: exported 99490x1 on {day(5)}; the data now supports 99490x1 99439x1 on "
        f"{day(6)}: needs a corrected claim"
    ]
    lines = ledger.read_ledger(DataDir(datadir), PREV)
    assert [(x.code, x.units) for x in lines] == [("99490", 1)]


def ledger_is_free(path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
