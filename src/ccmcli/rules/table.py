"""The rules in force, as data: one table per service year (ccm-rules.md Part A).

Every value names the rule it implements and where it comes from. The engine (engine.py) knows
no code, threshold or amount of its own; a new year is a new entry in YEARS.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

RULES_DOC = "ccm-rules.md"
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
    code: str
    dollars: float
    rvu: float | None
    estimated: bool  # the year's RVU was not confirmed (A6 '*')
    source: str


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


@dataclass(frozen=True, slots=True)
class RuleYear:
    year: int
    conversion_factor: float
    tracks: tuple[Track, ...]
    amounts: dict[str, Amount]
    gates: tuple[Gate, ...]
    source: str
    levels: tuple["Level", ...] = ()
    _answers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def remember(self, key: tuple, work: Callable[[], T]) -> T:
        """`work()`, computed once per key: what follows from this table alone never changes,
        and judging a month asks the same few hundred questions of it for every patient."""
        if key not in self._answers:
            self._answers[key] = work()
        return self._answers[key]

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
        """National non-facility amount of codes with units (A6), rounded to cents."""
        return round(sum(self.amounts[c].dollars * n for c, n in codes), 2)


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
    Gate("not_enough_conditions", ("ccm",), "A2, E-01", "fewer than 2 chronic conditions"),
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

_SRC = "ccm-rules.md A6 / section 7"


def _amounts(cf: float, table: dict[str, tuple[float, float | None, bool]]) -> dict[str, Amount]:
    return {c: Amount(c, d, rvu, est, f"{_SRC}; CF {cf}") for c, (d, rvu, est) in table.items()}


YEARS: dict[int, RuleYear] = {
    2025: RuleYear(2025, 32.3465, TRACKS, _amounts(32.3465, {
        "99490": (60.49, 1.87, False), "99439": (45.93, 1.42, False),
        "99491": (82.16, 2.54, False), "99437": (57.58, 1.78, False),
        "99487": (131.65, 4.07, False), "99489": (70.52, 2.18, False),
        "99424": (80.87, 2.50, False), "99425": (58.87, 1.82, False),
        "99426": (61.46, None, True), "99427": (50.46, 1.56, False),
        "G0556": (15.20, 0.47, False), "G0557": (48.84, 1.51, False),
        "G0558": (107.07, 3.31, False),
    }), GATES, "CY2025 PFS final rule (89 FR 97710); ccm-rules.md A6", LEVELS),
    2026: RuleYear(2026, 33.4009, TRACKS, _amounts(33.4009, {
        "99490": (66.13, 1.98, False), "99439": (50.44, 1.51, False),
        "99491": (84.84, None, True), "99437": (63.13, 1.89, False),
        "99487": (144.29, 4.32, False), "99489": (78.16, 2.34, False),
        "99424": (87.84, 2.63, False), "99425": (61.46, 1.84, False),
        "99426": (63.46, None, True), "99427": (52.11, None, True),
        "G0556": (16.37, 0.49, False), "G0557": (53.78, 1.61, False),
        "G0558": (117.24, 3.51, False),
    }), GATES, "CY2026 PFS final rule (90 FR 49266); ccm-rules.md A6", LEVELS),
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
