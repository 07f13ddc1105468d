"""Creating a data directory (contract section 1)."""

from pathlib import Path

from pydantic import ValidationError

from ccmcli.models.error_words import field_errors
from ccmcli.models.errors import CcmError
from ccmcli.models.records import Settings
from ccmcli.store import fileio, yamlio
from ccmcli.store.datadir import SETTINGS_FILE


def create_data_dir(root: Path, practice: str, timezone: str, npi: str, pos: str = "11") -> Path:
    """Write ccm.yaml and the three folders (0700); refuse a folder that already has ccm.yaml."""
    try:
        settings = Settings(
            practice=practice, timezone=timezone, billing_npi=npi, place_of_service=pos
        )
    except ValidationError as exc:
        first = field_errors(exc)[0]
        name = {"billing_npi": "--npi", "timezone": "--timezone", "practice": "--practice",
                "place_of_service": "--place-of-service"}.get(str(first.loc[0]), "")  # fmt: skip
        raise CcmError(f"{name} {first.text}", 2) from None
    if (root / SETTINGS_FILE).exists():
        raise CcmError(f"{root / SETTINGS_FILE} already exists; not overwriting it")
    for sub in ("patients", "logs", "exports"):
        fileio.make_dirs(root / sub)
    text = yamlio.dump(
        settings.model_dump(include={"practice", "timezone", "billing_npi", "place_of_service"})
    )
    try:
        fileio.atomic_write(root / SETTINGS_FILE, text, exclusive=True)
    except FileExistsError:
        raise CcmError(f"{root / SETTINGS_FILE} already exists; not overwriting it") from None
    return root.resolve()
