"""Warnings about entries themselves (contract section 3); they never change the codes.

Overlapping time looks across the whole month log, since one staff member's overlapping time may
be split over two patients; every other warning (a repeated entry, a late one, too many minutes
in an entry or a day) looks at one patient's rows alone, so it is worked out only for the
patients a command judges (a kept judgement needs none: judged_lines.py).
"""

from collections import Counter, defaultdict
from datetime import date, timedelta
from operator import attrgetter, gt, itemgetter

from ccmcli.models.findings import Finding
from ccmcli.store.log_rows import minutes_between
from ccmcli.store.timelog import Entry

LATE_AFTER = timedelta(days=7)
LONG_ENTRY = 90  # minutes: one entry longer than this is most likely a typo or a forgotten timer
DAY_LIMIT = 120  # minutes a patient a day: ccm.yaml's warn_minutes_per_day by default


class MonthWarnings:
    """The warnings a month's rows give each patient: the overlaps, found across the month at
    once, and the rest from the patient's own rows when asked (`of`), in the same order as
    looking at the whole month would list them. `whole`: every patient's at once, a few times
    faster for them all (a cold check reads its month meanwhile: loader._read_ahead), where
    asking for a few (a kept judgement needs none) is faster one by one."""

    def __init__(self, entries: list[Entry], day_limit: int = DAY_LIMIT, whole: bool = False):
        self.day_limit = day_limit
        self.overlaps: dict[str, list[Finding]] = defaultdict(list)
        self.found: dict[str, list[Finding]] | None = None
        live = [e for e in entries if e.counts] if whole else None
        timed = live if live is not None else [e for e in entries if e.start and e.end and e.counts]
        for e, finding in _overlaps(timed):
            self.overlaps[e.patient_id].append(finding)
        if live is not None:
            self.found = defaultdict(list)
            for e, finding in (*_duplicates(live), *_late(live), *_long(live, day_limit)):
                self.found[e.patient_id].append(finding)

    def of(self, patient_id: str, entries: list[Entry]) -> list[Finding]:
        """The patient's warnings, from `entries`, the patient's rows of the month. Asked for
        every patient a cold check judges, and most have none: each kind is looked for only
        when a test over the rows at C speed says it may be there."""
        found = self.overlaps.get(patient_id, [])
        if self.found is not None:
            return found + self.found.get(patient_id, [])
        if not entries:
            return found
        live = entries
        if any(map(_VOIDS, entries)) or set(map(_VOIDED_BY, entries)) != {None}:
            live = [e for e in entries if e.counts]
            if not live:
                return found
        found = list(found)
        keys = list(map(_DUPLICATE_KEY, live))
        if len(set(keys)) < len(keys):
            found += [finding for _, finding in _duplicates(live)]
        days = list(map(_DATE, live))
        logged = map(_LOGGED_DAY, map(_LOGGED, live))
        if any(map(gt, logged, map(_cutoff, days))):
            found += [finding for _, finding in _late(live)]
        minutes = list(map(_MINUTES, live))
        limit = self.day_limit
        if max(minutes) > LONG_ENTRY or (
            sum(minutes) > limit and max(Counter(days).values()) * max(minutes) > limit
        ):
            found += [finding for _, finding in _long(live, limit)]
        return found


def _long(entries: list[Entry], day_limit: int):
    """long_entry and long_day: minutes that are possible (a timer left running, `600` for
    `60`) but rarely true, so they are accepted and pointed out: one entry over LONG_ENTRY
    minutes, and a patient's minutes on one day (every service) over `day_limit`."""
    totals: dict[tuple[str, date], int] = {}
    get = totals.get
    for key, minutes in zip(map(_DAY_KEY, entries), map(_MINUTES, entries), strict=True):
        totals[key] = get(key, 0) + minutes  # at C speed: a month has many thousand entries
    for e in entries:
        if e.minutes > LONG_ENTRY:
            msg = (f"entry {e.id} logs {e.minutes} minutes on {e.date}, more than {LONG_ENTRY} "
                   "in one entry: check the minutes")  # fmt: skip
            yield e, Finding.warning("long_entry", msg, e.id)
    for (pid, day), total in totals.items():
        if total > day_limit:
            group = [e for e in entries if e.patient_id == pid and e.date == day]
            last = max(group, key=_LINE)
            msg = (f"{total} minutes logged for {pid} on {day}, more than {day_limit} a day "
                   "(warn_minutes_per_day in ccm.yaml): check the entries")  # fmt: skip
            yield last, Finding.warning("long_day", msg, last.id)


