"""Derived data kept between runs: the one place that decides where it lives, how it is keyed,
when it is fresh and what happens when it cannot be kept.

A large practice would otherwise be read from YAML and CSV, and judged, on every command. What
is kept holds what the files hold, patient data included, so it stays inside the data
directory, the folder the practice secures: `.ccm-cache/<user>/` (0700, files 0600), one folder
per user, since a kept value is believed only when this user wrote it (some hold pickles, which
run code when loaded). The folder ignores itself for git, `validate` never reads it, and
deleting it changes nothing but speed: `ccm cache clear` does that, `CCM_NO_CACHE=1` turns
caching off. With `shared: group`, `.ccm-cache/` itself is the group's (2770), so each login
can make its own folder there.

**One key scheme.** A kept value is stored with the key of everything it was derived from and
used only while that key is what it would be now. A key is a SHA-256 of:
- `code_key()`: every file of the installed ccmcli package (walked, not listed), Python, and the
  libraries that parse files or hold the code set;
- the fingerprint of every input file the loader read: its signature (size, mtime_ns, ctime_ns,
  inode) when it is a regular file, else what it is (missing, a folder, a link...), so a folder
  replaced by a plain file is a new key (`fingerprint`, `folder_kinds`);
- whatever else the caller's answer depends on (a month, the ids of the patients, settings).

**One freshness rule**, here and nowhere else (tests/test_cache_freshness.py fails on a module
that compares signatures, applies the racy rule or hashes a file's bytes itself):
- a value derived from a file is kept under the file's signature as it was when read
  (`stamp`), and used while the signature is that one now (`fresh`);
- a signature that changed within RACY_NS before it was read cannot be told apart from an edit
  in the same timestamp tick (git's "racily clean" rule): `stamp` gives None, so nothing is kept
  under it, keyed by it, or ever fresh by it;
- a file that only grows (a month log: `ccm log` appends all day) is judged by its bytes, not
  its signature: the bytes read before are kept as their length and SHA-256 (`digest`), and
  what was derived from them still holds while the file begins with them (`grown`); whether it
  holds the very bytes or others follow them is `since`'s answer, which logcache.py turns into
  "use it", "read on from there" or "read it all".

**Failure is a miss.** A cache that cannot be created, read or written (another user's folder,
a read-only data directory, a full disk, a damaged or foreign file) is skipped without a word:
every function here returns "nothing kept" instead of raising, so a cache can never change an
exit code or an answer. Files are written by rename (readers see a whole file or none), checked
by length and CRC, and read only when this user owns them and nobody else may write them.

What to keep is said by small modules per kind of value: record_cache.py (ccm.yaml and the
patient files, parsed), logcache.py (month logs, parsed), store/entry_ids.py (a month's ids, the
reused-id answer), reports/judged_lines.py (a month's judgements per patient); the rest keep
plain values through `read`/`write` or a `Shelf`. None of them decides when what it kept is
fresh: they ask the rule above.
"""

import contextlib
import hashlib
import marshal
import os
import pickle
import stat
import sys
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ccmcli.store import fileio

FORMAT = "2"
RACY_NS = 2_000_000_000
ENV_OFF = "CCM_NO_CACHE"
# Libraries whose installed files shape a kept value: the parsers of files, and the code set.
_LIBRARIES = ("pydantic", "pydantic_core", "yaml", "_yaml", "simple_icd_10_cm")

Signature = tuple[int, int, int, int]


