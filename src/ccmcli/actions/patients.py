"""Adding and showing one patient: what `ccm patient add` and `ccm patient show` do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.models.errors import CcmError
from ccmcli.models.months import is_provisional, today_in
from ccmcli.models.typed import parse_date
from ccmcli.reports.patient_month import enrolled, month_status
from ccmcli.rules.engine import Judgement
from ccmcli.store import record_files
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.models.records import Patient, Settings
    from ccmcli.reports.json_shapes import PatientListOutput, PatientShowOutput

OPTION_OF_FIELD = {
    "id": "ID", "name": "--name", "birth_date": "--birth-date", "conditions": "--condition",
    "consent": "--consent-date/--consent-method", "initiating_visit": "--initiating-visit/--visit-type",
    "care_plan": "--care-plan", "program": "--program", "principal_condition": "--principal-condition",
    "mbi": "--mbi", "billing_npi": "--billing-npi", "bhi.conditions": "--bhi-condition", "bhi.consent": "--bhi-consent-date/--bhi-consent-method",
    "bhi.care_plan": "--bhi-care-plan", "cocm_months": "--cocm-month",
    "rpm": "--rpm-consent-date/--rpm-consent-method", "rtm": "--rtm-consent-date/--rtm-consent-method",
}  # fmt: skip


@dataclass
class AddFields:
    patient_id: str
    name: str
    birth_date: str
    conditions: list[str]
    consent_date: str | None
    consent_method: str | None
    initiating_visit: str | None
    visit_type: str | None
    care_plan: str | None
    program: str
    principal_condition: str | None
    mbi: str | None
    billing_npi: str | None
    services: ServiceFields | None = None


@dataclass
class ServiceFields:
    """The other monthly services (ccm-rules A11-A14), as `patient add` takes them."""

    bhi_conditions: list[str] = field(default_factory=list)
    bhi_consent_date: str | None = None
    bhi_consent_method: str | None = None
    bhi_care_plan: str | None = None
    cocm_months: list[str] = field(default_factory=list)
    rpm_consent_date: str | None = None
    rpm_consent_method: str | None = None
    rtm_consent_date: str | None = None
    rtm_consent_method: str | None = None

    def blocks(self, today) -> dict:
        """`bhi`, `rpm`, `rtm` and `cocm_months` as the patient file holds them."""
        out: dict = {}
        bhi: dict = {}
        if self.bhi_conditions:
            bhi["conditions"] = [c.strip().upper() for c in self.bhi_conditions]
        if _paired(self.bhi_consent_date, self.bhi_consent_method,
                   "--bhi-consent-date and --bhi-consent-method"):  # fmt: skip
            bhi["consent"] = {"date": parse_date(self.bhi_consent_date, today),
                              "method": _choice(self.bhi_consent_method)}  # fmt: skip
        if self.bhi_care_plan:
            bhi["care_plan"] = {"established": parse_date(self.bhi_care_plan, today)}
        if bhi:
            out["bhi"] = bhi
        if self.cocm_months:
            out["cocm_months"] = list(self.cocm_months)
        for name in ("rpm", "rtm"):
            day, how = (
                getattr(self, f"{name}_consent_date"),
                getattr(self, f"{name}_consent_method"),
            )
            if _paired(day, how, f"--{name}-consent-date and --{name}-consent-method"):
                out[name] = {"consent": {"date": parse_date(day, today), "method": _choice(how)}}
        return out


def _paired(a: str | None, b: str | None, names: str) -> bool:
    if (a is None) != (b is None):
        raise CcmError(f"{names} go together: give both or neither", 2)
    return a is not None


def _choice(text: str | None) -> str | None:
    """A value of a fixed list (program, consent method, visit type): taken in any case."""
    return text.strip().lower() if text is not None else None


def _birth_date(text: str, today):
    try:
        return parse_date(text, today, allow_future=False, private=True)
    except CcmError as exc:
        raise CcmError(f"--birth-date: {exc.message}", exc.exit_code) from None


def build_patient(f: AddFields, today) -> Patient:
    """A Patient from typed options; dates may be typed as people type them (typed.py)."""
    from pydantic import ValidationError

    from ccmcli.models.error_words import field_errors
    from ccmcli.models.record_schema import validate
    from ccmcli.models.records import Patient

    raw: dict = {"id": f.patient_id, "name": f.name, "program": _choice(f.program),
                 "birth_date": _birth_date(f.birth_date, today),
                 "conditions": [{"code": c} for c in f.conditions]}  # fmt: skip
    if _paired(f.consent_date, f.consent_method, "--consent-date and --consent-method"):
        raw["consent"] = {"date": parse_date(f.consent_date, today),
                          "method": _choice(f.consent_method)}  # fmt: skip
    if _paired(f.initiating_visit, f.visit_type, "--initiating-visit and --visit-type"):
        raw["initiating_visit"] = {
            "date": parse_date(f.initiating_visit, today),
            "type": _choice(f.visit_type),
        }
    if f.care_plan:
        raw["care_plan"] = {"established": parse_date(f.care_plan, today)}
    for key in ("principal_condition", "mbi", "billing_npi"):
        if getattr(f, key):
            raw[key] = getattr(f, key)
    if f.services is not None:
        raw.update(f.services.blocks(today))
    try:
        return validate(Patient, raw)
    except ValidationError as exc:
        first = field_errors(exc)[0]
        loc = first.loc[0] if first.loc else ""
        if loc == "bhi" and len(first.loc) > 1:
            loc = f"bhi.{first.loc[1]}"
        raise CcmError(f"{OPTION_OF_FIELD.get(str(loc), loc)}: {first.text}", 2) from None


def add_patient(data: DataDir, f: AddFields) -> tuple[object, list[str]]:
    from ccmcli.loader import load

    settings = load(data, patient_ids=()).settings
    data.patient_path(f.patient_id)  # refuses an id that could name a path
    patient = build_patient(f, today_in(settings.timezone))
    warnings = [] if patient.program != "ccm" or len(patient.chronic_categories()) >= 2 else [
        f"warning: {patient.id} has fewer than 2 chronic conditions; CCM months will be blocked"
    ]  # fmt: skip
    if patient.program == "pcm" and not patient.principal_condition:
        warnings.append(f"warning: {patient.id} has no principal condition "
                        "(--principal-condition); PCM months will be blocked")  # fmt: skip
    warnings += check_codes(patient)
    return record_files.write_patient(data, patient), warnings


def check_codes(patient: Patient) -> list[str]:
    """Refuse a code missing from ICD-10-CM (exit 1, nothing written); warn about a category.

    Named by option, as typed: `--condition E11.99 is not in the ICD-10-CM code set`.
    """
    from ccmcli.store.condition_codes import load_checker

    checker, note = load_checker()
    if checker is None:
        return [f"warning: {note}"]
    found = checker.findings(patient)
    names = {"conditions": "--condition", "principal_condition": "--principal-condition",
             "bhi": "--bhi-condition"}  # fmt: skip
    errors = [f.message(names[f.path[0]]) for f in found if f.severity == "error"]
    if errors:
        raise CcmError("; ".join(errors) + " (nothing written)")
    return [f"warning: {f.message(names[f.path[0]])}" for f in found]


def _described(patient: Patient) -> Patient:
    """Conditions without a description get the code set's, for display (file untouched)."""
    if all(c.description for c in patient.conditions):
        return patient  # nothing to fill: the index is not even loaded
    from ccmcli.store.condition_codes import load_checker

    checker, _ = load_checker()
    return checker.with_descriptions(patient) if checker else patient


