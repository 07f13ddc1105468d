"""Choosing the month's track (rule A4) and the fewest minutes that would pay more (`next`).

Both work on minute totals only, so `next` can try candidate totals cheaply: it needs to look only
at the totals where some track earns a further unit.
"""

from dataclasses import dataclass

from ccmcli.rules.engine import Codes, track_minutes, units
from ccmcli.rules.table import RuleYear, Track

PERFORMER_ORDER = {"ccm": ("practitioner", "complex", "staff"), "pcm": ("practitioner", "staff")}


@dataclass(frozen=True, slots=True)
class Option:
    track: Track
    minutes: int
    codes: Codes
    amount: float
    performer_minutes: int


def options(
    tracks: tuple[Track, ...], staff: int, prac: int, pool: bool, rules: RuleYear
) -> list[Option]:
    """Every track whose base threshold is met, with its units and amount (A1, A6)."""
    found = []
    for t in tracks:
        m = track_minutes(t, staff, prac, pool)
        codes = units(t, m)
        if codes:
            perf = prac if t.performer == "practitioner" else staff
            found.append(Option(t, m, codes, rules.amount(codes), perf))
    return found


def choose(found: list[Option], selection: str, program: str) -> Option | None:
    """A4: `max_payment` takes the best-paying track, ties to the performer with more minutes;
    `performer` takes practitioner, then complex, then staff, whichever has its base met."""
    if not found:
        return None
    if selection == "performer":
        order = PERFORMER_ORDER[program]
        return min(found, key=lambda o: order.index(o.track.name))
    # max() keeps the first of equals, so the table's order settles what remains tied.
    return max(found, key=lambda o: (o.amount, o.performer_minutes))


def best(tracks, staff: int, prac: int, pool: bool, selection: str, program: str, rules):
    return choose(options(tracks, staff, prac, pool, rules), selection, program)


def next_step(
    tracks: tuple[Track, ...], staff: int, prac: int, pool: bool, selection: str,
    program: str, rules: RuleYear,
) -> tuple[Codes, int, str, float] | None:  # fmt: skip
    """Contract `next`: the fewest further minutes of one role that raise the month's amount.

    The role is the practitioner's when every counted minute so far is theirs, else clinical
    staff's. Only totals where some track earns a unit can raise the amount, so only those are tried.
    """
    role = "practitioner" if prac > 0 and staff == 0 else "clinical_staff"
    current = best(tracks, staff, prac, pool, selection, program, rules)
    now = current.amount if current else 0.0
    candidates = set()
    for t in tracks:
        m = track_minutes(t, staff, prac, pool)
        grows = track_minutes(
            t, staff + (role == "clinical_staff"), prac + (role == "practitioner"), pool
        )
        if grows == m:
            continue
        candidates.update(th - m for th in t.thresholds() if th > m)
    for extra in sorted(candidates):
        s, p = (staff + extra, prac) if role == "clinical_staff" else (staff, prac + extra)
        option = best(tracks, s, p, pool, selection, program, rules)
        if option and option.amount > now + 0.001:
            return option.codes, extra, role, option.amount
    return None
