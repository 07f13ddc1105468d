"""Only regular files inside the data directory are read or written.

A named pipe in logs/ would make every command wait forever for a writer, a device would be read
without end, and a symbolic link could lead a read, or worse a write of patient rows, to a place
outside the folder the practice secures. So a file is opened without blocking and read only when
it is a regular file, and only when its real location (links resolved) is inside the data
directory; a file is written only when it is a regular file or missing, never through a link,
in a folder whose real location is inside the data directory.
"""

import errno
import os
import stat
from pathlib import Path

from ccmcli.models.errors import CcmError

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


class NotReadable(OSError):
    """A file ccm will not read; `strerror` says why in words a problem can carry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.strerror = reason


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in plain words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def inside(root: Path, path: Path | str) -> bool:
    """Whether `path`, every link resolved, is `root` or lies under it."""
    return _plain_under(root, path) or _resolved_under(root, path)


def _plain_under(root: Path, path: Path | str) -> bool:
    """The common case, cheaply: `path` is spelled under `root` and nothing below `root` on the
    way to it is a link (a component that does not exist leads nowhere)."""
    base, text = os.fspath(root).rstrip(os.sep), os.fspath(path)
    if not text.startswith(base + os.sep):
        return text == base
    here = base
    for part in text[len(base) + 1 :].split(os.sep):
        if part in ("", ".", ".."):
            return False
        here += os.sep + part
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return False
        except FileNotFoundError:
            return True
    return True


def _resolved_under(root: Path, path: Path | str) -> bool:
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def read_bytes(root: Path | None, path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file at `path`, whose real location must be inside `root`
    (None: anywhere). FileNotFoundError when it is missing; NotReadable when it is a pipe, a
    device, a folder, a link leading outside, or longer than `limit` bytes."""
    fd, size = _open(root, path)
    try:
        return read_fd(fd, size, limit)
    finally:
        os.close(fd)


def check_readable(root: Path | None, path: Path) -> None:
    """Raise what read_bytes would raise for `path` (but for its length), reading nothing."""
    os.close(_open(root, path)[0])


def _open(root: Path | None, path: Path) -> tuple[int, int]:
    """An open descriptor of the regular file at `path` and its size, as read_bytes asks."""
    target, flags = os.fspath(path), _READ_FLAGS
    if root is not None:
        if _plain_under(root, target):
            flags |= os.O_NOFOLLOW  # checked to be no link: one swapped in since is refused
        else:
            target = os.path.realpath(path)
            if not _resolved_under(root, target):
                if not os.path.lexists(path):
                    raise FileNotFoundError(2, "No such file or directory", str(path))
                raise NotReadable("it leads outside the data directory (a symbolic link?)")
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotReadable("it was replaced by a symbolic link while being read") from None
        raise
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotReadable(f"it is {kind(st.st_mode)}, not a regular file")
    return fd, st.st_size


def read_fd(fd: int, size_hint: int = 0, limit: int | None = None) -> bytes:
    """Everything left in `fd`, in bounded reads, refusing (NotReadable) more than `limit`."""
    chunks, total = [], 0
    want = max(size_hint + 1, _CHUNK)
    while True:
        if limit is not None:
            want = min(want, limit + 1 - total)
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if limit is not None and total > limit:
            raise NotReadable(f"it is larger than {limit:,} bytes")
        want = _CHUNK
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


MAX_INPUT = 64 * 1024 * 1024  # what a command reads from a file a person names (a roster)


def read_stream(stream, name: str, limit: int | None = None) -> bytes:
    """All of a file a person named, or standard input: a regular file, a pipe or a terminal.
    A device (`/dev/zero`) or folder is refused (CcmError, exit 2) before reading, and more than
    `limit` bytes (exit 1) after reading at most one byte more."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None  # an in-memory stream (tests): nothing to look at
    if fd is not None:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode) or stat.S_ISBLK(mode) or (stat.S_ISCHR(mode) and not os.isatty(fd)):
            raise CcmError(f"cannot read {name}: it is {kind(mode)}, not a file", 2)
    limit = MAX_INPUT if limit is None else limit
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"
        raise CcmError(f"{name} is larger than {size}: split it and read each part")
    return raw


def check_writable(root: Path, path: Path) -> None:
    """Refuse (CcmError) to write `path` unless its folder is really inside `root` and `path` is
    a regular file or missing: a symbolic link is never followed for writing."""
    rel = _relative(root, path)
    if not inside(root, path.parent):
        raise CcmError(f"{rel}: its folder leads outside the data directory (a symbolic link?); "
                       "ccm writes only inside it")  # fmt: skip
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise CcmError(f"{rel} is {kind(st.st_mode)}, not a regular file; ccm writes only "
                       "regular files (replace it with the file itself)")  # fmt: skip


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
