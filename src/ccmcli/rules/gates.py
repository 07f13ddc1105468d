"""The record requirements of a billable month (rule A2), one function per gate.

Each returns None when the gate passes, or the fact that blocks the month; `describe` says what
fact the gate looked at, for `ccm explain`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ccmcli.models.months import Month
from ccmcli.rules.table import VISIT_WINDOWS

if TYPE_CHECKING:
    from ccmcli.models.records import Patient


def qualifying_condition_count(p: Patient) -> int:
    """E-01 (A2): the qualifying chronic conditions; the one count both the ccm gate and the
    apcm level (A8) read, so the two can never disagree about a patient. Counted by ICD-10-CM
    category: E11.9 with E11.65, or a code listed twice, is one condition."""
    return len(p.chronic_categories())


def not_enough_conditions(p: Patient, month: Month) -> str | None:
    """E-01, A2: CCM needs two or more chronic conditions (those not marked `chronic: false`),
    counted by ICD-10-CM category: two codes of one disease are one condition."""
    n = qualifying_condition_count(p)
    return None if n >= 2 else f"{n} chronic condition{'s' if n != 1 else ''} recorded; CCM needs 2"


def same_condition(p: Patient) -> str | None:
    """A2's warning: codes that count as one condition, so the record may hold fewer
    conditions than codes (a code listed twice, or E11.9 with E11.65)."""
    shared = [codes for codes in p.chronic_categories().values() if len(codes) > 1]
    if not shared:
        return None
    groups = "; ".join(_one_condition(codes) for codes in shared)
    return f"{groups}: each counts as one condition toward the 2 CCM needs"


def _one_condition(codes: list[str]) -> str:
    distinct = list(dict.fromkeys(codes))
    if len(distinct) == 1:
        return f"{distinct[0]} is listed {len(codes)} times"
    return f"{' and '.join(distinct)} are one condition (category {codes[0][:3]})"


def no_principal_condition(p: Patient, month: Month) -> str | None:
    """E-02: PCM manages one high-risk condition, named as principal and chronic."""
    if p.principal_condition is None:
        return "no principal_condition recorded"
    if p.principal_condition not in p.chronic_codes():
        return f"principal condition {p.principal_condition} is not marked chronic"
    return None


def no_consent(p: Patient, month: Month) -> str | None:
    """C-01, C-04: documented consent obtained before the month ends."""
    if p.consent is None:
        return "no consent recorded"
    if p.consent.date > month.last:
        return f"consent dated {p.consent.date}, after {month}"
    return None


def consent_revoked(p: Patient, month: Month) -> str | None:
    """C-05: revocation takes effect at the end of its month; later months are blocked."""
    if p.consent and p.consent.revoked and p.consent.revoked < month.first:
        return f"consent revoked on {p.consent.revoked}"
    return None


def no_initiating_visit(p: Patient, month: Month) -> str | None:
    """IV-01, IV-02: a qualifying visit within 365 days before consent, or after it, by month end;
    IV-03 (A8): for apcm within 3 years (1,095 days). `p.program` is the program judged."""
    v = p.initiating_visit
    if v is None:
        return "no initiating visit recorded"
    if v.date > month.last:
        return f"initiating visit on {v.date}, after {month}"
    days = VISIT_WINDOWS[p.program]
    if p.consent and v.date < p.consent.date - _WINDOWS[days]:
        return (
            f"initiating visit on {v.date} is more than {days:,} days before consent "
            f"({p.consent.date})"
        )
    return None


_WINDOWS = {days: timedelta(days=days) for days in VISIT_WINDOWS.values()}


def no_care_plan(p: Patient, month: Month) -> str | None:
    """CP-01: a comprehensive care plan established by the month's last day."""
    if p.care_plan is None:
        return "no care plan recorded"
    if p.care_plan.established > month.last:
        return f"care plan established on {p.care_plan.established}, after {month}"
    return None


def discharged(p: Patient, month: Month) -> str | None:
    """Extension: a patient discharged from the program is not billed after the discharge month."""
    if p.discharged and p.discharged < month.first:
        return f"discharged on {p.discharged}"
    return None


GATE_FUNCTIONS: dict[str, Callable[[Patient, Month], str | None]] = {
    f.__name__: f
    for f in (not_enough_conditions, no_principal_condition, no_consent, consent_revoked,
              no_initiating_visit, no_care_plan, discharged)
}  # fmt: skip


# Gates whose answer depends on the program judged (the visit window, IV-03); every other gate
# reads only the record and the month, so comparing programs asks it once per patient-month.
READS_PROGRAM = frozenset({"no_initiating_visit"})


def describe(gate_id: str, p: Patient) -> str:
    """The fact a gate read, for explain: what the record says, blocked or not."""
    facts = {
        "not_enough_conditions": lambda: f"chronic conditions: {', '.join(p.chronic_codes()) or 'none'}",
        "no_principal_condition": lambda: f"principal condition: {p.principal_condition or 'none'}",
        "no_consent": lambda: f"consent: {p.consent.date} ({p.consent.method})" if p.consent else "consent: none",
        "consent_revoked": lambda: f"revoked: {p.consent.revoked}" if p.consent and p.consent.revoked else "not revoked",
        "no_initiating_visit": lambda: f"initiating visit: {p.initiating_visit.date} ({p.initiating_visit.type})" if p.initiating_visit else "initiating visit: none",
        "no_care_plan": lambda: f"care plan established: {p.care_plan.established}" if p.care_plan else "care plan: none",
        "discharged": lambda: f"discharged: {p.discharged}" if p.discharged else "not discharged",
        "no_service_this_month": lambda: "an APCM activity (an entry of the program) counts this month",
    }  # fmt: skip
    return facts[gate_id]()
