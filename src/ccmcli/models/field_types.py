"""The types of the fields people write in ccm.yaml and patient files: dates, NPIs, MBIs, codes,
fees, time zones.

YAML is read with every scalar kept a string (yamlio.py); these types give each field its type
and check it. Their messages never echo the value, because it is protected health information
that would otherwise reach cron mail. The records built from them are records.py.
"""

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from ccmcli.codes import identifiers
from ccmcli.models.months import iso_date


def _date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date of the form YYYY-MM-DD")
    try:
        return iso_date(value.strip())
    except ValueError:
        raise ValueError("is not a real date of the form YYYY-MM-DD") from None


def _npi(value: str) -> str:
    if not identifiers.npi_is_valid(value):
        raise ValueError("is not a valid NPI (10 digits with a correct check digit)")
    return value


def _mbi(value: str) -> str:
    if not identifiers.mbi_is_valid(value):
        raise ValueError("is not a valid MBI (11 characters in the CMS format)")
    return value.upper()


def _patient_id(value: str) -> str:
    if not identifiers.is_patient_id(value):
        raise ValueError("must be 1-32 letters, digits, '-' or '_'")
    return value


def _icd10(value: str) -> str:
    code = value.upper()
    if not identifiers.icd10_format_ok(code):
        raise ValueError("is not an ICD-10-CM code (like E11.9)")
    return code


def _month(value: str) -> str:
    if not identifiers.is_month(value):
        raise ValueError("must be a month of the form YYYY-MM")
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone name (like America/Chicago)") from None
    return value


def _text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _fee_code(value: str) -> str:
    """A CPT code (5 digits) or a HCPCS Level II code (a letter and 4 digits, like G0557).

    Whether ccm bills it is asked of the rules table, which the records sit below: the loader
    checks it (loader._unbilled_fees)."""
    value = value.upper()
    if not (len(value) == 5 and value.isascii() and value[1:].isdigit() and value[0].isalnum()):
        raise ValueError("must be a 5-character code (like 99490 or G0557)")
    return value


MAX_FEE = 100_000  # dollars per unit: far above any charge for these codes, far below overflow
_FEE = re.compile(r"\d{1,6}(\.\d{1,2})?")


def _fee(value: object) -> float:
    """A charge in dollars: above 0, at most MAX_FEE, at most 2 decimals (`75`, `75.5`, `75.00`).

    `1e400`, `nan` or `-1` would otherwise reach the export, where no claim line can carry
    them; the text is checked before it becomes a number."""
    text = value.strip() if isinstance(value, str) else str(value)
    if not _FEE.fullmatch(text) or not 0 < float(text) <= MAX_FEE:
        raise ValueError(f"must be an amount in dollars above 0 and at most {MAX_FEE}, "
                         "with at most 2 decimals (like 75.00)")  # fmt: skip
    return float(text)


def _whole(low: int, high: int, what: str):
    """A whole number from low to high: minutes and units are never fractions (T-01)."""

    def check(value: object) -> int:
        text = value.strip() if isinstance(value, str) else str(value)
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            raise ValueError(f"must be a whole number of {what} from {low} to {high}")
        return int(text)

    return check


def _activity(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value.lower()


def _pos(value: str) -> str:
    if not (len(value) == 2 and value.isascii() and value.isdigit()):
        raise ValueError("must be a two-digit place of service code (like 11)")
    return value


IsoDate = Annotated[date, BeforeValidator(_date)]
Npi = Annotated[str, AfterValidator(_npi)]
Mbi = Annotated[str, AfterValidator(_mbi)]
PatientId = Annotated[str, AfterValidator(_patient_id)]
Icd10Code = Annotated[str, AfterValidator(_icd10)]
MonthText = Annotated[str, AfterValidator(_month)]
Text = Annotated[str, AfterValidator(_text)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
PlaceOfService = Annotated[str, AfterValidator(_pos)]
FeeCode = Annotated[str, AfterValidator(_fee_code)]
Fee = Annotated[float, BeforeValidator(_fee)]
MinuteCount = Annotated[int, BeforeValidator(_whole(1, 720, "minutes"))]
UnitCap = Annotated[int, BeforeValidator(_whole(0, 10, "units"))]
DayMinutes = Annotated[int, BeforeValidator(_whole(1, 1440, "minutes"))]
Activity = Annotated[str, AfterValidator(_activity)]
