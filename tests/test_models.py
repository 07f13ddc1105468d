"""Every rule of the records people write (contract section 1): ids, NPI, MBI, dates, enums,
shapes, unknown keys, and errors that never repeat patient data."""

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ccmcli.codes import identifiers
from ccmcli.models.months import Month
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient, Settings
from ccmcli.store import record_files
from ccmcli.store.datadir import DataDir

BASE = {"id": "P0001", "name": "Jane Doe", "birth_date": "1948-03-02"}
SETTINGS = {"practice": "Test Practice", "timezone": "America/Chicago", "billing_npi": "1234567893"}


def patient(**fields) -> Patient:
    return validate(Patient, {**BASE, **fields})


def refused(model, data: dict) -> list[dict]:
    """The errors pydantic reports, as record_files.py sees them (no input, no URL)."""
    with pytest.raises(ValidationError) as info:
        validate(model, data)
    return info.value.errors(include_input=False, include_url=False)


def messages(model, text: str) -> list[str]:
    """What a person reads for a YAML document: the rendered problems."""
    result, problems = record_files.parse_model(model, text, "f.yaml")
    assert result is None
    return [p.render() for p in problems]


def yaml_of(data: dict) -> str:
    return "".join(f"{k}: {v}\n" for k, v in data.items())


# --- NPI: Luhn over the 80840 prefix --------------------------------------------------------


def npi_check_digit(base9: str) -> str:
    """The CMS recipe, written independently of identifiers.py: double every other digit of
    the 9-digit base starting from its rightmost, add the digits, add 24 (the constant for the
    80840 prefix), and take what reaches the next multiple of 10."""
    total = 24
    for i, ch in enumerate(reversed(base9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d // 10 + d % 10
        total += d
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize("npi", ["1234567893", "1457302911"])
def test_published_npi_examples_are_valid(npi):
    assert identifiers.npi_is_valid(npi)
    assert npi_check_digit(npi[:9]) == npi[9]


@given(st.text(alphabet=string.digits, min_size=9, max_size=9), st.integers(0, 9))
def test_npi_is_valid_only_with_its_check_digit(base, last):
    good = npi_check_digit(base)
    assert identifiers.npi_is_valid(base + good)
    assert identifiers.npi_is_valid(base + str(last)) == (str(last) == good)


@pytest.mark.parametrize(
    "npi", ["", "123456789", "12345678930", "123456789O", "１２３４５６７８９３", " 1234567893"]
)
def test_npi_of_the_wrong_shape_is_refused(npi):
    assert not identifiers.npi_is_valid(npi)


def test_npi_is_checked_in_settings_and_patients():
    assert refused(Settings, {**SETTINGS, "billing_npi": "1234567890"})[0]["loc"] == (
        "billing_npi",
    )
    assert refused(Patient, {**BASE, "billing_npi": "1457302910"})[0]["loc"] == ("billing_npi",)
    assert patient(billing_npi="1457302911").billing_npi == "1457302911"


# --- MBI: the CMS 11-position format --------------------------------------------------------

MBI_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "SLOIBZ")
LETTER = st.sampled_from(MBI_LETTERS)
DIGIT = st.sampled_from(string.digits)
ALNUM = st.sampled_from(MBI_LETTERS + string.digits)
# Position 1 a digit 1-9; 2, 5, 8, 9 letters; 3 and 6 letter or digit; 4, 7, 10, 11 digits.
CLASSES = [st.sampled_from("123456789"), LETTER, ALNUM, DIGIT, LETTER, ALNUM, DIGIT, LETTER,
           LETTER, DIGIT, DIGIT]  # fmt: skip
mbis = st.tuples(*CLASSES).map("".join)


@given(mbis)
def test_every_mbi_built_from_the_cms_classes_is_valid(mbi):
    assert identifiers.mbi_is_valid(mbi)
    assert identifiers.mbi_is_valid(mbi.lower())
    assert patient(mbi=mbi.lower()).mbi == mbi


@given(mbis, st.integers(0, 10), st.sampled_from("SLOIBZ0"))
def test_an_excluded_letter_or_a_misplaced_kind_is_refused(mbi, pos, bad):
    """Excluded letters anywhere; a zero where only 1-9 or a letter may stand."""
    if bad == "0" and pos in (2, 3, 5, 6, 9, 10):
        return  # a digit is allowed there
    broken = mbi[:pos] + bad + mbi[pos + 1 :]
    assert not identifiers.mbi_is_valid(broken)


@pytest.mark.parametrize(
    "mbi",
    ["1EG4TE5MK7", "1EG4TE5MK733", "0EG4TE5MK73", "11G4TE5MK73", "1EGATE5MK73",
     "1EG41E5MK73", "1EG4TE5M173", "1EG4TE5MKA3", "1EG4-TE5-MK73", "1EG4TE5MK7 "],
)  # fmt: skip
def test_mbi_position_rules(mbi):
    assert not identifiers.mbi_is_valid(mbi)


def test_valid_mbi_example_from_the_contract():
    assert identifiers.mbi_is_valid("1EG4TE5MK73")


# --- patient ids -----------------------------------------------------------------------------

ID_CHARS = string.ascii_letters + string.digits + "-_"


@given(st.text(alphabet=ID_CHARS, min_size=1, max_size=32))
def test_ids_of_allowed_characters_are_accepted(pid):
    assert patient(id=pid).id == pid


@pytest.mark.parametrize(
    "pid", ["", "A" * 33, "a/b", "../P1", ".", "P 1", "P1.yaml", "Jöns", "P\n1", "P1;rm"]
)
def test_other_ids_are_refused(pid):
    assert refused(Patient, {**BASE, "id": pid})[0]["loc"] == ("id",)


def test_id_must_equal_the_file_stem(tmp_path):
    data = DataDir(tmp_path)
    (tmp_path / "patients").mkdir()
    path = tmp_path / "patients" / "P0002.yaml"
    path.write_text(yaml_of(BASE))
    found, problems = record_files.load_patient_file(data, path)
    assert found is None
    assert [(p.line, p.severity) for p in problems] == [(1, "error")]
    assert "P0002.yaml" in problems[0].message
    path.rename(tmp_path / "patients" / "P0001.yaml")
    found, problems = record_files.load_patient_file(data, tmp_path / "patients" / "P0001.yaml")
    assert (found.id, problems) == ("P0001", [])


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["1950-02-30", "2026-02-29", "2026-13-01", "2026-04-31", "0000-01-01"]
)
def test_impossible_dates_are_refused(text):
    assert refused(Patient, {**BASE, "birth_date": text})[0]["loc"] == ("birth_date",)


