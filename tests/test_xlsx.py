"""Contract 2, `--format xlsx`: every listing command writes a workbook whose cells have their
types, read back twice: by openpyxl (types, values, no formula) and by LibreOffice Calc, as a
biller opens it (headless, converted to CSV): ids, codes, place of service and amounts intact."""

import csv
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import example_copy

NOW = "2026-11-26T10:00:00-06:00"
TRAPS = {"00123", "1E5", "02", "E11.9", "1EG4TE5MK73"}  # what a CSV opened in a spreadsheet loses
LISTINGS = {
    "check": ["check", "--month", "2026-10"],
    "worklist": ["worklist", "--month", "2026-11"],
    "entries": ["entries", "--month", "2026-10"],
    "patients": ["patient", "list"],
    "compare": ["compare", "--month", "2026-10", "--months", "2"],
    "claims": ["export", "--month", "2026-10"],
    "timers": ["status"],
    "rules": ["rules", "--year", "2026"],
}
AMOUNT_COLUMNS = {"amount", "charge", "adds", "total_amount", "patient_share", "ccm_amount",
                  "pcm_amount", "apcm_amount"}  # fmt: skip


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    """The example clinic with the values spreadsheets mangle (ids 00123 and 1E5, place of
    service 02, an MBI like a number, a name like a formula), and one workbook per listing."""
    from typer.testing import CliRunner

    from ccmcli.cli import app

    tmp = tmp_path_factory.mktemp("xlsx")
    root = example_copy("clinic", tmp / "clinic")
    settings = root / "ccm.yaml"
    settings.write_text(settings.read_text().replace('place_of_service: "11"',
                                                     'place_of_service: "02"'))  # fmt: skip
    base = (root / "patients" / "P0001.yaml").read_text()
    (root / "patients" / "00123.yaml").write_text(
        base.replace("id: P0001", 'id: "00123"').replace("Margaret Ellison", "José Muñoz")
        .replace("2NV8E83YY86", "1EG4TE5MK73"))  # fmt: skip
    (root / "patients" / "1E5.yaml").write_text(
        base.replace("id: P0001", "id: 1E5").replace("Margaret Ellison", '"=HYPERLINK(1)"')
    )
    runner = CliRunner()
    env = {"CCM_NOW": NOW, "NO_COLOR": "1", "HOME": str(tmp), "XDG_CACHE_HOME": str(tmp / "c")}

    def ccm(*args):
        result = runner.invoke(app, ["-d", str(root), *args], env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    ccm("log", "00123", "25", "--date", "2026-10-20", "--staff", "rn.x")
    ccm("log", "1E5", "30", "--date", "2026-10-21", "--staff", "rn.x", "--note", "=1+1")
    ccm("log", "00123", "12", "--date", "2026-11-20", "--staff", "rn.x")
    ccm("start", "00123", "--staff", "rn.x", "--activity", "=cmd")
    out = tmp / "out"
    out.mkdir()
    books = {}
    for name, args in LISTINGS.items():
        books[name] = out / f"{name}.xlsx"
        ccm(*args, "--format", "xlsx", "-o", str(books[name]))
    books["ledger"] = root / "exports" / "2026-10.csv"
    return books


def _sheet(path: Path):
    book = openpyxl.load_workbook(path)
    assert len(book.worksheets) == 1
    return book.worksheets[0]


def _rows(ws) -> tuple[list[str], list[list]]:
    header = [c.value for c in ws[2]]
    return header, [[c for c in row] for row in ws.iter_rows(min_row=3)]


@pytest.mark.parametrize("name", list(LISTINGS))
def test_workbook_layout(workbooks, name):
    ws = _sheet(workbooks[name])
    title = ws["A1"].value
    assert "written 2026-11-26T10:00:00-06:00" in title
    assert "Riverbend Family Medicine" in title
    header, rows = _rows(ws)
    assert all(isinstance(h, str) for h in header) and all(c.font.b for c in ws[2])
    assert ws.freeze_panes == "A3"  # the title and the header stay in view
    assert ws.auto_filter.ref == f"A2:{ws.cell(2, len(header)).column_letter}{max(ws.max_row, 3)}"
    assert rows, name
    widths = {i: dim.width for dim in ws.column_dimensions.values()
              for i in range(dim.min, dim.max + 1)}  # fmt: skip
    for i, key in enumerate(header, start=1):  # wide enough for the header and the values
        longest = max(len(str(row[i - 1].value or "")) for row in rows)
        assert widths[i] >= min(max(len(key), longest if key in {"patient_id", "code"} else 0),
                                60), (name, key)  # fmt: skip


@pytest.mark.parametrize("name", list(LISTINGS))
def test_every_cell_has_its_type(workbooks, name):
    header, rows = _rows(_sheet(workbooks[name]))
    for row in rows:
        for key, cell in zip(header, row, strict=True):
            assert cell.data_type != "f", (name, key, cell.value)  # never a formula
            if cell.value is None:
                continue
            if key in AMOUNT_COLUMNS:
                assert isinstance(cell.value, float | int) and cell.number_format == "0.00"
            elif key in {"minutes_needed", "units", "line", "days_left", "elapsed_minutes",
                         "clinical_staff_minutes", "practitioner_minutes", "minutes"}:  # fmt: skip
                assert type(cell.value) is int, (name, key, cell.value)
            elif key in {"date", "date_of_service", "birth_date", "consent", "care_plan"}:
                assert isinstance(cell.value, datetime) and cell.number_format == "yyyy-mm-dd"
            elif key in {"patient_id", "code", "mbi", "billing_npi", "place_of_service", "dx1",
                         "name", "note", "started", "logged_at", "id", "activity"}:  # fmt: skip
                assert cell.data_type == "s", (name, key, cell.value)


def _column(workbooks, name: str, key: str) -> list:
    header, rows = _rows(_sheet(workbooks[name]))
    return [row[header.index(key)].value for row in rows]


def test_the_values_spreadsheets_mangle_stay_as_written(workbooks):
    assert {"00123", "1E5"} <= set(_column(workbooks, "check", "patient_id"))
    assert "José Muñoz" in _column(workbooks, "check", "name")
    assert "=HYPERLINK(1)" in _column(workbooks, "check", "name")  # text, shown as typed
    claims = {k: _column(workbooks, "claims", k) for k in ("patient_id", "mbi", "place_of_service",
                                                           "dx1", "charge", "units")}  # fmt: skip
    assert set(claims["place_of_service"]) == {"02"}
    assert "1EG4TE5MK73" in claims["mbi"] and "E11.9" in claims["dx1"]
    assert {"00123", "1E5"} <= set(claims["patient_id"])
    assert 66.13 in claims["charge"] and all(type(u) is int for u in claims["units"])
    assert "=1+1" in _column(workbooks, "entries", "note")
    assert _column(workbooks, "timers", "started") == [NOW]  # an instant: text with its offset
    assert "=cmd" in _column(workbooks, "timers", "activity")


def test_export_to_xlsx_keeps_the_ledger_csv(workbooks):
    ledger = workbooks["ledger"].read_text()
    assert ledger.startswith("patient_id,patient_name,") and "00123" in ledger
    rows = list(csv.DictReader(ledger.splitlines()))
    assert len(rows) == len(_column(workbooks, "claims", "code"))


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def as_calc_reads_them(workbooks, tmp_path_factory) -> dict[str, list[list[str]]]:
    """Each workbook opened by LibreOffice Calc and saved as CSV (UTF-8), as shown there."""
    office = _soffice()
    if office is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing; .ci/run installs it")
        pytest.skip("LibreOffice (soffice) is not installed")
    out = tmp_path_factory.mktemp("calc")
    profile = tmp_path_factory.mktemp("calc-profile")
    files = [str(workbooks[name]) for name in LISTINGS]
    done = subprocess.run(
        [office, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), *files],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "HOME": str(profile)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {name: list(csv.reader((out / f"{name}.csv").read_text("utf-8").splitlines()))
            for name in LISTINGS}  # fmt: skip


@pytest.mark.parametrize("name", list(LISTINGS))
def test_libreoffice_reads_ids_codes_and_amounts_intact(as_calc_reads_them, workbooks, name):
    shown = as_calc_reads_them[name]
    header = shown[1]
    assert header == _rows(_sheet(workbooks[name]))[0]
    for row in shown[2:]:
        cells = dict(zip(header, row, strict=True))
        for key in AMOUNT_COLUMNS & set(cells):
            assert cells[key] == "" or re.fullmatch(r"\d+\.\d\d", cells[key]), (key, cells[key])
        for key in {"date", "date_of_service", "birth_date"} & set(cells):
            assert cells[key] == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[key])
    text = {cell for row in shown[2:] for cell in row}
    wanted = {"check": {"00123", "1E5"}, "entries": {"00123", "1E5", "=1+1"},
              "patients": {"00123", "1E5"},
              "claims": TRAPS, "compare": {"00123", "1E5"}}.get(name, set())  # fmt: skip
    assert wanted <= text, wanted - text


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.text("0123456789Ee.+-", min_size=1, max_size=8), min_size=1, max_size=5),
    cents=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=5),
    text=st.text(min_size=1, max_size=20).filter(lambda t: t.isprintable()),
)
def test_text_stays_text_and_amounts_keep_their_cents(ids, cents, text):
    """Whatever a text cell holds (digits, exponents, signs, a leading `=`) comes back as that
    text; an amount comes back as the number with its cents, shown with two decimals."""
    import io

    from ccmcli.reports.spreadsheet import workbook_bytes

    rows = [[i, f"{c / 100:.2f}", text] for i, c in zip(ids, cents * len(ids), strict=False)]
    raw = workbook_bytes("t", ["p"], ["patient_id", "amount", "note"], rows,
                         written=datetime(2026, 11, 26, 10, 0))  # fmt: skip
    ws = openpyxl.load_workbook(io.BytesIO(raw)).worksheets[0]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert [r[0] for r in got] == [r[0] for r in rows]
    assert [f"{r[1]:.2f}" for r in got] == [r[1] for r in rows]
    assert all(r[2] == text for r in got)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