def _overlaps(entries: list[Entry]):
    """overlapping_entries: one staff member's start-end intervals overlap on a date. Each
    overlap is one warning to each patient it concerns (one, when both entries are the same
    patient's: on the later entry), doubting the minutes both entries claim."""
    groups: dict[tuple[str, date], list[Entry]] = defaultdict(list)
    for e in entries:
        if e.start and e.end:
            groups[(e.staff, e.date)].append(e)
    for (staff, day), group in groups.items():
        group.sort(key=lambda e: (e.start, e.line))
        for i, e in enumerate(group):
            for other in group[i + 1 :]:
                if other.start >= e.end:
                    break
                both = minutes_between(other.start, min(e.end, other.end)) or 0
                pairs = (
                    ((other, e),) if other.patient_id == e.patient_id else ((e, other), (other, e))
                )
                for a, b in pairs:
                    msg = (f"{staff}'s time {a.start}-{a.end} on {day} (entry {a.id}) overlaps "
                           f"entry {b.id} ({b.start}-{b.end}) by {both} min")  # fmt: skip
                    yield a, Finding.warning("overlapping_entries", msg, a.id, both)


_DUPLICATE_KEY = attrgetter("patient_id", "date", "minutes", "staff", "start", "service")


def duplicate_key(e: Entry) -> tuple:
    """What makes two entries one piece of work logged twice: the same patient, date, minutes,
    staff, start and service (a nurse's 20 minutes of CCM and 20 of BHI that day are two things,
    A7). `ccm log` warns by the same key before the contract's warning would."""
    return _DUPLICATE_KEY(e)


def _duplicates(entries: list[Entry]):
    """duplicate_entry: two ids with the same `duplicate_key`."""
    first: dict[tuple, Entry] = {}
    keep = first.setdefault
    repeats: dict[tuple, list[Entry]] = defaultdict(list)
    for key, e in zip(map(_DUPLICATE_KEY, entries), entries, strict=True):  # keys at C speed: a
        found = keep(key, e)  # large practice has hundreds of thousands of entries a month
        if found is not e:
            repeats[key].append(e)
    for key, more in repeats.items():  # the first in the file is the original, in any order
        original, *copies = sorted([first[key], *more], key=_LINE)
        for e in copies:
            msg = f"entry {e.id} repeats entry {original.id} (same date, minutes, staff and start)"
            yield e, Finding.warning("duplicate_entry", msg, e.id, e.minutes)


def _late(entries: list[Entry]):
    """late_entry: logged more than 7 days after the service date (local date of logged_at)."""
    for e in entries:
        logged = e.logged_at
        if logged and logged[:10] > _cutoff(e.date):
            msg = f"entry {e.id} for {e.date} was logged on {logged[:10]}, more than 7 days later"
            yield e, Finding.warning("late_entry", msg, e.id)


class _Cutoffs(dict):
    """The last day (ISO) an entry for a day may be logged on without being late, by day: a
    month has a few dozen days, and each is asked for often."""

    def __missing__(self, day: date) -> str:
        self[day] = found = (day + LATE_AFTER).isoformat()
        return found


_cutoff = _Cutoffs().__getitem__


_DATE = attrgetter("date")
_LOGGED = attrgetter("logged_at")
_LOGGED_DAY = itemgetter(slice(0, 10))
_VOIDS = attrgetter("voids")
_VOIDED_BY = attrgetter("voided_by")
_LINE = attrgetter("line")
_DAY_KEY = attrgetter("patient_id", "date")
_MINUTES = attrgetter("minutes")
