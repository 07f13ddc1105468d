"""The practice report read on a desktop and a phone (issue 23, item 11): every chart label
inside its chart, level, apart from the others and at least 9 px tall on a 390 px screen; APCM
patients (no minute thresholds) left out of the minutes histogram; counts with their plurals."""

import re

import pytest

from browser import browser_page, needs_browser
from helpers import ELIGIBLE_PATIENT

NOW = "2026-11-27T10:00:00-06:00"  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"

# Every text of every chart: its size as drawn (font size times the SVG's scale on screen), its
# box, and the chart's box.
LABELS = """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const outer = svg.getBoundingClientRect();
  return {chart: svg.getAttribute('aria-labelledby'),
          box: [outer.left, outer.top, outer.right, outer.bottom],
          texts: Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
            .map(t => { const r = t.getBoundingClientRect();
              return {text: t.textContent.trim(), box: [r.left, r.top, r.right, r.bottom],
                      px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b)}; })};
})"""


@pytest.fixture
def report(cli, clinic, tmp_path, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    out = tmp_path / "report.html"
    made = cli("-d", clinic, "report", "--month", "2026-10", "-o", out)
    assert made.exit_code == 0, made.stderr
    return out, made


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_every_chart_label_is_whole_level_apart_and_big_enough(report, width):
    out, _ = report
    with browser_page(out, width=width, height=900) as b:
        charts = b.page.evaluate(LABELS)
    assert len(charts) == 3
    for chart in charts:
        left, top, right, bottom = chart["box"]
        texts = chart["texts"]
        assert texts, chart["chart"]
        for t in texts:
            x0, y0, x1, y1 = t["box"]
            assert left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1, (
                chart["chart"], t)  # fmt: skip
            assert t["px"] >= 9, (chart["chart"], width, t)
        for i, a in enumerate(texts):
            for c in texts[i + 1 :]:
                assert not _overlap(a["box"], c["box"]), (chart["chart"], width, a, c)


@needs_browser
def test_threshold_labels_read_across(report):
    """The minutes chart names each dashed line by its minutes, written level, not turned."""
    out, _ = report
    with browser_page(out, width=1280, height=900) as b:
        charts = {c["chart"]: c for c in b.page.evaluate(LABELS)}
    labels = [t for t in charts["minutes-title"]["texts"] if t["text"] in ("20", "30", "40", "60")]
    assert len(labels) >= 4
    for t in labels:
        x0, y0, x1, y1 = t["box"]
        assert (x1 - x0) >= (y1 - y0) * 0.9, t  # as wide as tall or wider: not rotated


def test_apcm_patients_are_not_in_the_minutes_histogram(report):
    """October: 14 patients without blockers, four of them in APCM (P0015-P0018)."""
    out, _ = report
    page = out.read_text(encoding="utf-8")
    caption = re.search(r"<figcaption>([^<]*without blockers[^<]*)</figcaption>", page)
    assert caption and caption[1].startswith("10 patients without blockers in 2026-10"), caption


def test_counts_have_their_plurals(cli, datadir, tmp_path, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    (datadir / "patients" / "P1.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P1"))
    assert cli("-d", datadir, "log", "P1", "25", "--date", "2026-10-05").exit_code == 0
    out = tmp_path / "r.html"
    made = cli("-d", datadir, "report", "--month", "2026-10", "-o", out)
    assert made.exit_code == 0, made.stderr
    assert f"wrote {out}: 2026-10, 1 patient, 1 billable, amount" in made.stderr
    page = out.read_text(encoding="utf-8")
    assert "1 patients" not in re.sub(r"<[^>]+>", "", page)
    assert "1 patient without blockers" in page and "by 1 staff member" in page
    assert '<span id="patient-count">1</span> patient billable' in page