# ---- fingerprints ------------------------------------------------------------------------


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def entry_signatures(entries: list) -> list[Signature | None]:
    """`signature` of each os.DirEntry (None: it cannot be statted), inlined: the hot loop of a
    large practice's patient files."""
    sigs: list[Signature | None] = []
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            sigs.append(None)
        else:
            sigs.append((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return sigs


# ---- freshness: the one rule ---------------------------------------------------------------


def stamp(sig: Signature | None, read_at_ns: int) -> Signature | None:
    """The signature to keep a value derived from a file under, the file read at `read_at_ns`;
    None (keep nothing, key nothing by it) when the file changed within RACY_NS before then: an
    edit in the same timestamp tick would leave the signature as it is."""
    if sig is None or sig[1] >= read_at_ns - RACY_NS or sig[2] >= read_at_ns - RACY_NS:
        return None
    return sig


def fresh(saved: Signature | list | None, current: Signature | None) -> bool:
    """Whether a value kept under `saved`, the signature `stamp` gave when it was derived, holds
    for the file as it is now (`current`): the same signature. A racy one was never kept (None),
    so no edit in the same tick as that read can pass for the file it was derived from; and a
    file trusted then is trusted at any later read. A signature saved as a list (marshal) counts
    as the tuple."""
    if saved is None or current is None:
        return False
    return (tuple(saved) if isinstance(saved, list) else saved) == current


def digest(raw: bytes, end: int | None = None) -> str:
    """The SHA-256 of `raw`, or of its first `end` bytes: what is kept of bytes read before."""
    return hashlib.sha256(memoryview(raw)[:end]).hexdigest()


def grown(raw: bytes, *prefixes: tuple[int, str]) -> bool:
    """Whether the file read as `raw` begins with the bytes of each (length, `digest`), in turn
    (each at least as long as the one before): it only grew since they were read. One pass
    over the bytes however many prefixes are checked."""
    h, done, view = hashlib.sha256(), 0, memoryview(raw)
    for end, saved in prefixes:
        if end < done or end > len(raw):
            return False
        h.update(view[done:end])
        done = end
        if h.hexdigest() != saved:
            return False
    return True


SAME, GROWN = "same", "grown"


def since(raw: bytes, end: int, saved: str, rest: bytes) -> str | None:
    """How the file read as `raw` stands to the bytes a value was derived from (the first `end`
    of them kept as their `digest`, the others as they were, `rest`): SAME, the very bytes;
    GROWN, those first bytes followed by others (appends, or the last record rewritten: read on
    from `end`); None, anything else: read it all."""
    if not grown(raw, (end, saved)):
        return None
    return SAME if raw[end:] == rest else GROWN


def fingerprint(path: Path | str) -> Signature | str:
    """A regular file's signature; for anything else what it is, never following a link."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable {exc.errno}"
    if stat.S_ISREG(st.st_mode):
        return signature(st)
    return _kind(st.st_mode)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "link"
    return f"other {stat.S_IFMT(mode)}"


def fingerprints(paths: list[Path], read_at_ns: int | None = None) -> list | None:
    """(name, fingerprint) of each path; None when a file changed too recently to be trusted."""
    read_at_ns = time.time_ns() if read_at_ns is None else read_at_ns
    found = [(os.fspath(p), fingerprint(p)) for p in paths]
    if any(isinstance(f, tuple) and stamp(f, read_at_ns) is None for _, f in found):
        return None
    return found


def folder_kinds(root: Path, names: tuple[str, ...] = ("patients", "logs", "exports")) -> list:
    """What each of the data directory's folders is (a folder, a plain file, missing...): the
    loader reports a folder that is not one, and a kept answer must not outlive that."""
    kinds = []
    for name in names:
        try:
            kinds.append(_kind(os.lstat(root / name).st_mode))
        except OSError as exc:
            kinds.append(f"missing {exc.errno}")
    return kinds


@cache
def code_key() -> str:
    """Changes whenever ccm's installed code could give another answer: a fingerprint of every
    file of the ccmcli package as installed (walked, so no file can be forgotten), of Python,
    and of the libraries that parse files or hold the ICD-10-CM code set."""
    import importlib.util

    h = hashlib.sha256(f"{FORMAT} {sys.version} {marshal.version}".encode())
    package = Path(__file__).resolve().parents[1]
    _walk(package, "", h)
    for lib in _LIBRARIES:
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(lib)  # finds the files without importing them
            origin = spec.origin if spec else None
            h.update(repr((lib, origin, origin and fingerprint(origin))).encode())
    return h.hexdigest()[:32]


def _walk(folder: Path | str, rel: str, h) -> None:
    """Every file below `folder` but compiled ones: its path and signature, in name order."""
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.name == "__pycache__":
            continue
        if e.is_dir(follow_symlinks=False):
            _walk(e.path, f"{rel}{e.name}/", h)
        else:
            with contextlib.suppress(OSError):
                h.update(repr((rel + e.name, signature(e.stat()))).encode())


def library_key(name: str) -> str:
    """An installed library's fingerprint, found without importing it (matplotlib: charts)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec else None
    return repr((name, origin, origin and fingerprint(origin)))


def key(*parts: object) -> str:
    """The key of a value derived from `parts` (fingerprints, months, ids...) by ccm's code."""
    text = repr((FORMAT, code_key(), parts))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def month_key(data, month, signatures: dict | None, read_at_ns: int, *more: object) -> str | None:
    """The key of a month's answer judged from the whole practice: every file the loader read
    for it (ccm.yaml and every patient file by the signatures it read them at, which are None
    when it read only some; the month's log and every earlier one, whose entry ids the month's
    rows must not use again), what the data directory's folders are, and `more` (the month,
    checks that could not run...). None when a file changed too recently to be told apart."""
    from ccmcli.store.layout import log_months

    if not enabled() or not signatures:
        return None
    if any(stamp(sig, read_at_ns) is None for sig in signatures.values()):
        return None
    logs = fingerprints([*(data.log_path(m) for m in log_months(data) if m < month),
                         data.log_path(month)])  # fmt: skip
    if logs is None:
        return None
    return key("month", str(data.root), str(month), sorted(signatures.items()), logs,
               folder_kinds(data.root), more)  # fmt: skip


def enabled() -> bool:
    return not os.environ.get(ENV_OFF)


# ---- where ---------------------------------------------------------------------------------

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


def exists(root: Path, kind: str, suffix: str = "") -> bool:
    """Whether something is kept under that name (fresh or not): reading it may be cheap."""
    try:
        return enabled() and cache_file(root, kind, suffix).is_file()
    except OSError:  # another user's folder: nothing of ours is there
        return False


def _prepare(folder: Path) -> None:
    """Create the user's cache folder (0700) and `.ccm-cache/` with its self-ignoring
    `.gitignore` (the group's with `shared: group`). Refuses (OSError: no cache) a folder that
    is a symlink, someone else's, or open to others: nobody else may decide where this user's
    copies go, nor write what this user will believe."""
    top = folder.parent
    if not top.is_dir():
        fileio.make_dirs(top)  # private, or the group's (2770) with `shared: group`
        ignore = top / ".gitignore"
        with contextlib.suppress(FileExistsError):
            fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_SELF_IGNORE)
            fileio.share(ignore)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder of this user")


def legacy_files(root: Path) -> list[Path]:
    """Caches of this data directory that earlier versions kept in the user's cache folder
    (`$CCM_CACHE_DIR` or XDG), named by a hash of its path: `ccm cache clear` removes them."""
    from ccmcli.store.icd10 import default_cache_dir

    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:32]
    base = default_cache_dir()
    try:
        return sorted(
            p for kind in ("records", "logs") for p in (base / kind).glob(f"{digest}*.cache")
        )
    except OSError:
        return []


