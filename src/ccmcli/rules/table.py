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
    codes: tuple[str, ...] = ()  # the only codes it blocks, when not every code of its programs


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
class ServiceRule:
    """How a service other than the program bills its own minutes (A11, A13, A14): an optional
    short code for `short_minutes` up to the base threshold (99470, 98979: 2026 on), a base code
    at `base_minutes`, and add-on units each further `addon_minutes`, at most the cap that the
    setting `cap_setting` holds (none: no add-on). Whose minutes count: staff and practitioner
    pool (F-13, F-24, F-38)."""

    service: str  # bhi | rpm | rtm
    base_code: str
    base_minutes: int
    short_code: str = ""  # billed at short_minutes .. base_minutes - 1, never with base_code
    short_minutes: int = 0
    addon_code: str = ""
    addon_minutes: int = 0
    cap_setting: str = ""  # the ccm.yaml setting holding the add-on cap
    default_cap: int = 0  # its default (A13: 3, F-27; A14: 1, F-39)
    rule: str = ""
    summary: str = ""

    def codes(self, minutes: int, cap: int) -> list[tuple[str, int]]:
        """T-01: each threshold met in full; nothing below the first (A11, A13, A14)."""
        if minutes >= self.base_minutes:
            addon = min(cap, (minutes - self.base_minutes) // self.addon_minutes) if (
                self.addon_code) else 0  # fmt: skip
            return [(self.base_code, 1)] + ([(self.addon_code, addon)] if addon else [])
        if self.short_code and minutes >= self.short_minutes:
            return [(self.short_code, 1)]
        return []

    def thresholds(self, cap: int) -> list[int]:
        """Minutes at which each further code or unit is earned, lowest first."""
        first = [self.short_minutes] if self.short_code else []
        addons = cap if self.addon_code else 0
        return first + [self.base_minutes + i * self.addon_minutes for i in range(addons + 1)]


@dataclass(frozen=True, slots=True)
class AddonRule:
    """A code billed only as an add-on to a program's base code (A12: G0570 beside APCM): the
    service whose minutes evidence it, the program it needs, and the setting that holds its
    minutes (ccm's policy: CMS's descriptor sets none, F-01)."""

    code: str
    service: str
    program: str
    minutes_setting: str
    rule: str
    summary: str


@dataclass(frozen=True, slots=True)
class NotBilled:
    """Minutes or codes ccm reports and never bills (A10, A15), and why."""

    service: str
    codes: tuple[str, ...]
    reason: str
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
    services: tuple[ServiceRule, ...] = ()
    addons: tuple[AddonRule, ...] = ()
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

    def service(self, name: str) -> ServiceRule | None:
        """The rule that bills a service's own minutes this year (A11, A13, A14), if any."""
        return next((r for r in self.services if r.service == name), None)

    def addon_for(self, service: str, program: str) -> AddonRule | None:
        """A12: the add-on a service bills in a program's month instead of its own code."""
        return next((a for a in self.addons if a.service == service and a.program == program),
                    None)  # fmt: skip

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
# Services billed from their own minutes (A7, A11, A13, A14). 99470 and 98979 exist from 2026
# (F-25, F-34); in 2025 nothing bills below 20 minutes.
# fmt: off
BHI = ServiceRule("bhi", "99484", 20, rule="A11, F-12, F-13, T-01",
                  summary="general behavioral health integration, 20 min a month; no add-on")
RPM_2025 = ServiceRule("rpm", "99457", 20, addon_code="99458", addon_minutes=20,
                       cap_setting="rpm_addon_cap", default_cap=3, rule="A13, F-24, F-27, F-28",
                       summary="RPM treatment management, 20 min with a live interactive "
                               "contact; +20 min add-ons")
RPM_2026 = ServiceRule("rpm", "99457", 20, "99470", 10, "99458", 20, "rpm_addon_cap", 3,
                       rule="A13, F-24..F-28",
                       summary="RPM treatment management: 10-19 min 99470, from 20 min 99457; "
                               "+20 min add-ons 99458")
RTM_2025 = ServiceRule("rtm", "98980", 20, addon_code="98981", addon_minutes=20,
                       cap_setting="rtm_addon_cap", default_cap=1, rule="A14, F-35, F-37, F-39",
                       summary="RTM treatment management, 20 min with an interactive contact; "
                               "+20 min add-ons")
RTM_2026 = ServiceRule("rtm", "98980", 20, "98979", 10, "98981", 20, "rtm_addon_cap", 1,
                       rule="A14, F-34..F-37, F-39",
                       summary="RTM treatment management: 10-19 min 98979, from 20 min 98980; "
                               "+20 min add-ons 98981")
