"""The records people write: practice settings and patients (contract section 1).

Models are frozen, forbid unknown keys, and never echo input in their errors, because that input
is protected health information that would otherwise reach cron mail. YAML is read with every
scalar kept a string (yamlio.py); these models give each field its type.
"""

import re
from datetime import date
from functools import cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ccmcli.codes import identifiers
from ccmcli.models.months import Month, iso_date

# defer_build: the validators are built on first use, so commands that get their records from
# the cache (cache.py) never pay for building them.
_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    hide_input_in_errors=True,
    str_strip_whitespace=True,
    defer_build=True,
)


def _date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date of the form YYYY-MM-DD")
    try:
        return iso_date(value.strip())
    except ValueError:
        raise ValueError("is not a real date of the form YYYY-MM-DD") from None


def _npi(value: str) -> str:
    if not identifiers.npi_is_valid(value):
        raise ValueError("is not a valid NPI (10 digits with a correct check digit)")
    return value


def _mbi(value: str) -> str:
    if not identifiers.mbi_is_valid(value):
        raise ValueError("is not a valid MBI (11 characters in the CMS format)")
    return value.upper()


def _patient_id(value: str) -> str:
    if not identifiers.is_patient_id(value):
        raise ValueError("must be 1-32 letters, digits, '-' or '_'")
    return value


def _icd10(value: str) -> str:
    code = value.upper()
    if not identifiers.icd10_format_ok(code):
        raise ValueError("is not an ICD-10-CM code (like E11.9)")
    return code


def _month(value: str) -> str:
    if not identifiers.is_month(value):
        raise ValueError("must be a month of the form YYYY-MM")
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone name (like America/Chicago)") from None
    return value


def _text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _fee_code(value: str) -> str:
    """A CPT code (5 digits) or a HCPCS Level II code (a letter and 4 digits, like G0557)."""
    from ccmcli.rules.table import known_codes

    value = value.upper()
    if not (len(value) == 5 and value.isascii() and value[1:].isdigit() and value[0].isalnum()):
        raise ValueError("must be a 5-character code (like 99490 or G0557)")
    if value not in known_codes():
        raise ValueError("is not a code ccm bills (see `ccm rules`)")
    return value


MAX_FEE = 100_000  # dollars per unit: far above any charge for these codes, far below overflow
_FEE = re.compile(r"\d{1,6}(\.\d{1,2})?")


def _fee(value: object) -> float:
    """A charge in dollars: above 0, at most MAX_FEE, at most 2 decimals (`75`, `75.5`, `75.00`).

    `1e400`, `nan` or `-1` would otherwise reach the export, where no claim line can carry
    them; the text is checked before it becomes a number."""
    text = value.strip() if isinstance(value, str) else str(value)
    if not _FEE.fullmatch(text) or not 0 < float(text) <= MAX_FEE:
        raise ValueError(f"must be an amount in dollars above 0 and at most {MAX_FEE}, "
                         "with at most 2 decimals (like 75.00)")  # fmt: skip
    return float(text)


def _pos(value: str) -> str:
    if not (len(value) == 2 and value.isascii() and value.isdigit()):
        raise ValueError("must be a two-digit place of service code (like 11)")
    return value


IsoDate = Annotated[date, BeforeValidator(_date)]
Npi = Annotated[str, AfterValidator(_npi)]
Mbi = Annotated[str, AfterValidator(_mbi)]
PatientId = Annotated[str, AfterValidator(_patient_id)]
Icd10Code = Annotated[str, AfterValidator(_icd10)]
MonthText = Annotated[str, AfterValidator(_month)]
Text = Annotated[str, AfterValidator(_text)]


class _Record(BaseModel):
    """The shared configuration, and YAML's empty value read as "not recorded"."""

    model_config = _CONFIG

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: object) -> object:
        """`mbi:` with nothing after it is YAML's null, which the string-only loader reads as "".
        An optional field left empty is not recorded; a required one still gets its message.
        Runs for every record and sub-record, so a mapping without an empty value (nearly all)
        is passed on as it is."""
        if not isinstance(data, dict) or "" not in data.values():
            return data
        optional = _optional_fields(cls)
        return {k: v for k, v in data.items() if not (v == "" and k in optional)}


@cache
def _optional_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(k for k, f in model.model_fields.items() if not f.is_required())


class Settings(_Record):
    """ccm.yaml: who bills, where, and the practice's choices among the rules' options."""

    practice: Text
    timezone: Annotated[str, AfterValidator(_timezone)]
    billing_npi: Npi
    place_of_service: Annotated[str, AfterValidator(_pos)] = "11"
    date_of_service: Literal["threshold_met", "month_end"] = "threshold_met"
    selection: Literal["max_payment", "performer"] = "max_payment"
    count_practitioner_minutes_as_staff: bool = True
    fees: dict[
        Annotated[str, AfterValidator(_fee_code)], Annotated[float, BeforeValidator(_fee)]
    ] = {}


