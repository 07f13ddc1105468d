"""Judging one patient's calendar month (ccm-rules.md Part A).

Pure functions over the patient record, the month's entries and the rules table: no files, no
terminal. A month that cannot be billed is a result (status and blockers), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from ccmcli.models.findings import Finding
from ccmcli.models.months import Month
from ccmcli.rules.gates import GATE_FUNCTIONS, qualifying_condition_count
from ccmcli.rules.table import Level, RuleYear, Track
from ccmcli.store.timelog import Entry

if TYPE_CHECKING:
    from ccmcli.models.records import Patient

Codes = list[tuple[str, int]]


class EntryVerdict(NamedTuple):
    """Whether an entry counts (A3), and why not. A tuple: a month makes one per entry, and a
    tuple is built several times faster than a frozen dataclass."""

    entry: Entry
    counted: bool
    reason: str | None  # why not: before_consent, before_initiating_visit


@dataclass(frozen=True, slots=True)
class TrackResult:
    track: Track
    minutes: int
    codes: Codes
    amount: float
    date_of_service: date | None
    over_cap: int
    performer_minutes: int

    def as_dict(self) -> dict:
        return {
            "codes": [{"code": c, "units": n} for c, n in self.codes],
            "amount": self.amount,
            "track": self.track.name,
            "date_of_service": _iso(self.date_of_service),
        }


@dataclass(frozen=True, slots=True)
class NextStep:
    codes: Codes
    minutes_needed: int
    role: str
    amount: float

    def as_dict(self) -> dict:
        return {
            "codes": [{"code": c, "units": n} for c, n in self.codes],
            "minutes_needed": self.minutes_needed,
            "role": self.role,
        }


@dataclass
class Judgement:
    patient: Patient
    month: Month
    rules: RuleYear
    status: str
    minutes: dict[str, int]
    chosen: TrackResult | None
    alternatives: list[TrackResult]
    blockers: list[Finding]
    warnings: list[Finding]
    next: NextStep | None
    verdicts: list[EntryVerdict] = field(default_factory=list)
    gate_results: list[tuple[str, str | None]] = field(default_factory=list)
    other: list[Entry] = field(default_factory=list)  # entries of other services (A7)
    # the codes without the minutes that warnings doubt (duplicates, overlaps), when they differ
    # from `codes`: the bill rests on those minutes (None: it does not)
    without_doubted: Codes | None = None
    services: list = field(default_factory=list)  # services.ServiceResult of each (A16)
    not_assessed: list[dict] = field(default_factory=list)  # minutes reported, not billed (A15)

    @property
    def total_amount(self) -> float:
        """A16: the program's amount plus the billed services', summed in cents."""
        if not self.services:
            return self.amount
        cents = round(self.amount * 100) + sum(round(s.amount * 100) for s in self.services)
        return cents / 100

    @property
    def patient_share(self) -> float:
        """A16, F-60..F-65: 20% of the allowed amount (the deductible is not known to ccm);
        nothing for a QMB, whom Medicare cost sharing may not be billed to (F-63)."""
        if self.patient.qmb:
            return 0.0
        cents = round(self.total_amount * 100)
        return (cents * 20 + 50) // 100 / 100  # 20%, to the cent, half up

    @property
    def codes(self) -> Codes:
        return self.chosen.codes if self.chosen else []

    @property
    def amount(self) -> float:
        return self.chosen.amount if self.chosen else 0.0

    @property
    def date_of_service(self) -> date | None:
        return self.chosen.date_of_service if self.chosen else None

    @property
    def counted(self) -> int:
        """Contract 3 `minutes.counted`: the month's minutes as one figure."""
        return self.minutes["counted"]

    @property
    def apart(self) -> int:
        """The month's minutes of the program that are not in `counted`, shown beside it:
        `not_counted`, and with no track chosen the countable minutes of a role the track
        `next` names does not count. `counted + apart` is every minute logged for the program."""
        m = self.minutes
        rest = 0 if self.chosen else m["clinical_staff"] + m["practitioner"] - m["counted"]
        return m["not_counted"] + rest


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def apply_gates(patient: Patient, month: Month, rules: RuleYear) -> list[tuple[str, str | None]]:
    """Every record gate of the patient's program with the fact that blocks it, or None (rule
    A2). Gates that read the month's entries (no_service_this_month) are applied by the judge."""
    checks = rules.remember(
        ("gate_functions", patient.program),
        lambda: tuple(
            (g.id, GATE_FUNCTIONS[g.id])
            for g in rules.gates_for(patient.program)
            if g.id in GATE_FUNCTIONS
        ),
    )
    return [(gid, check(patient, month)) for gid, check in checks]


