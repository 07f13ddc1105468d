"""`ccm patient import`: all or nothing, every bad row with its line, --update, --dry-run."""

import csv
import io
import json
import stat
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.actions import roster_import, roster_rows
from ccmcli.loader import load
from ccmcli.store import staging
from ccmcli.store.datadir import DataDir
from ccmcli.store.timelog import HEADER_12 as LOG_HEADER

HEADER = list(roster_rows.COLUMNS)
GOOD = {
    "id": "R1", "name": "Ada Quill", "birth_date": "1948-03-02", "mbi": "1EG4TE5MK73",
    "program": "ccm", "principal_condition": "", "conditions": "E11.9;I10",
    "consent_date": "2026-01-05", "consent_method": "verbal",
    "initiating_visit_date": "2025-12-15", "initiating_visit_type": "awv",
    "care_plan_established": "2026-01-05",
}  # fmt: skip
EMPTY = dict.fromkeys(HEADER, "")


def patient_of(data, patient_id: str):
    """The patient as every command reads it: through the loader."""
    return load(data, patient_ids=[patient_id]).patient(patient_id)


def row(**cells: str) -> dict[str, str]:
    return {**GOOD, **cells}


def csv_text(rows: list[dict], header: list[str] = HEADER, newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows([[r.get(h, "") for h in header] for r in rows])
    return out.getvalue()


def write_roster(tmp_path: Path, rows: list[dict], **kw) -> Path:
    path = tmp_path / "roster_import.csv"
    path.write_text(csv_text(rows, **kw), newline="")
    return path


def patient_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "patients").glob("*.yaml"))


def run_import(cli, root: Path, path: Path, *flags: str):
    return cli("patient", "import", path, "-d", root, *flags)


# --- a valid roster ---------------------------------------------------------------------------


def test_valid_roster_imports_and_bills(cli, datadir: Path, tmp_path: Path) -> None:
    rows = [row(), row(id="R2", name="Bo Lind", conditions="J44.9;I50.22;N18.30"),
            row(id="R3", name="Cy Moss", program="pcm", principal_condition="I50.22",
                conditions="I50.22;E78.5")]  # fmt: skip
    result = run_import(cli, datadir, write_roster(tmp_path, rows))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "added 3 patients, updated 0\n"
    assert patient_files(datadir) == ["R1.yaml", "R2.yaml", "R3.yaml"]
    for path in (datadir / "patients").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (datadir / "logs" / "2026-10.csv").write_text(
        LOG_HEADER
        + "E1,R1,2026-10-05,25,clinical_staff,rn1,care_plan,,,,2026-10-05T10:00:00-05:00,\n"
        + "E2,R3,2026-10-06,31,practitioner,dr1,care_plan,,,,2026-10-06T10:00:00-05:00,\n"
    )
    check = cli("check", "-d", datadir, "--month", "2026-10", "--format", "json")
    assert check.exit_code == 0, check.stderr
    by_id = {p["patient_id"]: p for p in json.loads(check.stdout)["patients"]}
    assert by_id["R1"]["codes"] == [{"code": "99490", "units": 1}]
    assert by_id["R2"]["status"] == "no_time"
    assert by_id["R3"]["codes"] == [{"code": "99424", "units": 1}]


def test_imported_file_holds_the_roster_values(cli, datadir: Path, tmp_path: Path) -> None:
    rows = [row(name="Quill, Ada \"Q\"", birth_date="3/2/1948", mbi="1eg4-te5-mk73",
                program="CCM", conditions="e119; I10 ;", consent_method="Verbal")]  # fmt: skip
    assert run_import(cli, datadir, write_roster(tmp_path, rows)).exit_code == 0
    p = patient_of(DataDir(datadir), "R1")
    assert (p.name, p.birth_date, p.mbi, p.program) == (
        'Quill, Ada "Q"',
        date(1948, 3, 2),
        "1EG4TE5MK73",
        "ccm",
    )
    assert [c.code for c in p.conditions] == ["E11.9", "I10"]
    assert (p.consent.date, p.consent.method) == (date(2026, 1, 5), "verbal")
    assert (p.initiating_visit.date, p.initiating_visit.type) == (date(2025, 12, 15), "awv")
    assert p.care_plan.established == date(2026, 1, 5)


