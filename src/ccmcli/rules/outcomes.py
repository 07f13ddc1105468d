"""A patient-month under each program, in short: what `ccm compare` adds up (ccm-rules A9).

The same gates, minute rules and choice of track as `judge` (a property test holds the two to the
same answers), without what only a single month's views need: date of service, warnings, the
next step. A year of a practice is tens of thousands of patient-months, so the minutes that count
are summed in one pass over each month's log columns, and answers that follow from the table
alone are remembered by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccmcli.models.months import Month
from ccmcli.rules.engine import allowed_tracks, apcm_level
from ccmcli.rules.gates import GATE_FUNCTIONS, READS_PROGRAM
from ccmcli.rules.selection import choose, options
from ccmcli.rules.table import RuleYear, Track

if TYPE_CHECKING:
    from ccmcli.models.records import Patient, Settings

COUNTING_COLUMNS = ("patient_id", "date", "minutes", "role", "voids", "voided_by", "service")


def counted_minutes(patients: dict[str, Patient], columns: list[list]) -> dict[str, list[int]]:
    """A3 over a whole month in one pass: per patient, the [clinical staff, practitioner]
    minutes that count (the totals `judge` gets from `countable`): entries of the program, not
    voided, on or after both consent and the initiating visit. `columns` are the month's rows as
    COUNTING_COLUMNS (dates as day ordinals; from the loader's reading): comparing programs over a
    year reads twelve months, and building an entry per row would cost more than the rules."""
    start = {pid: max(p.consent.date, p.initiating_visit.date).toordinal()
             for pid, p in patients.items() if p.consent and p.initiating_visit}  # fmt: skip
    totals: dict[str, list[int]] = {}
    for pid, day, minutes, role, voids, voided_by, service in zip(*columns, strict=True):
        if voids or voided_by is not None or service:
            continue
        first = start.get(pid)
        if first is None or day < first:
            continue
        t = totals.get(pid)
        if t is None:
            t = totals[pid] = [0, 0]
        t[role == "practitioner"] += minutes
    return totals


def program_outcomes(
    month: Month, staff: int, prac: int, settings: Settings, rules: RuleYear,
    variants: list[tuple[str, Patient]],
) -> list[tuple[str, float, bool, list[str]]]:  # fmt: skip
    """A9: (program, amount, billable, blocker ids) for each enrolled variant of a patient with
    these counted minutes, by the same gates and choice as `judge`, without what only views
    need (date of service, warnings, next)."""
    pool, sel = settings.count_practitioner_minutes_as_staff, settings.selection
    out, asked = [], {}
    for program, p in variants:
        blockers = []
        for g in rules.gates_for(program):
            check = GATE_FUNCTIONS.get(g.id)
            if check is None:
                continue
            key = (g.id, program) if g.id in READS_PROGRAM else g.id
            blocked = asked.get(key)
            if blocked is None:
                blocked = asked[key] = check(p, month) is not None
            if blocked:
                blockers.append(g.id)
        amount = 0.0
        if program == "apcm":
            if staff + prac == 0:
                blockers.append("no_service_this_month")
            if not blockers:
                amount = _level_amount(apcm_level(p, rules).code, rules)
        elif not blockers:
            tracks = allowed_tracks(p, month, rules)
            amount = _best_amount(tracks, staff, prac, pool, sel, program, rules)
        out.append((program, amount, not blockers and amount > 0, blockers))
    return out


def _best_amount(tracks: tuple[Track, ...], staff: int, prac: int, pool: bool, sel: str,
                 program: str, rules: RuleYear) -> float:  # fmt: skip
    """The amount of the track A4 chooses for these totals (what `_priced` picks), remembered
    without the next step, which comparing programs never shows. `tracks` come remembered
    from allowed_tracks, so their identity names them."""

    def work() -> float:
        picked = choose(options(tracks, staff, prac, pool, rules), sel, program)
        return picked.amount if picked else 0.0

    return rules.remember(("best_amount", id(tracks), staff, prac, pool, sel, program), work)


def _level_amount(code: str, rules: RuleYear) -> float:
    return rules.remember(("level_amount", code), lambda: rules.amount([(code, 1)]))