def in_force(patient: Patient, month: Month) -> Patient:
    """The patient as enrolled that month: `program` is the program in force (A8), so every
    rule, view and claim line of the month reads the month's own program."""
    if not patient.program_changes:
        return patient
    program = patient.program_in(month)
    return (
        patient if program == patient.program else patient.model_copy(update={"program": program})
    )


def as_enrolled_in(patient: Patient, program: str) -> Patient:
    """The patient judged as if enrolled in `program` every month (A9: comparing programs)."""
    return patient.model_copy(update={"program": program, "program_changes": []})


def countable(patient: Patient, entries: list[Entry]) -> list[EntryVerdict]:
    """A3: an entry counts when dated on or after both consent and initiating visit (C-04, IV).

    With no consent or no visit recorded, nothing is on or after it, so nothing counts.
    """
    consent = patient.consent.date if patient.consent else None
    visit = patient.initiating_visit.date if patient.initiating_visit else None
    if consent is not None and visit is not None:  # most patients: every entry on or after both
        start = max(consent, visit)
        if not entries or min(map(_DAY, entries)) >= start:
            return [_new_tuple(EntryVerdict, (e, True, None)) for e in entries]
    verdicts = []
    for e in entries:
        if consent is None:
            verdicts.append(EntryVerdict(e, False, "no_consent"))
        elif visit is None:
            verdicts.append(EntryVerdict(e, False, "no_initiating_visit"))
        elif e.date < consent:
            verdicts.append(EntryVerdict(e, False, "before_consent"))
        elif e.date < visit:
            verdicts.append(EntryVerdict(e, False, "before_initiating_visit"))
        else:
            verdicts.append(EntryVerdict(e, True, None))
    return verdicts


_new_tuple = tuple.__new__  # builds an EntryVerdict at C speed (no Python-level __new__)
_DAY = attrgetter("date")


def counts_role(track: Track, role: str, pool_practitioner: bool) -> bool:
    """Whether a track counts this role's minutes (A1; T-03 lets practitioner minutes count as
    staff time on the pooled tracks). The one statement of whose minutes count."""
    if track.counts == "any":
        return True
    if track.counts == "pool":
        return role == "clinical_staff" or pool_practitioner
    return role == ("practitioner" if track.counts == "practitioner" else "clinical_staff")


def track_minutes(track: Track, staff: int, prac: int, pool_practitioner: bool) -> int:
    """Minutes a track may count, from the totals of each role (counts_role)."""
    return (staff if counts_role(track, "clinical_staff", pool_practitioner) else 0) + (
        prac if counts_role(track, "practitioner", pool_practitioner) else 0
    )


def units(track: Track, minutes: int) -> Codes:
    """A1/T-01: base at its threshold in full; add-ons per full step beyond it, up to the cap."""
    if minutes < track.base_minutes:
        return []
    addon = min(track.addon_cap, (minutes - track.base_minutes) // track.addon_minutes)
    return [(track.base_code, 1)] + ([(track.addon_code, addon)] if addon else [])


def allowed_tracks(patient: Patient, month: Month, rules: RuleYear) -> tuple[Track, ...]:
    """The program's tracks; complex only in a month listed in complex_months (E-03)."""
    complex_ok = patient.complex_month(month) is not None
    return rules.remember(
        ("allowed_tracks", patient.program, complex_ok),
        lambda: tuple(
            t for t in rules.tracks_for(patient.program) if complex_ok or not t.needs_complex_month
        ),
    )


def apcm_level(patient: Patient, rules: RuleYear) -> Level:
    """A8: the level set by A2's condition count and QMB status."""
    return rules.level_for(qualifying_condition_count(patient), patient.qmb)