def clear(root: Path) -> int:
    """Remove this user's caches of the data directory, and old ones outside it; how many files.
    Other users' cache folders are theirs to clear (and not ours to read)."""
    import shutil

    folder = cache_folder(root)
    try:
        files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    except OSError:
        files = []
    files += legacy_files(root)
    shutil.rmtree(folder, ignore_errors=True)
    for path in legacy_files(root):
        with contextlib.suppress(OSError):
            path.unlink()
    top = root / FOLDER
    with contextlib.suppress(OSError):
        if top.is_dir() and {p.name for p in top.iterdir()} <= {".gitignore"}:
            shutil.rmtree(top, ignore_errors=True)
    return len(files)


# ---- the one writer and reader -------------------------------------------------------------


def write_private(path: Path, header_numbers: list[int], *parts: bytes) -> None:
    """Write a cache file: the code key and numbers on the first line, then `parts`. Not
    fsynced (a cache torn by a crash fails its CRC). Whatever fails is no error: a read-only
    data directory or a full disk still gets right answers, only slower."""
    header = " ".join(("ccm-cache", FORMAT, code_key(), *map(str, header_numbers))) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _prepare(path.parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # a leftover of a crash: the new file must be created 0600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(header.encode("ascii"))
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def open_private(path: Path):
    """(open file positioned after the header, header numbers), or None when the file is
    missing, unreadable, not private to this user, or written by other code."""
    try:  # never blocks on a named pipe, never follows a link
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    f = os.fdopen(fd, "rb")
    try:
        words = f.readline(300).decode("ascii", "replace").split()
        ok = (
            st.st_uid == os.getuid()
            and not st.st_mode & 0o077
            and words[:3] == ["ccm-cache", FORMAT, code_key()]
        )
        numbers = [int(w) for w in words[3:]] if ok else None
    except (OSError, ValueError):
        numbers = None
    if numbers is None:
        f.close()
        return None
    return f, numbers


def read_checked(f, length: int, crc: int) -> bytes | None:
    """`length` bytes from `f` if they are all there and match `crc`."""
    try:
        raw = f.read(length)
    except OSError:
        return None
    return raw if len(raw) == length and zlib.crc32(raw) == crc else None


def write_value(path: Path, value: object) -> None:
    """A cache file of one marshal value (lists, dicts, strings, numbers), checked by length and
    CRC."""
    try:
        raw = marshal.dumps(value)
    except ValueError:  # not a marshal value: nothing kept
        return
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


def read(root: Path, kind: str, key: str | list, suffix: str = "") -> object:
    """The value kept as `kind` under `key`, or None: the one freshness rule is that the key
    stored with a value is the key of its inputs now."""
    if not enabled():
        return None
    stored = read_value(cache_file(root, kind, suffix))
    if isinstance(stored, list) and len(stored) == 2 and stored[0] == key:
        return stored[1]
    return None


def write(root: Path, kind: str, key: str | list, value: object, suffix: str = "") -> None:
    """Keep `value` as `kind` under `key` (replacing what was kept there)."""
    if enabled():
        write_value(cache_file(root, kind, suffix), [key, value])


def of_file(root: Path, path: Path, kind: str, derive: Callable[[Path], object]) -> object:
    """`derive(path)`, kept under the file's signature: a value that depends on one file alone
    (a month's entry ids) costs one small read while the file is unchanged."""
    sig = fingerprint(path)
    if not enabled() or not isinstance(sig, tuple):
        return derive(path)
    k = [os.fspath(path), list(sig)]
    name = f"-{path.stem}"
    found = read(root, kind, k, name)
    if found is not None:
        return found
    started = time.time_ns()
    value = derive(path)
    if stamp(sig, started):
        write(root, kind, k, value, name)
    return value


class Shelf:
    """Many values of one kind by key in one file, newest last, at most `keep` of them: months'
    totals, compare's months, charts. Read once, written once if anything was added."""

    def __init__(self, root: Path, kind: str, keep: int) -> None:
        self.root, self.kind, self.keep = root, kind, keep
        stored = read_value(cache_file(root, kind)) if enabled() else None
        self.known: dict = stored if isinstance(stored, dict) else {}
        self.new: dict = {}

    def get(self, k: str | None):
        return self.known.get(k) if k is not None else None

    def put(self, k: str | None, value: object) -> None:
        if k is not None:
            self.new[k] = value

    def save(self) -> None:
        if not self.new or not enabled():
            return
        merged = {k: v for k, v in self.known.items() if k not in self.new} | self.new
        write_value(cache_file(self.root, self.kind), dict(list(merged.items())[-self.keep :]))
        self.known, self.new = merged, {}


def unpickle(raw: bytes) -> object:
    try:
        return pickle.loads(raw)
    except Exception:  # a damaged or foreign pickle is a miss, whatever it raises
        return None
