"""`ccm audit`: the packet for one patient-month and `--all` (contract 9)."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from browser import browser_page, needs_browser

SECTIONS = ("practice", "patient", "conditions", "consent", "initiating-visit", "care-plan",
            "requirements", "entries", "minutes", "billing", "exported", "close")  # fmt: skip
HEADINGS = ("## Practice", "## Patient", "## Conditions (ICD-10-CM)", "## Consent",
            "## Initiating visit", "## Care plan", "## Requirements checked",
            "## Time entries and void rows", "## Minutes", "## Codes billed and why",
            "## Lines exported for the month", "## Month close")  # fmt: skip
HOSTILE = "<script>alert(1)</script> & Sons"


def audit(cli, root: Path, *args: str):
    return cli("-d", root, "audit", *args)


def test_markdown_to_stdout_holds_every_item_from_the_explain_judgement(cli, clinic):
    result = audit(cli, clinic, "P0006", "--month", "2026-10")
    assert result.exit_code == 0, result.stderr
    md = result.stdout
    positions = [md.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    for item in ("Riverbend Family Medicine", "Billing NPI: 1234567893", "Raymond Ortiz",
                 "1958-03-19", "5A75PT6DQ98", "Essential (primary) hypertension",
                 "- Method: written", "- Obtained by: RN Okafor", "- Type: em",
                 "- Established: 2026-10-14", "- Codes: 99490x1", "- Amount: 66.13",
                 "- Date of service: 2026-10-22"):  # fmt: skip
        assert item in md, item
    explained = json.loads(cli("-d", clinic, "explain", "P0006", "--month", "2026-10", "-f", "json").stdout)  # fmt: skip
    rows = [line for line in md.splitlines() if line.startswith("| logs/")]
    assert len(rows) == len(explained["entries"])
    for row, e in zip(rows, explained["entries"], strict=True):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[0] == f"{e['file']}:{e['line']}" and cells[1] == e["id"]
        assert cells[-1] == ("counted" if e["counted"] else f"not counted: {e['why_not']}")
    assert "- Counted: 22" in md and "- Not counted: 15" in md


def test_html_file_is_private_and_names_every_section(cli, clinic, tmp_path):
    out = tmp_path / "packets" / "p6.html"
    result = audit(cli, clinic, "P0006", "--month", "2026-10", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    html = out.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_markdown_file_by_suffix_and_other_suffixes_refused(cli, clinic, tmp_path):
    assert audit(cli, clinic, "P0006", "--month", "2026-10", "-o", tmp_path / "a.md").exit_code == 0
    assert (tmp_path / "a.md").read_text().startswith("# Care management audit packet: P0006")
    bad = audit(cli, clinic, "P0006", "--month", "2026-10", "-o", tmp_path / "a.pdf")
    assert bad.exit_code == 2 and "FILE.html or FILE.md" in bad.stderr


def test_output_inside_the_data_directory_is_refused_first(cli, clinic, tmp_path):
    for target in (clinic / "packet.html", clinic / "logs" / "x.pdf", clinic):
        result = audit(cli, clinic, "P0006", "--month", "2026-10", "-o", target)
        assert result.exit_code == 1 and "inside the data directory" in result.stderr
    result = audit(cli, clinic, "--all", "--month", "2026-10", "-o", clinic / "audit")
    assert result.exit_code == 1 and not (clinic / "audit").exists()


def _hostile(clinic: Path) -> None:
    p = clinic / "patients" / "P0006.yaml"
    p.write_text(p.read_text().replace("name: Raymond Ortiz", f'name: "{HOSTILE}"'))
    log = clinic / "logs" / "2026-10.csv"
    text = log.read_text()
    log.write_text(text.replace("lisinopril dose change sent to pharmacy; BP log started",
                                "<b>bold</b> & <script>document.title='x'</script>"))  # fmt: skip


def test_untrusted_text_stays_text(cli, clinic, tmp_path):
    _hostile(clinic)
    out = tmp_path / "p.html"
    assert audit(cli, clinic, "P0006", "--month", "2026-10", "-o", out).exit_code == 0
    html = out.read_text()
    assert "<script" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in html
    md = audit(cli, clinic, "P0006", "--month", "2026-10").stdout
    assert r"\<script\>alert(1)\</script\> \& Sons" in md


@needs_browser
def test_packet_in_a_real_browser(cli, clinic, tmp_path):
    _hostile(clinic)
    out = tmp_path / "p.html"
    assert audit(cli, clinic, "P0006", "--month", "2026-10", "-o", out).exit_code == 0
    with browser_page(out) as b:
        page = b.page
        for section in SECTIONS:
            heading = page.locator(f"section#{section} h2")
            assert heading.is_visible() and heading.inner_text().strip(), section
        assert page.locator("section#entries tbody tr").count() == 3
        assert HOSTILE in page.locator("section#patient").inner_text()
        note = "<b>bold</b> & <script>document.title='x'</script>"
        assert note in page.locator("section#entries").inner_text()
        assert page.locator("script, b").count() == 0
        assert page.title() == "CCM audit packet P0006 2026-10"
        # on paper: nothing wider than the page
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 680, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert b.console_errors == []
        assert b.requests == []


def test_all_writes_one_packet_per_billed_patient_month_and_an_index(cli, clinic, tmp_path):
    # SCENARIOS.md: twelve patients billable in October; export them, then void one so P0007
    # is no longer billable: billed all the same, so it keeps its packet.
    assert (
        cli("-d", clinic, "export", "--month", "2026-10", "-o", tmp_path / "c.csv").exit_code == 0
    )
    assert cli("-d", clinic, "void", "E20261002-0002", "--reason", "wrong patient").exit_code == 0
    out = tmp_path / "audit"
    result = audit(cli, clinic, "--all", "--month", "2026-10", "-o", out)
    assert result.exit_code == 0, result.stderr
    billed = ["P0001", "P0002", "P0006", "P0007", "P0010", "P0011", "P0012", "P0014", "P0015",
              "P0016", "P0017", "P0018",
              "P0019", "P0020"]  # RPM billed, CCM blocked (A16)  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{pid}-2026-10.html" for pid in billed] + ["index.html"]
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    index = (out / "index.html").read_text()
    assert all(f'href="{pid}-2026-10.html"' in index for pid in billed)
    p7 = (out / "P0007-2026-10.html").read_text()
    assert "99490" in p7 and "exported" in p7.lower()
    assert "\x1b" not in result.stderr  # no progress bar when stderr is not a terminal


def test_all_needs_a_folder_and_no_id(cli, clinic, tmp_path):
    assert audit(cli, clinic, "--all", "--month", "2026-10").exit_code == 2
    assert audit(cli, clinic, "P0001", "--all", "--month", "2026-10", "-o", tmp_path).exit_code == 2
    assert audit(cli, clinic, "--month", "2026-10").exit_code == 2


def test_packet_shows_the_close_record_and_what_changed_since(cli, clinic):
    assert cli("-d", clinic, "close", "2026-10").exit_code == 0
    md = audit(cli, clinic, "P0006", "--month", "2026-10").stdout
    assert "The month is **closed**." in md and "matches its close record" in md
    p = clinic / "patients" / "P0006.yaml"
    p.write_text(p.read_text().replace("date: 2026-10-14\n  method", "date: 2026-10-25\n  method"))  # fmt: skip
    md = audit(cli, clinic, "P0006", "--month", "2026-10").stdout
    assert "**The month differs from its close record:**" in md
    assert "- P0006: status billable at close, no_time now" in md


def test_unknown_patient_is_refused(cli, clinic):
    result = audit(cli, clinic, "P9999", "--month", "2026-10")
    assert result.exit_code == 1 and "unknown patient" in result.stderr


def test_jinja2_is_not_imported_when_the_cli_starts():
    code = "import sys, ccmcli.cli; ccmcli.cli.load(); print('jinja2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("pid", ["P0005", "P0013"])
def test_blocked_and_empty_months_still_give_a_packet(cli, clinic, pid):
    result = audit(cli, clinic, pid, "--month", "2026-10")
    assert result.exit_code == 0 and all(h in result.stdout for h in HEADINGS)
