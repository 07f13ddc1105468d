"""Contract 3 `summary`: the totals of the patients listed, checked against those patients."""

import json
from collections import Counter

import pytest

from ccmcli.reports.practice_month import summarize

FILTERS = [
    [],
    ["--status", "billable"],
    ["--status", "blocked"],
    ["--status", "below_threshold"],
    ["P0001", "P0010", "P0012"],
    ["P0004", "P0013", "--status", "blocked"],
]


def _check_json(cli, clinic, month, *args):
    result = cli("-d", clinic, "check", "--month", month, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _totals_by_hand(patients: list[dict]) -> dict:
    """The summary recomputed from the patient rows, independently of summarize()."""
    status = Counter(p["status"] for p in patients)
    units: Counter = Counter()
    for p in patients:
        for c in p["codes"]:
            units[c["code"]] += c["units"]
    return {
        "patients": len(patients),
        **{s: status[s] for s in ("billable", "below_threshold", "blocked", "no_time", "error")},
        "amount": round(sum(p["amount"] for p in patients), 2),
        "codes": dict(units),
        "total_amount": round(sum(p["total_amount"] for p in patients), 2),
        "patient_share": round(sum(p["patient_share"] for p in patients), 2),
    }


@pytest.mark.parametrize("month", ["2026-09", "2026-10", "2026-11"])
@pytest.mark.parametrize("args", FILTERS, ids=lambda a: " ".join(a) or "all")
def test_summary_equals_the_patients_listed(cli, clinic, month, args):
    out = _check_json(cli, clinic, month, *args)
    assert out["summary"] == _totals_by_hand(out["patients"])
    assert summarize(out["patients"]) == out["summary"]


def test_summary_of_the_example_month(cli, clinic):
    """October 2026 of the example clinic, as SCENARIOS.md gives it: 12 billable, 1282.94."""
    summary = _check_json(cli, clinic, "2026-10")["summary"]
    assert summary["patients"] == 22  # P0019-P0022: remote monitoring, CCM blocked
    assert (summary["billable"], summary["blocked"]) == (12, 8)
    assert (summary["below_threshold"], summary["no_time"]) == (1, 1)
    assert summary["amount"] == 1282.94
    assert summary["total_amount"] == 1517.41  # with the other services (A16)
    assert summary["codes"]["99490"] == 5 and summary["codes"]["99437"] == 2  # P0014 too
    assert list(summary) == ["patients", "billable", "below_threshold", "blocked", "no_time",
                             "error", "amount", "codes", "total_amount", "patient_share"]  # fmt: skip


def test_summary_of_no_patients_is_zero(cli, clinic):
    out = _check_json(cli, clinic, "2026-10", "P0001", "--status", "blocked")
    assert out["patients"] == []
    assert out["summary"] == {"patients": 0, "billable": 0, "below_threshold": 0, "blocked": 0,
                              "no_time": 0, "error": 0, "amount": 0.0, "codes": {},
                              "total_amount": 0.0, "patient_share": 0.0}  # fmt: skip


def test_summary_amount_is_summed_in_cents():
    """Float sums drift (0.1 + 0.2); the total is the sum of the cents."""
    rows = [{"status": "billable", "amount": a, "codes": [{"code": "99490", "units": 1}]}
            for a in (0.1, 0.2, 66.13, 66.13, 66.13)]  # fmt: skip
    summary = summarize(rows)
    assert summary["amount"] == 198.69
    assert summary["codes"] == {"99490": 5}
    assert summary["billable"] == 5


def test_summarize_takes_the_report_object(clinic):
    from ccmcli.reports.check_views import run_check
    from ccmcli.store.datadir import DataDir

    report = run_check(DataDir(clinic), "2026-10", None, "billable")
    assert summarize(report) == summarize(report.judgements)
    assert summarize(report)["patients"] == summarize(report)["billable"] == 12
