"""What a person types for a time entry, checked before anything is written.

Log rows are one line each, so single-line fields refuse line breaks and control characters.
Every refusal is a usage error (exit 2) naming the option or environment variable at fault.
"""

import os
import re
import unicodedata
from collections.abc import Mapping

from ccmcli.models.errors import CcmError
from ccmcli.store import log_rows, timelog

ROLE_ENV, STAFF_ENV = "CCM_ROLE", "CCM_STAFF"
ACTIVITIES = ("care_coordination", "medication_management", "care_plan",
              "patient_communication", "education", "referral", "lab_review")  # fmt: skip
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def single_line(name: str, value: str) -> str:
    """Refuse line breaks and control characters, which would split a row or hide its text."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise CcmError(f"{name} must be one line of text (it holds U+{ord(ch):04X})", 2)
    return value.strip()


def activity_option(text: str) -> str:
    """--activity: free text, one line; one of ACTIVITIES typed in another case is that one."""
    value = single_line("--activity", text)
    return value.lower() if value.lower() in ACTIVITIES else value


def _shown(value: str) -> str:
    return f' "{value[:30]}"' if value.isprintable() else ""


def resolve_role(option: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """--role, else $CCM_ROLE, else clinical_staff; a bad value names where it came from."""
    if option is not None:
        source, value = "--role", option.strip()
    elif environ.get(ROLE_ENV, "").strip():
        source, value = ROLE_ENV, environ[ROLE_ENV].strip()
    else:
        return "clinical_staff"
    value = value.lower()  # choices are taken in any case, as everywhere
    if value not in timelog.ROLES:
        raise CcmError(f"{source}{_shown(value)} must be clinical_staff or practitioner", 2)
    return value


def resolve_staff(option: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """--staff, else $CCM_STAFF, else the login name: who did the work."""
    if option is not None:
        source, value = "--staff", option
    elif environ.get(STAFF_ENV, "").strip():
        source, value = STAFF_ENV, environ[STAFF_ENV]
    else:
        source, value = "the login name", _login_name()
    staff = single_line(source, value)
    if not staff:
        raise CcmError(f"{source} is empty: say who did the work with --staff or CCM_STAFF", 2)
    return staff


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a bare container, a cron job)
        return ""


def parse_minutes(text: str) -> int:
    raw = text.strip()
    if re.fullmatch(r"[+-]?[0-9]{1,9}", raw):  # `-- -5`: a number, out of range
        return _in_range(int(raw), f"MINUTES {int(raw)} is")
    raise CcmError(f"MINUTES{_shown(raw[:12])} is not a whole number of minutes "
                   f"(1-{timelog.MAX_MINUTES})", 2)  # fmt: skip


def _in_range(minutes: int, what: str) -> int:
    if not 1 <= minutes <= timelog.MAX_MINUTES:
        raise CcmError(f"{what} outside 1-{timelog.MAX_MINUTES} minutes", 2)
    return minutes


def parse_time(name: str, text: str) -> str:
    """HH:MM or H:MM, written back as HH:MM (the form log files hold)."""
    m = _TIME.fullmatch(text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise CcmError(f"{name}{_shown(text[:10])} is not a time of the form HH:MM", 2)
    return f"{int(m[1]):02d}:{m[2]}"


def resolve_minutes(minutes: str | None, start: str, end: str) -> int:
    """MINUTES, or end - start when both times are given; refuses the two disagreeing."""
    if not (start and end):
        if minutes is None:
            raise CcmError("give MINUTES, or both --start and --end", 2)
        return parse_minutes(minutes)
    span = log_rows.minutes_between(start, end) or 0
    if span <= 0:
        raise CcmError(f"--end {end} is not after --start {start}", 2)
    if minutes is not None and parse_minutes(minutes) != span:
        raise CcmError(f"MINUTES {minutes.strip()} disagrees with --start {start} --end {end} "
                       f"({span} minutes)", 2)  # fmt: skip
    return _in_range(span, f"--start {start} --end {end} gives {span} minutes,")


def resolve_service(option: str | None) -> str:
    """--service: empty for the program's own time, else one of the other services (A7)."""
    value = (option or "").strip().lower()
    if value and value not in timelog.OTHER_SERVICES:
        raise CcmError(
            f"--service{_shown(value)} must be one of {', '.join(timelog.OTHER_SERVICES)}", 2
        )
    return value
