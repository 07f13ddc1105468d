"""How a timer's span becomes log entries: whole minutes that never exceed the time that passed.

Contract section 7: the start is rounded up and the end down to the minute; a span that crosses
midnight at the practice becomes one part per day, a day's part ending at 23:59 and the next
starting at 00:00 (HH:MM cannot say 24:00, so the minute before midnight is given up rather than
overstated). Everything here is pure: instants in, parts or a refusal out.
"""

from datetime import UTC, datetime, time, timedelta

from ccmcli.models.errors import CcmError
from ccmcli.store.log_rows import minutes_between
from ccmcli.store.timelog import MAX_MINUTES
from ccmcli.store.timerstate import Part

LONGEST_UNASKED = timedelta(hours=12)


def ceil_minute(t: datetime) -> datetime:
    floor = floor_minute(t)
    return floor if floor == t else floor + timedelta(minutes=1)


def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def real_minutes(start: datetime, end: datetime) -> int:
    """Whole minutes that really passed (aware subtraction in UTC: daylight saving included)."""
    return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)


def elapsed_minutes(started: datetime, now: datetime) -> int:
    """What a stop now would log at most: from the start rounded up to now rounded down."""
    return max(0, real_minutes(ceil_minute(started), floor_minute(now)))


def day_parts(started: datetime, ended: datetime) -> list[Part]:
    """One part per local day the rounded span touches; parts under a minute are left out.

    Both instants are in the practice's time zone. A refusal (exit 1) when a part would overstate
    the time (a daylight-saving change inside the span) or hold more than a log row allows.
    """
    first, last = ceil_minute(started), floor_minute(ended)
    parts, day = [], first.date()
    while day <= last.date():
        start = first.strftime("%H:%M") if day == first.date() else "00:00"
        end = last.strftime("%H:%M") if day == last.date() else "23:59"
        minutes = minutes_between(start, end) or 0
        if minutes >= 1:
            parts.append(Part(day, start, end, minutes))
        day += timedelta(days=1)
    if sum(p.minutes for p in parts) > max(0, real_minutes(first, last)):
        raise CcmError("the clocks changed (daylight saving) while the timer ran, so its start "
                       "and end times would overstate it; `ccm cancel` it and `ccm log` the "
                       "minutes")  # fmt: skip
    for p in parts:
        if p.minutes > MAX_MINUTES:
            raise CcmError(f"the timer's time on {p.day} would be {p.minutes} minutes, more than "
                           f"the {MAX_MINUTES} one entry holds; give an earlier --at HH:MM")  # fmt: skip
    return parts


def end_of_timer(started: datetime, now: datetime, at: str | None) -> datetime:
    """When the timer ends: now, or the first `at` (HH:MM, checked) from the start's minute on.

    Without `at`, a timer that ran more than 12 hours is refused: it was almost surely
    forgotten, and only the person who ran it can say when the work ended.
    """
    if now < started:
        raise CcmError(f"the clock reads {_shown(now)}, before the timer started "
                       f"({_shown(started)}); nothing logged")  # fmt: skip
    if at is None:
        if now.astimezone(UTC) - started.astimezone(UTC) > LONGEST_UNASKED:
            ran = real_minutes(started, now)
            raise CcmError(f"the timer has run {ran // 60} h {ran % 60:02d} min (since "
                           f"{_shown(started)}), more than 12 hours; say when the work ended "
                           "with `ccm stop --at HH:MM`, or `ccm cancel` it")  # fmt: skip
        return now
    hour, minute = (int(x) for x in at.split(":"))
    end = datetime.combine(started.date(), time(hour, minute), tzinfo=started.tzinfo)
    if end < floor_minute(started):
        end = datetime.combine(started.date() + timedelta(days=1), time(hour, minute),
                               tzinfo=started.tzinfo)  # fmt: skip
    if end > now and end.date() > started.date():
        raise CcmError(f"--at {at} is before the timer started ({_shown(started)}), and {at} "
                       f"the next day has not come yet (now {_shown(now)}): give a time between "
                       f"{started:%H:%M} and now; a timer that crossed midnight ends on the "
                       "day after it started")  # fmt: skip
    if end > now:
        raise CcmError(f"--at {at} is after now ({_shown(now)}); the timer started "
                       f"{_shown(started)}")  # fmt: skip
    return end


def _shown(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")
