"""Which patients belong to a month (ccm-rules A17, contract 3 and 8; issue 23 item 1).

A patient enrolled after a month, or gone before it, is no part of that month unless an entry is
dated in it: not listed or counted by check, worklist, report, compare, export, nor in a month's
close record, so enrolling a patient today never turns a closed month red.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from ccmcli.models.months import Month
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient
from ccmcli.rules.enrolment import part_of_month

NOW = "2026-12-07T10:00:00-06:00"
NOV = Month.parse("2026-11")


@pytest.fixture
def clinic_now(clinic, monkeypatch) -> Path:
    monkeypatch.setenv("CCM_NOW", NOW)
    return clinic


def add_late(cli, root: Path, pid: str = "A2", when: str = "2026-12-03"):
    r = cli("-d", root, "patient", "add", pid, "--name", "Late Joiner", "--birth-date",
            "1950-02-03", "--condition", "E11.9", "--condition", "I10", "--consent-date", when,
            "--consent-method", "verbal", "--initiating-visit", when, "--visit-type", "awv",
            "--care-plan", when)  # fmt: skip
    assert r.exit_code == 0, r.stderr


def ids(check_json: str) -> list[str]:
    return [p["patient_id"] for p in json.loads(check_json)["patients"]]


# ---- the test of membership ---------------------------------------------------------------------


def patient(**fields) -> Patient:
    return validate(Patient, {"id": "X1", "name": "X", "birth_date": "1950-01-01", **fields})


def consent(day: str, revoked: str | None = None) -> dict:
    return {"date": day, "method": "verbal", **({"revoked": revoked} if revoked else {})}


@pytest.mark.parametrize(
    ("fields", "member"),
    [
        ({}, True),  # no dates at all: part of every month (blocked by no_consent)
        ({"consent": consent("2026-11-30")}, True),
        ({"consent": consent("2026-12-01")}, False),
        ({"consent": consent("2026-12-01"), "initiating_visit": {"date": "2026-11-30", "type": "awv"}}, True),
        ({"consent": consent("2026-12-01"), "care_plan": {"established": "2026-11-15"}}, True),
        ({"consent": consent("2026-12-01"), "program_changes": [{"month": "2026-11", "program": "apcm"}]}, True),
        ({"consent": consent("2026-12-01"), "program_changes": [{"month": "2026-12", "program": "apcm"}]}, False),
        ({"consent": consent("2026-01-05", revoked="2026-10-31")}, False),
        ({"consent": consent("2026-01-05", revoked="2026-11-01")}, True),
        ({"consent": consent("2026-01-05"), "discharged": "2026-10-31"}, False),
        ({"consent": consent("2026-01-05"), "discharged": "2026-11-01"}, True),
    ],
)  # fmt: skip
def test_part_of_month_at_its_edges(fields, member):
    p = patient(**fields)
    assert part_of_month(p, NOV, has_entries=False) is member
    assert part_of_month(p, NOV, has_entries=True) is True  # an entry dated in M: always part


# ---- every view ---------------------------------------------------------------------------------


def test_a_patient_enrolled_after_a_closed_month_is_no_difference(cli, clinic_now):
    assert cli("-d", clinic_now, "close", "2026-11").exit_code == 0
    add_late(cli, clinic_now)
    v = cli("-d", clinic_now, "validate")
    assert "A2" not in v.stdout + v.stderr
    assert v.exit_code == 0, v.stdout
    verify = cli("-d", clinic_now, "close", "--verify", "2026-11")
    assert verify.exit_code == 0, verify.stdout
    check = cli("-d", clinic_now, "check", "--month", "2026-11", "-f", "json")
    assert "A2" not in ids(check.stdout)
    december = cli("-d", clinic_now, "check", "--month", "2026-12", "-f", "json")
    assert "A2" in ids(december.stdout)


def test_check_summary_and_close_count_only_the_months_patients(cli, clinic_now):
    add_late(cli, clinic_now)
    whole = json.loads(cli("-d", clinic_now, "check", "--month", "2026-11", "-f", "json").stdout)
    assert whole["summary"]["patients"] == len(whole["patients"]) == 22
    # the patient whose consent was revoked on 2026-10-12 and has no entry in November is gone
    early = json.loads(cli("-d", clinic_now, "check", "--month", "2025-11", "-f", "json").stdout)
    assert early["summary"]["patients"] < 22
    table = cli("-d", clinic_now, "check", "--month", "2026-11", "-f", "csv")
    assert "A2," not in table.stdout
    assert cli("-d", clinic_now, "close", "2026-11").exit_code == 0
    record = json.loads((clinic_now / "closed" / "2026-11.json").read_text())
    assert "A2" not in [p["patient_id"] for p in record["patients"]]
    assert record["summary"]["patients"] == 22


def test_an_entry_in_the_month_makes_the_patient_part_of_it(cli, clinic_now):
    add_late(cli, clinic_now)
    log = cli("-d", clinic_now, "log", "A2", "10", "--date", "2026-11-20")
    assert log.exit_code == 0, log.stderr
    check = json.loads(cli("-d", clinic_now, "check", "--month", "2026-11", "-f", "json").stdout)
    a2 = next(p for p in check["patients"] if p["patient_id"] == "A2")
    assert a2["status"] == "blocked"  # there, and blocked: the minutes are before consent


def test_report_history_counts_the_patients_of_each_month(clinic_now):
    from ccmcli.reports.practice_report import build_report
    from ccmcli.store.datadir import DataDir

    report = build_report(DataDir(clinic_now), "2026-11", 12, workers=0)
    counts = {str(t.month): t.patients for t in report.history}
    assert counts["2026-11"] == 22
    assert counts["2025-11"] < counts["2026-11"]  # not everyone enrolled a year ago
    firsts = []
    for path in (clinic_now / "patients").glob("*.yaml"):
        text = path.read_text()
        firsts.append(min(date.fromisoformat(w) for w in _dates(text)))
    assert counts["2025-11"] == sum(d <= date(2025, 11, 30) for d in firsts)


def _dates(text: str) -> list[str]:
    import re

    body = re.sub(r"birth_date: \S+", "", text)
    found = re.findall(r"\b(20\d\d-\d\d-\d\d)\b", body)
    found += [m + "-01" for m in re.findall(r"month: (20\d\d-\d\d)\b", body)]
    return found


def test_compare_leaves_out_patients_of_no_month_compared(cli, clinic_now):
    add_late(cli, clinic_now)
    out = json.loads(cli("-d", clinic_now, "compare", "--month", "2026-11", "-f", "json").stdout)
    assert "A2" not in [p["patient_id"] for p in out["patients"]]
    both = cli("-d", clinic_now, "compare", "--month", "2026-12", "--months", "2", "-f", "json")
    assert "A2" in [p["patient_id"] for p in json.loads(both.stdout)["patients"]]


def test_export_and_worklist_leave_out_the_late_patient(cli, clinic_now):
    add_late(cli, clinic_now)
    work = cli("-d", clinic_now, "worklist", "--month", "2026-11", "-f", "json")
    assert "A2" not in work.stdout
    exp = cli("-d", clinic_now, "export", "--month", "2026-11")
    assert exp.exit_code in (0, 1)
    assert "A2" not in exp.stdout


def test_a_record_listing_a_patient_now_outside_the_month_is_no_difference(cli, clinic_now):
    """A close made before A17 listed every patient, the not yet enrolled among them."""
    add_late(cli, clinic_now, "A3", when="2026-11-20")  # part of November, no entry: no_time
    assert cli("-d", clinic_now, "close", "2026-11").exit_code == 0
    record = json.loads((clinic_now / "closed" / "2026-11.json").read_text())
    assert "A3" in [p["patient_id"] for p in record["patients"]]
    path = clinic_now / "patients" / "A3.yaml"
    path.write_text(path.read_text().replace("2026-11-20", "2026-12-03"))
    verify = cli("-d", clinic_now, "close", "--verify", "2026-11")
    assert verify.exit_code == 0, verify.stdout
    assert cli("-d", clinic_now, "validate").exit_code == 0


def test_explain_and_patient_show_say_the_patient_is_not_enrolled(cli, clinic_now):
    add_late(cli, clinic_now)
    for args in (("explain", "A2"), ("patient", "show", "A2")):
        r = cli("-d", clinic_now, *args, "--month", "2026-11")
        assert r.exit_code == 0, r.stderr
        assert "A2: not enrolled in 2026-11" in r.stdout, args
        assert "no_consent" not in r.stdout, args
    enrolled = cli("-d", clinic_now, "explain", "A2", "--month", "2026-12")
    assert "not enrolled" not in enrolled.stdout and "A2" in enrolled.stdout


def test_check_of_a_patient_not_enrolled_in_the_month_says_so(cli, clinic_now):
    add_late(cli, clinic_now)
    r = cli("-d", clinic_now, "check", "A2", "--month", "2026-11", "-f", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["patients"] == []
    assert "note: A2: not enrolled in 2026-11" in r.stderr
