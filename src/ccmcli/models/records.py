"""The records people write: practice settings and patients (contract section 1), one set of
classes for every command, whether a record was just validated or read back from the cache.

A record is frozen data with a few methods the rules ask; these classes import nothing beyond the
standard library, so a command that takes its records from the cache (`ccm log` above all)
never imports pydantic. Files are validated at the edge, by the pydantic models of
record_schema.py, which build these records: the fields here are the schema's, in its order,
with its defaults (tests/test_records.py holds the two against each other).

`model_copy(update=...)` and `model_dump(...)` are named and behave as pydantic's, for the few
calls the code makes of them (a changed copy for the rules, the fields for YAML and JSON).
"""

from __future__ import annotations

import inspect
from datetime import date
from typing import ClassVar, Literal

from ccmcli.models.months import Month

Program = Literal["ccm", "pcm", "apcm"]
_MISSING = object()


class Record:
    """A record's fields as attributes, frozen; the class body lists them with their defaults.

    Fields live in the instance's `__dict__`, so pickle stores and rebuilds a record without a
    call per field (the record cache holds thousands) and a copy is one dict update.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, object]] = {}

    def __init_subclass__(cls) -> None:
        own = inspect.get_annotations(cls)  # names only: the annotations stay text
        cls._fields = tuple(name for name in own if not name.startswith("_"))
        cls._defaults = {n: cls.__dict__[n] for n in cls._fields if n in cls.__dict__}
        for name in cls._defaults:  # the instance holds every field; the class, no value
            delattr(cls, name)

    def __init__(self, **values: object) -> None:
        unknown = set(values) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        fields = {}
        for name in self._fields:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                value = self._defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{type(self).__name__} needs {name!r}")
                if type(value) in (list, dict):
                    value = type(value)(value)  # no two records share one list
            fields[name] = value
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def model_copy(self, *, update: dict | None = None) -> Record:
        """A shallow copy with some fields replaced (not validated: the caller's values)."""
        if update and not set(update) <= set(self._fields):
            raise TypeError(f"{type(self).__name__} has no field {sorted(set(update))[0]!r}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        if update:
            copy.__dict__.update(update)
        return copy

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        include: set[str] | None = None,
        exclude: set[str] | None = None,
        exclude_none: bool = False,
        exclude_defaults: bool = False,
    ) -> dict:
        """The fields as plain values (dates as text with mode="json"), sub-records as dicts."""
        out = {}
        for name, value in self.__dict__.items():
            if (include is not None and name not in include) or (exclude and name in exclude):
                continue
            if exclude_none and value is None:
                continue
            if exclude_defaults and name in self._defaults and value == self._defaults[name]:
                continue
            out[name] = _dump(value, mode, exclude_none, exclude_defaults)
        return out


def _dump(value: object, mode: str, exclude_none: bool, exclude_defaults: bool) -> object:
    if isinstance(value, Record):
        return value.model_dump(
            mode=mode,  # type: ignore[arg-type]
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
        )
    if isinstance(value, list):
        return [_dump(v, mode, exclude_none, exclude_defaults) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, mode, exclude_none, exclude_defaults) for k, v in value.items()}
    if mode == "json" and isinstance(value, date):
        return value.isoformat()
    return value


class Settings(Record):
    """ccm.yaml: who bills, where, and the practice's choices among the rules' options."""

    practice: str
    timezone: str
    billing_npi: str
    place_of_service: str = "11"
    date_of_service: Literal["threshold_met", "month_end"] = "threshold_met"
    selection: Literal["max_payment", "performer"] = "max_payment"
    count_practitioner_minutes_as_staff: bool = True
    fees: dict[str, float] = {}  # noqa: RUF012  (each record gets its own: Record.__init__)
    # Other monthly services (ccm-rules A12-A14), each with the default the rules name.
    apcm_bhi_code: Literal["g0570", "99484"] = "g0570"  # A12: what BHI bills in an APCM month
    g0570_min_minutes: int = 20  # A12: ccm's policy, not a CMS rule (F-01)
    rpm_interactive_activities: list[str] = ["call", "video"]  # noqa: RUF012  (F-24)
    rpm_addon_cap: int = 3  # A13: 99458 units a month (MUE 3, F-27)
    rpm_rtm_conflict: Literal["block_both", "prefer_rpm", "prefer_rtm"] = "block_both"  # F-31
    bill_rtm: bool = False  # A14: RTM minutes are reported only until a practice turns this on
    rtm_addon_cap: int = 1  # A14: 98981 units a month (MUE not found, F-39)
    rtm_interactive_activities: list[str] = ["call", "video"]  # noqa: RUF012  (F-37)
    # a patient's minutes in one day above which ccm warns (long_day): ccm's policy, no CMS rule
    warn_minutes_per_day: int = 120
    # contract 1: `group` makes what ccm creates in the data directory its group's (store/fileio)
    shared: Literal["group"] | None = None


class Condition(Record):
    code: str
    description: str | None = None
    chronic: bool = True


class Consent(Record):
    date: date
    method: Literal["verbal", "written"]
    obtained_by: str | None = None
    revoked: date | None = None


class InitiatingVisit(Record):
    date: date
    type: Literal["em", "awv", "ippe", "tcm"]


class CarePlan(Record):
    established: date
    revised: list[date] = []  # noqa: RUF012


class ComplexMonth(Record):
    month: str
    mdm: Literal["moderate", "high"]
    care_plan_revised: date | None = None  # extension: the revision that month, if recorded


class BhiEnrollment(Record):
    """`bhi:` (A11): general behavioral health integration has its own consent and care plan
    (F-16, F-19) and the conditions the billing practitioner treats (F-14: no code list)."""

    conditions: list[str] = []  # noqa: RUF012
    consent: Consent | None = None
    care_plan: CarePlan | None = None


class MonitoringEnrollment(Record):
    """`rpm:` / `rtm:` (A13, A14): enrolment in remote monitoring, with its consent (F-32)."""

    consent: Consent | None = None


class ProgramChange(Record):
    """From `month` on, the patient is in `program` (A8); months before keep the earlier one."""

    month: str
    program: Program


class Patient(Record):
    """patients/<ID>.yaml. Gates (rules A2) read these facts; they are not judged here."""

    id: str
    name: str
    birth_date: date
    mbi: str | None = None
    billing_npi: str | None = None
    program: Program = "ccm"
    program_changes: list[ProgramChange] = []  # noqa: RUF012
    qmb: bool = False  # Qualified Medicare Beneficiary: APCM level 3 (A8)
    principal_condition: str | None = None
    conditions: list[Condition] = []  # noqa: RUF012
    consent: Consent | None = None
    initiating_visit: InitiatingVisit | None = None
    care_plan: CarePlan | None = None
    complex_months: list[ComplexMonth] = []  # noqa: RUF012
    discharged: date | None = None  # extension: left the program; later months are blocked
    bhi: BhiEnrollment | None = None  # A11, A12
    cocm_months: list[str] = []  # noqa: RUF012  (months CoCM is billed elsewhere, F-18)
    rpm: MonitoringEnrollment | None = None  # A13
    rtm: MonitoringEnrollment | None = None  # A14

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
        """The patient's complex-CCM record of the month, if any."""
        if not self.complex_months:  # most patients: no month to look through
            return None
        text = str(month)
        return next((c for c in self.complex_months if c.month == text), None)


RECORDS: dict[str, type[Record]] = {c.__name__: c for c in Record.__subclasses__()}