@dataclass
class PatientView:
    patient: Patient
    settings: Settings
    judgement: Judgement
    provisional: bool
    problems: list = field(default_factory=list)  # of the files read for it
    enrolled: bool = True  # part of the month (A17)

    def as_dict(self) -> PatientShowOutput:
        """The month as `check` words it, the record beside it (contract 2: one vocabulary)."""
        from ccmcli.reports.practice_month import judgement_dict

        record = self.patient.model_dump(mode="json")
        return {
            "schema": "ccm.patient_show/1",
            "month": str(self.judgement.month),
            "provisional": self.provisional,
            "rules": str(self.judgement.rules.year),
            **judgement_dict(self.judgement),
            "record": {k: v for k, v in record.items() if k != "id"},
            "problems": [p.as_dict() for p in self.problems],
        }


LIST_COLUMNS = ["patient_id", "name", "program", "conditions", "consent", "care_plan"]


@dataclass
class PatientList:
    """`ccm patient list`: every valid patient, with the files' problems."""

    practice: str
    patients: list[Patient]
    problems: list = field(default_factory=list)

    def rows(self) -> list[list]:
        """LIST_COLUMNS: the chronic condition codes, the consent and care plan dates."""
        return [
            [p.id, p.name, p.program, " ".join(p.chronic_codes()),
             p.consent.date.isoformat() if p.consent else None,
             p.care_plan.established.isoformat() if p.care_plan else None]
            for p in self.patients
        ]  # fmt: skip

    def as_dict(self) -> PatientListOutput:
        """Conditions, consent and care plan as `patient show` gives them in `record`."""
        fields = {"name", "program", "conditions", "consent", "care_plan"}
        return {
            "schema": "ccm.patient_list/1",
            "patients": [{"patient_id": p.id, **p.model_dump(mode="json", include=fields)}
                         for p in self.patients],
            "problems": [p.as_dict() for p in self.problems],
        }  # fmt: skip


def patient_list(data: DataDir) -> PatientList:
    from ccmcli.loader import load

    found = load(data)
    return PatientList(found.settings.practice, list(found.patients.values()), found.problems)


def show_patient(data: DataDir, patient_id: str, month_text: str | None) -> PatientView:
    from ccmcli.loader import load

    practice = load(data, patient_ids=[patient_id])
    patient = practice.patient(patient_id)
    month = practice.month(month_text)
    j = month_status(practice, patient, month)
    settings = practice.settings
    provisional = is_provisional(month, settings.timezone)
    shown = practice.as_filed.get(patient.id, patient)  # as written, not as the gates read it
    return PatientView(_described(shown), settings, j, provisional, practice.month_problems(month),
                       enrolled(practice, patient, month))  # fmt: skip
