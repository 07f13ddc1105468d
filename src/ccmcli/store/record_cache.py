"""The cache of records: parsed ccm.yaml and patient files, reused while each file is unchanged.

A large practice has thousands of patient files; validating each from YAML on every command
would dominate every run. The guarantees (private files in the data directory, signatures, the
racy-clean rule, the code key, CRCs) are the shared machinery of cache.py, and so is the rule
that says whether a kept record is fresh (`cache.fresh`) and what signature a new one is kept
under (`cache.stamp`); this module is the records' own file layout and the two ways in: every
record at once (`refresh`) or one (`one`).
"""

import marshal
import os
import pickle
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from ccmcli.models.records import Record
from ccmcli.store.cache import (
    Signature,
    cache_file,
    enabled,
    fresh,
    open_private,
    read_checked,
    signature,
    stamp,
    unpickle,
    write_private,
)

Parsed = tuple  # what a record parser returns: (model or None, list of problems)
Entries = dict[str, tuple[Signature | None, Parsed]]
# The last index read, by its cache file, header numbers (lengths and CRCs) and signature: a
# command reads ccm.yaml's record and then a patient's, and a large practice's index is big.
_INDEXES: dict[tuple, dict] = {}


class RecordCache:
    """Parsed ccm.yaml and patient files of one data directory.

    After the header: the index (marshal: the root, then per file its name, signature and where
    its own pickle lies), one pickle of every entry with equal sub-records stored once (for
    commands that need them all: it loads several times faster), then each entry's own pickle
    (for commands that need one record, which read nothing else). Records are the classes of
    models/records.py, which load without importing pydantic.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = cache_file(root, "records")

    def _open(self):
        """(file, index, numbers) or None; the file is positioned after the index."""
        opened = open_private(self.path)
        if opened is None:
            return None
        f, numbers = opened
        key = (self.path, tuple(numbers), signature(os.fstat(f.fileno())))
        known = _INDEXES.get(key)
        if known is not None:  # the same file, read a moment ago: its index is not read again
            f.seek(numbers[0], os.SEEK_CUR)
            return f, known, numbers
        raw = read_checked(f, numbers[0], numbers[1]) if len(numbers) == 5 else None
        try:
            index = marshal.loads(raw) if raw is not None else None
        except (EOFError, ValueError, TypeError):
            index = None
        if not isinstance(index, dict) or index.get("root") != str(self.root):
            f.close()
            return None
        _INDEXES.clear()
        _INDEXES[key] = index
        return f, index, numbers

    def entry(self, rel: str, sig: Signature) -> Parsed | None:
        """One file's parsed record if it is fresh (`sig`: the file's signature now)."""
        opened = self._open()
        if opened is None:
            return None
        f, index, numbers = opened
        with f:
            try:
                i = index["names"].index(rel)
            except ValueError:
                return None
            if not fresh(index["sigs"][i], sig):
                return None
            offset, length, crc = index["spans"][i]
            f.seek(numbers[2] + offset, os.SEEK_CUR)
            raw = read_checked(f, length, crc)
        return unpickle(raw) if raw is not None else None  # type: ignore[return-value]

    def entries(self) -> Entries:
        """Every cached entry with the signature it was parsed at; empty on any problem."""
        opened = self._open()
        if opened is None:
            return {}
        f, index, numbers = opened
        with f:
            body = read_checked(f, numbers[2], numbers[3])
        parsed = unpickle(body) if body is not None else None
        names, sigs = index["names"], index["sigs"]
        if not isinstance(parsed, list) or not len(parsed) == len(names) == len(sigs):
            return {}
        return {rel: (tuple(sig), p) for rel, sig, p in zip(names, sigs, parsed, strict=True)}

    def save(self, entries: Entries) -> None:
        """Store every entry that has a signature to keep it under (`cache.stamp`)."""
        shared = _shared([p for _, p in entries.values()])
        kept = {rel: (sig, p)
                for (rel, (sig, _)), p in zip(entries.items(), shared, strict=True)
                if sig is not None}  # fmt: skip
        singles = [pickle.dumps(p, 5) for _, p in kept.values()]
        spans, offset = [], 0
        for blob in singles:
            spans.append((offset, len(blob), zlib.crc32(blob)))
            offset += len(blob)
        index = marshal.dumps({"root": str(self.root), "names": list(kept), "spans": spans,
                               "sigs": [sig for sig, _ in kept.values()]})  # fmt: skip
        body = pickle.dumps([p for _, p in kept.values()], 5)
        numbers = [len(index), zlib.crc32(index), len(body), zlib.crc32(body), offset]
        write_private(self.path, numbers, index, body, *singles)


def _shared(parsed: list[Parsed]) -> list[Parsed]:
    """Equal copies in which equal sub-records (the same condition, consent or visit in many
    patients) are one object each, which pickle writes once and reads back once: a large
    practice loads faster and in less memory. The caller's records are left as they were; the
    shared ones are frozen and never modified."""
    pool: dict = {}
    return [(_compact(record, pool, top=True), problems) for record, problems in parsed]


def _compact(value, pool: dict, top: bool = False):
    if isinstance(value, list):
        return [_compact(v, pool) for v in value]
    if not isinstance(value, Record):
        return value
    copy = object.__new__(type(value))
    copy.__dict__.update({k: _compact(v, pool) for k, v in value.__dict__.items()})
    return copy if top else pool.setdefault((type(copy), repr(copy)), copy)


def refresh(root: Path, files: list[tuple[str, Signature | None]],
            parse: Callable[[str], Parsed]) -> dict[str, Parsed]:  # fmt: skip
    """Every file's parsed record, by its path relative to `root`: from the cache when it is
    fresh (`cache.fresh`), else parsed now. The cache is rewritten when anything differs.
    A warm command imports no pydantic: records are the same classes whether read or parsed."""
    from ccmcli.workers import parse_many  # many misses: parsed on every CPU

    if not enabled():
        rels = [rel for rel, _ in files]
        return dict(zip(rels, parse_many(rels, parse), strict=True))
    started = time.time_ns()
    store = RecordCache(root)
    old = store.entries()
    new: Entries = {}
    changed = len(old) != len(files)
    misses = []
    for rel, sig in files:
        hit = old.get(rel)
        if hit is not None and fresh(hit[0], sig):
            new[rel] = hit
        else:
            new[rel] = (stamp(sig, started), None)
            misses.append(rel)
    for rel, parsed in zip(misses, parse_many(misses, parse), strict=True):
        new[rel] = (new[rel][0], parsed)
        changed = True
    if changed:
        store.save(new)
    return {rel: parsed for rel, (_, parsed) in new.items()}


def one(root: Path, rel: str, parse: Callable[[str], Parsed]) -> Parsed:
    """One file's parsed record: from the cache when fresh, else parsed now. The cache is left
    as it is: the next command that reads every record brings it up to date."""
    if enabled():
        try:
            sig = signature(os.stat(root / rel))
        except OSError:
            sig = None
        hit = RecordCache(root).entry(rel, sig) if sig is not None else None
        if hit is not None:
            return hit
    return parse(rel)
