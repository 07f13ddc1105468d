"""Values a person types at the terminal: dates like `today`, `3/4` or `Mar 4`.

Data files use strict ISO dates (months.iso_date); only typed input goes through dateutil, which
is imported here on demand.
"""

import re
from datetime import date, timedelta

from ccmcli.models.errors import CcmError

_SHORT = re.compile(r"(\d{1,2})/(\d{1,2})")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
YEARLESS_DAYS = 31  # contract 2: a date typed without a year may be at most this far back


def parse_date(text: str, today: date, *, allow_future: bool = True, private: bool = False) -> date:
    """`today`, `yesterday`, `YYYY-MM-DD`, `M/D`, `M/D/YYYY`, `Mar 4`, `March 4 2026`.

    US month/day order. A date without a year is the latest such date not after today, and is
    refused, asking for the year, when that is more than 31 days ago (contract section 2): `11/30`
    typed on 29 November 2026 would otherwise bill a year back. Impossible dates are refused,
    never rolled over; with allow_future=False so are dates after today. With `private` (a birth
    date is patient data), error messages repeat neither what was typed nor the date read.
    """
    raw = text.strip()
    try:
        return _parse_date(raw, today, allow_future, private)
    except CcmError as exc:
        if private:  # never echo it into logs or cron mail
            exc.message = exc.message.replace(f'"{raw}"', "the date").replace(raw, "the date")
        raise


def _parse_date(raw: str, today: date, allow_future: bool, private: bool) -> date:
    word = raw.lower()
    if word == "today":
        day = today
    elif word == "yesterday":
        day = today - timedelta(days=1)
    else:
        year, month, dom = _parse(raw)
        day = (
            date(year, month, dom)
            if year is not None
            else _yearless(raw, month, dom, today, private)
        )
    if not allow_future and day > today:
        raise CcmError(f'"{raw}" is after today ({today})', exit_code=1)
    return day


def _yearless(raw: str, month: int, dom: int, today: date, private: bool) -> date:
    """The latest month/day not after today; refused when more than YEARLESS_DAYS ago."""
    day = None
    for year in range(today.year, today.year - 9, -1):  # 29 February comes within 8 years
        try:
            day = date(year, month, dom)
        except ValueError:
            continue
        if day <= today:
            break
    if day is None or day > today:
        raise CcmError(f'"{raw}" is not a real date', 2)
    if (today - day).days > YEARLESS_DAYS:
        read = "" if private else f" (it would be {day})"
        raise CcmError(f'"{raw}" has no year and is more than {YEARLESS_DAYS} days ago{read}: '
                       "type the year (YYYY-MM-DD or M/D/YYYY)", exit_code=1)  # fmt: skip
    return day


def _parse(raw: str) -> tuple[int | None, int, int]:
    """(year or None when none was typed, month, day); impossible dates are refused."""
    bad = CcmError(f'"{raw}" is not a date (use YYYY-MM-DD, M/D, "Mar 4", today or yesterday)', 2)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise CcmError(f'"{raw}" is not a real date', 2) from None
        return day.year, day.month, day.day
    m = _SHORT.fullmatch(raw)
    if m:
        return None, int(m[1]), int(m[2])
    m = _US.fullmatch(raw)
    if m:  # M/D/YYYY: a day the month lacks is named as such, as for YYYY-MM-DD
        try:
            day = date(int(m[3]), int(m[1]), int(m[2]))
        except ValueError:
            raise CcmError(f'"{raw}" is not a real date', 2) from None
        return day.year, day.month, day.day
    if not re.search(r"[A-Za-z]", raw) and not re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", raw):
        raise bad  # numbers alone in other shapes are ambiguous
    from datetime import datetime

    from dateutil import parser

    # Two defaults in different leap years: a field that differs between the two readings was
    # not typed. A day the month lacks is refused (the default never clamps it).
    try:
        a, b = (parser.parse(raw, default=d, dayfirst=False, yearfirst=False)
                for d in (datetime(2000, 1, 1), datetime(2004, 2, 2)))  # fmt: skip
    except (ValueError, OverflowError):
        raise bad from None
    if (a.month, a.day) != (b.month, b.day):
        raise bad  # no day or month typed ("March", "Monday")
    return (a.year if a.year == b.year else None), a.month, a.day