def test_empty_cells_mean_not_recorded(cli, datadir: Path, tmp_path: Path) -> None:
    rows = [{**EMPTY, "id": "R9", "name": "Di Vale", "birth_date": "1950-06-01"}]
    assert run_import(cli, datadir, write_roster(tmp_path, rows)).exit_code == 0
    text = (datadir / "patients" / "R9.yaml").read_text()
    assert text == "id: R9\nname: Di Vale\nbirth_date: 1950-06-01\n"


def test_bom_crlf_blank_lines_and_multiline_cells(cli, datadir: Path, tmp_path: Path) -> None:
    text = csv_text([row(), row(id="R2", conditions="E11.9;\r\nI10"), row(id="R3", birth_date="x")],
                    newline="\r\n")  # fmt: skip
    text = text.replace("\r\nR3", "\r\n\r\n,,,,,,,,,,,\r\nR3")  # a blank line, an empty row
    path = tmp_path / "roster_import.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    # R2 spans lines 3-4; then a blank line (5) and a row of empty cells (6)
    assert result.stderr.splitlines()[0] == (
        f"{path}:7: error: birth_date is not a real date of the form YYYY-MM-DD or M/D/YYYY"
    )
    path.write_bytes(path.read_bytes().replace(b",x,", b",1950-01-01,"))
    result = run_import(cli, datadir, path)
    assert result.exit_code == 0, result.stderr
    assert patient_files(datadir) == ["R1.yaml", "R2.yaml", "R3.yaml"]


def test_roster_from_stdin(cli, datadir: Path) -> None:
    result = cli("patient", "import", "-", "-d", datadir, input=csv_text([row(conditions="E11")]))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "<stdin>:2: warning: conditions: E11 is a category, not a billable code "
        "(use a more specific code)",
        "added 1 patient, updated 0",
    ]


# --- all or nothing ---------------------------------------------------------------------------


def test_one_bad_row_writes_nothing(cli, datadir: Path, tmp_path: Path) -> None:
    path = write_roster(tmp_path, [row(), row(id="R2", birth_date="2/30/1950"), row(id="R3")])
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:3: error: birth_date is not a real date of the form YYYY-MM-DD or M/D/YYYY",
        "ccm: nothing imported: 1 error(s)",
    ]
    assert patient_files(datadir) == []


def test_every_bad_row_is_reported_without_patient_data(cli, datadir, tmp_path) -> None:
    rows = [
        row(mbi="1EG4TE5MK7S", consent_method=""),
        row(id="R2", name="", program="rpm"),
        row(id="bad id!"),
        row(id="R4", consent_method="phone", initiating_visit_type="home", conditions="E11.9;XYZ"),
        row(id="R5", program="pcm", principal_condition="J44.9"),
        row(id="R6", birth_date="2099-01-01", conditions="I10;I10"),
        row(id="R7", care_plan_established="1/2/26"),
    ]
    path = write_roster(tmp_path, rows)
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    f = str(path)
    assert result.stderr.splitlines() == [
        f"{f}:2: error: consent_date and consent_method go together: give both",
        f"{f}:2: error: mbi is not a valid MBI (11 characters in the CMS format)",
        f"{f}:3: error: name is required",
        f"{f}:3: error: program must be 'ccm', 'pcm' or 'apcm'",
        f"{f}:4: error: id must be 1-32 letters, digits, '-' or '_'",
        f'{f}:5: error: conditions: "XYZ" is not an ICD-10-CM code (like E11.9)',
        f"{f}:5: error: consent_method must be 'verbal' or 'written'",
        f"{f}:5: error: initiating_visit_type must be 'em', 'awv', 'ippe' or 'tcm'",
        f"{f}:6: error: principal_condition must be one of the codes listed in conditions",
        f"{f}:7: error: conditions: I10 is listed twice",
        f"{f}:7: error: birth_date is after today",
        f"{f}:8: error: care_plan_established is not a real date of the form YYYY-MM-DD or M/D/YYYY",
        "ccm: nothing imported: 12 error(s)",
    ]
    for secret in ("Ada Quill", "1948", "1EG4TE5MK7S", "2099"):
        assert secret not in result.stderr
    assert patient_files(datadir) == []


