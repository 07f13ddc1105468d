"""Caches of parsed files, so a large practice is not re-read from YAML and CSV on every command.

They hold what the files hold, patient data included (names, birth dates, MBIs, notes), so they
stay inside the data directory, the folder the practice secures: `.ccm-cache/<user>/` (0700,
files 0600), one folder per user since each person's cache must be private to that person. The
folder ignores itself for git (a `.gitignore` of `*` inside it, as `ccm init` also lists it in the
data directory's `.gitignore`), and `validate` never reads it. Deleting it changes nothing but
speed; `ccm cache clear` does that, and `CCM_NO_CACHE=1` turns caching off.

A cached result is used only while its file's signature (size, mtime_ns, ctime_ns, inode) is
unchanged, so an edited, added or removed file is seen by the very next command. A file changed
within RACY_NS before it was read is not cached: an edit in the same timestamp tick could keep
the signature (git's "racily clean" rule). Every cache file starts with a key covering ccm's
parsing code, the library versions and Python's, is checked by length and CRC, is read only when
this user owns it and nobody else may write it, and is written privately (0600, folder 0700) by
rename, so readers see a whole file or none. Any failure to read one is simply a miss.

This module has the machinery the caches share; record_cache.py caches records (ccm.yaml and
the patient files), logcache.py month logs, reports/month_totals.py judged months' totals.
"""

import contextlib
import hashlib
import marshal
import os
import pickle
import stat
import sys
import zlib
from functools import cache
from pathlib import Path

from ccmcli.store.fileio import make_dirs

FORMAT = "1"
RACY_NS = 2_000_000_000
ENV_OFF = "CCM_NO_CACHE"
# Everything that shapes a parsed file or its stored form; a change to any of them is a new key.
_SOURCES = ("store/cache.py", "store/record_cache.py", "store/logcache.py", "store/record_files.py",
            "store/yamlio.py", "store/timelog.py", "store/log_rows.py", "store/log_parser.py",
            "store/datadir.py", "store/regular_files.py", "store/csv_safe.py",
            "models/records.py", "models/record_schema.py", "models/field_types.py", "models/error_words.py", "models/months.py",
            "models/findings.py", "codes/identifiers.py", "rules/table.py")  # fmt: skip
_LIBRARIES = ("pydantic", "pydantic_core", "yaml", "_yaml")

Signature = tuple[int, int, int, int]


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def trusted(sig: Signature | None, read_at_ns: int) -> Signature | None:
    """The signature, or None when the file changed too recently to be told apart (RACY_NS)."""
    if sig is None or max(sig[1], sig[2]) >= read_at_ns - RACY_NS:
        return None
    return sig


def enabled() -> bool:
    return not os.environ.get(ENV_OFF)


FOLDER = ".ccm-cache"
_SELF_IGNORE = "# ccm's caches: derived from the files beside it, private, never committed\n*\n"


def user_name() -> str:
    """The folder of this user's caches: the login name of the process's user id."""
    return _user_name(os.getuid())


@cache
def _user_name(uid: int) -> str:
    import pwd

    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = ""
    ok = name and all(c.isalnum() or c in "._-" for c in name) and not name.startswith(".")
    return name if ok else f"uid{uid}"


def cache_folder(root: Path) -> Path:
    """`<data directory>/.ccm-cache/<user>`."""
    return root / FOLDER / user_name()


def cache_file(root: Path, kind: str, suffix: str = "") -> Path:
    """`<data directory>/.ccm-cache/<user>/<kind><suffix>.cache`."""
    return cache_folder(root) / f"{kind}{suffix}.cache"


def _prepare(folder: Path) -> None:
    """Create the user's cache folder (0700) and the self-ignoring `.gitignore` above it.
    Refuses (OSError: no cache) a folder that is a symlink, someone else's, or open to others:
    in a shared data directory, nobody else may decide where this user's copies go."""
    make_dirs(folder)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder of this user")
    ignore = folder.parent / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(FileExistsError):
            fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_SELF_IGNORE)


