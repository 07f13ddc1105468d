"""A cache of parsed records (ccm.yaml and the patient files), so a large practice is not
re-read from YAML on every command.

It holds derived data only, in the user's cache folder (`$CCM_CACHE_DIR`, else XDG), one file per
data directory named by a hash of its resolved path: never inside the data directory, which may
be a shared drive or a git repository. Deleting it changes nothing but speed.

An entry is used only while its file's signature (size, mtime_ns, ctime_ns, inode) is unchanged,
so an edited, added or removed file is seen by the very next command. A file changed within
RACY_NS before the scan is not trusted: an edit in the same timestamp tick could keep the
signature (git's "racily clean" rule). The cache file is written atomically (0600, folder 0700),
checked by CRC, read only when owned by this user and private to them, and rebuilt whenever it
is corrupt or was written by other code (the key covers ccm's parsing sources, the library
versions and Python's); `CCM_NO_CACHE=1` turns it off.

Layout: a header line `ccm-records-cache FORMAT KEY INDEX_LEN INDEX_CRC BODY_LEN BODY_CRC`, then
the index (marshal: root and, per file, its signature and its own pickle, for commands that need
one record), then the body (one pickle of every entry, equal sub-records stored once, for
commands that need them all).
"""

import contextlib
import hashlib
import marshal
import os
import pickle
import sys
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ccmcli.fileio import atomic_write, make_dirs

MAGIC = "ccm-records-cache"
FORMAT = "1"
RACY_NS = 2_000_000_000
ENV_OFF = "CCM_NO_CACHE"
# Everything that shapes a parsed record or its pickled form; a change to any of them is a new key.
_SOURCES = ("cache.py", "records.py", "models.py", "yamlio.py", "identifiers.py", "months.py",
            "problems.py", "datadir.py")  # fmt: skip
_LIBRARIES = ("pydantic", "pydantic_core", "yaml", "_yaml")

Signature = tuple[int, int, int, int]
Parsed = tuple  # what a parse function returns: (model or None, list of problems)
Entries = dict[str, tuple[Signature | None, Parsed]]


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def enabled() -> bool:
    return not os.environ.get(ENV_OFF)


def cache_path(root: Path) -> Path:
    from ccmcli.icd10 import default_cache_dir

    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:32]
    return default_cache_dir() / "records" / f"{digest}.cache"


@cache
def code_key() -> str:
    """Changes whenever the code that parses records could give another result."""
    import importlib.util

    h = hashlib.sha256(f"{FORMAT} {sys.version} {pickle.HIGHEST_PROTOCOL}".encode())
    here = Path(__file__).parent
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