def test_a_failed_write_imports_nothing(cli, datadir, tmp_path, monkeypatch) -> None:
    calls = []
    real = staging.stage_file

    def failing(path, text):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(staging, "stage_file", failing)
    result = run_import(cli, datadir, write_roster(tmp_path, [row(), row(id="R2"), row(id="R3")]))
    assert result.exit_code == 1
    assert result.stderr == (
        "ccm: cannot write the patient files (No space left on device); nothing was imported\n"
    )
    assert patient_files(datadir) == []
    assert sorted(p.name for p in datadir.iterdir()) == [
        ".gitignore",
        "ccm.yaml",
        "exports",
        "logs",
        "patients",
    ]


# --- the header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER[:-1], "missing column(s): care_plan_established"),
        ([*HEADER, "notes"], "unknown column(s): notes"),
        (["ID", *HEADER[1:]], "missing column(s): id; unknown column(s): ID"),
        ([HEADER[1], HEADER[0], *HEADER[2:]], "header must be exactly: " + ",".join(HEADER)),
        ([*HEADER, "id"], "header must be exactly: " + ",".join(HEADER)),
    ],
)
def test_header_must_be_exact(cli, datadir, tmp_path, header, message) -> None:
    path = write_roster(tmp_path, [row()], header=header)
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{path}:1: error: {message}"
    assert patient_files(datadir) == []


def test_empty_file_and_short_rows(cli, datadir: Path, tmp_path: Path) -> None:
    path = tmp_path / "roster_import.csv"
    path.write_text("")
    assert run_import(cli, datadir, path).stderr.startswith(
        f"{path}:1: error: the file is empty (expected a header row)"
    )
    path.write_text(",".join(HEADER) + "\nR1,Ada Quill,1948-03-02\n")
    assert run_import(cli, datadir, path).stderr.startswith(
        f"{path}:2: error: row has 3 columns, expected 12"
    )


def test_a_row_csv_cannot_read_is_reported(cli, datadir: Path, tmp_path: Path) -> None:
    path = tmp_path / "roster_import.csv"
    path.write_text(csv_text([row()]) + 'R2,"unclosed quote\n' + "x" * 200_000 + "\n")
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:3: error: cannot read this row as CSV (field larger than field limit (131072))"
    )
    assert patient_files(datadir) == []


def test_header_only_roster_adds_nothing(cli, datadir: Path, tmp_path: Path) -> None:
    result = run_import(cli, datadir, write_roster(tmp_path, []))
    assert (result.exit_code, result.stderr) == (0, "added 0 patients, updated 0\n")


def test_unreadable_input(cli, datadir: Path, tmp_path: Path) -> None:
    missing = cli("patient", "import", tmp_path / "nope.csv", "-d", datadir)
    assert missing.exit_code == 2
    assert missing.stderr == f"ccm: cannot read {tmp_path / 'nope.csv'}: no such file\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(csv_text([row(), row(id="R2", name="Zoë")]).encode("latin-1"))
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3: error: is not UTF-8 text")


# --- existing ids, --update -------------------------------------------------------------------


