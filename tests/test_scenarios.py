"""Rule scenarios as data: each file in tests/scenarios/ holds the cases of one rule, at its edges.

The runner builds a real data directory for each case (ccm.yaml, patients/P1.yaml, logs/*.csv),
runs `ccm check --format json` on it and compares the patient's result with the case's `expect`.
It also runs `ccm explain` on the same patient, which must reach the same judgement.

A file: `rule` (ids from ccm-rules.md), `about` (plain words) and `scenarios`, a list of cases:
- `name`, `description`: what a biller reads; names of ccm-rules section 11 cases start `Sxx`.
- `month`: `YYYY-MM`, or `current` for the practice's current month (a provisional month).
- `settings`: overrides of ccm.yaml (practice, timezone America/Chicago, billing_npi are given).
- `patient`: overrides of the baseline P1 (ccm; E11.9 and I50.22; consent 2024-10-01 verbal; care
  plan and initiating visit (em) 2024-10-01). A mapping merges, `null` removes the field.
- `other_patients`: more patients, `{P2: overrides}`; `expect_other_patients: {P2: expect}`.
- `entries`: `"03-04 10 staff"` (date, minutes, staff|prac) or a mapping with `date`, `minutes`,
  `role`, `staff`, `start`, `end`, `logged_at`, `id` (default E1, E2... in order), `patient`.
  A date is `YYYY-MM-DD`, `MM-DD` (the month's year) or `DD` (a day of the month). Each entry
  goes to the log file of its own month.
- `voids`: entry ids (or `{entry: ID, reason: TEXT}`) cancelled by void rows.
- `expect`: any of `status`, `codes` (`"99490x1 99439x1"` or `none`), `date_of_service`,
  `amount`, `minutes` (some of clinical_staff, practitioner, not_counted), `blockers` and
  `warnings` (the exact set of rule ids), `messages` ({rule: text a message contains}), `next`
  (null, or some of minutes_needed, codes, role), `alternatives` (codes, or mappings with codes,
  amount, track, date_of_service), and of the whole report `provisional`, `rules`, `rules_note`.
"""

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from ccmcli.models.months import current_month
from ccmcli.store.timelog import HEADER, SERVICE_COLUMNS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
TZ = "America/Chicago"
SETTINGS = {"practice": "Scenario Practice", "timezone": TZ, "billing_npi": "1234567893"}
BASELINE = {
    "name": "Test Patient",
    "birth_date": "1950-01-01",
    "program": "ccm",
    "conditions": [{"code": "E11.9"}, {"code": "I50.22"}],
    "consent": {"date": "2024-10-01", "method": "verbal"},
    "care_plan": {"established": "2024-10-01"},
    "initiating_visit": {"date": "2024-10-01", "type": "em"},
}
ROLES = {"staff": "clinical_staff", "clinical_staff": "clinical_staff",
         "prac": "practitioner", "practitioner": "practitioner"}  # fmt: skip
PATIENT_KEYS = {"patient_id", "name", "program", "status", "minutes", "codes", "date_of_service",
                "amount", "alternatives", "blockers", "warnings", "next",
                "services", "total_amount", "patient_share", "not_assessed",
                "codes_without_doubted_minutes"}  # fmt: skip


# --- reading the scenario files ------------------------------------------------------------


def load_cases() -> list:
    """Every case of every file, as pytest params named `file: case name`."""
    params = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["scenarios"]:
            case = {"rule": doc.get("rule"), **case}
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def scenario_month(case: dict) -> str:
    """`month: current` is the practice's current month (a provisional month)."""
    month = str(case["month"])
    return str(current_month(TZ)) if month == "current" else month


def merge(base: dict, over: dict | None) -> dict:
    """Overrides: a mapping merges into the baseline's, null removes the field, else replaces."""
    out = dict(base)
    for key, value in (over or {}).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _day(text: str, month: str) -> str:
    """`2025-03-04`, `03-04` (the scenario month's year) or `04` (a day of the scenario month)."""
    text = str(text)
    if len(text) == 10:
        return text
    if len(text) == 5:
        return f"{month[:4]}-{text}"
    return f"{month}-{int(text):02d}"


