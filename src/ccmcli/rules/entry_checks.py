"""Warnings about entries themselves (contract section 3); they never change the codes.

They look across the whole month log, since one staff member's overlapping time may be split
over two patients.
"""

from collections import defaultdict
from datetime import date, timedelta

from ccmcli.models.findings import Finding
from ccmcli.store.timelog import Entry

LATE_AFTER = timedelta(days=7)


def entry_warnings(entries: list[Entry]) -> dict[str, list[Finding]]:
    """Warnings per patient id for the month's counting entries."""
    out: dict[str, list[Finding]] = defaultdict(list)
    live = [e for e in entries if not e.voids and e.voided_by is None]  # Entry.counts, inlined
    for e, finding in (*_overlaps(live), *_duplicates(live), *_late(live)):
        out[e.patient_id].append(finding)
    return out


def _overlaps(entries: list[Entry]):
    """overlapping_entries: one staff member's start-end intervals overlap on a date."""
    groups: dict[tuple[str, date], list[Entry]] = defaultdict(list)
    for e in entries:
        if e.start and e.end:
            groups[(e.staff, e.date)].append(e)
    for (staff, day), group in groups.items():
        group.sort(key=lambda e: e.start)
        for i, e in enumerate(group):
            for other in group[i + 1 :]:
                if other.start >= e.end:
                    break
                for a, b in ((e, other), (other, e)):
                    msg = (f"{staff}'s time {a.start}-{a.end} on {day} (entry {a.id}) overlaps "
                           f"entry {b.id} ({b.start}-{b.end})")  # fmt: skip
                    yield a, Finding.warning("overlapping_entries", msg, a.id)


def duplicate_key(e: Entry) -> tuple:
    """What makes two entries one piece of work logged twice: the same patient, date, minutes,
    staff, start and service (a nurse's 20 minutes of CCM and 20 of BHI that day are two things,
    A7). `ccm log` warns by the same key before the contract's warning would."""
    return (e.patient_id, e.date, e.minutes, e.staff, e.start, e.service)


def _duplicates(entries: list[Entry]):
    """duplicate_entry: two ids with the same `duplicate_key`."""
    first: dict[tuple, Entry] = {}
    for e in entries:  # duplicate_key, inlined: one call fewer per entry of the month
        key = (e.patient_id, e.date, e.minutes, e.staff, e.start, e.service)
        if key in first:
            msg = (
                f"entry {e.id} repeats entry {first[key].id} (same date, minutes, staff and start)"
            )
            yield e, Finding.warning("duplicate_entry", msg, e.id)
        else:
            first[key] = e


def _late(entries: list[Entry]):
    """late_entry: logged more than 7 days after the service date (local date of logged_at)."""
    cutoffs: dict[date, str] = {}
    for e in entries:
        if not e.logged_at:
            continue
        cutoff = cutoffs.get(e.date)
        if cutoff is None:
            cutoff = cutoffs[e.date] = (e.date + LATE_AFTER).isoformat()
        if e.logged_at[:10] > cutoff:
            msg = f"entry {e.id} for {e.date} was logged on {e.logged_at[:10]}, more than 7 days later"
            yield e, Finding.warning("late_entry", msg, e.id)
