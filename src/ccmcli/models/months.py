"""Calendar months and the practice's local clock.

Billing periods are calendar months in the practice's time zone (rules T-02, D-01), never the
host's: a cron job on a UTC server must close October at midnight Chicago time.
"""

import calendar
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from ccmcli.codes.identifiers import is_month
from ccmcli.models.errors import CcmError


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """`YYYY-MM`, or a usage error (exit 2) naming the expected form."""
        text = text.strip()
        if not is_month(text):
            raise CcmError(f'month "{text}" is not of the form YYYY-MM', exit_code=2)
        return cls(int(text[:4]), int(text[5:7]))

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return _last_day(self.year, self.month)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def add(self, n: int) -> "Month":
        y, m = divmod(self.year * 12 + self.month - 1 + n, 12)
        return Month(y, m + 1)

    def label(self) -> str:
        """`March 2026`, for messages people read."""
        return f"{calendar.month_name[self.month]} {self.year}"

    def contains(self, day: date) -> bool:
        return day.year == self.year and day.month == self.month


@cache
def _last_day(year: int, month: int) -> date:
    """Asked three times per patient when a month is judged (the gates)."""
    return date(year, month, calendar.monthrange(year, month)[1])


@cache
def zone(name: str):
    """The practice time zone (loaded once per process)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


NOW_ENV = "CCM_NOW"


def clock_override() -> datetime | None:
    """The instant $CCM_NOW names (contract section 2), or None when it is not set.

    Tests, demonstrations and replays of a day set it; an empty value counts as not set. A value
    that is not an ISO 8601 instant with a UTC offset is a usage error (exit 2): a clock that
    silently fell back to the host's would log time on the wrong day.
    """
    text = os.environ.get(NOW_ENV, "").strip()
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        shown = f' "{text[:40]}"' if text.isprintable() else ""
        raise CcmError(f"{NOW_ENV}{shown} is not an ISO 8601 instant with a UTC offset "
                       "(e.g. 2026-11-03T09:15:00-06:00)", exit_code=2)  # fmt: skip
    return stamp


def now() -> datetime:
    """The current instant (timezone-aware): $CCM_NOW when set, else the system clock.

    Every reading of the clock in ccm goes through here, so one variable moves them all.
    """
    return clock_override() or datetime.now(UTC)


def now_in(tz_name: str) -> datetime:
    return now().astimezone(zone(tz_name))


def today_in(tz_name: str) -> date:
    """Today's date at the practice, which is what `today` means to its staff."""
    return now_in(tz_name).date()


def current_month(tz_name: str) -> Month:
    return Month.of(today_in(tz_name))


def last_finished_month(tz_name: str) -> Month:
    return current_month(tz_name).add(-1)


def is_provisional(month: Month, tz_name: str) -> bool:
    """True while the month has not ended at the practice (rule D-02)."""
    return month >= current_month(tz_name)


def days_left(month: Month, tz_name: str) -> int:
    """Days of the month still to come, today included; 0 once the month has ended."""
    today = today_in(tz_name)
    if today > month.last:
        return 0
    if today < month.first:
        return month.days
    return (month.last - today).days + 1


def iso_date(text: str) -> date:
    """Strict `YYYY-MM-DD` (the form data files use); ValueError otherwise."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError("not a date of the form YYYY-MM-DD")
    return date.fromisoformat(text)
