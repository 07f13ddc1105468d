"""ICD-10-CM checks of condition codes: the checker, `validate`, `patient add` and `patient show`."""

import json
from pathlib import Path

import pytest

from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient
from ccmcli.store import condition_codes, icd10

UNKNOWN = "is not in the ICD-10-CM code set"
CATEGORY = "is a category, not a billable code (use a more specific code)"


@pytest.fixture(scope="session")
def checker(icd_cache: Path) -> condition_codes.CodeChecker:
    found, note = condition_codes.load_checker(icd_cache)
    assert found is not None, note
    return found


def patient(*codes: str, principal: str | None = None, **extra) -> Patient:
    conditions = [{"code": c, **extra} for c in codes]
    return validate(Patient,
        {"id": "T1", "name": "Test Person", "birth_date": "1950-01-01",
         "program": "pcm" if principal else "ccm", "principal_condition": principal,
         "conditions": conditions}
    )  # fmt: skip


def set_conditions(path: Path, block: str) -> None:
    """Replace the `conditions:` block of a patient file, keeping every other line."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("conditions:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    path.write_text("".join([*lines[:start], block, *lines[end:]]))


def test_billable_codes_have_no_findings(checker) -> None:
    assert checker.findings(patient("E11.9", "I10", "N18.30", "G20.A1")) == []


def test_unknown_code_is_an_error_and_category_a_warning(checker) -> None:
    found = checker.findings(patient("E11.9", "E11.99", "E11"))
    assert [(f.field, f.severity) for f in found] == [
        ("conditions[1].code", "error"),
        ("conditions[2].code", "warning"),
    ]
    assert found[0].message() == f"conditions[1].code E11.99 {UNKNOWN}"
    assert found[1].message() == f"conditions[2].code E11 {CATEGORY}"
    assert found[1].message("--condition") == f"--condition E11 {CATEGORY}"


def test_principal_condition_is_checked_too(checker) -> None:
    found = checker.findings(patient("I50.2", "I10", principal="I50.2"))
    assert [f.message() for f in found] == [
        f"conditions[0].code I50.2 {CATEGORY}",
        f"principal_condition I50.2 {CATEGORY}",
    ]


def test_with_descriptions_fills_only_missing_ones(checker) -> None:
    p = validate(Patient,
        {"id": "T1", "name": "Test Person", "birth_date": "1950-01-01",
         "conditions": [{"code": "E11.9"}, {"code": "I10", "description": "High blood pressure"},
                        {"code": "J06.9", "chronic": False}]}
    )  # fmt: skip
    shown = checker.with_descriptions(p)
    descriptions = [c.description for c in shown.conditions]
    assert "type 2 diabetes" in descriptions[0].lower()
    assert descriptions[1] == "High blood pressure"
    assert "upper respiratory infection" in descriptions[2].lower()
    assert shown.conditions[2].chronic is False
    assert p.conditions[0].description is None  # the original is untouched


def test_unavailable_code_set_gives_a_reason(monkeypatch) -> None:
    def missing(cache_dir=None):
        raise icd10.CodeSetUnavailable("ICD-10-CM tables unavailable: install simple-icd-10-cm")

    monkeypatch.setattr(icd10, "load_code_set", missing)
    found, note = condition_codes.load_checker()
    assert found is None
    assert (
        note
        == "condition codes not checked: ICD-10-CM tables unavailable: install simple-icd-10-cm"
    )


# --- ccm validate ---------------------------------------------------------------------------


def test_validate_reports_codes_on_their_lines(cli, clinic: Path) -> None:
    set_conditions(
        clinic / "patients" / "P0003.yaml",
        "conditions:\n  - code: J44.9\n  - code: E11.99\n    description: typo\n  - E11\n",
    )
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"patients/P0003.yaml:8: error: conditions[1].code E11.99 {UNKNOWN}",
        f"patients/P0003.yaml:10: warning: conditions[2].code E11 {CATEGORY}",
    ]


def test_validate_category_alone_is_a_warning_and_exit_0(cli, clinic: Path) -> None:
    path = clinic / "patients" / "P0011.yaml"
    path.write_text(path.read_text().replace("I50.22", "I50.2"))  # principal and condition
    result = cli("validate", "-d", clinic, "--format", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert (out["summary"]["errors"], out["summary"]["warnings"]) == (0, 2)
    assert [(p["file"], p["line"], p["message"]) for p in out["problems"]] == [
        ("patients/P0011.yaml", 6, f"principal_condition I50.2 {CATEGORY}"),
        ("patients/P0011.yaml", 8, f"conditions[0].code I50.2 {CATEGORY}"),
    ]


def test_no_code_check_skips_the_code_set(cli, clinic: Path, monkeypatch) -> None:
    set_conditions(clinic / "patients" / "P0003.yaml", "conditions: [E11.99, I10]\n")
    monkeypatch.setattr(condition_codes, "load_checker", lambda *a: pytest.fail("code set loaded"))
    result = cli("validate", "-d", clinic, "--no-code-check")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_clean_clinic_validates_silently(cli, clinic: Path) -> None:
    result = cli("validate", "-d", clinic)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_invalid_patient_files_are_not_code_checked(cli, broken: Path) -> None:
    path = broken / "patients" / "P0004.yaml"  # already invalid: bad billing_npi
    path.write_text(path.read_text().replace("I25.10", "I25.99"))
    with_codes = cli("validate", "-d", broken)
    without = cli("validate", "-d", broken, "--no-code-check")
    assert with_codes.exit_code == without.exit_code == 1
    assert with_codes.stdout == without.stdout
    assert "I25.99" not in with_codes.stdout


def test_validate_without_code_set_warns_once_and_goes_on(cli, clinic: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        condition_codes, "load_checker", lambda *a: (None, "condition codes not checked: X")
    )
    set_conditions(clinic / "patients" / "P0003.yaml", "conditions: [E11.99, I10]\n")
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "ccm: warning: condition codes not checked: X\n"


# --- ccm patient add / show -----------------------------------------------------------------


def add(cli, datadir: Path, *codes: str, extra: tuple = ()):
    args = [f"--condition={c}" for c in codes]
    return cli("patient", "add", "N1", "-d", datadir, "--name", "New Person",
               "--birth-date", "1950-01-01", *args, *extra)  # fmt: skip


def test_add_refuses_an_unknown_code_and_writes_nothing(cli, datadir: Path) -> None:
    result = add(cli, datadir, "E11.9", "E11.99")
    assert result.exit_code == 1
    assert result.stderr == f"ccm: --condition E11.99 {UNKNOWN} (nothing written)\n"
    assert not (datadir / "patients" / "N1.yaml").exists()


def test_add_warns_about_a_category_and_writes(cli, datadir: Path) -> None:
    result = add(cli, datadir, "E11", "I10")
    assert result.exit_code == 0, result.stderr
    assert f"warning: --condition E11 {CATEGORY}" in result.stderr.splitlines()
    assert "code: E11\n" in (datadir / "patients" / "N1.yaml").read_text()


def test_add_checks_the_principal_condition(cli, datadir: Path) -> None:
    result = add(
        cli, datadir, "I50.2", extra=("--program", "pcm", "--principal-condition", "I50.2")
    )
    assert result.exit_code == 0, result.stderr
    assert f"warning: --principal-condition I50.2 {CATEGORY}" in result.stderr.splitlines()


def test_show_fills_missing_descriptions_without_rewriting(cli, clinic: Path) -> None:
    path = clinic / "patients" / "P0003.yaml"
    set_conditions(path, "conditions:\n  - code: J44.9\n  - I10\n")
    before = path.read_bytes()
    table = cli("patient", "show", "P0003", "-d", clinic, "--month", "2026-10")
    assert table.exit_code == 0, table.stderr
    assert "condition I10  Essential (primary) hypertension" in table.stdout
    shown = cli("patient", "show", "P0003", "-d", clinic, "--month", "2026-10", "--format", "json")
    conditions = json.loads(shown.stdout)["record"]["conditions"]
    assert [c["description"] for c in conditions] == [
        "Chronic obstructive pulmonary disease, unspecified",
        "Essential (primary) hypertension",
    ]
    assert path.read_bytes() == before


# --- bhi.conditions (A11): looked up like conditions, an unknown one counts toward no gate -----


def test_bhi_conditions_are_checked_too(checker) -> None:
    p = validate(Patient,
        {"id": "T1", "name": "Test Person", "birth_date": "1950-01-01", "conditions": ["E11.9"],
         "bhi": {"conditions": ["F33.1", "F33.99", "F33"]}}
    )  # fmt: skip
    assert [(f.field, f.severity, f.message()) for f in checker.findings(p)] == [
        ("bhi.conditions[1]", "error", f"bhi.conditions[1] F33.99 {UNKNOWN}"),
        ("bhi.conditions[2]", "warning", f"bhi.conditions[2] F33 {CATEGORY}"),
    ]
    gated = condition_codes.without_unknown(p, checker)
    assert gated.bhi.conditions == ["F33.1", "F33"]  # the category still counts
    assert p.bhi.conditions == ["F33.1", "F33.99", "F33"]  # the record as filed is untouched


def _bhi_codes(clinic: Path, codes: str) -> None:
    """P0014's BHI block (line 21) with `codes` in place of what it lists."""
    path = clinic / "patients" / "P0014.yaml"
    lines = path.read_text().splitlines(keepends=True)
    assert lines[20].startswith("  conditions: [")
    lines[20] = f"  conditions: [{codes}]\n"
    path.write_text("".join(lines))


