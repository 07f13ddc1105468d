"""Which patients belong to a month (ccm-rules A17): the one test every view of a month applies.

A practice enrols patients all year; a month's check, worklist, report, comparison, export and
close record are about the patients enrolled in it. Listing everyone would show a patient
enrolled in December as blocked in every earlier month (and as a difference in every closed
month), and count patients long gone. A patient with an entry dated in the month is always part
of it: time logged there must be seen, and judged (most likely blocked).
"""

from datetime import date

from ccmcli.models.months import Month


def record_dates(patient) -> list[date]:
    """The dates of the patient's record that can open its enrolment (A17): consent, initiating
    visit, care plan, the first program change, the consents of the other services."""
    out: list[date] = []
    if patient.consent is not None:
        out.append(patient.consent.date)
    if patient.initiating_visit is not None:
        out.append(patient.initiating_visit.date)
    if patient.care_plan is not None:
        out += [patient.care_plan.established, *patient.care_plan.revised]
    if patient.program_changes:
        out.append(Month.parse(patient.program_changes[0].month).first)
    for service in ("bhi", "rpm", "rtm"):
        block = getattr(patient, service, None)
        given = getattr(block, "consent", None) if block is not None else None
        if given is not None:
            out.append(given.date)
    return out


def part_of_month(patient, month: Month, has_entries: bool) -> bool:
    """A17: part of `month` unless, with no entry dated in it, every date of the record is after
    the month (not yet enrolled), or the patient was discharged or the consent revoked before the
    month began (no longer enrolled). A record with no dates at all is part of every month."""
    if has_entries:
        return True
    dates = record_dates(patient)
    if dates and min(dates) > month.last:
        return False
    if patient.discharged is not None and patient.discharged < month.first:
        return False
    revoked = patient.consent.revoked if patient.consent is not None else None
    return not (revoked is not None and revoked < month.first)
