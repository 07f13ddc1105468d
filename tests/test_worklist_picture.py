"""`ccm worklist` as a coordinator sees it: the real ccm on a pseudo-terminal 100 columns wide,
colour on, its screen drawn by Rich as SVG and photographed in the headless Chromium.

The picture the README shows (docs/worklist.png) is made here: set CCM_UPDATE_SCREENSHOTS=1 to
rewrite it; a normal run writes it to a temporary folder.
"""

import os
import re
import struct
from pathlib import Path

import helpers
from browser import browser_page, needs_browser
from helpers import CCM

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "worklist.png"
NOW = "2026-11-27T10:00:00-06:00"  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"
COLUMNS, ROWS = 100, 40


def run_on_a_terminal(args: list[str]) -> str:
    """What `args` print on a terminal of COLUMNS x ROWS, colour on: the bytes a terminal draws."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", CCM_NOW=NOW)
    screen, _ = helpers.run_on_a_terminal(args, COLUMNS, ROWS, env)
    return screen


def test_worklist_on_a_terminal(clinic, tmp_path):
    screen = run_on_a_terminal([CCM, "-d", str(clinic), "worklist", "--month", "2026-11"])
    assert "\x1b[" in screen  # colour, on a terminal only
    plain = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert plain.splitlines()[0] == "worklist 2026-11: 4 days left"
    assert max(len(line) for line in plain.splitlines()) <= COLUMNS
    assert "█" in plain and "total:" in plain  # progress bars and the totals line


@needs_browser
def test_worklist_picture(clinic, tmp_path):
    from rich.console import Console
    from rich.text import Text

    screen = run_on_a_terminal([CCM, "-d", str(clinic), "worklist", "--month", "2026-11"])
    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=COLUMNS, force_terminal=True, file=sink,
                          color_system="truecolor")  # fmt: skip
        console.print(Text.from_ansi(screen.rstrip("\n")))
    drawn = console.export_svg(title="ccm worklist --month 2026-11")
    svg = tmp_path / "worklist.svg"  # the system's monospace font: no web font is fetched
    svg.write_text(re.sub(r"@font-face\s*\{[^}]*\}", "", drawn), encoding="utf-8")
    shot = PICTURE if os.environ.get("CCM_UPDATE_SCREENSHOTS") else tmp_path / "worklist.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(svg, width=1000, height=700) as b:
        b.page.locator("svg").screenshot(path=str(shot))
        assert b.console_errors == [] and b.requests == []
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG's IHDR
    assert width > 600 and height > 200
