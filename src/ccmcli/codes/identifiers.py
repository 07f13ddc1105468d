"""Formats of the identifiers ccm handles: patient and entry ids, NPI, MBI, ICD-10-CM, months.

Each check returns a bool so that callers choose their own message; none of them echoes the
value, because these values are patient data.
"""

import re

PATIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
ICD10_FORMAT = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")

# CMS MBI rule: positions 2, 5, 8, 9 alphabetic; 3 and 6 alphanumeric; 1 a digit 1-9; 4, 7, 10, 11
# digits. Letters S, L, O, I, B and Z are never used.
_A = "[AC-HJKMNP-RT-Y]"
_AN = "[0-9AC-HJKMNP-RT-Y]"
MBI = re.compile(rf"[1-9]{_A}{_AN}[0-9]{_A}{_AN}[0-9]{_A}{_A}[0-9][0-9]")


def is_patient_id(value: str) -> bool:
    """1-32 letters, digits, '-' or '_': safe as a file name, never a path."""
    return PATIENT_ID.fullmatch(value) is not None


def is_entry_id(value: str) -> bool:
    return ENTRY_ID.fullmatch(value) is not None


def is_month(value: str) -> bool:
    return MONTH.fullmatch(value) is not None


def npi_is_valid(value: str) -> bool:
    """10 digits whose last is the Luhn check digit computed over the '80840' prefix + 9 digits.

    The prefix is the card issuer prefix CMS assigned to NPIs (ISO 7812), so the Luhn check runs
    over 15 digits.
    """
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    digits = [int(c) for c in "80840" + value]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mbi_is_valid(value: str) -> bool:
    """The 11-position Medicare Beneficiary Identifier format (upper or lower case, no dashes)."""
    return MBI.fullmatch(value.upper()) is not None


def icd10_format_ok(code: str) -> bool:
    """Shape of an ICD-10-CM code (letter, digit, alphanumeric, optional dot and up to 4 more).

    Whether the code exists in the code set is checked separately (store/icd10.py).
    """
    return ICD10_FORMAT.fullmatch(code) is not None