def test_validate_reports_bhi_codes_on_their_line(cli, clinic: Path) -> None:
    _bhi_codes(clinic, "F33.99, F33")
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"patients/P0014.yaml:21: error: bhi.conditions[0] F33.99 {UNKNOWN}",
        f"patients/P0014.yaml:21: warning: bhi.conditions[1] F33 {CATEGORY}",
    ]


def test_an_unknown_bhi_code_counts_toward_no_gate_and_reaches_no_claim(cli, clinic) -> None:
    _bhi_codes(clinic, "F33.99")
    checked = cli("check", "P0014", "--month", "2026-10", "-f", "json", "-d", clinic)
    assert checked.exit_code == 1
    assert f"patients/P0014.yaml:21: error: bhi.conditions[0] F33.99 {UNKNOWN}" in checked.stderr
    (p,) = json.loads(checked.stdout)["patients"]
    (bhi,) = [s for s in p["services"] if s["service"] == "bhi"]
    assert (bhi["status"], [b["rule"] for b in bhi["blockers"]]) == ("blocked", ["no_bh_condition"])
    _bhi_codes(clinic, "F33.99, F41.1")  # a known code beside it: billed, without the unknown
    exported = cli("export", "--month", "2026-10", "--force", "--dry-run", "-d", clinic)
    assert exported.exit_code == 1, exported.stderr  # --force still exits 1 on errors
    (line,) = [x for x in exported.stdout.splitlines() if ",99484," in x]
    assert line.startswith("P0014,") and "F41.1" in line and "F33.99" not in line


def test_add_refuses_an_unknown_bhi_code(cli, datadir: Path) -> None:
    result = add(cli, datadir, "E11.9", "I10", extra=("--bhi-condition", "F33.99"))
    assert result.exit_code == 1
    assert result.stderr == f"ccm: --bhi-condition F33.99 {UNKNOWN} (nothing written)\n"
    assert not (datadir / "patients" / "N1.yaml").exists()
