"""What is kept of a parsed month log (cache.py keys, reads and writes it, and says why).

A closed month is read again and again (`check`, `worklist`, `export`) and never changes, and
parsing a large one row by row costs more than all the rules together. Its entries are kept as
columns in marshal form, which loads at C speed; each entry is then rebuilt with one constructor
call. What a log parses to also depends on which patients have files (a row for anyone else is an
error), so the key holds a digest of their ids too: adding or removing a patient file re-parses
the month. The read is used whole while it is fresh by the file's signature (`cache.fresh`).

The current month grows by appends all day. When its signature has changed, the cached read is
still used for the rows before its last record if the file only grew since (`cache.since`: its
first bytes up to there are the ones read, by length and SHA-256): only the rest is parsed
(log_parser.Resume says why that gives the whole file's reading; the file's width, 12 or 13
columns, is kept with it, since the header is not read again). Any other change parses the file
again. Which signature and which bytes make a read fresh is cache.py's rule alone; this module
says what is kept of a read and how to go on from it.
"""

import os
import time
from collections.abc import Collection
from dataclasses import fields
from datetime import date
from operator import attrgetter

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.store import cache, log_parser, log_rows, regular_files
from ccmcli.store.timelog import Entry, MonthLog

_FIELDS = tuple(f.name for f in fields(Entry))
_DATE = _FIELDS.index("date")
_PROBLEM = ("file", "line", "severity", "message", "column", "patient_id")
_UNIQUE = {"id", "logged_at", "line"}  # nearly every row differs: nothing to share
_IS_VOID = attrgetter("voids")


def read_month(data, month: Month, known_ids: Collection[str]) -> MonthLog:
    """log_parser.read_month with `known_ids` as the patients that have a file, from the cache
    when the log and the set of patient files are as they were, or the log only grew."""
    known = known_ids.__contains__
    path = data.log_path(month)
    try:
        sig = cache.signature(os.stat(path))
    except OSError:
        sig = None
    if sig is None or not cache.enabled():
        return log_parser.read_month(data, month, known)
    store = (data.root, f"-{month}")
    rel = data.relative(path)
    key = cache.key("log", str(data.root), rel, _digest(known_ids))
    cached = _load(store, key, month)
    if cached is not None and cache.fresh(cached[0], sig):
        return _with_prefix(cached[1], cached[2])
    started = time.time_ns()
    try:
        raw = regular_files.read_bytes(data.root, path)
    except OSError:  # log_parser.read_month says why
        return log_parser.read_month(data, month, known)
    resume = _resume(cached[2], cached[1], raw) if cached and cached[2] else None
    if resume == cache.SAME:  # the very bytes read before: the racy rule kept its signature out
        log = _with_prefix(cached[1], cached[2])  # type: ignore[index]
        if cache.stamp(sig, started):
            _save(store, key, list(sig), log, cached[2], raw)  # type: ignore[index]
        return log
    log, after = _parse(raw, month, rel, known, resume)  # type: ignore[arg-type]
    if log is None:
        return log_parser.read_month(data, month, known)
    if after is not None:
        log.prefix = (after.offset, cache.digest(raw, after.offset), after.line)
    kept = cache.stamp(sig, started)
    if not kept and resume is not None and len(raw) - resume.offset < _REWRITE_AFTER:
        return log  # changed just now, likely again soon: the old point stays valid, and cheap
    _save(store, key, list(kept) if kept else None, log, after, raw)
    return log


def stored(data, month: Month) -> bool:
    """Whether some read of the month is kept (fresh or not): reading it again may be cheap."""
    return cache.exists(data.root, "logs", f"-{month}")


# Bytes past the resume point for which the cache is rewritten though the file's signature is
# not one to trust yet (changed in the last seconds; `ccm log` appends all day): rewriting costs
# about as much as parsing that many rows (a few hundred), and the old point stays valid.
_REWRITE_AFTER = 32768


def _parse(raw: bytes, month: Month, rel: str, known, resume: log_parser.Resume | None):
    """(log, where to resume next time), reading only what follows `resume`; (None, None) for a
    file that is not UTF-8 (log_parser.read_month reports it line by line)."""
    try:
        if resume is not None:
            tail = raw[resume.offset :].decode("utf-8")
            return log_parser.read_rows(tail, month, rel, known, None, resume)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, None
    log, after = log_parser.read_rows(text, month, rel, known, log_rows.has_controls(raw))
    return log, (None if raw.startswith(_BOM) else after)  # offsets count characters