def entry_rows(case: dict, month: str) -> list[dict]:
    """The case's entries (compact `"03-04 10 staff"` or mappings) and void rows, as log rows."""
    rows = []
    for n, item in enumerate(case.get("entries") or [], start=1):
        if isinstance(item, str):
            when, minutes, role = item.split()
            item = {"date": when, "minutes": minutes, "role": role}
        role = ROLES[item.get("role", "staff")]
        day = _day(item["date"], month)
        rows.append({
            "id": item.get("id", f"E{n}"), "patient_id": item.get("patient", "P1"), "date": day,
            "minutes": str(item["minutes"]), "role": role,
            "staff": item.get("staff", "dr.test" if role == "practitioner" else "rn.test"),
            "activity": "care_coordination", "start": item.get("start", ""),
            "end": item.get("end", ""), "note": item.get("note", ""),
            "logged_at": item.get("logged_at", f"{day}T17:00:00-06:00"), "voids": "",
            "service": item.get("service", ""),
        })  # fmt: skip
    by_id = {r["id"]: r for r in rows}
    for n, void in enumerate(case.get("voids") or [], start=1):
        target = by_id[void if isinstance(void, str) else void["entry"]]
        reason = "entered in error" if isinstance(void, str) else void.get("reason", "error")
        rows.append({**target, "id": f"V{n}", "minutes": "", "start": "", "end": "",
                     "note": reason, "voids": target["id"], "service": ""})  # fmt: skip
    return rows


# --- building a data directory ---------------------------------------------------------------


def write_log(root: Path, month: str, rows: list[dict]) -> Path:
    """logs/<month>.csv with the contract's header, rows in the order given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row.get(c, "") for c in SERVICE_COLUMNS])
    path = root / "logs" / f"{month}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(HEADER + out.getvalue(), encoding="utf-8")
    return path


def write_patient(root: Path, patient_id: str, overrides: dict | None = None) -> Path:
    data = {"id": patient_id, **merge(BASELINE, overrides)}
    path = root / "patients" / f"{patient_id}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def build_data_dir(root: Path, case: dict) -> Path:
    """A real data directory for one case: settings, P1 (and any other patients), month logs."""
    month = scenario_month(case)
    root.mkdir(parents=True)
    (root / "ccm.yaml").write_text(
        yaml.safe_dump({**SETTINGS, **(case.get("settings") or {})}, sort_keys=False),
        encoding="utf-8",
    )
    write_patient(root, "P1", case.get("patient"))
    for pid, overrides in (case.get("other_patients") or {}).items():
        write_patient(root, pid, overrides)
    by_month: dict[str, list[dict]] = {}
    for row in entry_rows(case, month):
        by_month.setdefault(row["date"][:7], []).append(row)
    for m, rows in by_month.items():
        write_log(root, m, rows)
    return root


# --- comparing with `expect` -----------------------------------------------------------------


def codes_text(codes: list[dict]) -> str:
    return " ".join(f"{c['code']}x{c['units']}" for c in codes) or "none"


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _compare_next(got: dict | None, want: dict | None, errors: list[str]) -> None:
    if want is None or got is None:
        if want != got:
            errors.append(f"next: expected {want}, got {got}")
        return
    for key, value in want.items():
        have = codes_text(got["codes"]) if key == "codes" else got[key]
        if have != value:
            errors.append(f"next.{key}: expected {value!r}, got {have!r}")


def _compare_alternatives(got: list[dict], want: list, errors: list[str]) -> None:
    if len(got) != len(want):
        errors.append(f"alternatives: expected {want}, got {[codes_text(a['codes']) for a in got]}")
        return
    for have, item in zip(got, want, strict=True):
        item = {"codes": item} if isinstance(item, str) else item
        for key, value in item.items():
            h = codes_text(have["codes"]) if key == "codes" else have[key]
            value = _iso(value)
            if h != value and not (key == "amount" and abs(h - value) < 0.005):
                errors.append(f"alternative {codes_text(have['codes'])}: {key} {h!r} != {value!r}")


def compare(got: dict, want: dict) -> list[str]:
    """Every difference between the patient's JSON and the expectation, in words."""
    errors: list[str] = []
    simple = {"status": got["status"], "date_of_service": got["date_of_service"],
              "program": got["program"]}  # fmt: skip
    for key, have in simple.items():
        if key in want and have != _iso(want[key]):
            errors.append(f"{key}: expected {_iso(want[key])!r}, got {have!r}")
    if "codes" in want and codes_text(got["codes"]) != (want["codes"] or "none"):
        errors.append(f"codes: expected {want['codes']!r}, got {codes_text(got['codes'])!r}")
    if "amount" in want and abs(got["amount"] - want["amount"]) >= 0.005:
        errors.append(f"amount: expected {want['amount']}, got {got['amount']}")
    for key, value in (want.get("minutes") or {}).items():
        if got["minutes"][key] != value:
            errors.append(f"minutes.{key}: expected {value}, got {got['minutes'][key]}")
    for key in ("blockers", "warnings"):
        if key in want:
            have = sorted({f["rule"] for f in got[key]})
            if have != sorted(want[key] or []):
                errors.append(f"{key}: expected {sorted(want[key] or [])}, got {have}")
    if "next" in want:
        _compare_next(got["next"], want["next"], errors)
    if "alternatives" in want:
        _compare_alternatives(got["alternatives"], want["alternatives"] or [], errors)
    for key, text in (want.get("messages") or {}).items():
        found = [f["message"] for f in got["blockers"] + got["warnings"] if f["rule"] == key]
        if not any(text in m for m in found):
            errors.append(f"{key}: no message containing {text!r} in {found}")
    return errors