def test_existing_id_needs_update(cli, clinic: Path, tmp_path: Path) -> None:
    before = (clinic / "patients" / "P0001.yaml").read_bytes()
    path = write_roster(tmp_path, [row(id="P0001"), row(id="N1")])
    result = run_import(cli, clinic, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:2: error: patient P0001 already exists (patients/P0001.yaml); "
        "use --update to rewrite it"
    )
    assert (clinic / "patients" / "P0001.yaml").read_bytes() == before
    assert not (clinic / "patients" / "N1.yaml").exists()


def test_duplicate_id_in_roster_is_an_error_on_the_second_row(cli, datadir, tmp_path) -> None:
    path = write_roster(tmp_path, [row(), row(id="R2"), row(name="Other Person")])
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{path}:4: error: id R1 is already used on line 2"


def test_update_keeps_what_the_roster_does_not_say(cli, clinic: Path, tmp_path: Path) -> None:
    """P0010: complex months, described codes; P0007: consent revoked, obtained_by."""
    rows = [
        {**EMPTY, "id": "P0010", "conditions": "I50.22;N18.30;E11.9", "care_plan_established": "2025-09-01"},
        {**EMPTY, "id": "P0007", "consent_date": "2025-06-02", "mbi": "1EG4TE5MK73"},
        row(id="N1"),
    ]  # fmt: skip
    data = DataDir(clinic)
    old10, old7 = (
        patient_of(data, "P0010"),
        patient_of(data, "P0007"),
    )
    result = run_import(cli, clinic, write_roster(tmp_path, rows), "--update")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "added 1 patient, updated 2\n"
    new10, new7 = (
        patient_of(data, "P0010"),
        patient_of(data, "P0007"),
    )
    assert [c.code for c in new10.conditions] == ["I50.22", "N18.30", "E11.9"]
    kept = {c.code: c.description for c in old10.conditions}
    assert [c.description for c in new10.conditions] == [kept["I50.22"], kept["N18.30"], None]
    assert new10.care_plan.established == date(2025, 9, 1)
    assert new10.care_plan.revised == old10.care_plan.revised
    assert new10.complex_months == old10.complex_months
    assert (new10.name, new10.birth_date, new10.consent) == (
        old10.name,
        old10.birth_date,
        old10.consent,
    )
    assert new7.consent.date == date(2025, 6, 2)
    assert (new7.consent.revoked, new7.consent.obtained_by, new7.consent.method) == (
        old7.consent.revoked, old7.consent.obtained_by, old7.consent.method)  # fmt: skip
    assert new7.mbi == "1EG4TE5MK73"
    assert new7.model_dump(exclude={"consent", "mbi"}) == old7.model_dump(
        exclude={"consent", "mbi"}
    )


def test_update_leaves_unchanged_files_alone(cli, clinic: Path, tmp_path: Path) -> None:
    path = clinic / "patients" / "P0003.yaml"
    before = path.read_bytes()
    same = {**EMPTY, "id": "P0003", "conditions": "J44.9;I10", "consent_method": "verbal"}
    result = run_import(cli, clinic, write_roster(tmp_path, [same]), "--update")
    assert (result.exit_code, result.stderr) == (0, "added 0 patients, updated 0, 1 unchanged\n")
    assert path.read_bytes() == before  # comments and layout of a hand-edited file survive


def test_update_refuses_an_invalid_existing_file(cli, broken: Path, tmp_path: Path) -> None:
    path = write_roster(tmp_path, [row(id="P0004")])
    result = run_import(cli, broken, path, "--update")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:2: error: cannot update P0004: patients/P0004.yaml has errors (see `ccm validate`)"
    )


# --- --dry-run --------------------------------------------------------------------------------


def test_dry_run_writes_nothing(cli, clinic: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in (clinic / "patients").iterdir()}
    path = write_roster(tmp_path, [row(), row(id="P0001", name="Renamed Person")])
    result = run_import(cli, clinic, path, "--dry-run", "--update")
    assert (result.exit_code, result.stderr) == (0, "would add 1 patient, update 1\n")
    assert {p.name: p.read_bytes() for p in (clinic / "patients").iterdir()} == before
    bad = run_import(cli, clinic, write_roster(tmp_path, [row(birth_date="")]), "--dry-run")
    assert bad.exit_code == 1
    assert (
        bad.stderr.splitlines()[0]
        == f"{tmp_path / 'roster_import.csv'}:2: error: birth_date is required"
    )