_BOM = b"\xef\xbb\xbf"


def _digest(ids: Collection[str]) -> str:
    return cache.digest("\n".join(sorted(ids)).encode("utf-8", "surrogateescape"))


def _columns(entries: list[Entry]) -> list:
    """One sequence per field, taken from all entries at C speed."""
    columns = [list(map(attrgetter(name), entries)) for name in _FIELDS]
    columns[_DATE] = list(map(date.toordinal, columns[_DATE]))
    return columns


def _entries(columns: list[list]) -> list[Entry]:
    if len(columns) != len(_FIELDS):
        raise ValueError("not the columns of an entry")
    days = {n: date.fromordinal(n) for n in set(columns[_DATE])}
    columns[_DATE] = [days[n] for n in columns[_DATE]]
    return list(map(Entry, *columns))


def _shared(columns: list) -> list:
    """The columns with one object per distinct value: marshal writes it once, loads it once."""
    shared: dict = {}
    for i, name in enumerate(_FIELDS):
        if name not in _UNIQUE:
            one = {v: shared.setdefault(v, v) for v in set(columns[i])}
            columns[i] = list(map(one.__getitem__, columns[i]))
    return columns


def _save(store: tuple, key: str, sig, log: MonthLog, resume, raw: bytes) -> None:
    """The log as columns, its width, and where to resume (a log_parser.Resume, or as saved
    before): the digest of the bytes before it and the bytes from it on (a few: the last
    record)."""
    columns = _shared(_columns(log.entries))
    problems = [[getattr(p, name) for name in _PROBLEM] for p in log.problems]
    after = resume
    if isinstance(resume, log_parser.Resume):
        kept = set(map(id, filter(_IS_VOID, log.entries)))  # at C speed: most rows are not
        unlinked = [e for e in filter(_IS_VOID, resume.entries) if id(e) not in kept]
        digest = log.prefix[1] if log.prefix and log.prefix[0] == resume.offset else None
        digest = digest or cache.digest(raw, resume.offset)
        after = [resume.offset, digest, resume.line,
                 [[getattr(p, name) for name in _PROBLEM] for p in resume.problems],
                 _columns(unlinked), raw[resume.offset :], resume.columns]  # fmt: skip
    root, suffix = store
    value = [sig, log.file, log.exists, problems, columns, log.columns, after]
    cache.write(root, "logs", key, value, suffix)


def _with_prefix(log: MonthLog, after: list | None) -> MonthLog:
    """The log, with the bytes it was read from as the saved resume point describes them."""
    if after:
        log.prefix = (after[0], after[1], after[2])
    return log


def _load(store: tuple, key: str, month: Month):
    """(signature, log, resume point as saved or None) for `key`, or None."""
    root, suffix = store
    found = cache.read(root, "logs", key, suffix)
    if not isinstance(found, list) or len(found) != 7 or len(found[4]) != len(_FIELDS):
        return None
    sig, file, exists, problems, columns, width, after = found
    try:
        log = MonthLog(month, file, _entries(columns), [Problem(*p) for p in problems], exists,
                       width)  # fmt: skip
    except (TypeError, ValueError, OverflowError):  # not what _save wrote: a miss
        return None
    return sig, log, after


def _resume(after: list, log: MonthLog, raw: bytes) -> log_parser.Resume | str | None:
    """Where to go on reading the file, if it only grew since the saved read (`cache.since`), or
    cache.SAME when it holds the very bytes read then. The entries before the saved offset are
    the cached log's own (fresh objects), void rows unlinked again, in file order."""
    try:
        offset, digest, line, problems, unlinked, rest, width = after
        change = cache.since(raw, offset, digest, rest)
        if change != cache.GROWN:
            return change
        before = [e for e in log.entries if e.line < line]
        for e in before:
            e.voided_by = None
        if unlinked[0]:
            before += _entries(unlinked)
            before.sort(key=lambda e: e.line)
        return log_parser.Resume(offset, line, before, [Problem(*p) for p in problems], width)
    except (TypeError, ValueError, OverflowError, IndexError):  # not what _save wrote: read all
        return None
