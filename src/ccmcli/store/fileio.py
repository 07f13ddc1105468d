"""Writing files so that nothing is ever lost or torn.

Whole files are written to a temporary file in the same folder and renamed over the target
(readers see the old file or the new one, never half). Log appends take an exclusive lock, repair
a missing final newline by starting on a fresh line (a torn row from a crash stays as it is, to be
reported), write the whole row in one `write` call, and fsync before unlocking.
Everything ccm creates is readable by its owner only.
"""

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ccmcli.models.errors import CcmError

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_dirs(path: Path) -> None:
    """Create `path` and missing parents with mode 0700 (existing folders are left alone)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=DIR_MODE)
        os.chmod(d, DIR_MODE)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, *, exclusive: bool = False) -> None:
    """Replace `path` with `data` atomically: temp file (0600), fsync, rename, fsync the folder.

    With `exclusive`, refuse (FileExistsError) when `path` already exists at the moment of the
    rename, so two processes creating the same file cannot overwrite each other.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = _open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        _write_all(fd, raw)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if exclusive:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _link_exclusive(tmp: Path, path: Path) -> None:
    """Move `tmp` to `path` only if `path` does not exist, with no race between check and write.

    A hard link does that atomically. Some shared drives have no hard links: there, `path` is
    reserved with O_EXCL (an empty file for an instant) and the full file renamed over it.
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def locked(path: Path, header: str = "") -> Iterator[int]:
    """Open `path` for appending under an exclusive lock, creating it (0600) with `header`.

    Yields the file descriptor; the caller may read the file while holding the lock.
    """
    make_dirs(path.parent)
    fd = _open_regular(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size == 0 and header:
            _write_all(fd, header.encode("utf-8"))
            os.fsync(fd)
        yield fd
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _open_regular(path: Path, flags: int) -> int:
    """Open a file to write, never through a symbolic link (which could lead outside the data
    directory) and never a pipe or device (which would swallow the rows or block)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CcmError(f"{path} is a symbolic link; ccm writes only regular files "
                           "(replace the link with the file itself)") from None  # fmt: skip
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CcmError(f"{path} is not a regular file (a named pipe? a device?); not written")
    os.set_blocking(fd, True)
    return fd


def _write_all(fd: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_fd(fd: int) -> bytes:
    """The whole file behind `fd`, read by position (an O_APPEND descriptor has no useful offset)."""
    size, chunks, offset = os.fstat(fd).st_size, [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    if size == 0:
        return True
    return os.pread(fd, 1, size - 1) == b"\n"


def append_locked_fd(fd: int, rows: str) -> None:
    """Append `rows` (whole lines, ending in newline) to a locked file, on a fresh line."""
    raw = rows.encode("utf-8")
    if not _ends_with_newline(fd):
        raw = b"\n" + raw
    _write_all(fd, raw)
    os.fsync(fd)


def append_rows(path: Path, rows: str, header: str = "") -> None:
    """Lock `path`, create it with `header` if new, and append `rows` in one write."""
    with locked(path, header) as fd:
        append_locked_fd(fd, rows)
