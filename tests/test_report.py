"""`ccm report` (contract 10): the figures against `ccm check`, the file it writes, its refusals.

The page in a real browser is tested in test_report_browser.py.
"""

import csv
import json
import re
import stat
from collections import Counter
from pathlib import Path

import pytest

from ccmcli.models.months import Month, last_finished_month
from ccmcli.reports.practice_report import (
    build_report,
    near_patients,
    report_months,
    staff_minutes,
    thresholds,
)
from ccmcli.store.datadir import DataDir


def _report(cli, clinic: Path, out: Path, *args: str):
    result = cli("-d", clinic, "report", "-o", out, *args)
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8")


def _check(cli, clinic: Path, month: str) -> dict:
    result = cli("-d", clinic, "check", "--month", month, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_report_is_one_private_file_with_three_charts(cli, clinic, tmp_path):
    out = tmp_path / "out" / "report.html"
    page = _report(cli, clinic, out, "--month", "2026-10")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert page.startswith("<!DOCTYPE html>")
    svgs = re.findall(r"<svg\b[^>]*>\s*<title id=\"[^\"]+\">[^<]+</title>", page)
    assert len(svgs) == 3 and all('role="img"' in s for s in svgs)
    assert page.count("<svg") == 3


def test_report_loads_nothing_from_anywhere(cli, clinic, tmp_path):
    """No link, script or image from outside: the only URLs are the SVG namespaces."""
    page = _report(cli, clinic, tmp_path / "r.html", "--month", "2026-10")
    assert "<link" not in page and "@import" not in page and "<img" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_history_amounts_equal_check(cli, clinic, tmp_path):
    """The amount-per-month table holds `ccm check`'s summary of each month."""
    page = _report(cli, clinic, tmp_path / "r.html", "--month", "2026-11", "--months", "3")
    body = page.split('id="history-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td[^>]*>(\d{4}-\d\d)[^<]*</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>"
                      r"<td[^>]*>([\d,.]+)</td>", body)  # fmt: skip
    assert [r[0] for r in rows] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    for month, patients, billable, amount in rows:
        s = _check(cli, clinic, month)["summary"]
        assert (int(patients), int(billable)) == (s["patients"], s["billable"])
        assert float(amount.replace(",", "")) == s["amount"]


def test_months_are_the_month_and_those_before_it():
    assert report_months(Month(2026, 2), 2) == [Month(2025, 12), Month(2026, 1), Month(2026, 2)]
    assert report_months(Month(2026, 2), 0) == [Month(2026, 2)]
    assert len(report_months(Month(2026, 2), 12)) == 13


def test_default_month_is_the_last_finished_one(cli, clinic, tmp_path):
    page = _report(cli, clinic, tmp_path / "r.html", "--months", "0")
    expected = last_finished_month("America/Chicago")
    assert f'<h2 id="patients-h">Patients, {expected}</h2>' in page


def test_near_patients_and_what_they_would_add(clinic):
    """Contract 10: patients within 5 minutes of a further code, and the amount it adds."""
    report = build_report(DataDir(clinic), "2026-10", 0)
    near = near_patients(report.judgements)
    assert [n.judgement.patient.id for n in near] == ["P0003"]  # 18 min, 2 short of 99490
    assert near[0].minutes_needed == 2
    assert near[0].gain == report.current.rules.amount([("99490", 1)])
    wider = near_patients(report.judgements, within=20)
    assert {n.judgement.patient.id for n in wider} >= {"P0003", "P0001", "P0007", "P0006"}
    assert all(not n.judgement.blockers and n.gain > 0 for n in wider)


def test_staff_minutes_equal_the_log(clinic):
    """Minutes per staff member: every valid entry of the program (time of another service is
    not care management, A7) that no void row cancels, read here straight from the CSV."""
    with open(clinic / "logs" / "2026-10.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    voided = {r["voids"] for r in rows if r["voids"]}
    expected: Counter = Counter()
    for r in rows:
        if not r["voids"] and r["id"] not in voided and not r.get("service"):
            expected[r["staff"]] += int(r["minutes"])
    report = build_report(DataDir(clinic), "2026-10", 0)
    got = staff_minutes(report.judgements)
    assert {s.staff: s.minutes for s in got} == dict(expected)
    assert [s.minutes for s in got] == sorted((s.minutes for s in got), reverse=True)


def test_thresholds_of_the_programs_seen(clinic):
    report = build_report(DataDir(clinic), "2026-10", 0)
    lines = dict(thresholds(report, 60))
    assert lines[20] == ["99490"]
    assert lines[40] == ["99439x1"]
    assert {"99491", "99426"} <= set(lines[30])  # ccm practitioner track and pcm (P0011)
    assert max(lines) == 60


def test_names_are_escaped(cli, clinic, tmp_path):
    path = clinic / "patients" / "P0001.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^name: .*$", 'name: "<b>Bold</b> & Co"', text), encoding="utf-8")
    page = _report(cli, clinic, tmp_path / "r.html", "--month", "2026-10")
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page


