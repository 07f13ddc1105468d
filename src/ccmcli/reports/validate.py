"""`ccm validate`: every file checked, every problem found, nothing stops at the first.

It is the loader run over every file (loader.py), printed: every other command gets the same
checks from the same loader, so none can believe a file that `validate` rejects.
"""

from ccmcli.loader import Practice, load
from ccmcli.store.datadir import DataDir


def validate(data: DataDir, code_check: bool = True) -> Practice:
    """Every file of the data directory through the loader: its problems sorted by file and line,
    and `notes` on checks that could not run (the ICD-10-CM code set missing)."""
    return load(data, every_file=True, code_check=code_check)