def check_json(cli, root: Path, month: str) -> dict:
    """`ccm check --format json`: exit 0, and nothing on stderr but the rules-table note."""

    result = cli("check", "-d", root, "--month", month, "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    note = report.get("rules_note")
    assert result.stderr == (f"note: {note}\n" if note else "")
    return report


def patient_of(report: dict, patient_id: str) -> dict:
    return next(p for p in report["patients"] if p["patient_id"] == patient_id)


@pytest.mark.parametrize("case", load_cases())
def test_scenario(case, cli, tmp_path):

    month = scenario_month(case)
    root = build_data_dir(tmp_path / "data", case)
    report = check_json(cli, root, month)
    assert report["month"] == month
    for key in ("provisional", "rules", "rules_note"):
        if key in case["expect"]:
            assert report.get(key) == case["expect"][key], key
    assert report["problems"] == []
    expectations = {"P1": case["expect"], **(case.get("expect_other_patients") or {})}
    for pid, want in expectations.items():
        got = patient_of(report, pid)
        assert set(got) == PATIENT_KEYS
        errors = compare(got, want)
        assert not errors, f"{case['name']} ({pid}): {case.get('description', '')}\n" + "\n".join(
            errors
        )
    explained = cli("explain", "P1", "-d", root, "--month", month, "--format", "json")
    assert explained.exit_code == 0, explained.stderr
    ex = json.loads(explained.stdout)
    mine = patient_of(report, "P1")
    assert {k: ex[k] for k in PATIENT_KEYS} == mine


def test_every_rule_file_names_its_rule_and_describes_each_case():
    """A biller reads these files: every case has a name, words, and an expectation."""
    files = sorted(SCENARIO_DIR.glob("*.yaml"))
    assert len(files) >= 10
    names = set()
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc.get("rule") and doc.get("about"), path.name
        for case in doc["scenarios"]:
            assert {"name", "description", "month", "expect"} <= set(case), (path, case)
            assert (path.stem, case["name"]) not in names, f"duplicate name in {path.name}"
            names.add((path.stem, case["name"]))


def test_section_11_scenarios_s01_to_s21_are_all_covered():
    """ccm-rules section 11: S01-S21 each name a case (S22-S25 are out of scope, A7)."""
    names = " ".join(p.values[0]["name"] for p in load_cases())
    missing = [f"S{n:02d}" for n in range(1, 22) if not re.search(rf"\bS{n:02d}\b", names)]
    assert missing == []


def test_compare_reports_each_difference():
    """The runner is not vacuous: a wrong expectation is reported, field by field."""
    got = {"status": "billable", "program": "ccm", "date_of_service": "2025-03-18",
           "amount": 60.49, "codes": [{"code": "99490", "units": 1}],
           "minutes": {"clinical_staff": 20, "practitioner": 0, "not_counted": 0},
           "blockers": [], "warnings": [{"rule": "late_entry", "message": "entry E1 ..."}],
           "alternatives": [], "next": {"codes": [{"code": "99490", "units": 1},
           {"code": "99439", "units": 1}], "minutes_needed": 20, "role": "clinical_staff"}}  # fmt: skip
    assert compare(got, {"status": "billable", "codes": "99490x1", "amount": 60.49,
                         "date_of_service": date(2025, 3, 18), "warnings": ["late_entry"],
                         "next": {"minutes_needed": 20, "codes": "99490x1 99439x1"}}) == []  # fmt: skip
    wrong = {"status": "below_threshold", "codes": "99490x1 99439x1", "amount": 60.5,
             "date_of_service": date(2025, 3, 17), "minutes": {"clinical_staff": 19},
             "blockers": ["no_consent"], "warnings": [], "messages": {"late_entry": "E2"},
             "next": None, "alternatives": ["99491x1"]}  # fmt: skip
    errors = compare(got, wrong)
    assert len(errors) == len(wrong), errors
