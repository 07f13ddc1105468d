"""One-line words for a judgement, shared by `log`, `patient show`, `check` and `worklist`."""

import re

from ccmcli.rules.engine import Codes, Judgement, NextStep
from ccmcli.rules.table import RuleYear

# Short, stable words for narrow tables; JSON and CSV keep the contract's words.
SHORT_STATUS = {"below_threshold": "below"}
SHORT_ROLE = {"clinical_staff": "staff", "practitioner": "prac"}
_RULE_REF = re.compile(r"\b([A-Z]{1,3}-\d{2})\b")


def codes_text(codes: Codes) -> str:
    """`99490x1 99439x1`: the contract's CSV form of codes with units."""
    return " ".join(f"{c}x{n}" for c, n in codes)


def _met(codes: Codes) -> str:
    parts = [c if n == 1 else f"{c} x{n}" for c, n in codes]
    return " + ".join(parts)


def next_text(j: Judgement) -> str:
    """`8 more for 99439`, naming the code the further minutes would add; when they would move
    the month to another track, all of that track's codes (`10 more for 99490 + 99439`)."""
    if j.next is None:
        return ""
    have = dict(j.codes)
    who = " (practitioner)" if j.next.role == "practitioner" else ""
    if j.codes and j.next.codes[0][0] != j.codes[0][0]:  # another track: name all its codes
        return f"{j.next.minutes_needed} more{who} for {_met(j.next.codes)}"
    gained = [c for c, n in j.next.codes if n > have.get(c, 0)] or [j.next.codes[0][0]]
    return f"{j.next.minutes_needed} more{who} for {gained[-1]}"


def next_short(j: Judgement) -> str:
    """`+15 → 99439` (`+15 prac → 99437` for the practitioner's minutes): `next_text` for a
    narrow table."""
    if j.next is None:
        return ""
    words = next_text(j)
    codes = words.split(" for ", 1)[1].replace(" + ", "+")
    who = " prac" if j.next.role == "practitioner" else ""
    return f"+{j.next.minutes_needed}{who} → {codes}"


def rule_ref(gate_id: str, rules: RuleYear) -> str:
    """A blocker's rule id in ccm-rules.md (`no_consent` → `C-01`), for narrow tables; the gate's
    own id when it has none. `ccm rules` prints the legend."""
    for g in rules.gates:
        if g.id == gate_id:
            m = _RULE_REF.search(g.rule)
            return m[1] if m else gate_id
    return gate_id


def minutes_text(j: Judgement) -> str:
    """`74 min (8 not counted)`: contract 3's `minutes.counted`, the minutes that do not count
    toward it apart, so that no figure mixes the two."""
    apart = f" ({j.apart} not counted)" if j.apart else ""
    return f"{j.counted} min{apart}"


def progress_of(j: Judgement, step: NextStep) -> tuple[int, int]:
    """(minutes so far, threshold) toward `step`: the threshold its codes are earned at (A1),
    and the minutes of that track so far, so that a bar's scale is always a real threshold."""
    own = getattr(j, "progress", None)
    if own is not None:  # a service's line on the worklist (A16): its own minutes
        return own(step)
    base, units = step.codes[0][0], dict(step.codes)
    track = next((t for t in j.rules.tracks_for(j.patient.program) if t.base_code == base), None)
    if track is None:  # APCM (A8): one documented activity, no minute threshold
        return 0, step.minutes_needed
    target = track.base_minutes + units.get(track.addon_code, 0) * track.addon_minutes
    return target - step.minutes_needed, target


def service_ref(gate_id: str, service: str) -> str:
    """A service's blocker as a short rule id (`no_interactive_contact` -> `F-24`) for narrow
    tables, else its part of ccm-rules (`A13`); `ccm rules` prints the legend."""
    from ccmcli.rules.table import SERVICE_GATES

    for g in SERVICE_GATES:
        if g.id == gate_id and service in g.programs:
            m = _RULE_REF.search(g.rule)
            return m[1] if m else g.rule.split(",")[0]
    return gate_id


def status_line(j: Judgement) -> str:
    """`P0007: 32 min in March 2026: 99490 met; 8 more for 99439`, with the minutes that do
    not count apart: `P0011: 74 min (8 not counted) in ...`."""
    head = f"{j.patient.id}: {minutes_text(j)} in {j.month.label()}"
    if j.status == "blocked":
        return f"{head}: blocked ({', '.join(b.rule for b in j.blockers)})"
    parts = [f"{_met(j.codes)} met"] if j.codes else []
    step = next_text(j)
    if step:
        parts.append(step)
    elif j.chosen and j.chosen.track.program == "apcm":  # A8: a level, no minutes to add
        parts.append(f"APCM level {j.chosen.track.name.removeprefix('level')}")
    elif j.codes:
        parts.append("no further code this month")
    line = f"{head}: {'; '.join(parts) or 'nothing billable yet'}"
    return line + other_services_text(j)


def service_status_line(j: Judgement, service: str) -> str:
    """`P1: RPM 12 min in March 2026: 99470 met; 8 more for 99457` (A16): the month-to-date
    of the service an entry was logged for, not the program's."""
    from ccmcli.rules.services import SERVICE_NAMES

    s = next((s for s in j.services if s.service == service), None)
    if s is None:
        minutes = (j.minutes.get("other_services") or {}).get(service, 0)
        why = next((n["reason"] for n in j.not_assessed if n["service"] == service), "")
        return (f"{j.patient.id}: {service} {minutes} min in {j.month.label()}: reported, "
                f"never billed" + (f" ({why})" if why else ""))  # fmt: skip
    head = f"{j.patient.id}: {SERVICE_NAMES[service]} {s.counted} min in {j.month.label()}"
    if s.status == "blocked":
        return f"{head}: blocked ({', '.join(b.rule for b in s.blockers)})"
    parts = [f"{_met(s.codes)} met"] if s.codes else []
    step = next_text(s)
    if step:
        parts.append(step)
    elif s.codes:
        parts.append("no further code this month")
    return f"{head}: {'; '.join(parts) or 'nothing billable yet'}"


def other_services_text(j: Judgement) -> str:
    """`; other services, not counted: bhi 25 min` (A7), or nothing."""
    other = j.minutes.get("other_services") or {}
    if not other:
        return ""
    return "; other services, not counted: " + ", ".join(f"{s} {n} min" for s, n in other.items())


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 patient`, `2 patients`: a count with its noun."""
    return f"{n} {word if n == 1 else (words or word + 's')}"
