"""Values a person types at the terminal: dates like `today`, `3/4` or `Mar 4`.

Data files use strict ISO dates (months.iso_date); only typed input goes through dateutil, which
is imported here on demand.
"""

import re
from datetime import date, timedelta

from ccmcli.models.errors import CcmError

_SHORT = re.compile(r"(\d{1,2})/(\d{1,2})")


def parse_date(text: str, today: date, *, allow_future: bool = True, private: bool = False) -> date:
    """`today`, `yesterday`, `YYYY-MM-DD`, `M/D` (this year), `M/D/YYYY`, `Mar 4`, `March 4 2026`.

    US month/day order. A date without a year is the latest such date not after today.
    Impossible dates are refused,
    never rolled over; with allow_future=False so are dates after today. With `private`, error
    messages do not repeat what was typed.
    """
    raw = text.strip()
    try:
        return _parse_date(raw, today, allow_future)
    except CcmError as exc:
        if private:  # a birth date is patient data: never echo it into logs or cron mail
            exc.message = exc.message.replace(f'"{raw}"', "the date").replace(raw, "the date")
        raise


def _parse_date(raw: str, today: date, allow_future: bool) -> date:
    word = raw.lower()
    if word == "today":
        day = today
    elif word == "yesterday":
        day = today - timedelta(days=1)
    else:
        day = _parse(raw, today)
        if day > today and not re.search(r"\d{4}", raw):
            day = _last_year(day)  # "12/30" typed on 2 January means the December just past
    if not allow_future and day > today:
        raise CcmError(f'date "{raw}" is after today ({today})', exit_code=1)
    return day


def _parse(raw: str, today: date) -> date:
    bad = CcmError(f'"{raw}" is not a date (use YYYY-MM-DD, M/D, "Mar 4", today or yesterday)', 2)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CcmError(f'"{raw}" is not a real date', 2) from None
    m = _SHORT.fullmatch(raw)
    if m:
        try:
            return date(today.year, int(m[1]), int(m[2]))
        except ValueError:
            raise CcmError(f'"{raw}" is not a real date', 2) from None
    if not re.search(r"[A-Za-z]", raw) and not re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", raw):
        raise bad  # numbers alone in other shapes are ambiguous
    from dateutil import parser

    try:
        parsed = parser.parse(raw, default=_Default(today), dayfirst=False, yearfirst=False)
    except (ValueError, OverflowError):
        raise bad from None
    return parsed.date()


def _last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


class _Default:
    """A default that makes dateutil refuse a day the month lacks instead of clamping it."""

    def __new__(cls, today: date):
        from datetime import datetime

        return datetime(today.year, 1, 1)
