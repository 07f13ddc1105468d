"""Shell completion (`ccm --install-completion` sets up bash, zsh or fish): patient ids, the
allowed values of `--activity`, `--service`, `--role` and `--status`, the months that have a
log, and the entry ids of the current month for `ccm void`.

The shell runs ccm on every Tab, so this lists file names and reads at most one month's log:
no patient file is read and pydantic is never imported. Any trouble (no data directory yet, an
unreadable folder) completes nothing rather than printing an error into the command line.
"""

import os
from pathlib import Path

# `ccm check --status` accepts these (contract 3's statuses, and error); check_commands checks them.
STATUSES = ("billable", "blocked", "below_threshold", "no_time", "error")


def _chosen_dir(ctx) -> Path | None:
    """-d after the command, else -d before it; None leaves the choice to find_data_dir."""
    while ctx is not None:
        for name in ("data", "data_dir"):
            value = ctx.params.get(name)
            if value:
                return Path(value)
        ctx = ctx.parent
    return None


def patient_ids(ctx, incomplete: str) -> list[str]:
    """Ids of the data directory's patients that start with what has been typed, sorted."""
    from ccmcli.codes.identifiers import is_patient_id
    from ccmcli.models.errors import CcmError
    from ccmcli.store.datadir import find_data_dir

    try:
        folder = find_data_dir(_chosen_dir(ctx)).patients_dir
        names = [e.name for e in os.scandir(folder) if e.name.endswith(".yaml")]
    except (CcmError, OSError):
        return []
    ids = (n.removesuffix(".yaml") for n in names)
    return sorted(i for i in ids if i.startswith(incomplete) and is_patient_id(i))


def _starting(values, incomplete: str) -> list[str]:
    typed = incomplete.lower()
    return [v for v in values if v.lower().startswith(typed)]


def activities(incomplete: str) -> list[str]:
    from ccmcli.actions.entry_input import ACTIVITIES

    return _starting(ACTIVITIES, incomplete)


def services(incomplete: str) -> list[str]:
    from ccmcli.store.timelog import OTHER_SERVICES

    return _starting(OTHER_SERVICES, incomplete)


def roles(incomplete: str) -> list[str]:
    from ccmcli.store.timelog import ROLES

    return _starting(ROLES, incomplete)


def statuses(incomplete: str) -> list[str]:
    return _starting(STATUSES, incomplete)


def _data_dir(ctx):
    from ccmcli.models.errors import CcmError
    from ccmcli.store.datadir import find_data_dir

    try:
        return find_data_dir(_chosen_dir(ctx))
    except (CcmError, OSError):
        return None


def log_months(ctx, incomplete: str) -> list[str]:
    """The months that have a log (`logs/YYYY-MM.csv`), newest first."""
    from ccmcli.codes.identifiers import is_month

    data = _data_dir(ctx)
    try:
        names = [e.name for e in os.scandir(data.root / "logs")] if data else []
    except OSError:
        return []
    months = (n.removesuffix(".csv") for n in names if n.endswith(".csv"))
    return sorted((m for m in months if is_month(m) and m.startswith(incomplete)), reverse=True)


def _timezone(root: Path) -> str | None:
    """ccm.yaml's `timezone:` read as a line of text: parsing the settings would cost pydantic
    on every Tab."""
    import re

    try:
        text = (root / "ccm.yaml").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^timezone:[ \t]*[\"']?([A-Za-z0-9_+/-]+)", text, re.M)
    return found[1] if found else None


def entry_ids(ctx, incomplete: str) -> list[str]:
    """`ccm void`: the ids of the current month's entries that no void row cancels yet (void
    rows themselves aside), from the month's log alone."""
    import csv

    from ccmcli.models.errors import CcmError
    from ccmcli.models.months import current_month

    data = _data_dir(ctx)
    tz = _timezone(data.root) if data else None
    if tz is None:
        return []
    try:
        path = data.root / "logs" / f"{current_month(tz)}.csv"
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except (CcmError, OSError, UnicodeDecodeError, csv.Error):
        return []
    if not rows or "id" not in rows[0] or "voids" not in rows[0]:
        return []
    at_id, at_voids = rows[0].index("id"), rows[0].index("voids")
    width = max(at_id, at_voids) + 1
    voided = {r[at_voids] for r in rows[1:] if len(r) >= width and r[at_voids]}
    ids = [r[at_id] for r in rows[1:] if len(r) >= width and r[at_id] and not r[at_voids]]
    return [i for i in ids if i not in voided and i.startswith(incomplete)]
