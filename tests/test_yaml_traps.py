"""YAML 1.1's traps (STYLE.md 5): every value reaches ccm as typed, and bad YAML is a problem
with file, line and column, never a crash. tests/fixtures/yaml_traps/ is the regression file:
a data directory written the way people write, with every trap in it."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient, Settings
from ccmcli.store import record_files, yamlio
from ccmcli.store.datadir import DataDir

TRAPS = Path(__file__).resolve().parent / "fixtures" / "yaml_traps"


@pytest.fixture(scope="module")
def trap_patient() -> Patient:
    found, problems = record_files.load_patient_file(
        DataDir(TRAPS), TRAPS / "patients" / "0123.yaml"
    )
    assert problems == []
    return found


def test_the_regression_file_really_holds_the_traps():
    """Guard against a 'fixed' fixture: YAML 1.1 (safe_load) must misread these very files."""
    settings = yaml.safe_load((TRAPS / "ccm.yaml").read_text())
    assert (settings["practice"], settings["place_of_service"], settings["billing_npi"]) == (
        True, 2, 1234567893)  # fmt: skip
    p = yaml.safe_load((TRAPS / "patients" / "0123.yaml").read_text())
    assert (p["id"], p["name"], p["conditions"][0]["description"]) == (83, False, 1230)
    assert p["consent"]["obtained_by"] == 45000
    assert isinstance(p["birth_date"], date)


def test_settings_keep_what_was_typed():
    settings, problems = record_files.load_settings(DataDir(TRAPS))
    assert problems == []
    assert settings.practice == "yes"
    assert settings.billing_npi == "1234567893"
    assert settings.place_of_service == "02"
    assert settings.count_practitioner_minutes_as_staff is False
    assert settings.fees == {"99490": 1000.0, "99439": 50.0}


def test_leading_zero_id_stays_text(trap_patient):
    assert trap_patient.id == "0123"


def test_yes_and_no_are_words_where_words_are_expected(trap_patient):
    assert trap_patient.name == "NO"
    assert trap_patient.conditions[1].description == "on"


def test_booleans_are_read_where_booleans_are_expected(trap_patient):
    assert [c.chronic for c in trap_patient.conditions] == [True, True, False, True, True, True]


def test_times_numbers_and_nulls_stay_text(trap_patient):
    descriptions = [c.description for c in trap_patient.conditions]
    assert descriptions == ["20:30", "on", "0x1F", "~", "1e3", ".inf"]
    assert trap_patient.consent.obtained_by == "12:30:00"


def test_dates_are_typed_by_the_model(trap_patient):
    assert trap_patient.birth_date == date(1948, 3, 2)
    assert trap_patient.care_plan.revised == [date(2026, 6, 1), date(2026, 9, 1)]
    assert trap_patient.complex_months[0].month == "2026-03"


def test_unquoted_npi_and_lower_case_mbi(trap_patient):
    assert trap_patient.billing_npi == "1457302911"
    assert trap_patient.mbi == "1EG4TE5MK73"


def test_place_of_service_with_three_digits_is_a_problem_not_octal():
    text = "practice: P\ntimezone: UTC\nbilling_npi: 1234567893\nplace_of_service: 011\n"
    _, problems = record_files.parse_model(Settings, text, "ccm.yaml")
    assert [(p.line, p.severity) for p in problems] == [(4, "error")]
    assert problems[0].message.startswith("place_of_service must be a two-digit")


def test_impossible_date_is_a_problem_with_its_line_not_a_crash():
    with pytest.raises(ValueError):
        yaml.safe_load("birth_date: 1950-02-30\n")  # the trap: a bare ValueError, no line
    text = "id: P1\nname: Jane\nbirth_date: 1950-02-30\n"
    _, problems = record_files.parse_model(Patient, text, "patients/P1.yaml")
    assert [p.render() for p in problems] == [
        "patients/P1.yaml:3: error: birth_date is not a real date of the form YYYY-MM-DD"
    ]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("id: P1\nname: [Jane\nbirth_date: 1950-01-01\n", 3, 11),
        ("id: P1\nconsent:\n  date: 2026-01-05\n   method: verbal\n", 4, 10),
        ("id: P1\n\tname: Jane\n", 2, 1),
        ('id: P1\nname: "Jane\n', 3, 1),
        ("id: P1\nname: Jane\nname: Joan\n", 3, 1),
        ("id: P1\nname: *someone\n", 2, 7),
        ("id: P1\n---\nname: Jane\n", 2, 1),
    ],
)
def test_syntax_errors_report_line_and_column(text, line, column):
    _, problems = record_files.parse_model(Patient, text, "patients/P1.yaml")
    assert len(problems) == 1
    p = problems[0]
    assert (p.line, p.column, p.severity) == (line, column, "error")
    assert p.render().startswith(f"patients/P1.yaml:{line}:{column}: error: YAML syntax: ")
    assert "\n" not in p.render()


def test_duplicate_keys_are_refused_not_silently_overwritten():
    """YAML keeps the last of two equal keys: a second consent block would erase the first."""
    text = (
        "id: P1\nname: Jane\nbirth_date: 1950-01-01\nconsent: {date: 2026-01-05, method: verbal}\n"
    )
    _, problems = record_files.parse_model(
        Patient, text + "consent: {date: 2026-02-05, method: written}\n", "f"
    )
    assert [p.render() for p in problems] == [
        'f:5:1: error: YAML syntax: key "consent" appears twice (first on line 4)'
    ]  # fmt: skip


def test_a_control_character_is_one_line_with_its_line_number():
    _, problems = record_files.parse_model(Patient, "id: P1\nname: Ja\x00ne\n", "f.yaml")
    assert [p.render() for p in problems] == [
        "f.yaml:2: error: YAML syntax: control characters are not allowed (#x0000)"
    ]


def test_python_tags_construct_nothing(tmp_path):
    marker = tmp_path / "ran"
    text = f'id: !!python/object/apply:os.system ["touch {marker}"]\n'
    data = yamlio.load(text)
    assert data == {"id": [f"touch {marker}"]}
    assert not marker.exists()


def test_crlf_and_byte_order_mark_are_read(tmp_path):
    (tmp_path / "patients").mkdir()
    path = tmp_path / "patients" / "P1.yaml"
    path.write_bytes(b"\xef\xbb\xbfid: P1\r\nname: Jane\r\nbirth_date: 1950-01-01\r\n")
    found, problems = record_files.load_patient_file(DataDir(tmp_path), path)
    assert problems == []
    assert (found.id, found.name) == ("P1", "Jane")


def test_line_of_finds_nested_fields_and_falls_back_to_the_parent():
    text = (TRAPS / "patients" / "0123.yaml").read_text()
    lines = text.splitlines()
    at = yamlio.line_of(text, ("consent", "obtained_by"))
    assert lines[at - 1].lstrip().startswith("obtained_by:")
    at = yamlio.line_of(text, ("conditions", 2, "chronic"))
    assert lines[at - 1].lstrip().startswith("chronic: no")
    at = yamlio.line_of(text, ("care_plan", "nothing_here"))
    assert lines[at - 1].startswith("care_plan:")
    assert yamlio.line_of("a: [", ("a",)) is None


def test_what_ccm_writes_survives_a_yaml_1_1_reader_too():
    """Other tools read these files with YAML 1.1: ccm's writer quotes what they would misread."""
    p = validate(Patient, {"id": "0123", "name": "NO", "birth_date": "1948-03-02",
                                "conditions": [{"code": "E11.9", "description": "20:30"}]})  # fmt: skip
    loaded = yaml.safe_load(record_files.patient_yaml(p))
    assert (loaded["id"], loaded["name"]) == ("0123", "NO")
    assert loaded["birth_date"] == date(1948, 3, 2)  # a date is written bare and read as a date
    assert loaded["conditions"][0]["description"] == "20:30"