@pytest.mark.parametrize(
    "text", ["1950-2-3", "19500203", "03/02/1950", "1950-02-03T00:00", "Mar 2 1950", "today"]
)
def test_only_iso_dates_are_read_from_files(text):
    assert refused(Patient, {**BASE, "birth_date": text})[0]["loc"] == ("birth_date",)


def test_leap_day_and_surrounding_spaces():
    assert patient(birth_date="2024-02-29").birth_date == date(2024, 2, 29)
    assert patient(birth_date=" 1948-03-02 ").birth_date == date(1948, 3, 2)


@given(st.dates(min_value=date(1, 1, 1)))
def test_every_real_date_in_iso_form_is_read_back(day):
    assert patient(birth_date=day.isoformat()).birth_date == day


# --- enums ---------------------------------------------------------------------------------

ENUMS = [
    (Patient, ("program",), ["ccm", "pcm"], ["CCM", "rpm", "ccm "]),
    (Patient, ("consent", "method"), ["verbal", "written"], ["email", "Verbal", "yes"]),
    (Patient, ("initiating_visit", "type"), ["em", "awv", "ippe", "tcm"], ["phone", "AWV"]),
    (Patient, ("complex_months", 0, "mdm"), ["moderate", "high"], ["low", "straightforward"]),
    (Settings, ("date_of_service",), ["threshold_met", "month_end"], ["first_visit"]),
    (Settings, ("selection",), ["max_payment", "performer"], ["cheapest"]),
]
SHAPES = {
    "consent": {"date": "2026-01-05", "method": "verbal"},
    "initiating_visit": {"date": "2025-12-15", "type": "awv"},
    "complex_months": [{"month": "2026-03", "mdm": "high"}],
}


def _with(model, path: tuple, value: str) -> dict:
    data = {**(BASE if model is Patient else SETTINGS)}
    if len(path) == 1:
        data[path[0]] = value
        return data
    shape = SHAPES[path[0]]
    if isinstance(shape, list):
        data[path[0]] = [{**shape[0], path[2]: value}]
    else:
        data[path[0]] = {**shape, path[1]: value}
    return data


