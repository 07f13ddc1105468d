"""The records people write: practice settings and patients (contract section 1).

Models are frozen, forbid unknown keys, and never echo input in their errors, because that input
is protected health information that would otherwise reach cron mail. YAML is read with every
scalar kept a string (yamlio.py); these models give each field its type.
"""

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ccmcli import identifiers
from ccmcli.months import Month, iso_date

_CONFIG = ConfigDict(
    extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=True
)


def _date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date of the form YYYY-MM-DD")
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


def _pos(value: str) -> str:
    if not (len(value) == 2 and value.isdigit()):
        raise ValueError("must be a two-digit place of service code (like 11)")
    return value


IsoDate = Annotated[date, BeforeValidator(_date)]
Npi = Annotated[str, AfterValidator(_npi)]
Mbi = Annotated[str, AfterValidator(_mbi)]
PatientId = Annotated[str, AfterValidator(_patient_id)]
Icd10Code = Annotated[str, AfterValidator(_icd10)]
MonthText = Annotated[str, AfterValidator(_month)]
Text = Annotated[str, Field(min_length=1)]


class Settings(BaseModel):
    """ccm.yaml: who bills, where, and the practice's choices among the rules' options."""

    model_config = _CONFIG

    practice: Text
    timezone: Annotated[str, AfterValidator(_timezone)]
    billing_npi: Npi
    place_of_service: Annotated[str, AfterValidator(_pos)] = "11"
    date_of_service: Literal["threshold_met", "month_end"] = "threshold_met"
    selection: Literal["max_payment", "performer"] = "max_payment"
    count_practitioner_minutes_as_staff: bool = True
    fees: dict[Annotated[str, Field(pattern=r"^\d{5}$")], Annotated[float, Field(ge=0)]] = {}


def _condition_shorthand(value: object) -> object:
    """`- E11.9` is read as `- code: E11.9`: a list of codes is what people type first."""
    return {"code": value} if isinstance(value, str) else value


class Condition(BaseModel):
    model_config = _CONFIG

    code: Icd10Code
    description: str | None = None
    chronic: bool = True


class Consent(BaseModel):
    model_config = _CONFIG

    date: IsoDate
    method: Literal["verbal", "written"]
    obtained_by: str | None = None
    revoked: IsoDate | None = None


class InitiatingVisit(BaseModel):
    model_config = _CONFIG

    date: IsoDate
    type: Literal["em", "awv", "ippe", "tcm"]


class CarePlan(BaseModel):
    model_config = _CONFIG

    established: IsoDate
    revised: list[IsoDate] = []


class ComplexMonth(BaseModel):
    model_config = _CONFIG

    month: MonthText
    mdm: Literal["moderate", "high"]
    care_plan_revised: IsoDate | None = None  # extension: the revision that month, if recorded


class Patient(BaseModel):
    """patients/<ID>.yaml. Gates (rules A2) read these facts; they are not judged here."""

    model_config = _CONFIG

    id: PatientId
    name: Text
    birth_date: IsoDate
    mbi: Mbi | None = None
    billing_npi: Npi | None = None
    program: Literal["ccm", "pcm"] = "ccm"
    principal_condition: Icd10Code | None = None
    conditions: list[Annotated[Condition, BeforeValidator(_condition_shorthand)]] = []
    consent: Consent | None = None
    initiating_visit: InitiatingVisit | None = None
    care_plan: CarePlan | None = None
    complex_months: list[ComplexMonth] = []
    discharged: IsoDate | None = None  # extension: left the program; later months are blocked

    @model_validator(mode="after")
    def _principal_among_conditions(self) -> "Patient":
        if self.principal_condition is not None and self.principal_condition not in {
            c.code for c in self.conditions
        }:
            raise ValueError("principal_condition must be one of the codes listed in conditions")
        return self

    def chronic_codes(self) -> list[str]:
        """Qualifying condition codes, in the order written (rule E-01)."""
        return [c.code for c in self.conditions if c.chronic]

    def complex_month(self, month: Month) -> ComplexMonth | None:
        text = str(month)
        return next((c for c in self.complex_months if c.month == text), None)
