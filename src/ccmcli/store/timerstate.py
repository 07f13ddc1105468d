"""Running timers on disk: one small JSON file per staff member in `timers/` (contract section 7).

A timer must outlive a closed terminal or a crash, so its state is a file in the data directory,
written whole (temp file, fsync, rename) and readable by its owner only. The file name comes from
the staff name through `staff_key`, which can only yield letters, digits and `-`: no name can
reach outside the folder, and names that differ only in case or punctuation never share a file
(the name itself is kept inside the file). Changes take one lock for the folder, so two
`ccm stop` at once cannot both turn the same timer into entries.
"""

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ccmcli.models.errors import CcmError
from ccmcli.store import fileio
from ccmcli.store.datadir import DataDir

FOLDER = "timers"
_LOCK = ".lock"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def folder(data: DataDir) -> Path:
    return data.root / FOLDER


def staff_key(staff: str) -> str:
    """`rn-alvarez-3f1c...`: a readable part plus a hash of the exact name, safe as a file name."""
    slug = _NOT_SLUG.sub("-", staff.lower()).strip("-")[:40].strip("-") or "staff"
    digest = hashlib.sha256(staff.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}"


def state_path(data: DataDir, staff: str) -> Path:
    return folder(data) / f"{staff_key(staff)}.json"


@contextlib.contextmanager
def locked(data: DataDir) -> Iterator[None]:
    """Hold the timers folder's lock (a separate file: state files are replaced, not edited)."""
    with fileio.locked(folder(data) / _LOCK):
        yield


def read(data: DataDir, path: Path) -> dict | None:
    """The state in `path`, or None when there is none; a damaged file is refused by name."""
    rel = data.relative(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        state = None
    if not isinstance(state, dict):
        raise CcmError(f"{rel} is not a timer file ccm can read; move it away to go on")
    return state


def write(path: Path, state: dict) -> None:
    fileio.atomic_write(path, json.dumps(state, indent=2, ensure_ascii=False) + "\n")


def remove(path: Path) -> None:
    """Delete the state file and make the deletion durable (a stop must not come back)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def all_states(data: DataDir) -> list[tuple[Path, dict]]:
    """Every timer file in the folder (temporary files and the lock are skipped), by name."""
    try:
        names = sorted(e.name for e in os.scandir(folder(data)))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            path = folder(data) / name
            state = read(data, path)
            if state is not None:
                out.append((path, state))
    return out
