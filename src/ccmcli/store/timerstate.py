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
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ccmcli.models.errors import CcmError
from ccmcli.store import fileio
from ccmcli.store.datadir import DataDir

FOLDER = "timers"
_LOCK = ".lock"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Part:
    """One day's share of a stopped timer: the log entry the stop writes for it."""

    day: date
    start: str
    end: str
    minutes: int
    entry_id: str = ""

    def state(self) -> dict:
        return {"id": self.entry_id, "date": self.day.isoformat(), "start": self.start,
                "end": self.end, "minutes": self.minutes}  # fmt: skip

    @classmethod
    def from_state(cls, d: dict) -> "Part":
        return cls(date.fromisoformat(d["date"]), str(d["start"]), str(d["end"]),
                   int(d["minutes"]), str(d["id"]))  # fmt: skip


@dataclass
class Timer:
    """A running timer as its file holds it; `stop` is set once a stop has decided its end, note
    and parts (with their entry ids), before any of them is written."""

    staff: str
    patient_id: str
    started: datetime
    role: str
    activity: str
    service: str
    patient_sha256: str
    stop: dict | None = None
    path: Path | None = None

    def state(self) -> dict:
        return {"version": 1, "staff": self.staff, "patient_id": self.patient_id,
                "started": self.started.isoformat(), "role": self.role,
                "activity": self.activity, "service": self.service,
                "patient_sha256": self.patient_sha256, "stop": self.stop}  # fmt: skip

    def parts(self) -> list[Part]:
        return [Part.from_state(p) for p in (self.stop or {}).get("parts", [])]


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
        _ignore_lock(folder(data))
        yield


def _ignore_lock(timers: Path) -> None:
    """`timers/.gitignore` names the lock file, so a data directory kept in git does not show it
    (contract 1). Written once; one a person edited is left alone."""
    path = timers / ".gitignore"
    if not path.exists():
        with contextlib.suppress(OSError):
            fileio.atomic_write(path, f"{_LOCK}\n")


def load(data: DataDir, staff: str) -> Timer | None:
    """The staff member's timer, or None when none runs."""
    path = state_path(data, staff)
    state = _read(data, path)
    return None if state is None else _timer(data, path, state)


def _read(data: DataDir, path: Path) -> dict | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        state = None
    return state if isinstance(state, dict) else _damaged(data, path)


def _damaged(data: DataDir, path: Path):
    raise CcmError(f"{data.relative(path)} is not a timer file ccm can read; move it away")


def _timer(data: DataDir, path: Path, s: dict) -> Timer:
    try:
        timer = Timer(str(s["staff"]), str(s["patient_id"]), datetime.fromisoformat(s["started"]),
                      str(s["role"]), str(s["activity"]), str(s.get("service") or ""),
                      str(s["patient_sha256"]), s.get("stop"), path)  # fmt: skip
        timer.parts()
    except (KeyError, TypeError, ValueError, AttributeError):
        return _damaged(data, path)
    return timer if timer.started.tzinfo is not None else _damaged(data, path)


def save(timer: Timer) -> None:
    assert timer.path is not None
    fileio.atomic_write(timer.path, json.dumps(timer.state(), indent=2, ensure_ascii=False) + "\n")


def remove(timer: Timer) -> None:
    """Delete the timer's file and make the deletion durable (a stop must not come back)."""
    assert timer.path is not None
    with contextlib.suppress(FileNotFoundError):
        timer.path.unlink()
    fd = os.open(timer.path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def all_timers(data: DataDir) -> list[Timer]:
    """Every timer file in the folder (temporary files and the lock are skipped), by name."""
    try:
        names = sorted(e.name for e in os.scandir(folder(data)))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            path = folder(data) / name
            state = _read(data, path)
            if state is not None:
                out.append(_timer(data, path, state))
    return out