# fmt: on
G0570 = AddonRule(
    "G0570",
    "bhi",
    "apcm",
    "g0570_min_minutes",
    "A12, F-01, F-06, F-08",
    "APCM behavioral-health add-on, valued from 99484; billed with the APCM code "
    "of the same month; its minutes are ccm policy (g0570_min_minutes), not a CMS "
    "rule",
)
# A15 (and A10): reported under `not_assessed`, never billed, never pooled. CoCM's codes are
# also those that 99484 and G0570 are never billed with (A11, A12, F-08, F-18).
COCM = NotBilled("cocm", ("99492", "99493", "99494", "G2214"),
                 "needs_cocm_team_registry_and_episode_month", "A15, F-41..F-46",
                 "psychiatric collaborative care needs a care team, a registry and an episode "
                 "month that minutes cannot show")  # fmt: skip
NOT_BILLED = (
    COCM,
    NotBilled("cocm", ("G0568", "G0569"), "needs_cocm_team_registry_and_episode_month",
              "A15, F-02, F-03", "APCM collaborative-care add-ons: as CoCM, not billed by ccm"),
    NotBilled("rpm", ("99453", "99454", "99445"), "needs_device_days", "A15, F-29",
              "RPM device supply and set-up codes count device days, not minutes"),
    NotBilled("rtm", ("98975", "98976", "98977", "98978", "98984", "98985", "98986"),
              "needs_device_days", "A15, F-29", "RTM device codes count device days, not minutes"),
    NotBilled("tcm", ("99495", "99496"), "not_time_based", "A15, A10",
              "transitional care management is billed from a visit and contacts, not minutes"),
    NotBilled("other", (), "not_time_based", "A15", "minutes of a service ccm has no rules for"),
)  # fmt: skip

SERVICE_GATES = (
    Gate("no_bhi_enrollment", ("bhi",), "A11", "no `bhi:` block in the patient file"),
    Gate("no_bh_condition", ("bhi",), "A11, F-14", "`bhi.conditions` is empty"),
    Gate("no_consent", ("bhi", "rpm"), "A11, A13, F-16, F-32, C-01..C-04",
         "no consent to the service, or one dated after the month"),
    Gate("consent_revoked", ("bhi", "rpm"), "A11, A13, C-05", "the service's consent revoked in an earlier month"),
    Gate("no_initiating_visit", ("bhi",), "A11, F-17, IV-01, IV-02",
         "no initiating visit, one after the month, or more than 365 days before the BHI consent"),
    Gate("no_care_plan", ("bhi",), "A11", "`bhi.care_plan.established` missing or after the month"),
    Gate("cocm_same_month", ("bhi",), "A11, A12, F-08, F-18", "the month is in `cocm_months`"),
    Gate("bh_addon_without_apcm", ("bhi",), "A12, F-06",
         "G0570: the month's APCM code is not billable", codes=("G0570",)),
    Gate("no_rpm_enrollment", ("rpm",), "A13", "no `rpm:` block in the patient file"),
    Gate("not_established_patient", ("rpm",), "A13, F-32",
         "no visit recorded on or before the first counted RPM entry"),
    Gate("no_interactive_contact", ("rpm", "rtm"), "A13, A14, F-24, F-37",
         "minutes logged but no counted entry whose activity is a live interactive contact"),
    Gate("rtm_same_month", ("rpm",), "A13, F-31", "RTM minutes in the month (rpm_rtm_conflict)"),
    Gate("rpm_same_month", ("rtm",), "A14, F-31", "RPM minutes in the month (rpm_rtm_conflict)"),
)  # fmt: skip

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
    "99484": Decimal("1.64"),  # A11, F-23
    "99457": Decimal("1.48"), "99458": Decimal("1.19"),  # A13, F-33
    "98980": Decimal("1.55"), "98981": Decimal("1.21"),  # A14
})  # fmt: skip
RVU26A = RvuFile("RVU26A", "2025-12-29", Decimal("33.4009"), {
    "99490": Decimal("1.98"), "99439": Decimal("1.51"),
    "99491": Decimal("2.67"), "99437": Decimal("1.89"),
    "99487": Decimal("4.32"), "99489": Decimal("2.34"),
    "99424": Decimal("2.62"), "99425": Decimal("1.84"),
    "99426": Decimal("2.03"), "99427": Decimal("1.62"),
    "G0556": Decimal("0.49"), "G0557": Decimal("1.61"), "G0558": Decimal("3.51"),
    "99484": Decimal("1.72"), "G0570": Decimal("1.73"),  # A11, A12, F-09, F-23
    "99470": Decimal("0.78"), "99457": Decimal("1.55"), "99458": Decimal("1.24"),  # A13, F-33
    "98979": Decimal("0.79"), "98980": Decimal("1.62"), "98981": Decimal("1.24"),  # A14, F-40
})  # fmt: skip

YEARS: dict[int, RuleYear] = {
    2025: RuleYear(2025, RVU25A, TRACKS, GATES,
                   "CY2025 PFS final rule (89 FR 97710); amounts: CMS RVU25A; ccm-rules.md A6",
                   LEVELS, (BHI, RPM_2025, RTM_2025)),
    2026: RuleYear(2026, RVU26A, TRACKS, GATES,
                   "CY2026 PFS final rule (90 FR 49266); amounts: CMS RVU26A; ccm-rules.md A6",
                   LEVELS, (BHI, RPM_2026, RTM_2026), (G0570,)),
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