def legacy_files(root: Path) -> list[Path]:
    """Caches of this data directory that earlier versions kept in the user's cache folder
    (`$CCM_CACHE_DIR` or XDG), named by a hash of its path: `ccm cache clear` removes them."""
    from ccmcli.store.icd10 import default_cache_dir

    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:32]
    base = default_cache_dir()
    return sorted(p for kind in ("records", "logs") for p in (base / kind).glob(f"{digest}*.cache"))


def clear(root: Path) -> int:
    """Remove this user's caches of the data directory, and old ones outside it; how many files.
    Other users' cache folders are theirs to clear (and not ours to read)."""
    import shutil

    folder = cache_folder(root)
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    files += legacy_files(root)
    shutil.rmtree(folder, ignore_errors=True)
    for path in legacy_files(root):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    top = root / FOLDER
    if top.is_dir() and {p.name for p in top.iterdir()} <= {".gitignore"}:
        shutil.rmtree(top, ignore_errors=True)
    return len(files)


@cache
def code_key() -> str:
    """Changes whenever the code that parses files could give another result."""
    import importlib.util

    h = hashlib.sha256(f"{FORMAT} {sys.version} {marshal.version}".encode())
    here = Path(__file__).parent.parent  # the ccmcli package
    for name in _SOURCES:
        with contextlib.suppress(OSError):
            h.update(name.encode() + (here / name).read_bytes())
    for lib in _LIBRARIES:
        spec = importlib.util.find_spec(lib)  # finds the files without importing them
        origin = spec.origin if spec else None
        with contextlib.suppress(OSError, TypeError):
            st = os.stat(origin)  # type: ignore[arg-type]
            h.update(repr((lib, origin, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()[:24]


def write_private(path: Path, header_numbers: list[int], *parts: bytes) -> None:
    """Write a cache file: key and numbers on the first line, then `parts`. Not fsynced (a cache
    torn by a crash fails its CRC); a cache that cannot be written is no error, since a
    read-only data directory still gets right answers, only slower."""
    header = " ".join(("ccm-cache", FORMAT, code_key(), *map(str, header_numbers))) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        _prepare(path.parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # a leftover of a crash: the new file must be created 0600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(header.encode("ascii"))
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def open_private(path: Path):
    """(open file positioned after the header, header numbers), or None when the file is
    missing, not private to this user, or written by other code."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (returned to the caller, who closes it)
    except OSError:
        return None
    st = os.fstat(f.fileno())
    words = f.readline(300).decode("ascii", "replace").split()
    ok = (
        st.st_uid == os.getuid()
        and not st.st_mode & 0o077
        and words[:3] == ["ccm-cache", FORMAT, code_key()]
    )
    try:
        numbers = [int(w) for w in words[3:]] if ok else None
    except ValueError:
        numbers = None
    if numbers is None:
        f.close()
        return None
    return f, numbers


def read_checked(f, length: int, crc: int) -> bytes | None:
    """`length` bytes from `f` if they are all there and match `crc`."""
    raw = f.read(length)
    return raw if len(raw) == length and zlib.crc32(raw) == crc else None


def write_value(path: Path, value: object) -> None:
    """A cache file of one marshal value (lists, dicts, strings, numbers), checked by length and
    CRC: what most caches keep."""
    raw = marshal.dumps(value)
    write_private(path, [len(raw), zlib.crc32(raw)], raw)


def read_value(path: Path) -> object:
    """The value `write_value` wrote, or None when the file is missing, foreign, damaged or not
    private to this user: a miss."""
    opened = open_private(path)
    if opened is None:
        return None
    f, numbers = opened
    with f:
        raw = read_checked(f, *numbers) if len(numbers) == 2 else None
    try:
        return marshal.loads(raw) if raw is not None else None
    except (EOFError, ValueError, TypeError):
        return None


def unpickle(raw: bytes) -> object:
    try:
        return pickle.loads(raw)
    except Exception:  # a damaged or foreign pickle is a miss, whatever it raises
        return None