# --- condition codes --------------------------------------------------------------------------


def test_unknown_and_category_codes_are_reported_with_file_and_line(cli, datadir, tmp_path) -> None:
    rows = [row(), row(id="R2", conditions="E11.99;I10"),
            row(id="R3", program="pcm", principal_condition="I50.2", conditions="I50.2;I10"),
            row(id="R4", birth_date="1/1/1", conditions="Z99.99")]  # fmt: skip
    path = write_roster(tmp_path, rows)
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    f, cat = str(path), "is a category, not a billable code (use a more specific code)"
    assert result.stderr.splitlines() == [
        f"{f}:3: error: conditions: E11.99 is not in the ICD-10-CM code set",
        f"{f}:4: warning: conditions: I50.2 {cat}",
        f"{f}:4: warning: principal_condition: I50.2 {cat}",
        f"{f}:5: error: birth_date is not a real date of the form YYYY-MM-DD or M/D/YYYY",
        f"{f}:5: error: conditions: Z99.99 is not in the ICD-10-CM code set",
        "ccm: nothing imported: 3 error(s)",
    ]
    assert patient_files(datadir) == []


def test_bhi_condition_codes_are_looked_up_too(cli, datadir: Path, tmp_path: Path) -> None:
    bhi = {"bhi_consent_date": "2026-01-05", "bhi_consent_method": "verbal"}
    rows = [row(bhi_conditions="F33.1;F33.99", **bhi), row(id="R2", bhi_conditions="F33", **bhi)]
    path = write_roster(tmp_path, rows, header=[*HEADER, *roster_rows.SERVICE_COLUMNS])
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    f, cat = str(path), "is a category, not a billable code (use a more specific code)"
    assert result.stderr.splitlines() == [
        f"{f}:2: error: bhi_conditions: F33.99 is not in the ICD-10-CM code set",
        f"{f}:3: warning: bhi_conditions: F33 {cat}",
        "ccm: nothing imported: 1 error(s)",
    ]
    assert patient_files(datadir) == []


def test_categories_alone_import_with_warnings(cli, datadir: Path, tmp_path: Path) -> None:
    path = write_roster(tmp_path, [row(conditions="E11;I10")])
    result = run_import(cli, datadir, path, "-q")
    assert (result.exit_code, result.stderr) == (0, "")
    assert patient_files(datadir) == ["R1.yaml"]


def test_without_the_code_set_import_warns_and_goes_on(cli, datadir, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(
        roster_import, "load_checker", lambda: (None, "condition codes not checked: X")
    )
    result = run_import(cli, datadir, write_roster(tmp_path, [row(conditions="E11.99;I10")]))
    assert result.exit_code == 0
    assert (
        result.stderr
        == "ccm: warning: condition codes not checked: X\nadded 1 patient, updated 0\n"
    )


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1948-03-02", date(1948, 3, 2)), ("3/2/1948", date(1948, 3, 2)),
     ("03/02/1948", date(1948, 3, 2)), ("12/31/1948", date(1948, 12, 31)),
     ("2/29/1948", date(1948, 2, 29))],
)  # fmt: skip
def test_roster_dates_accepted(text: str, expected: date) -> None:
    errors: list = []
    assert roster_rows.roster_date("birth_date", text, errors) == expected.isoformat()
    assert errors == []


@pytest.mark.parametrize(
    "text", ["2/30/1950", "13/1/1950", "31/12/1950", "3/2/48", "1948-3-2", "March 2 1948",
             "1948/03/02", "2/29/1950", "19480302", "3-2-1948", "1948-02-30"]
)  # fmt: skip
def test_roster_dates_refused(text: str) -> None:
    errors: list = []
    assert roster_rows.roster_date("birth_date", text, errors) is None
    assert errors == [
        ("birth_date", "birth_date is not a real date of the form YYYY-MM-DD or M/D/YYYY")
    ]