def _condition_shorthand(value: object) -> object:
    """`- E11.9` is read as `- code: E11.9`: a list of codes is what people type first."""
    return {"code": value} if isinstance(value, str) else value


class Condition(_Record):
    code: Icd10Code
    description: str | None = None
    chronic: bool = True


class Consent(_Record):
    date: IsoDate
    method: Literal["verbal", "written"]
    obtained_by: str | None = None
    revoked: IsoDate | None = None

    @field_validator("revoked")
    @classmethod
    def _not_before_given(cls, revoked: date | None, info: ValidationInfo) -> date | None:
        """A consent revoked before it was given is a typing slip; read as written it would
        block every month after the revocation, the consent's own included (C-05)."""
        given = info.data.get("date")
        if revoked is not None and given is not None and revoked < given:
            raise ValueError(
                "is before consent.date: a consent cannot be revoked before it is given"
            )
        return revoked


class InitiatingVisit(_Record):
    date: IsoDate
    type: Literal["em", "awv", "ippe", "tcm"]


class CarePlan(_Record):
    established: IsoDate
    revised: list[IsoDate] = Field(default_factory=list)


class ComplexMonth(_Record):
    month: MonthText
    mdm: Literal["moderate", "high"]
    care_plan_revised: IsoDate | None = None  # extension: the revision that month, if recorded


# List fields default to `Field(default_factory=list)`: a `[]` default is deep-copied for every
# record validated, a tenth of the time it takes to validate a large practice.


Program = Literal["ccm", "pcm", "apcm"]


class ProgramChange(_Record):
    """From `month` on, the patient is in `program` (A8); months before keep the earlier one."""

    month: MonthText
    program: Program


class Patient(_Record):
    """patients/<ID>.yaml. Gates (rules A2) read these facts; they are not judged here."""

    id: PatientId
    name: Text
    birth_date: IsoDate
    mbi: Mbi | None = None
    billing_npi: Npi | None = None
    program: Program = "ccm"
    program_changes: list[ProgramChange] = Field(default_factory=list)
    qmb: bool = False  # Qualified Medicare Beneficiary: APCM level 3 (A8)
    principal_condition: Icd10Code | None = None
    conditions: list[Annotated[Condition, BeforeValidator(_condition_shorthand)]] = Field(
        default_factory=list
    )
    consent: Consent | None = None
    initiating_visit: InitiatingVisit | None = None
    care_plan: CarePlan | None = None
    complex_months: list[ComplexMonth] = Field(default_factory=list)
    discharged: IsoDate | None = None  # extension: left the program; later months are blocked

    @model_validator(mode="after")
    def _principal_among_conditions(self) -> "Patient":
        if self.principal_condition is not None and self.principal_condition not in {
            c.code for c in self.conditions
        }:
            raise ValueError("principal_condition must be one of the codes listed in conditions")
        return self

    @model_validator(mode="after")
    def _changes_in_order(self) -> "Patient":
        months = [c.month for c in self.program_changes]
        if months != sorted(set(months)):
            raise ValueError("program_changes must be in month order, one change per month")
        return self

    def program_in(self, month: Month) -> str:
        """A8: the last change on or before the month, else `program`."""
        if not self.program_changes:
            return self.program
        text, found = str(month), self.program
        for change in self.program_changes:
            if change.month <= text:
                found = change.program
        return found

    def program_began(self, month: Month) -> str | None:
        """The month (YYYY-MM) the program in force began, when a change started it."""
        text = str(month)
        return next((c.month for c in reversed(self.program_changes) if c.month <= text), None)

    def chronic_codes(self) -> list[str]:
        """Qualifying condition codes, in the order written, each once (rule E-01)."""
        return list(dict.fromkeys(c.code for c in self.conditions if c.chronic))

    def chronic_categories(self) -> dict[str, list[str]]:
        """The qualifying codes by ICD-10-CM category, the 3 characters before the dot (A2):
        E11.9 and E11.65 are one condition, as is a code listed twice."""
        out: dict[str, list[str]] = {}
        for c in self.conditions:
            if c.chronic:
                out.setdefault(c.code[:3], []).append(c.code)
        return out

    def complex_month(self, month: Month) -> ComplexMonth | None:
        if not self.complex_months:  # most patients: no month to look through
            return None
        text = str(month)
        return next((c for c in self.complex_months if c.month == text), None)
