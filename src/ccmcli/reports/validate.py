"""`ccm validate`: every file checked, every problem found, nothing stops at the first.

It is the loader run over every file (loader.py), printed: every other command gets the same
checks from the same loader, so none can believe a file that `validate` rejects.
"""

from ccmcli.loader import Practice, load
from ccmcli.models.findings import sort_key
from ccmcli.reports.month_record import closed_month_problems
from ccmcli.store.datadir import DataDir


def validate(data: DataDir, code_check: bool = True) -> Practice:
    """Every file of the data directory through the loader, and every closed month judged again
    against its close record (month_record.py): the problems sorted by file and line, and `notes`
    on checks that could not run (the ICD-10-CM code set missing)."""
    practice = load(data, every_file=True, code_check=code_check)
    practice.problems += closed_month_problems(practice)
    practice.problems.sort(key=sort_key)
    return practice