@pytest.mark.parametrize("where", ["ccm-report.html", "logs/r.html", "exports/2026-10.csv"])
def test_output_inside_the_data_directory_is_refused(cli, clinic, where):
    target = clinic / where
    before = target.read_bytes() if target.exists() else None
    result = cli("-d", clinic, "report", "-o", target, "--month", "2026-10")
    assert result.exit_code == 1
    assert "inside the data directory" in result.stderr
    assert (target.read_bytes() if target.exists() else None) == before


def test_output_inside_the_data_directory_by_a_relative_path(cli, clinic, monkeypatch):
    monkeypatch.chdir(clinic / "logs")
    result = cli("-d", clinic, "report", "-o", "../r.html")
    assert result.exit_code == 1 and not (clinic / "r.html").exists()


def test_months_must_be_a_count(cli, clinic, tmp_path):
    result = cli("-d", clinic, "report", "-o", tmp_path / "r.html", "--months", "-1")
    assert result.exit_code == 2
    assert not (tmp_path / "r.html").exists()


def test_no_progress_bar_when_stderr_is_not_a_terminal(cli, clinic, tmp_path):
    result = cli("-d", clinic, "report", "-o", tmp_path / "r.html", "--month", "2026-10")
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'r.html'}: 2026-10, 22 patients, 12 billable, amount 1282.94, "
        "with other services 1517.41"
    ]
    quiet = cli("-d", clinic, "report", "-o", tmp_path / "q.html", "-q", "--month", "2026-10")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_progress_is_reported_up_to_every_month(clinic):
    seen = []
    build_report(DataDir(clinic), "2026-10", 4, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5) and {t for _, t in seen} == {5}
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})


def test_report_needs_an_output_file(cli, clinic):
    result = cli("-d", clinic, "report", "--month", "2026-10")
    assert result.exit_code == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_history_is_the_same_judged_here_or_in_workers(clinic, workers):
    data = DataDir(clinic)
    report = build_report(data, "2026-11", 5, workers=workers)
    assert [str(m.month) for m in report.history] == [
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"
    ]  # fmt: skip
    sequential = build_report(data, "2026-11", 5, workers=0)
    assert report.history == sequential.history
    assert report.history[-1].amount == report.summary["amount"]


def test_charts_of_the_month_are_drawn_while_the_history_is_judged(clinic):
    """`meanwhile` sees the month judged and the history not yet there."""
    seen = []
    report = build_report(DataDir(clinic), "2026-10", 3,
                          meanwhile=lambda r: seen.append((r.summary["patients"], len(r.history))))  # fmt: skip
    assert seen == [(22, 0)]
    assert len(report.history) == 4


@pytest.fixture
def counted(monkeypatch):
    """Files count as settled at once (no 2-second racy window), and each month judged is
    recorded."""
    from ccmcli.reports import practice_report
    from ccmcli.store import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)
    judged = []
    real = practice_report.judge_month

    def judge(practice, month, only=None):
        judged.append(str(month))
        return real(practice, month, only)

    monkeypatch.setattr(practice_report, "judge_month", judge)
    return judged


