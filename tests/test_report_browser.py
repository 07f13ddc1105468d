"""`ccm report` opened in a real headless Chromium: charts drawn, numbers equal `ccm check`,
no console error, no network request; readable at phone width and printed.

The screenshot the README shows (docs/report.png) is made here: set CCM_UPDATE_SCREENSHOTS=1
to rewrite it; a normal run writes its screenshot to a temporary folder.
"""

import json
import os
import struct
from pathlib import Path

import pytest

from browser import browser_page, needs_browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "report.png"
MONTH = "2026-10"
WIDTH = 1200

pytestmark = needs_browser


@pytest.fixture
def made(cli, clinic, tmp_path, monkeypatch) -> tuple[Path, dict, dict]:
    """The example clinic's report for MONTH, `ccm check --format json` and the code amounts,
    on the clinic's "today" (SCENARIOS.md), so that the picture is the same on every run."""
    monkeypatch.setenv("CCM_NOW", "2026-11-27T10:00:00-06:00")
    out = tmp_path / "report.html"
    result = cli("-d", clinic, "report", "--month", MONTH, "-o", out)
    assert result.exit_code == 0, result.stderr
    check = cli("-d", clinic, "check", "--month", MONTH, "--format", "json")
    rules = cli("rules", "--year", MONTH[:4], "--format", "json")
    prices = {}
    for t in json.loads(rules.stdout)["tracks"]:
        prices[t["base"]["code"]] = t["base"]["amount"]
        prices[t["addon"]["code"]] = t["addon"]["amount"]
    return out, json.loads(check.stdout), prices


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def _number(text: str) -> float:
    return float(text.strip().lstrip("+$").replace(",", ""))


def test_report_in_the_browser(made, tmp_path):
    out, check, prices = made
    shot = SCREENSHOT if os.environ.get("CCM_UPDATE_SCREENSHOTS") else tmp_path / "report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(out, width=WIDTH, height=900) as b:
        b.page.screenshot(path=str(shot), full_page=True)
        _charts_rendered(b.page)
        _figures_equal_check(b.page, check)
        _patients_equal_check(b.page, check)
        _near_amount_equals_check(b.page, check, prices)
        _table_sorts(b.page)
        assert b.console_errors == []
        assert b.requests == []
    width, height = _png_size(shot)
    assert width == WIDTH and height > 900


def _charts_rendered(page) -> None:
    """Three charts, each drawn at a real size with many shapes and a text alternative."""
    charts = page.locator("svg.chart")
    assert charts.count() == 3
    for i in range(3):
        chart = charts.nth(i)
        box = chart.bounding_box()
        assert box["width"] >= 500 and box["height"] >= 150, box
        assert chart.locator("path, rect, use").count() > 10
        label = chart.evaluate("e => e.querySelector('title').textContent")
        assert len(label) > 40
        assert chart.get_attribute("role") == "img"


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def _figures_equal_check(page, check: dict) -> None:
    s = check["summary"]
    assert _number(_text(page, "#amount")) == s["amount"]
    assert _number(_text(page, "#total-amount")) == s["amount"]
    assert int(_text(page, "#patient-count")) == s["patients"] == len(check["patients"])
    assert int(_text(page, "#billable-count")) == s["billable"]
    for status in ("billable", "below_threshold", "blocked", "no_time"):
        assert int(_text(page, f"#status-{status}")) == s[status], status
    codes = dict(c.split("x") for c in _text(page, "#codes").split())
    assert {c: int(n) for c, n in codes.items()} == s["codes"]
    blocked = {}
    for p in check["patients"]:
        for b in p["blockers"]:
            blocked[b["rule"]] = blocked.get(b["rule"], 0) + 1
    shown = page.locator("#blocker-table td[data-rule]")
    on_page = {shown.nth(i).get_attribute("data-rule"): int(shown.nth(i).inner_text())
               for i in range(shown.count())}  # fmt: skip
    assert on_page == blocked


def _patients_equal_check(page, check: dict) -> None:
    """Every row of the patients table says what `ccm check` says of that patient."""
    rows = page.locator("#patients tbody tr")
    assert rows.count() == len(check["patients"])
    cells = rows.evaluate_all(
        "rs => rs.map(r => Array.from(r.cells).map(c => [c.textContent.trim(), c.dataset.sort]))"
    )
    for p, row in zip(check["patients"], cells, strict=True):
        text = [c[0] for c in row]
        assert text[0] == p["patient_id"] and text[1] == p["name"]
        assert (text[2], text[3]) == (p["program"], p["status"])
        assert int(text[4]) == p["minutes"]["counted"]
        assert int(text[6]) == p["minutes"]["clinical_staff"]
        assert int(text[7]) == p["minutes"]["practitioner"]
        assert text[8] == " ".join(f"{c['code']}x{c['units']}" for c in p["codes"])
        assert text[9] == (p["date_of_service"] or "")
        assert float(row[10][1]) == p["amount"]
        assert row[11][1] == str(p["next"]["minutes_needed"] if p["next"] else "")
        assert text[12] == " ".join(b["rule"] for b in p["blockers"])


def _near_amount_equals_check(page, check: dict, prices: dict) -> None:
    """What patients within 5 minutes would add: their `next` codes priced, less their amount."""
    near = [p for p in check["patients"]
            if p["next"] and not p["blockers"] and p["next"]["minutes_needed"] <= 5]  # fmt: skip
    gain = sum(
        sum(prices[c["code"]] * c["units"] for c in p["next"]["codes"]) - p["amount"] for p in near
    )
    assert near, "the example month has a patient a few minutes short"
    assert _number(_text(page, "#near-amount")) == round(gain, 2)
    assert int(_text(page, "#near-patients")) == len(near)


def _table_sorts(page) -> None:
    """The script's sorting: a click on `amount` puts the largest first, a second click last."""
    amounts = lambda: page.locator("#patients tbody td:nth-child(11)").evaluate_all(  # noqa: E731
        "cs => cs.map(c => parseFloat(c.dataset.sort))"
    )
    header = page.locator("#patients thead th:nth-child(11) button")
    header.click()
    assert amounts() == sorted(amounts())
    header.click()
    assert amounts() == sorted(amounts(), reverse=True)


def test_report_at_phone_width_and_printed(made):
    """At 390 px nothing but the tables' own scroll boxes is wider than the screen; printed,
    the charts keep their size and every patient row is there."""
    out, check, _ = made
    with browser_page(out, width=390, height=844) as b:
        page = b.page
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for i in range(3):
            box = page.locator("svg.chart").nth(i).bounding_box()
            assert 300 <= box["width"] <= 390
        page.emulate_media(media="print")
        assert page.locator("#patients tbody tr").count() == len(check["patients"])
        assert page.evaluate("getComputedStyle(document.querySelector('.scroll')).overflowX") == (
            "visible"
        )
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        assert b.console_errors == [] and b.requests == []
