"""A cache of parsed month logs (the machinery and its guarantees: cache.py).

A closed month is read again and again (`check`, `worklist`, `export`) and never changes, and
parsing a large one row by row costs more than all the rules together. Its entries are kept as
columns in marshal form, which loads at C speed; each entry is then rebuilt with one constructor
call. What a log parses to also depends on which patients have files (a row for anyone else is an
error), so the cache is keyed by a digest of their ids too: adding or removing a patient file
re-parses the month.
"""

import hashlib
import marshal
import os
import time
import zlib
from collections.abc import Collection
from dataclasses import fields
from datetime import date

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.store import cache, timelog
from ccmcli.store.timelog import Entry, MonthLog

_FIELDS = tuple(f.name for f in fields(Entry))
_DATE = _FIELDS.index("date")
_PROBLEM = ("file", "line", "severity", "message", "column", "patient_id")
_UNIQUE = {"id", "logged_at", "line"}  # nearly every row differs: nothing to share


def read_month(data, month: Month, known_ids: Collection[str]) -> MonthLog:
    """timelog.read_month with `known_ids` as the patients that have a file, from the cache
    when the log and the set of patient files are as they were."""
    known = known_ids.__contains__
    path = data.log_path(month)
    try:
        sig = cache.signature(os.stat(path))
    except OSError:
        sig = None
    if sig is None or not cache.enabled():
        return timelog.read_month(data, month, known)
    store = cache.cache_file(data.root, "logs", f"-{month}")
    key = [str(data.root), data.relative(path), list(sig), _digest(known_ids)]
    log = _load(store, key, month)
    if log is None:
        started = time.time_ns()
        log = timelog.read_month(data, month, known)
        if cache.trusted(sig, started):
            _save(store, key, log)
    return log


def _digest(ids: Collection[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8", "surrogateescape")).hexdigest()


def _save(store, key: list, log: MonthLog) -> None:
    columns = [[getattr(e, name) for e in log.entries] for name in _FIELDS]
    columns[_DATE] = list(map(date.toordinal, columns[_DATE]))
    shared: dict = {}  # one object per distinct value: marshal writes it once, loads it once
    for i, name in enumerate(_FIELDS):
        if name not in _UNIQUE:
            columns[i] = [shared.setdefault(v, v) for v in columns[i]]
    problems = [[getattr(p, name) for name in _PROBLEM] for p in log.problems]
    raw = marshal.dumps([key, log.file, log.exists, problems, columns, log.columns])
    cache.write_private(store, [len(raw), zlib.crc32(raw)], raw)


def _load_raw(store, key: list) -> list | None:
    """What _save wrote for this key: [file, exists, problems, columns, width], or None."""
    opened = cache.open_private(store)
    if opened is None:
        return None
    f, numbers = opened
    with f:
        raw = cache.read_checked(f, *numbers) if len(numbers) == 2 else None
    try:
        stored_key, *rest = marshal.loads(raw)  # type: ignore[arg-type]
    except (EOFError, ValueError, TypeError):
        return None
    if stored_key != key or len(rest) != 5 or len(rest[3]) != len(_FIELDS):
        return None
    return rest


def _load(store, key: list, month: Month) -> MonthLog | None:
    found = _load_raw(store, key)
    if found is None:
        return None
    file, exists, problems, columns, width = found
    try:
        days = {n: date.fromordinal(n) for n in set(columns[_DATE])}
        columns[_DATE] = [days[n] for n in columns[_DATE]]
        entries = list(map(Entry, *columns))
        return MonthLog(month, file, entries, [Problem(*p) for p in problems], exists, width)
    except (TypeError, ValueError, OverflowError):  # not what _save wrote: a miss
        return None


def read_columns(
    data, month: Month, known_ids: Collection[str], names: tuple[str, ...]
) -> tuple[list[list], list[Problem]]:
    """The month's valid rows as columns (`names`, in that order; `date` as day ordinals) and
    its problems, without building an entry per row: reading a year of logs at once
    (`ccm compare`) would otherwise spend most of its time building entries it only sums."""
    path = data.log_path(month)
    try:
        sig = cache.signature(os.stat(path))
    except OSError:
        sig = None
    if sig is not None and cache.enabled():
        store = cache.cache_file(data.root, "logs", f"-{month}")
        key = [str(data.root), data.relative(path), list(sig), _digest(known_ids)]
        found = _load_raw(store, key)
        if found is not None:
            _, _, problems, columns, _ = found
            return [columns[_FIELDS.index(n)] for n in names], [Problem(*p) for p in problems]
    log = read_month(data, month, known_ids)
    out = [[getattr(e, n) for e in log.entries] for n in names]
    if "date" in names:
        i = names.index("date")
        out[i] = [d.toordinal() for d in out[i]]
    return out, log.problems


def row_ids(data, month: Month) -> list[str]:
    """The entry id (first cell) of every row of the month file, header and broken rows aside.

    Entry ids are unique across all logs, so judging one month needs the ids of the others; a
    month's ids are kept beside its file's signature, so a month that did not change costs one
    small read, not a parse.
    """
    path = data.log_path(month)
    try:
        sig = cache.signature(os.stat(path))
    except OSError:
        return []
    if not cache.enabled():
        return timelog.row_ids(path)
    store = cache.cache_file(data.root, "ids", f"-{month}")
    key = [str(data.root), data.relative(path), list(sig)]
    opened = cache.open_private(store)
    if opened is not None:
        f, numbers = opened
        with f:
            raw = cache.read_checked(f, *numbers) if len(numbers) == 2 else None
        try:
            stored_key, ids = marshal.loads(raw)  # type: ignore[arg-type]
            if stored_key == key:
                return ids
        except (EOFError, ValueError, TypeError):
            pass
    started = time.time_ns()
    ids = timelog.row_ids(path)
    if cache.trusted(sig, started):
        raw = marshal.dumps([key, ids])
        cache.write_private(store, [len(raw), zlib.crc32(raw)], raw)
    return ids
