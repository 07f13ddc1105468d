"""A patient's month so far, judged: what `ccm log`, `ccm stop`, `ccm patient show` and
`ccm explain` print. A read-only view, so it lives among the reports; the actions that write an
entry show it afterwards. Kept small, so `ccm log` loads only this of the reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccmcli.models.months import Month, is_provisional
from ccmcli.rules.engine import Judgement
from ccmcli.rules.judge import judge
from ccmcli.rules.table import rules_for

if TYPE_CHECKING:
    from ccmcli.loader import Practice
    from ccmcli.models.records import Patient


def month_status(practice: Practice, patient: Patient, month: Month) -> Judgement:
    """The patient's month-to-date judgement from the month's log as the loader read it (for
    `ccm log`, under the append's lock, with the new row)."""
    rules, _ = rules_for(month.year)
    log = practice.read_month(month)
    entries = [e for e in log.entries if e.patient_id == patient.id]
    settings = practice.settings
    provisional = is_provisional(month, settings.timezone)
    mine = practice.entry_warnings(month).of(patient.id, entries)
    return judge(patient, month, entries, settings, rules, mine, provisional)


def enrolled(practice: Practice, patient: Patient, month: Month) -> bool:
    """Whether the patient is part of the month (ccm-rules A17): `explain` and `patient show`
    say so when not, in place of a judgement of a month the patient had no part in."""
    from ccmcli.rules.enrolment import part_of_month

    logged = any(e.patient_id == patient.id for e in practice.read_month(month).entries)
    return part_of_month(patient, month, logged)
