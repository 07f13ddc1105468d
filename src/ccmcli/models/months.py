"""Calendar months and the practice's local clock.

Billing periods are calendar months in the practice's time zone (rules T-02, D-01), never the
host's: a cron job on a UTC server must close October at midnight Chicago time.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime
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


def now_in(tz_name: str) -> datetime:
    return datetime.now(zone(tz_name))


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
