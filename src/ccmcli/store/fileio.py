"""Writing files so that nothing is ever lost or torn.

Whole files are written to a temporary file in the same folder and renamed over the target
(readers see the old file or the new one, never half). Log appends take an exclusive lock, repair
a missing final newline by starting on a fresh line (a torn row from a crash stays as it is, to be
reported), write the whole row in one `write` call, and fsync before unlocking. Having the lock,
they check that the path still names the file locked (a sync client or `git pull` may have
replaced it while ccm waited) and start again on the new file if not. A write that fails (a full
disk) is undone: an append is truncated back to the size before it, a temporary file removed.

Everything ccm creates is readable by its owner only (0600 / 0700), unless ccm.yaml says
`shared: group` (contract 1): then what it creates inside the data directory belongs to the data
directory's group and is readable and writable by it (0660 / 2770, the setgid bit so that what
others create below stays the group's), as git's `core.sharedRepository` does. That is decided
here alone (`share`, `modes`), for every file and folder ccm writes; record_files.load_settings
tells it which data directory is shared.
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
GROUP_FILE_MODE = 0o660
GROUP_DIR_MODE = 0o2770

# The data directory whose `shared: group` is in force, and its group; None: everything private.
_shared: tuple[str, int] | None = None


def share_with_group(root: Path | None) -> None:
    """From now on, what ccm creates inside `root` is its group's (ccm.yaml `shared: group`);
    None: everything private. Set each time ccm.yaml is read."""
    global _shared
    if root is None:
        _shared = None
        return
    try:
        gid = os.stat(root).st_gid
    except OSError:
        _shared = None
        return
    _shared = (os.path.join(os.path.abspath(root), ""), gid)


def modes(path: Path | str) -> tuple[int, int, int | None]:
    """(file mode, folder mode, group or None) for what ccm creates at `path`."""
    if _shared is not None and os.path.abspath(path).startswith(_shared[0]):
        return GROUP_FILE_MODE, GROUP_DIR_MODE, _shared[1]
    return FILE_MODE, DIR_MODE, None


def share(path: Path | str, fd: int | None = None) -> None:
    """Give a file or folder ccm has just created its mode (the umask may have taken bits away)
    and, when shared, the data directory's group."""
    file_mode, dir_mode, gid = modes(path)
    if gid is None:
        return  # private: created 0600 / 0700, which no umask widens
    with contextlib.suppress(OSError):
        st = os.fstat(fd) if fd is not None else os.lstat(path)
        if st.st_uid != os.geteuid():
            return  # another login's file: theirs to share, and already shared
        mode = dir_mode if stat.S_ISDIR(st.st_mode) else file_mode
        if st.st_gid != gid:
            os.chown(fd if fd is not None else path, -1, gid)
        os.chmod(fd if fd is not None else path, mode)


def make_dirs(path: Path) -> None:
    """Create `path` and missing parents with mode 0700, or 2770 and the data directory's group
    with `shared: group` (existing folders are left alone)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        mode = modes(d)[1]
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=mode & 0o777)
        os.chmod(d, mode & 0o777)
        share(d)


def would_create_home(path: Path) -> bool:
    """True when making `path` would create the home folder or a folder above it: ccm never
    creates HOME (contract 2), e.g. `HOME=/nonexistent` for a system user run as root."""
    home = Path(os.path.expanduser("~"))
    if not home.is_absolute():
        return True
    p = Path(os.path.abspath(path))
    while not p.exists():
        if p == home or p in home.parents:
            return True
        if p.parent == p:
            break
        p = p.parent
    return False


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, *, exclusive: bool = False) -> None:
    """Replace `path` with `data` atomically: temp file (0600), fsync, rename, fsync the folder.

    With `exclusive`, refuse (FileExistsError) when `path` already exists at the moment of the
    rename, so two processes creating the same file cannot overwrite each other. Whatever fails,
    the temporary file is removed: it may hold patient data, and it is nobody's file.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    make_dirs(path.parent)
    tmp = temp_name(path)
    try:
        fd = _open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """`.NAME.PID.tmp` beside `path`: hidden, and named so `validate` can tell a leftover."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


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


def same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (device and inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (st.st_dev, st.st_ino)


def open_locked(path: Path, flags: int, operation: int, mode: int | None = None) -> int:
    """Open `path` and take the `flock` `operation` on it, so that the lock is on the file the
    path names once it is held: when the file was replaced or removed while waiting (a sync
    client, `git pull`), the lock is on a file nobody will read again, so open the new one and
    wait again. Raises FileNotFoundError when the file is gone and `flags` do not create it.
    The caller closes the descriptor (which releases the lock)."""
    while True:
        fd = _open_regular(path, flags, mode)
        try:
            fcntl.flock(fd, operation)
            if same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # closing also releases the lock on the stale file


@contextlib.contextmanager
def locked(path: Path, header: str = "") -> Iterator[int]:
    """Open `path` for appending under an exclusive lock, creating it (0600) with `header`.

    Yields the file descriptor; the caller may read the file while holding the lock. A file this
    call created is removed again when the caller fails before adding anything to the header,
    so a failed command leaves the folder as it found it.
    """
    make_dirs(path.parent)
    fd = open_locked(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, fcntl.LOCK_EX)
    created = os.fstat(fd).st_size == 0 and bool(header)
    try:
        if created:
            _append_raw(fd, header.encode("utf-8"))
        yield fd
    except BaseException:
        empty = os.fstat(fd).st_size <= len(header.encode("utf-8"))
        if created and empty and same_file(fd, path):
            with contextlib.suppress(OSError):
                os.unlink(path)  # a waiting writer sees the file gone and creates it anew
        raise
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _open_regular(path: Path, flags: int, mode: int | None = None) -> int:
    """Open a file to write, never through a symbolic link (which could lead outside the data
    directory) and never a pipe or device (which would swallow the rows or block). A file it
    may create gets the mode `modes` gives (and the group, when shared)."""
    mode = modes(path)[0] if mode is None else mode
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CcmError(f"{path} is a symbolic link; ccm writes only regular files "
                           "(replace the link with the file itself)") from None  # fmt: skip
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CcmError(f"{path} is not a regular file (a named pipe? a device?); not written")
    os.set_blocking(fd, True)
    if flags & os.O_CREAT:
        share(path, fd)
    return fd


def write_all(fd: int, raw: bytes) -> None:
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
    """Append `rows` (whole lines, ending in newline) to a locked file, on a fresh line.

    All or nothing: when the write or the fsync fails (a full disk, a quota, a size limit), the
    file is truncated back to its size before, so no partial row is left for the next append to
    complete (which would make the failed entry count) and a retry writes the row once.
    """
    raw = rows.encode("utf-8")
    if not _ends_with_newline(fd):
        raw = b"\n" + raw
    _append_raw(fd, raw)


def _append_raw(fd: int, raw: bytes) -> None:
    size = os.fstat(fd).st_size
    try:
        write_all(fd, raw)
        os.fsync(fd)
    except BaseException:
        _truncate_back(fd, size)
        raise


def _truncate_back(fd: int, size: int) -> None:
    """Undo a failed append. Shrinking a file needs no free space; if even this fails, the
    torn tail is left for the readers, which report it and never count it."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, size)
        os.fsync(fd)


def append_rows(path: Path, rows: str, header: str = "") -> None:
    """Lock `path`, create it with `header` if new, and append `rows` in one write."""
    with locked(path, header) as fd:
        append_locked_fd(fd, rows)
