"""One figure for a patient's month-to-date minutes (contract 3 `minutes.counted`).

Every view that shows the month's minutes as one figure shows the minutes that count toward the
track (the chosen one, else the one `next` names), and the minutes that do not count apart:
a pcm patient with 74 staff minutes and 8 practitioner minutes the staff track ignores is at 74,
never at 82.
"""

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from ccmcli.rules.engine import units
from test_properties import FAST, PATIENTS, SETTINGS, months_entries, run

NOW = "2026-11-27T12:00:00-06:00"


def _pcm_74_and_8(cli, clinic, monkeypatch):
    """P0011 (pcm) in November: 25 staff minutes in the example, 49 more, and 8 minutes of the
    practitioner, which the staff track (99426/99427) does not count."""
    monkeypatch.setenv("CCM_NOW", NOW)
    r = cli("-d", clinic, "log", "P0011", "49", "--date", "2026-11-21", "-q")
    assert r.exit_code == 0, r.stderr
    return cli("-d", clinic, "log", "P0011", "8", "--role", "practitioner", "--date", "2026-11-21")


def test_the_log_reply_shows_the_minutes_that_count(cli, clinic, monkeypatch):
    r = _pcm_74_and_8(cli, clinic, monkeypatch)
    assert r.exit_code == 0, r.stderr
    assert (
        "P0011: 74 min (8 not counted) in November 2026: 99426 + 99427 met; 16 more for 99427"
        in r.stdout
    )


def test_check_json_has_minutes_counted(cli, clinic, monkeypatch):
    _pcm_74_and_8(cli, clinic, monkeypatch)
    out = json.loads(cli("-d", clinic, "check", "P0011", "-f", "json").stdout)
    m = out["patients"][0]["minutes"]
    assert (m["counted"], m["clinical_staff"], m["practitioner"], m["not_counted"]) == (
        74,
        74,
        8,
        8,
    )
    whole = json.loads(cli("-d", clinic, "check", "--month", "2026-10", "-f", "json").stdout)
    counted = {p["patient_id"]: p["minutes"]["counted"] for p in whole["patients"]}
    # P0002: 72 staff minutes, 12 above the 99439 cap; P0012: 92 of the practitioner, 2 above;
    # P0010: complex track, both roles pooled; P0004 (blocked) and P0003 (below): all countable.
    assert (counted["P0002"], counted["P0012"], counted["P0010"]) == (60, 90, 98)
    assert (counted["P0004"], counted["P0003"], counted["P0013"]) == (27, 18, 0)


def test_explain_and_patient_show_headlines(cli, clinic, monkeypatch):
    _pcm_74_and_8(cli, clinic, monkeypatch)
    head = "P0011: 74 min (8 not counted) in November 2026"
    explain = cli("-d", clinic, "explain", "P0011").stdout
    assert explain.splitlines()[0].startswith(head)
    assert "minutes: counted 74; clinical staff 74, practitioner 8, not counted 8" in explain
    show = cli("-d", clinic, "patient", "show", "P0011").stdout
    assert head in show and "82" not in show
    assert "74/90 (+16 → 99427)" in show  # 90: the threshold of 99426 + 99427 x2


def test_worklist_bar_scale_is_a_threshold(cli, clinic, monkeypatch):
    _pcm_74_and_8(cli, clinic, monkeypatch)
    line = next(x for x in cli("-d", clinic, "worklist", "--wide").stdout.splitlines()
                if x.startswith("P0011"))  # fmt: skip
    assert re.search(r"\b74\s+16\b", line) and "74/90" in line and "98" not in line
    items = json.loads(cli("-d", clinic, "worklist", "-f", "json").stdout)["patients"]
    assert next(i for i in items if i["patient_id"] == "P0011")["minutes"]["counted"] == 74


def test_worklist_bars_of_the_example_end_at_thresholds(cli, clinic, monkeypatch):
    """P0010 (complex, 88 + 10 pooled in October) was drawn as x/98-ish: every bar's scale is
    a minute total at which its next codes are earned."""
    monkeypatch.setenv("CCM_NOW", NOW)
    out = cli("-d", clinic, "worklist", "--month", "2026-11", "--wide").stdout
    scales = {int(m[1]) for m in re.finditer(r"\d+/(\d+)", out)}
    # the programs' thresholds, and 10 (99470) for the RPM lines of P0019-P0022 (A13)
    assert scales and scales <= {1, 10, 20, 30, 40, 60, 90, 120}


def test_audit_packet_never_calls_ignored_minutes_counted(cli, clinic, monkeypatch, tmp_path):
    _pcm_74_and_8(cli, clinic, monkeypatch)
    md = cli("-d", clinic, "audit", "P0011", "--month", "2026-11").stdout
    assert "- Counted: 74\n- Not counted: 8\n" in md
    assert "Practitioner (counted)" not in md
    html_path = tmp_path / "p.html"
    r = cli("-d", clinic, "audit", "P0011", "--month", "2026-11", "-o", html_path)
    assert r.exit_code == 0, r.stderr
    html = html_path.read_text()
    assert '<tr><th>Counted</th><td class="num">74</td></tr>' in html
    assert '<tr><th>Not counted</th><td class="num">8</td></tr>' in html


def test_report_histogram_and_table_use_the_counted_figure(clinic, monkeypatch):
    import subprocess

    from ccmcli.reports.practice_report import build_report, counted_minutes
    from ccmcli.reports.report_html import patient_row
    from ccmcli.store.datadir import DataDir
    from helpers import CCM

    monkeypatch.setenv("CCM_NOW", NOW)
    for args in (
        ["49", "--date", "2026-11-21"],
        ["8", "--role", "practitioner", "--date", "2026-11-21"],
    ):
        subprocess.run([CCM, "-d", str(clinic), "log", "P0011", *args, "-q"], check=True,
                       capture_output=True)  # fmt: skip
    monkeypatch.setenv("CCM_NOW", "2026-12-02T12:00:00-06:00")
    report = build_report(DataDir(clinic), "2026-11", 0, workers=0)
    j = next(j for j in report.judgements if j.patient.id == "P0011")
    assert counted_minutes(j) == 74  # the histogram's bin 70-75, not 80-85
    row = patient_row(j)
    assert (row["counted"], row["apart"], row["staff"], row["prac"]) == (74, 8, 74, 8)


@FAST
@given(
    data=months_entries(max_size=12),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
)
def test_counted_and_apart_add_up_to_every_minute(data, patient, cfg):
    """counted + apart is every minute logged; the billed units follow from counted alone."""
    month, entries = data
    j = run(patient, month, entries, cfg)
    assert j.counted + j.apart == sum(e.minutes for e in entries)
    assert 0 <= j.counted <= j.minutes["clinical_staff"] + j.minutes["practitioner"]
    if j.codes:
        assert units(j.chosen.track, j.counted) == j.codes
        assert j.counted <= j.chosen.track.thresholds()[-1]
