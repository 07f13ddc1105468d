"""The rules in force, as data: one table per service year (ccm-rules.md Part A).

Every value names the rule it implements and where it comes from. The engine (engine.py) knows
no code, threshold or amount of its own; a new year is a new entry in YEARS.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

CENT = Decimal("0.01")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Track:
    """One family of codes a month may bill: a base code and its add-on (rule A1)."""

    program: str  # ccm | pcm | apcm
    name: str  # staff | practitioner | complex; apcm: level1 | level2 | level3
    base_code: str
    base_minutes: int
    addon_code: str
    addon_minutes: int
    addon_cap: int
    counts: str  # whose minutes: "pool" (staff + practitioner if allowed), "staff",
    #              "practitioner"; "any" for apcm, whose activities count whoever did them
    performer: str  # clinical_staff | practitioner: whose work the track bills (ties, A4)
    needs_complex_month: bool
    rule: str
    summary: str

    def thresholds(self) -> list[int]:
        """Minutes at which each unit is earned: base first, then each add-on unit (T-01)."""
        return [self.base_minutes + i * self.addon_minutes for i in range(self.addon_cap + 1)]


@dataclass(frozen=True, slots=True)
class Amount:
    """The national non-facility amount of one code: RVU x conversion factor, rounded half up
    to cents (A6). In Decimal: a float product can sit a hair below the half cent it should
    round up from, and a sum of float amounts can miss a cent."""

    code: str
    rvu: Decimal
    conversion_factor: Decimal
    file: str  # the CMS release it comes from (RvuFile.name)

    @property
    def exact(self) -> Decimal:
        """The amount in dollars, exactly two decimal places."""
        return (self.rvu * self.conversion_factor).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def dollars(self) -> float:
        return float(self.exact)


@dataclass(frozen=True, slots=True)
class RvuFile:
    """One of CMS's PFS relative value files (PPRRVU): a year's conversion factor and each
    code's non-facility total RVU, as published. Amounts are computed from it, never typed,
    so a figure can be checked against the file line by line (A6, A8)."""

    name: str  # e.g. RVU26A: the release the figures were read from
    released: str | None  # the release date CMS gives it, when recorded
    conversion_factor: Decimal
    rvus: dict[str, Decimal]  # non-facility total RVU per code

    def amount(self, code: str) -> Amount:
        return Amount(code, self.rvus[code], self.conversion_factor, self.name)


@dataclass(frozen=True, slots=True)
class Gate:
    """A requirement of the patient record; when it fails the month is blocked (rule A2)."""

    id: str
    programs: tuple[str, ...]
    rule: str
    summary: str


@dataclass(frozen=True, slots=True)
class Level:
    """An APCM level (A8): no minutes; chosen by qualifying conditions and QMB status."""

    level: int
    code: str
    min_conditions: int  # qualifying chronic conditions at least (A2's count)
    needs_qmb: bool
    rule: str
    summary: str


_UNKNOWN = object()  # not yet in RuleYear._answers (None may be an answer)


@dataclass(frozen=True, slots=True)
class RuleYear:
    year: int
    fee_schedule: RvuFile
    tracks: tuple[Track, ...]
    gates: tuple[Gate, ...]
    source: str
    amounts: dict[str, Amount] = field(init=False, repr=False, compare=False)
    levels: tuple["Level", ...] = ()
    _answers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schedule = self.fee_schedule
        object.__setattr__(self, "amounts", {c: schedule.amount(c) for c in schedule.rvus})

    @property
    def conversion_factor(self) -> Decimal:
        return self.fee_schedule.conversion_factor

    def remember(self, key: tuple, work: Callable[[], T]) -> T:
        """`work()`, computed once per key: what follows from this table alone never changes,
        and judging a month asks the same few hundred questions of it for every patient."""
        found = self._answers.get(key, _UNKNOWN)  # one look-up: a key may hash slowly
        if found is _UNKNOWN:
            found = self._answers[key] = work()
        return found

    def tracks_for(self, program: str) -> tuple[Track, ...]:
        return self.remember(
            ("tracks", program), lambda: tuple(t for t in self.tracks if t.program == program)
        )

    def gates_for(self, program: str) -> tuple[Gate, ...]:
        return self.remember(
            ("gates", program), lambda: tuple(g for g in self.gates if program in g.programs)
        )

    def level_for(self, conditions: int, qmb: bool) -> Level:
        """A8: the highest level whose conditions (and QMB status, when it asks) are met."""
        met = [
            lv
            for lv in self.levels
            if conditions >= lv.min_conditions and (qmb or not lv.needs_qmb)
        ]
        return max(met, key=lambda lv: lv.level)

    def level_track(self, level: Level) -> Track:
        """The level as a one-code track, so claim lines and the export ledger treat it alike."""
        return self.remember(("level_track", level.code), lambda: Track(
            "apcm", f"level{level.level}", level.code, 0, "", 0, 0, "any", "clinical_staff",
            False, level.rule, level.summary))  # fmt: skip

    def amount(self, codes: list[tuple[str, int]]) -> float:
        """National non-facility amount of codes with units (A6): each code's amount in cents
        times its units, summed exactly."""
        key = ("amount", *codes)
        return self.remember(key, lambda: float(sum(self.amounts[c].exact * n for c, n in codes)))


TRACKS = (
    Track("ccm", "staff", "99490", 20, "99439", 20, 2, "pool", "clinical_staff", False,
          "A1, T-01, T-03, ccm-rules 2", "clinical staff CCM, first 20 min; +20 min add-ons"),
    Track("ccm", "practitioner", "99491", 30, "99437", 30, 2, "practitioner", "practitioner",
          False, "A1, T-01, ccm-rules 2", "CCM by the billing practitioner, 30 min; +30 min"),
    Track("ccm", "complex", "99487", 60, "99489", 30, 10, "pool", "clinical_staff", True,
          "A1, E-03, ccm-rules 2", "complex CCM (moderate/high MDM), 60 min; +30 min"),
    Track("pcm", "practitioner", "99424", 30, "99425", 30, 2, "practitioner", "practitioner",
          False, "A1, E-02, ccm-rules 2", "PCM by the billing practitioner, 30 min; +30 min"),
    Track("pcm", "staff", "99426", 30, "99427", 30, 2, "staff", "clinical_staff", False,
          "A1, E-02, ccm-rules 2 (99427 cap unconfirmed)", "clinical staff PCM, 30 min; +30 min"),
)  # fmt: skip

GATES = (
    Gate("not_enough_conditions", ("ccm",), "A2, E-01", "fewer than 2 chronic conditions (by ICD-10-CM category)"),
    Gate("no_principal_condition", ("pcm",), "A2, E-02",
         "principal_condition missing or not a chronic condition"),
    Gate("no_consent", ("ccm", "pcm", "apcm"), "A2, C-01, C-04", "no consent, or consent after the month"),
    Gate("consent_revoked", ("ccm", "pcm", "apcm"), "A2, C-05", "consent revoked in an earlier month"),
    Gate("no_initiating_visit", ("ccm", "pcm", "apcm"), "A2, A8, IV-01, IV-02, IV-03",
         "no initiating visit, one too long before consent (365 days; apcm 1,095), or one after the month"),
    Gate("no_care_plan", ("ccm", "pcm", "apcm"), "A2, CP-01", "no care plan established by month end"),
    Gate("discharged", ("ccm", "pcm", "apcm"), "contract 3: discharged",
         "discharged from the program in an earlier month"),
    Gate("no_service_this_month", ("apcm",), "A8, SE-06",
         "no documented APCM activity (an entry of the program) counts in the month"),
)  # fmt: skip

LEVELS = (
    Level(1, "G0556", 0, False, "A8", "APCM level 1: fewer than 2 chronic conditions"),
    Level(2, "G0557", 2, False, "A8", "APCM level 2: 2 or more chronic conditions"),
    Level(3, "G0558", 2, True, "A8", "APCM level 3: 2 or more chronic conditions, QMB"),
)
# Days an initiating visit may precede consent: IV-01 (365); IV-03 for apcm (1,095, A8).
VISIT_WINDOWS = {"ccm": 365, "pcm": 365, "apcm": 1095}

# CMS PFS relative value files (PPRRVU, January releases), ccm-rules.md A6 and A8. A new year or
# a mid-year release (RVU26B, ...) is a new RvuFile: its name, the conversion factor and each
# code's non-facility total RVU as printed in the file. tests/test_amounts.py proves every
# amount against ccm-rules.md. APCM's G-codes (A8) are here for the program that bills them.
RVU25A = RvuFile("RVU25A", None, Decimal("32.3465"), {
    "99490": Decimal("1.87"), "99439": Decimal("1.42"),
    "99491": Decimal("2.54"), "99437": Decimal("1.78"),
    "99487": Decimal("4.07"), "99489": Decimal("2.18"),
    "99424": Decimal("2.50"), "99425": Decimal("1.82"),
    "99426": Decimal("1.91"), "99427": Decimal("1.56"),
    "G0556": Decimal("0.47"), "G0557": Decimal("1.51"), "G0558": Decimal("3.31"),
})  # fmt: skip
RVU26A = RvuFile("RVU26A", "2025-12-29", Decimal("33.4009"), {
    "99490": Decimal("1.98"), "99439": Decimal("1.51"),
    "99491": Decimal("2.67"), "99437": Decimal("1.89"),
    "99487": Decimal("4.32"), "99489": Decimal("2.34"),
    "99424": Decimal("2.62"), "99425": Decimal("1.84"),
    "99426": Decimal("2.03"), "99427": Decimal("1.62"),
    "G0556": Decimal("0.49"), "G0557": Decimal("1.61"), "G0558": Decimal("3.51"),
})  # fmt: skip

YEARS: dict[int, RuleYear] = {
    2025: RuleYear(2025, RVU25A, TRACKS, GATES,
                   "CY2025 PFS final rule (89 FR 97710); amounts: CMS RVU25A; ccm-rules.md A6",
                   LEVELS),
    2026: RuleYear(2026, RVU26A, TRACKS, GATES,
                   "CY2026 PFS final rule (90 FR 49266); amounts: CMS RVU26A; ccm-rules.md A6",
                   LEVELS),
}  # fmt: skip


def known_codes() -> list[str]:
    """Every code some year's table bills, in the order the tables list them."""
    return list(dict.fromkeys(c for r in YEARS.values() for c in r.amounts))


def rules_for(year: int) -> tuple[RuleYear, str | None]:
    """The table for a service year, and a note when another year's table stands in for it.

    Years after the newest known use the newest (A6); years before the first use the first.
    """
    if year in YEARS:
        return YEARS[year], None
    known = sorted(YEARS)
    used = known[-1] if year > known[-1] else known[0]
    return YEARS[used], f"no rules table for {year}: using the {used} table"