# --- property: whatever a roster says, the files say ------------------------------------------

CODES = ["E11.9", "I10", "J44.9", "I50.22", "N18.30", "E78.5", "F33.1", "G20.A1"]
names = st.text(st.sampled_from("abcXYZ ,'\"-é\n"), min_size=1, max_size=20).filter(
    lambda s: s.strip()
)
days = st.dates(date(1920, 1, 1), date(2025, 12, 31))
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {"name": names, "birth": days, "codes": st.lists(st.sampled_from(CODES), min_size=1,
                                                         max_size=4, unique=True),
         "consent": st.none() | days, "us_dates": st.booleans()}
    ),
    min_size=1, max_size=6,
)  # fmt: skip


def _cell(day: date, us: bool) -> str:
    return f"{day.month}/{day.day}/{day.year}" if us else day.isoformat()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_strategy)
def test_property_roster_values_reach_the_files(generated: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ccm.yaml").write_text(
            'practice: P\ntimezone: America/Chicago\nbilling_npi: "1234567893"\n'
        )
        data = DataDir(root)
        rows = [
            {**EMPTY, "id": f"H{i}", "name": g["name"], "birth_date": _cell(g["birth"], g["us_dates"]),
             "conditions": ";".join(g["codes"]),
             "consent_date": _cell(g["consent"], g["us_dates"]) if g["consent"] else "",
             "consent_method": "written" if g["consent"] else ""}
            for i, g in enumerate(generated)
        ]  # fmt: skip
        result = roster_import.import_roster(data, csv_text(rows).encode(), "r.csv")
        assert result.problems == []
        assert (
            result.summary()
            == f"added {len(rows)} patient{'s' if len(rows) != 1 else ''}, updated 0"
        )
        for i, g in enumerate(generated):
            p = patient_of(data, f"H{i}")
            assert p.name == g["name"].strip()
            assert p.birth_date == g["birth"]
            assert [c.code for c in p.conditions] == g["codes"]
            assert (p.consent.date if p.consent else None) == g["consent"]


# --- a roster without its header, and inputs without end (issue items 16 and 17) --------------


def test_a_roster_without_a_header_says_so_and_echoes_no_cell(cli, datadir, tmp_path) -> None:
    path = tmp_path / "roster.csv"
    lines = csv_text([row(), row(id="R2")]).splitlines(keepends=True)[1:]  # the data rows only
    path.write_text("".join(lines))
    result = run_import(cli, datadir, path)
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:1: error: the first row is not a header")
    for cell in GOOD.values():
        if cell not in ("", "ccm"):
            assert cell not in result.stderr
    assert patient_files(datadir) == []


def _limited_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_import_of_a_device_is_refused_before_reading(datadir) -> None:
    import subprocess

    from helpers import CCM

    done = subprocess.run([CCM, "patient", "import", "/dev/zero", "-d", str(datadir)],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=_limited_memory)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == "ccm: cannot read /dev/zero: it is a device, not a file\n"
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run([CCM, "patient", "import", "-", "-d", str(datadir)], stdin=zero,
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=_limited_memory)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "standard input: it is a device" in done.stderr


def test_input_beyond_the_bound_is_refused(cli, datadir, monkeypatch) -> None:
    from ccmcli.store import regular_files

    monkeypatch.setattr(regular_files, "MAX_INPUT", 1000)
    text = csv_text([row(id=f"R{i}") for i in range(20)])
    assert len(text) > 1000
    result = cli("patient", "import", "-", "-d", datadir, input=text)
    assert result.exit_code == 1
    assert result.stderr.startswith("ccm: standard input is larger than")
    assert patient_files(datadir) == []
