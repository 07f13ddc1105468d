"""The schema of the records people write: pydantic models that validate ccm.yaml, a patient
file, a roster row or options typed to `init` and `patient add`, and build the records of
records.py. Only the edge where input is validated imports this module (and pydantic).

Models are frozen, forbid unknown keys, and never echo input in their errors, because that input
is protected health information that would otherwise reach cron mail. YAML is read with every
scalar kept a string (yamlio.py); the fields' types and their checks are field_types.py. Each
model has the name, fields and defaults of its record (tests/test_records.py checks it).
"""

from datetime import date
from functools import cache
from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ccmcli.models import records
from ccmcli.models.field_types import (
    Activity,
    DayMinutes,
    Fee,
    FeeCode,
    Icd10Code,
    IsoDate,
    Mbi,
    MinuteCount,
    MonthText,
    Npi,
    PatientId,
    PlaceOfService,
    Text,
    TimeZone,
    UnitCap,
)

R = TypeVar("R", bound=records.Record)

# defer_build: each validator is built on first use, so a command validates only what it reads.
_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    hide_input_in_errors=True,
    str_strip_whitespace=True,
    defer_build=True,
)


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
    timezone: TimeZone
    billing_npi: Npi
    place_of_service: PlaceOfService = "11"
    date_of_service: Literal["threshold_met", "month_end"] = "threshold_met"
    selection: Literal["max_payment", "performer"] = "max_payment"
    count_practitioner_minutes_as_staff: bool = True
    fees: dict[FeeCode, Fee] = {}
    apcm_bhi_code: Literal["g0570", "99484"] = "g0570"
    g0570_min_minutes: MinuteCount = 20
    rpm_interactive_activities: list[Activity] = Field(default_factory=lambda: ["call", "video"])
    rpm_addon_cap: UnitCap = 3
    rpm_rtm_conflict: Literal["block_both", "prefer_rpm", "prefer_rtm"] = "block_both"
    bill_rtm: bool = False
    rtm_addon_cap: UnitCap = 1
    rtm_interactive_activities: list[Activity] = Field(default_factory=lambda: ["call", "video"])
    warn_minutes_per_day: DayMinutes = 120
    shared: Literal["group"] | None = None  # contract 1: what ccm creates is the group's


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


class BhiEnrollment(_Record):
    conditions: list[Icd10Code] = Field(default_factory=list)
    consent: Consent | None = None
    care_plan: CarePlan | None = None


class MonitoringEnrollment(_Record):
    consent: Consent | None = None


class ProgramChange(_Record):
    """From `month` on, the patient is in `program` (A8); months before keep the earlier one."""

    month: MonthText
    program: Program


class Patient(_Record):
    """patients/<ID>.yaml."""

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
    bhi: BhiEnrollment | None = None
    cocm_months: list[MonthText] = Field(default_factory=list)
    rpm: MonitoringEnrollment | None = None
    rtm: MonitoringEnrollment | None = None

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


SCHEMAS: dict[str, type[_Record]] = {m.__name__: m for m in _Record.__subclasses__()}


def validate(record: type[R], data: object) -> R:
    """`data` (a mapping of fields, as read) validated as `record`'s schema, built as a record.
    Raises pydantic's ValidationError, which error_words.py puts in words."""
    return to_record(SCHEMAS[record.__name__].model_validate(data))


def to_record(model: BaseModel):
    """The record of a validated model: its fields as they are, sub-models as records."""
    record = object.__new__(records.RECORDS[type(model).__name__])
    fields = model.__dict__.copy()
    for name, value in fields.items():
        if isinstance(value, BaseModel):
            fields[name] = to_record(value)
        elif type(value) is list and value and isinstance(value[0], BaseModel):
            fields[name] = [to_record(v) for v in value]
    record.__dict__.update(fields)
    return record