@pytest.mark.parametrize(("model", "path", "good", "bad"), ENUMS, ids=lambda v: str(v))
def test_enums_accept_their_values_only(model, path, good, bad):
    for value in good:
        validate(model, _with(model, path, value))
    for value in bad:
        assert refused(model, _with(model, path, value))[0]["loc"] == path


def test_defaults():
    s = validate(Settings, SETTINGS)
    assert (s.place_of_service, s.date_of_service, s.selection) == (
        "11",
        "threshold_met",
        "max_payment",
    )
    assert (s.count_practitioner_minutes_as_staff, s.fees) == (True, {})
    p = patient()
    assert (p.program, p.conditions, p.consent, p.mbi, p.billing_npi) == (
        "ccm",
        [],
        None,
        None,
        None,
    )


# --- conditions and the principal condition ----------------------------------------------------


def test_conditions_may_be_codes_or_mappings_and_are_upper_cased():
    p = patient(conditions=["e11.9", {"code": "I50.22", "description": "HF"},
                            {"code": "J06.9", "chronic": "false"}])  # fmt: skip
    assert [c.code for c in p.conditions] == ["E11.9", "I50.22", "J06.9"]
    assert p.chronic_codes() == ["E11.9", "I50.22"]


@pytest.mark.parametrize("code", ["E11.9", "I10", "Z79.4", "S72.001A", "E11"])
def test_icd10_shapes_accepted(code):
    assert identifiers.icd10_format_ok(code)


@pytest.mark.parametrize("code", ["250.00", "E1", "E11.", "E11.12345", "11.9", "E11-9", "e11.9"])
def test_icd10_shapes_refused(code):
    assert not identifiers.icd10_format_ok(code)


def test_principal_condition_must_be_one_of_the_conditions():
    ok = patient(program="pcm", principal_condition="i50.22", conditions=["E11.9", "I50.22"])
    assert ok.principal_condition == "I50.22"
    errors = refused(
        Patient,
        {**BASE, "program": "pcm", "principal_condition": "I50.22", "conditions": ["E11.9"]},
    )
    assert "principal_condition" in errors[0]["msg"]


def test_principal_condition_problem_points_at_its_line():
    text = yaml_of(BASE) + "program: pcm\nprincipal_condition: I50.22\nconditions:\n  - E11.9\n"
    assert messages(Patient, text) == [
        "f.yaml:5: error: principal_condition must be one of the codes listed in conditions"
    ]


# --- shapes: missing subfields, unknown keys --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "missing"),
    [
        ("consent", {"date": "2026-01-05"}, ("consent", "method")),
        ("consent", {"method": "verbal"}, ("consent", "date")),
        ("initiating_visit", {"date": "2025-12-15"}, ("initiating_visit", "type")),
        ("initiating_visit", {"type": "awv"}, ("initiating_visit", "date")),
        ("care_plan", {"revised": ["2026-06-01"]}, ("care_plan", "established")),
        ("complex_months", [{"mdm": "high"}], ("complex_months", 0, "month")),
        ("conditions", [{"description": "x"}], ("conditions", 0, "code")),
    ],
)
def test_missing_subfields_are_named(field, value, missing):
    errors = refused(Patient, {**BASE, field: value})
    assert [(e["type"], tuple(s for s in e["loc"] if not str(s).startswith("function"))) for e in errors] == [
        ("missing", missing)
    ]  # fmt: skip


@pytest.mark.parametrize("required", ["id", "name", "birth_date"])
def test_required_patient_fields(required):
    data = {k: v for k, v in BASE.items() if k != required}
    assert [(e["type"], e["loc"]) for e in refused(Patient, data)] == [("missing", (required,))]


@pytest.mark.parametrize("required", ["practice", "timezone", "billing_npi"])
def test_required_settings_fields(required):
    data = {k: v for k, v in SETTINGS.items() if k != required}
    assert [(e["type"], e["loc"]) for e in refused(Settings, data)] == [("missing", (required,))]


@pytest.mark.parametrize(
    ("model", "data", "loc"),
    [
        (Settings, {**SETTINGS, "colour": "blue"}, ("colour",)),
        (Patient, {**BASE, "nickname": "JD"}, ("nickname",)),
        (Patient, {**BASE, "consent": {**SHAPES["consent"], "witness": "x"}}, ("consent", "witness")),
        (Patient, {**BASE, "care_plan": {"established": "2026-01-05", "by": "x"}}, ("care_plan", "by")),
        (Patient, {**BASE, "initiating_visit": {**SHAPES["initiating_visit"], "npi": "1"}},
         ("initiating_visit", "npi")),
    ],
)  # fmt: skip
def test_unknown_keys_are_refused_at_every_level(model, data, loc):
    errors = refused(model, data)
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", loc)]