class RecordCache:
    """The cache file of one data directory; every failure to read it is simply a miss."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = cache_path(root)

    def _open(self):
        """The open cache file and its header numbers, or None when absent, foreign or stale."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 (returned to the caller, who closes it)
        except OSError:
            return None
        st = os.fstat(f.fileno())
        header = f.readline(300).decode("ascii", "replace").split(" ")
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or len(header) != 7:
            f.close()
            return None
        if header[:3] != [MAGIC, FORMAT, code_key()]:
            f.close()
            return None
        try:
            return f, [int(n) for n in header[3:]]
        except ValueError:
            f.close()
            return None

    def _index(self, f, index_len: int, index_crc: int) -> dict | None:
        raw = f.read(index_len)
        if len(raw) != index_len or zlib.crc32(raw) != index_crc:
            return None
        try:
            index = marshal.loads(raw)
        except (EOFError, ValueError, TypeError):
            return None
        ok = isinstance(index, dict) and index.get("root") == str(self.root)
        return index if ok else None

    def entry(self, rel: str, sig: Signature) -> Parsed | None:
        """One file's parsed record when its signature still matches; reads only the index."""
        opened = self._open()
        if opened is None:
            return None
        f, (index_len, index_crc, _, _) = opened
        with f:
            index = self._index(f, index_len, index_crc)
        found = index["entries"].get(rel) if index else None
        if found is None or tuple(found[:4]) != sig:
            return None
        return _unpickle(found[4])

    def entries(self) -> Entries:
        """Every cached entry with the signature it was parsed at; empty on any problem."""
        opened = self._open()
        if opened is None:
            return {}
        f, (index_len, index_crc, body_len, body_crc) = opened
        with f:
            index = self._index(f, index_len, index_crc)
            body = f.read(body_len + 1) if index else b""
        if index is None or len(body) != body_len or zlib.crc32(body) != body_crc:
            return {}
        parsed = _unpickle(body)
        listed = index["entries"]
        if not isinstance(parsed, list) or len(parsed) != len(listed):
            return {}
        return {rel: (tuple(e[:4]), p) for (rel, e), p in zip(listed.items(), parsed, strict=True)}

    def save(self, entries: Entries) -> None:
        """Write every entry whose signature is trusted; a cache that cannot be written is no
        error (a read-only home still gets right answers, only slower)."""
        kept = {rel: (sig, p) for rel, (sig, p) in entries.items() if sig is not None}
        index = {"root": str(self.root),
                 "entries": {rel: (*sig, pickle.dumps(p, 5)) for rel, (sig, p) in kept.items()}}  # fmt: skip
        index_raw = marshal.dumps(index)
        body = pickle.dumps(_shared([p for _, p in kept.values()]), 5)
        numbers = (len(index_raw), zlib.crc32(index_raw), len(body), zlib.crc32(body))
        header = " ".join((MAGIC, FORMAT, code_key(), *map(str, numbers))) + "\n"
        with contextlib.suppress(OSError):
            make_dirs(self.path.parent)
            atomic_write(self.path, header.encode("ascii") + index_raw + body)


def _unpickle(raw: bytes) -> object:
    try:
        return pickle.loads(raw)
    except Exception:  # a damaged or foreign pickle is a miss, whatever it raises
        return None


def _shared(parsed: list[Parsed]) -> list[Parsed]:
    """Equal frozen sub-records (a condition code most patients share) become one object, which
    pickle then writes once and reads back once: a large practice loads several times faster."""
    pool: dict = {}
    out = []
    for record, problems in parsed:
        conditions = getattr(record, "conditions", None)
        if conditions:
            record = record.model_copy()  # a shallow copy: the caller's record is left as it was
            shared = [pool.setdefault((type(c), repr(c), frozenset(c.model_fields_set)), c)
                      for c in conditions]  # fmt: skip
            record.__dict__["conditions"] = shared
        out.append((record, problems))
    return out


def trusted(sig: Signature | None, since_ns: int) -> Signature | None:
    """The signature, or None when the file changed too recently to be told apart (RACY_NS)."""
    if sig is None or max(sig[1], sig[2]) >= since_ns - RACY_NS:
        return None
    return sig


def refresh(root: Path, files: list[tuple[str, Signature | None]],
            parse: Callable[[str], Parsed]) -> dict[str, Parsed]:  # fmt: skip
    """Every file's parsed record, by its path relative to `root`: from the cache when its
    signature still matches, else parsed now. The cache is rewritten when anything differs."""
    if not enabled():
        return {rel: parse(rel) for rel, _ in files}
    started = time.time_ns()
    store = RecordCache(root)
    old = store.entries()
    new: Entries = {}
    changed = len(old) != len(files)
    for rel, sig in files:
        hit = old.get(rel)
        if sig is not None and hit is not None and hit[0] == sig:
            new[rel] = hit
        else:
            new[rel] = (trusted(sig, started), parse(rel))
            changed = True
    if changed:
        store.save(new)
    return {rel: parsed for rel, (_, parsed) in new.items()}


def one(root: Path, rel: str, parse: Callable[[str], Parsed]) -> Parsed:
    """One file's parsed record: from the cache when fresh, else parsed. The cache is left as
    it is: the next command that reads every record brings it up to date."""
    if enabled():
        try:
            sig = signature(os.stat(root / rel))
        except OSError:
            sig = None
        hit = RecordCache(root).entry(rel, sig) if sig is not None else None
        if hit is not None:
            return hit
    return parse(rel)
