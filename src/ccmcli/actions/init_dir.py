"""Creating a data directory (contract section 1)."""

import contextlib
from pathlib import Path

from pydantic import ValidationError

from ccmcli.models.error_words import field_errors
from ccmcli.models.errors import CcmError
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Settings
from ccmcli.store import fileio, yamlio
from ccmcli.store.datadir import SETTINGS_FILE


def create_data_dir(root: Path, practice: str, timezone: str, npi: str, pos: str = "11") -> Path:
    """Write ccm.yaml, the three folders (0700) and a `.gitignore` for the caches; refuse a
    folder that already has ccm.yaml."""
    try:
        settings = validate(
            Settings,
            {"practice": practice, "timezone": timezone, "billing_npi": npi,
             "place_of_service": pos},
        )  # fmt: skip
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
    ignore_caches(root)
    return root.resolve()


GITIGNORE = ".gitignore"
IGNORED = ".ccm-cache/"


def ignore_caches(root: Path) -> None:
    """List the caches (patient data, per user) in the folder's `.gitignore`, so a practice
    that keeps its data directory in git never commits them; an existing file gets the line.
    Best effort: the cache folder also ignores itself (store/cache.py)."""
    path = root / GITIGNORE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError:
        return
    with contextlib.suppress(OSError):
        if raw is None:
            fileio.atomic_write(
                path, f"# ccm's caches of parsed files: private to each user\n{IGNORED}\n"
            )
        elif IGNORED not in (line.strip() for line in raw.decode("utf-8", "replace").splitlines()):
            fileio.append_rows(path, f"{IGNORED}\n")
