"""Appending one row to a month log so that nothing is lost, torn or read as part of another.

The row is written under the month file's exclusive lock, on a fresh line, in one write, fsynced
before the lock is released (fileio). Holding the lock, the caller's reader (the loader's, so that
every rule of a month's reading applies) reads the month and the caller inspects it (warnings,
refusals); the new id is checked against every row, and the row is checked to read back as a row
of its own.
"""

import csv
import io
import os
from collections.abc import Callable
from datetime import UTC, datetime

from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month, now, now_in
from ccmcli.store import closed_records, fileio, regular_files, timelog
from ccmcli.store.csv_safe import log_text
from ccmcli.store.datadir import DataDir
from ccmcli.store.timelog import Entry, MonthLog

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_entry_id(at: datetime | None = None) -> str:
    """`E20261127T135501123-7K3Q9`: the UTC time to the millisecond, then 25 random bits.

    Ids sort by the time they were made, and processes writing in the same millisecond still
    differ without talking to each other; the caller also re-checks the file under its lock.
    """
    stamp = (at or now()).astimezone(UTC)
    tail = "".join(_CROCKFORD[b & 31] for b in os.urandom(5))  # 32 letters: each as likely
    return f"E{stamp:%Y%m%dT%H%M%S}{stamp.microsecond // 1000:03d}-{tail}"


def cells(e: Entry, columns: int = len(timelog.SERVICE_COLUMNS)) -> list[str]:
    """The entry as a log row of `columns` columns: 13, or 12 in a file written before the
    `service` column existed, whose header is never rewritten (contract section 1)."""
    row = [e.id, e.patient_id, e.date.isoformat(), "" if e.minutes is None else str(e.minutes),
           e.role, log_text(e.staff), log_text(e.activity), e.start, e.end, log_text(e.note),
           e.logged_at, e.voids, e.service]  # fmt: skip
    return row[:columns]


def refuse_service_in_old_file(log: MonthLog, entry: Entry) -> None:
    """A tagged entry cannot be written into a 12-column file: without the column its minutes
    would read as the program's own time and be billed twice (A7, T-05)."""
    if entry.service and log.columns < len(timelog.SERVICE_COLUMNS):
        raise CcmError(
            f"{log.file} was written before logs had a service column (12 columns), and ccm "
            f"never rewrites a log's header; an entry tagged {entry.service} would count as "
            "care-management time there. Log it without --service, or in a month whose file "
            "has the service column"
        )


class AlreadyLogged(CcmError):
    """A row with the id the caller chose is already in the file: it was written before."""


Build = Callable[[MonthLog], tuple[Entry, list[str]]]
Read = Callable[[], MonthLog]


def append_entry(
    data: DataDir, month: Month, tz: str, build: Build, read: Read
) -> tuple[Entry, MonthLog, list]:
    """Under the month file's lock: `read` the month, let `build` inspect it, append one row.

    `read` is the loader's reading of the month (`Practice.read_month(month, again=True)`), so
    what a command sees under the lock is what `check` sees. `build` returns the row and
    warnings, or raises CcmError to write nothing. A row without id
    gets a new one; a row whose id the caller chose is refused (AlreadyLogged) when the file
    already holds that id, so a retried write never doubles it. The returned log holds the new
    entry, as a reader would see the file now. A row dated in a closed month is refused
    (contract 8): here, so that every writer of log rows (log, void, stop) refuses it; asked
    again under the lock, which `ccm close` also holds.
    """
    path = data.log_path(month)
    rel = data.relative(path)
    closed_records.refuse_if_closed(data, month)
    regular_files.check_writable(data.root, path)
    try:
        entry, log, warnings = _append_locked(data, path, rel, month, tz, build, read)
    except OSError as exc:  # fileio has undone the write: nothing of it is in the file
        reason = exc.strerror or type(exc).__name__
        raise CcmError(f"cannot write to {rel} ({reason}); nothing was written") from None
    log.entries.append(entry)
    return entry, log, warnings


def _append_locked(
    data: DataDir, path, rel: str, month: Month, tz: str, build: Build, read: Read
):  # fmt: skip
    with fileio.locked(path, timelog.HEADER) as fd:
        closed_records.refuse_if_closed(data, month)
        text = decode(fileio.read_fd(fd), rel)
        log = read()  # the file the path names is the one locked (fileio.locked)
        header = [p for p in log.problems if p.file == rel and p.line == 1]
        if header:
            raise CcmError(f"{header[0].render()} (fix it first: no row after it can be read)")
        entry, warnings = build(log)
        refuse_service_in_old_file(log, entry)
        if entry.id:  # chosen beforehand (a timer's stop): the row is written at most once
            if entry.id in text:
                raise AlreadyLogged(f"entry {entry.id} is already in {rel}")
        else:
            entry.id = new_entry_id()
            while entry.id in text:
                entry.id = new_entry_id()
        entry.logged_at = now_in(tz).isoformat(timespec="seconds")
        row = cells(entry, log.columns)
        before = text if text.endswith("\n") else text + "\n"  # as fileio will write it
        entry.line, entry.file = _own_line(before, row, rel), rel
        fileio.append_locked_fd(fd, _csv_line(row, _line_end(text)))
    return entry, log, warnings


def decode(raw: bytes, rel: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CcmError(f"{rel}:{line}: error: is not UTF-8 text; fix the file first") from None


def _csv_line(row: list[str], end: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=end).writerow(row)
    return buf.getvalue()


def _line_end(text: str) -> str:
    """The file's line ending, as its header line has it: a log saved by a spreadsheet on
    Windows stays CRLF (contract 1), one ccm created stays LF."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _own_line(before: str, row: list[str], rel: str) -> int:
    """The line the new row will start on, after checking a reader will see it as its own row.

    A quoted field left open (a row torn inside a note, a hand edit) would swallow every row
    written after it: refuse rather than append an entry that would silently count for nothing.
    Quotes come in pairs in well-formed CSV, so an even count needs no second parse of a large
    month; an odd one (an open field, or a stray quote inside an unquoted one) is parsed to tell.
    """
    if before.count('"') % 2 == 0:
        return before.count("\n") + 1
    reader = csv.reader(io.StringIO(before + _csv_line(row), newline=""))
    last, start, previous = None, 0, 0
    while True:
        try:
            for record in reader:
                last, start, previous = record, previous + 1, reader.line_num
            break
        except csv.Error:  # a cell over the csv module's limit: readers skip that row too
            last, start, previous = None, previous + 1, reader.line_num
    if last != row:
        raise CcmError(f"{rel}:{start}: a quoted field is never closed, so a new row would be "
                       "read as part of it; fix that line (see `ccm validate`) and try again")  # fmt: skip
    return start