def _history(clinic, months_before=3):
    return build_report(DataDir(clinic), "2026-11", months_before, workers=0).history


def test_past_months_are_judged_once(clinic, counted):
    first = _history(clinic)
    assert counted == ["2026-11", "2026-08", "2026-09", "2026-10"]
    counted.clear()
    assert _history(clinic) == first
    assert counted == ["2026-11"]


def test_a_changed_patient_file_is_judged_again(clinic, counted, monkeypatch):
    before = _history(clinic)
    path = clinic / "patients" / "P0002.yaml"
    path.write_text(re.sub(r"(?m)^consent:.*\n(  .*\n)*", "", path.read_text()), "utf-8")
    counted.clear()
    after = _history(clinic)
    assert counted == ["2026-11", "2026-08", "2026-09", "2026-10"]
    monkeypatch.setenv("CCM_NO_CACHE", "1")
    assert after == _history(clinic) != before
    assert after[2].amount < before[2].amount  # P0002 billed in 2026-10


def test_a_changed_log_is_judged_again(clinic, counted):
    _history(clinic)
    log = clinic / "logs" / "2026-10.csv"
    with open(log, "a", encoding="utf-8") as f:
        f.write(
            "E-extra,P0003,2026-10-30,5,clinical_staff,rn.x,call,,,,2026-10-30T10:00:00-05:00,,\n"
        )
    counted.clear()
    after = _history(clinic)
    assert counted == ["2026-11", "2026-10"]
    assert after[2].billable == 13  # P0003 reaches 99490 with 23 minutes


def test_an_earlier_log_that_reuses_an_id_judges_the_later_month_again(clinic, counted):
    """An October row whose id September's file already uses counts toward nothing (the loader's
    rule): a kept October total must not outlive that change to September."""
    before = _history(clinic)
    assert before[2].billable == 12
    with open(clinic / "logs" / "2026-09.csv", "a", encoding="utf-8") as f:  # 12 columns
        f.write("E20261022-0002,P0006,2026-09-29,5,clinical_staff,rn.x,call,,,,"
                "2026-09-29T10:00:00-05:00,\n")  # fmt: skip
    counted.clear()
    after = _history(clinic)
    assert "2026-10" in counted
    assert after[2].billable == 11  # P0006 keeps 12 of its 22 October minutes: below 99490


def test_no_totals_kept_with_caches_off(clinic, counted, monkeypatch):
    from ccmcli.store import cache

    monkeypatch.setenv("CCM_NO_CACHE", "1")
    _history(clinic)
    assert not cache.cache_file(DataDir(clinic).root, "report-totals").exists()
    counted.clear()
    _history(clinic)
    assert len(counted) == 4


def test_report_of_a_practice_without_patients(cli, datadir, tmp_path):
    """A new practice: the page says so; no staff chart, no warning from the charts."""
    result = cli("-d", datadir, "report", "-o", tmp_path / "r.html", "--month", "2026-10")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'r.html'}: 2026-10, 0 patients, 0 billable, amount 0.00"
    ]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "No minutes were logged this month." in page


def test_report_reads_without_scripts(cli, clinic, tmp_path):
    """The page is complete as written: the script only adds sort buttons to the headings."""
    html = _report(cli, clinic, tmp_path / "r.html", "--month", "2026-10")
    body = html.split("<script>")[0]
    for p in _check(cli, clinic, "2026-10")["patients"]:
        assert f'<tr data-patient="{p["patient_id"]}">' in body
    assert body.count("<svg") == 3 and html.count("<script") == 1


def test_errors_in_the_month_files_are_said_on_the_page_and_stderr(cli, broken, tmp_path):
    check = cli("-d", broken, "check", "--month", "2026-10", "--format", "json")
    errors = sum(p["severity"] == "error" for p in json.loads(check.stdout)["problems"])
    result = cli("-d", broken, "report", "-o", tmp_path / "r.html", "--month", "2026-10")
    assert result.exit_code == 0 and errors > 0
    assert f"warning: {errors} errors in 2026-10's files count toward nothing" in result.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<strong>{errors} errors</strong> in this month's files" in page
