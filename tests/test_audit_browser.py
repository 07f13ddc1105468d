"""The audit packet in a real Chromium at a desktop's 1280 px and a phone's 390 px: no word is
broken across lines (ids, dates, times, `Minutes`), and a table too wide for a phone scrolls
sideways in its own box while the page itself does not (issue 23, item 10)."""

import pytest

from browser import browser_page, needs_browser

pytestmark = needs_browser

NOW = "2026-11-27T10:00:00-06:00"  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"

# Every word with a digit (ids, dates, times, codes, amounts) and every heading's word,
# measured where the browser laid it out: a word whose pieces sit on more than one line was
# broken. Prose may fold as prose does.
BROKEN_WORDS = r"""() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const re = /\S+/g;
    let m;
    const heading = node.parentElement.closest('th') !== null;
    while ((m = re.exec(node.textContent))) {
      if (!heading && !/\d/.test(m[0])) continue;  // ids, dates, times, codes, amounts
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.bottom)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


@pytest.fixture
def packet(cli, clinic, tmp_path, monkeypatch):
    """P0001's October: entries, a void row with the long ids `ccm log` writes today, lines
    exported and the month closed (a 64-character SHA-256 in the close table)."""
    monkeypatch.setenv("CCM_NOW", NOW)
    monkeypatch.setenv("CCM_STAFF", "rn.alvarez")
    logged = cli("-d", clinic, "log", "P0001", "12", "--date", "2026-10-20", "-q", "--note",
                 "called the daughter about the new medication and the pharmacy's hours")  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    entry = logged.stdout.strip()
    assert cli("-d", clinic, "void", entry, "--reason", "wrong patient", "-q").exit_code == 0
    assert (
        cli("-d", clinic, "export", "--month", "2026-10", "-o", tmp_path / "c.csv").exit_code == 0
    )
    assert cli("-d", clinic, "close", "2026-10").exit_code == 0
    out = tmp_path / "P0001.html"
    made = cli("-d", clinic, "audit", "P0001", "--month", "2026-10", "-o", out)
    assert made.exit_code == 0, made.stderr
    return out, entry


def _scrolls(page, selector: str) -> dict:
    return page.evaluate(
        """(sel) => { const box = document.querySelector(sel).closest('.scroll');
        return {box: box !== null, wide: box ? box.scrollWidth : 0,
                 shown: box ? box.clientWidth : 0,
                 overflow: box ? getComputedStyle(box).overflowX : ''}; }""",
        selector,
    )


def test_at_1280_px_nothing_breaks_and_the_entries_fit(packet):
    out, entry = packet
    with browser_page(out, width=1280, height=900) as b:
        page = b.page
        assert entry in page.locator("section#entries").inner_text()
        assert page.evaluate(BROKEN_WORDS) == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        entries = _scrolls(page, "section#entries table")
        assert entries["wide"] <= entries["shown"], entries  # no sideways scroll on a desktop
        assert b.console_errors == [] and b.requests == []


def test_at_390_px_the_tables_scroll_sideways_and_nothing_breaks(packet):
    out, _ = packet
    with browser_page(out, width=390, height=844) as b:
        page = b.page
        assert page.evaluate(BROKEN_WORDS) == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        entries = _scrolls(page, "section#entries table")
        assert entries["box"] and entries["overflow"] == "auto"
        assert entries["wide"] > entries["shown"]  # the table scrolls, the page does not
        # a date is one line, as tall as any one line of its row
        date = page.locator("section#entries tbody tr").first.locator("time").first
        assert len(date.evaluate("e => Array.from(e.getClientRects())")) == 1
        # on paper the packet still fits the page: every cell folds there
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 680, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