def test_an_empty_optional_field_is_not_recorded_but_an_empty_required_one_is_an_error():
    """`mbi:` with no value is YAML's null (read as ""): not recorded, not an invalid MBI."""
    text = yaml_of(BASE) + "mbi:\nbilling_npi:\nconsent:\nconditions:\n"
    found, problems = record_files.parse_model(Patient, text, "f.yaml")
    assert problems == []
    assert (found.mbi, found.billing_npi, found.consent, found.conditions) == (None, None, None, [])
    assert messages(Patient, "id: P0001\nname:\nbirth_date:\n") == [
        "f.yaml:2: error: name must not be empty",
        "f.yaml:3: error: birth_date is not a real date of the form YYYY-MM-DD",
    ]


def test_empty_optional_fields_of_sub_records_are_not_recorded_either():
    """The same rule one level down, and the fields a record holds are exactly those written:
    a mapping without an empty value is passed to the model untouched."""
    text = yaml_of(BASE) + (
        "consent:\n  date: 2026-01-05\n  method: verbal\n  obtained_by:\n  revoked:\n"
        "care_plan:\n  established: 2026-01-05\n  revised:\n"
        "conditions:\n  - code: E11.9\n    description:\n  - I10\n"
    )
    found, problems = record_files.parse_model(Patient, text, "f.yaml")
    assert problems == []
    assert found.mbi is None and found.consent.obtained_by is found.consent.revoked is None
    assert found.care_plan.revised == []
    assert [c.description for c in found.conditions] == [None, None]
    assert found == validate(Patient, {
        **BASE, "consent": {"date": "2026-01-05", "method": "verbal"},
        "care_plan": {"established": "2026-01-05"}, "conditions": ["E11.9", "I10"],
    })  # fmt: skip
    assert messages(Patient, yaml_of(BASE) + "consent:\n  date:\n  method: verbal\n") == [
        "f.yaml:5: error: consent.date is not a real date of the form YYYY-MM-DD"
    ]


def test_list_fields_left_out_are_new_empty_lists():
    """Defaults come from a factory: no two records share one list."""
    a, b = patient(), patient()
    assert a.conditions == b.conditions == [] and a.conditions is not b.conditions
    c = Patient(id="P1", name="N", birth_date=date(1950, 1, 2))  # built in code, not validated
    assert c.conditions == [] and c.conditions is not a.conditions and c.program == "ccm"


def test_models_are_frozen():
    p = patient()
    with pytest.raises(AttributeError):
        p.name = "Other"
    with pytest.raises(AttributeError):
        del p.name


def test_complex_month_lookup():
    p = patient(complex_months=[{"month": "2026-03", "mdm": "high"}])
    assert p.complex_month(Month(2026, 3)).mdm == "high"
    assert p.complex_month(Month(2026, 4)) is None


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["America/Chicago", "UTC", "Pacific/Honolulu", "America/Denver"])
def test_iana_timezones_accepted(tz):
    assert validate(Settings, {**SETTINGS, "timezone": tz}).timezone == tz


@pytest.mark.parametrize("tz", ["CST6", "Central", "America/Springfield", "../../etc/passwd", "",
                                "/etc/localtime", "America/"])  # fmt: skip
def test_other_timezones_refused(tz):
    assert refused(Settings, {**SETTINGS, "timezone": tz})[0]["loc"] == ("timezone",)


@pytest.mark.parametrize(("pos", "ok"), [("11", True), ("02", True), ("1", False), ("011", False),
                                         ("1a", False), ("١١", False)])  # fmt: skip
def test_place_of_service_is_two_digits(pos, ok):
    data = {**SETTINGS, "place_of_service": pos}
    if ok:
        assert validate(Settings, data).place_of_service == pos
    else:
        assert refused(Settings, data)[0]["loc"] == ("place_of_service",)


def test_fees_keys_are_five_digit_codes_and_amounts_positive_with_cents():
    fees = {"99490": "75.00", "99439": "0.01", "99491": "100000", "99437": "57.5"}
    s = validate(Settings, {**SETTINGS, "fees": fees})
    assert s.fees == {"99490": 75.0, "99439": 0.01, "99491": 100000.0, "99437": 57.5}
    for fees, loc in [({"9949": "1"}, ("fees", "9949", "[key]")),
                      ({"99490": "-0.01"}, ("fees", "99490")),
                      ({"99490": "lots"}, ("fees", "99490"))]:  # fmt: skip
        assert [e["loc"] for e in refused(Settings, {**SETTINGS, "fees": fees})] == [loc]


