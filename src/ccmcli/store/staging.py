"""Writing many patient files as one: all of them or none, even after kill -9 or a full disk.

`patient import` enrols hundreds of patients at once. Each file is first written (and fsynced)
into a staging folder of its own, `.ccm-staging/<id>/`, inside the data directory (so a rename
moves it without copying). Nothing there is read by any command. Then, under the exclusive lock
of `patients/`, a journal `.ccm-import.json` is written atomically: from that instant the import
is committed. The files are moved into `patients/`, and the journal and the staging folder are
removed.

A crash before the journal exists leaves only a staging folder: the next command removes it (the
import never happened; run it again). A crash after leaves the journal: the next command, before
reading any patient, completes it (the import happened). Every command that reads the patient
files holds the shared lock of `patients/` while it lists them, so it waits for a commit in
progress and sees every file of an import or none. An import still staging holds the lock of its
own staging folder, so that it is never mistaken for a crashed one.
"""

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ccmcli.codes.identifiers import is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.store import fileio
from ccmcli.store.datadir import DataDir

JOURNAL = ".ccm-import.json"
STAGING = ".ccm-staging"


@contextlib.contextmanager
def folder_lock(folder: Path, operation: int) -> Iterator[None]:
    """`flock` on a folder. Where folders cannot be locked (some network drives), no lock."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def reading(data: DataDir) -> Iterator[None]:
    """Hold while listing and reading the patient files: an import is then seen whole or not."""
    journal = data.root / JOURNAL
    while True:
        settle(data)
        with folder_lock(data.patients_dir, fcntl.LOCK_SH):
            # A live import holds the exclusive lock from its journal's first byte to its
            # removal: a journal seen here is a crashed one, which the next settle completes.
            if not journal.exists():
                yield
                return


def settle(data: DataDir) -> None:
    """Finish what a crashed import left: complete a committed one, remove an uncommitted one.
    Costs two `stat` calls when there is nothing to do."""
    journal, staging = data.root / JOURNAL, data.root / STAGING
    if not journal.exists() and not staging.exists():
        return
    try:
        with folder_lock(data.patients_dir, fcntl.LOCK_EX):
            if journal.exists():
                _apply(data, journal)
        _remove_abandoned(staging)
    except OSError as exc:
        raise CcmError(
            f"an interrupted `ccm patient import` could not be finished "
            f"({exc.strerror or type(exc).__name__}); run any ccm command again once that is fixed"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise CcmError(
            f"{JOURNAL} (left by an interrupted `ccm patient import`) is not what ccm wrote; "
            f"compare patients/ with {STAGING}/ and remove it"
        ) from None


def _apply(data: DataDir, journal: Path) -> None:
    """Move every staged file of a committed import into patients/ (idempotent), then forget."""
    import json

    record = json.loads(journal.read_text(encoding="utf-8"))
    stage = data.root / STAGING / record["stage"]
    names = [name for name, _ in record["files"]]
    if "/" in record["stage"] or not all(_patient_file_name(n) for n in names):
        raise ValueError("a journal entry names no patient file")
    for name, overwrite in record["files"]:
        staged, target = stage / name, data.patients_dir / name
        if not staged.exists():
            continue  # moved before the crash
        if overwrite:
            os.replace(staged, target)
            continue
        try:
            os.link(staged, target)
        except FileExistsError:
            pass  # a file someone made meanwhile is theirs: never overwritten
        except OSError:  # no hard links on this drive: the commit holds the folder's lock
            if not target.exists():
                os.replace(staged, target)
                continue
        os.unlink(staged)
    fileio.fsync_dir(data.patients_dir)
    journal.unlink()
    fileio.fsync_dir(data.root)


def _patient_file_name(name: object) -> bool:
    return isinstance(name, str) and name.endswith(".yaml") and is_patient_id(name[:-5])


def _remove_abandoned(staging: Path) -> None:
    """Staging folders whose import is no longer running (nobody holds their lock)."""
    try:
        stages = list(staging.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return
    for stage in stages:
        try:
            fd = os.open(stage, os.O_RDONLY)
        except FileNotFoundError:
            continue  # removed by another command meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # an import still writing
        finally:
            os.close(fd)
        shutil.rmtree(stage, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.rmdir()  # only when empty


def write_all(data: DataDir, files: list[tuple[str, str, bool]]) -> None:
    """Write `(name, text, overwrite)` into patients/ as one: every file or none.

    A new file (overwrite False) that exists by the time of the commit is refused (CcmError),
    and then nothing is written.
    """
    import secrets

    settle(data)
    fileio.make_dirs(data.patients_dir)
    stage = data.root / STAGING / f"{os.getpid()}-{secrets.token_hex(4)}"
    fileio.make_dirs(stage)
    fd = os.open(stage, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for name, text, _ in files:
            stage_file(stage / name, text)
        fileio.fsync_dir(stage)
        _commit(data, stage, files)
    finally:
        if not _committed(data, stage):  # else the next command completes it
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                stage.parent.rmdir()
        os.close(fd)


def _committed(data: DataDir, stage: Path) -> bool:
    import json

    try:
        return json.loads((data.root / JOURNAL).read_text(encoding="utf-8"))["stage"] == stage.name
    except (OSError, ValueError, KeyError, TypeError):
        return False


def stage_file(path: Path, text: str) -> None:
    """One staged file, 0600 (0660 when shared), fsynced (the journal must never name a file
    not on disk)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, fileio.modes(path)[0])
    try:
        fileio.share(path, fd)
        fileio.write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(data: DataDir, stage: Path, files: list[tuple[str, str, bool]]) -> None:
    import json

    journal = data.root / JOURNAL
    with folder_lock(data.patients_dir, fcntl.LOCK_EX):
        taken = [
            n for n, _, overwrite in files if not overwrite and (data.patients_dir / n).exists()
        ]
        if taken:
            raise CcmError(f"patient file {data.relative(data.patients_dir / taken[0])} was "
                           "created meanwhile; nothing was imported")  # fmt: skip
        record = {"stage": stage.name, "files": [[n, overwrite] for n, _, overwrite in files]}
        fileio.atomic_write(journal, json.dumps(record), exclusive=True)
        _apply(data, journal)
