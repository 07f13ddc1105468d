"""Shell completion of patient ids (`ccm --install-completion` sets up bash, zsh or fish).

The shell runs ccm on every Tab, so this lists `patients/*.yaml` file names and nothing more:
no patient file is read and pydantic is never imported. Any trouble (no data directory yet, an
unreadable folder) completes nothing rather than printing an error into the command line.
"""

import os
from pathlib import Path


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