def test_a_fee_for_a_code_ccm_does_not_bill_refuses_ccm_yaml(cli, clinic):
    """The rules table says which codes ccm bills; the loader holds the fees against it, and
    ccm.yaml is refused as for a field of the wrong form, on the line of the code."""
    settings = clinic / "ccm.yaml"
    lines = len(settings.read_text().splitlines())
    settings.write_text(settings.read_text() + 'fees:\n  "99490": 70.00\n  G0511: 60.00\n')
    message = f"ccm.yaml:{lines + 3}: error: fees.G0511 is not a code ccm bills (see `ccm rules`)"
    checked = cli("-d", clinic, "check", "--month", "2026-10")
    assert checked.exit_code == 1 and message in checked.stderr and checked.stdout == ""
    validated = cli("-d", clinic, "validate", "--no-code-check")
    assert validated.exit_code == 1 and message in validated.stdout
    settings.write_text(settings.read_text().replace("G0511", "g0557"))  # any case
    assert cli("-d", clinic, "check", "--month", "2026-10").exit_code == 0


@pytest.mark.parametrize("amount", ["0", "0.00", "1e400", "1e3", "nan", "inf", "-1", "75.005",
                                    "100000.01", "1,000", " ", "0x10", "75.", ".5", "1_000",
                                    "0.5e2"])  # fmt: skip
def test_a_fee_that_no_claim_line_can_carry_is_refused(amount):
    errors = refused(Settings, {**SETTINGS, "fees": {"99490": amount}})
    assert [e["loc"] for e in errors] == [("fees", "99490")]


# --- errors never echo patient data ------------------------------------------------------------

SECRET_VALUES = [
    ("mbi", "1EG4TE5MK7S"),
    ("birth_date", "1950-02-30"),
    ("billing_npi", "1457302910"),
    ("name", ["Zelda Quist"]),
    ("name", {"first": "Zelda", "last": "Quist"}),
    ("birth_date", ["1950", "02", "03"]),
    ("consent", {"date": "2026-01-05", "method": "verbal", "obtained_by": ["Nurse Ratched"]}),
]


@pytest.mark.parametrize(("field", "value"), SECRET_VALUES)
def test_errors_never_echo_the_value(field, value):
    with pytest.raises(ValidationError) as info:
        validate(Patient, {**BASE, field: value})
    secrets = value if isinstance(value, list) else [value]
    if isinstance(value, dict):
        secrets = [v for v in value.values() if isinstance(v, str) and v not in ("verbal",)]
        secrets += [x for v in value.values() if isinstance(v, list) for x in v]
    rendered = [str(info.value), repr(info.value)]
    rendered += [e["msg"] for e in info.value.errors(include_input=False, include_url=False)]
    for secret in secrets:
        for text in rendered:
            assert str(secret) not in text


def test_rendered_yaml_problems_never_echo_the_value():
    text = "id: P0001\nname: [Zelda Quist]\nbirth_date: 1950-02-30\nmbi: 1EG4TE5MK7S\n"
    out = "\n".join(messages(Patient, text))
    assert len(out.splitlines()) == 3
    for secret in ("Zelda", "Quist", "1950-02-30", "1EG4TE5MK7S", "02-30"):
        assert secret not in out


# --- round trip: what ccm writes, ccm reads back -----------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s.strip())


@given(
    pid=st.text(alphabet=ID_CHARS, min_size=1, max_size=32),
    name=st.one_of(names, st.sampled_from(["yes", "NO", "0123", "20:30", "1e3", "null", "~",
                                           "- x", "a: b", "#c", "'q'", "O'Brien", "true"])),
    mbi=st.one_of(st.none(), mbis),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
)  # fmt: skip
def test_patient_yaml_reads_back_as_the_same_patient(pid, name, mbi, born):
    original = validate(Patient,
        {"id": pid, "name": name, "birth_date": born.isoformat(), "mbi": mbi,
         "conditions": ["E11.9", {"code": "I10", "chronic": False, "description": name}],
         "consent": {"date": "2026-01-05", "method": "written"}}
    )  # fmt: skip
    again, problems = record_files.parse_model(
        Patient, record_files.patient_yaml(original), "f.yaml"
    )
    assert problems == []
    assert again == original
