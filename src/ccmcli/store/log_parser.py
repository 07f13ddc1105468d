"""The month log parser: a month file's text into valid entries and a problem for each bad row
(timelog.py holds the format, log_rows.py checks one row).

A row with an error counts toward nothing and is reported; every other row still counts. A read
can go on from where an earlier read of the same file left off once rows are appended to it
(Resume; logcache.py keeps the resume points). Commands get a month only from the loader
(loader.py), which adds the rules across files (entry ids used in an earlier month).
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.store import regular_files
from ccmcli.store.log_rows import RowChecker, has_controls
from ccmcli.store.timelog import COLUMNS, SERVICE_COLUMNS, Entry, MonthLog


def parse_month(
    text: str, month: Month, rel: str, known_patient: Callable[[str], bool] | None = None,
    controls: bool | None = None, taken: dict[str, str] | None = None,
) -> MonthLog:  # fmt: skip
    """Every row of one month file: valid entries, and a problem for each bad row.

    `known_patient` (None: not checked) tells whether a patient id has a file. `controls`:
    whether the file holds a control character (has_controls of its bytes; None: look here).
    `taken`: entry ids an earlier month's file uses, and where (entry_ids.reused_ids): such a
    row is in error, before void rows are linked, so a void row in error voids nothing. A last
    line with no line end is a write that was interrupted: it is reported, not counted, never
    repaired.
    """
    return read_rows(text, month, rel, known_patient, controls, taken=taken)[0]


def read_month(
    data, month: Month, known_patient: Callable[[str], bool] | None = None,
    taken: dict[str, str] | None = None,
) -> MonthLog:  # fmt: skip
    """The month's log from the data directory; a missing file is an empty month, not a problem.
    Only a regular file inside the data directory is read (regular_files): a named pipe, a
    device or a link leading outside is a problem of the month, never waited on."""
    path = data.log_path(month)
    rel = data.relative(path)
    try:
        raw = regular_files.read_bytes(data.root, path)
    except FileNotFoundError:
        return MonthLog(month, rel)
    except OSError as exc:
        return MonthLog(month, rel, problems=[unreadable(rel, exc)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text, bad = _blank_undecodable_lines(raw)
        log = parse_month(text, month, rel, known_patient, taken=taken)
        msg = "line is not UTF-8 text (saved in another encoding?); the row is not counted"
        log.problems = sorted(log.problems + [Problem(rel, n, "error", msg) for n in bad],
                              key=lambda p: p.line or 0)  # fmt: skip
        return log
    controls = has_controls(raw)
    del raw  # a large month is not held twice while it is parsed
    return parse_month(text, month, rel, known_patient, controls, taken)


def unreadable(rel: str, exc: OSError) -> Problem:
    """The problem of a month file that cannot be read, in the same words wherever it is met
    (reading the month, or the ids of a month before it)."""
    return Problem(rel, None, "error", f"cannot read: {exc.strerror or type(exc).__name__}")


def _blank_undecodable_lines(raw: bytes) -> tuple[str, list[int]]:
    """The text with each line that is not UTF-8 left empty (so the other rows still count and
    line numbers stay true), and the numbers of those lines."""
    lines, bad = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines[i] = b""
            bad.append(i + 1)
    return b"\n".join(lines).decode("utf-8"), bad


@dataclass
class Resume:
    """Where reading a month file can go on once rows are appended to it (logcache.py): the rows
    before its last record as read (void rows not yet linked), where that record starts, and the
    file's width (its header, which is not read again). The last record is read again, since a
    quote left open in it would run on into what follows; every record before it ended before it
    began, so appends cannot change how it reads."""

    offset: int  # characters (ASCII text: bytes) before the last record
    line: int  # the last record's first line
    entries: list[Entry]
    problems: list[Problem]
    columns: int = len(SERVICE_COLUMNS)


def read_rows(text: str, month: Month, rel: str, known_patient: Callable[[str], bool] | None = None,
              controls: bool | None = None, resume: Resume | None = None,
              taken: dict[str, str] | None = None) -> tuple[MonthLog, Resume | None]:  # fmt: skip
    """parse_month, and where a later read of the grown file can go on from (None: it cannot).

    With `resume`, from a read of the same file whose first `resume.offset` characters are
    unchanged, `text` is the rest of the file from there; the result is the whole file's. Rows
    are checked for control characters one by one, so `controls` may then be the rest's own."""
    log = MonthLog(month, rel, exists=True)
    first = resume.line if resume else 1  # the line `text` starts on
    if resume is None and not text.strip():
        log.problems.append(Problem(rel, 1, "error", "the file is empty (expected a header row)"))
        return log, None
    as_written = True
    if text and not text.endswith(("\n", "\r")):
        cut = text.rfind("\n") + 1
        if cut == 0 and resume is None:  # a header alone, without its line end: nothing was torn
            text, as_written = text + "\n", False
        else:
            torn_line = first + text.count("\n", 0, cut)
            text = text[:cut]
            msg = "the last line is incomplete (no line end: the write may have been interrupted)"
            log.problems.append(Problem(rel, torn_line, "error", msg))
    lines = _lines(text)
    if resume is None:
        header = tuple(h.strip() for h in next(csv.reader([next(lines, "")]), []))
        if header not in (COLUMNS, SERVICE_COLUMNS):
            msg = f"header must be: {','.join(SERVICE_COLUMNS)} (or without ,service)"
            log.problems.insert(0, Problem(rel, 1, "error", msg))
            return log, None
        log.columns = len(header)
    else:
        log.columns = resume.columns
    controls = has_controls(text) if controls is None else controls
    rows = _Rows(log, resume, taken or {})
    checker = RowChecker(month, known_patient, controls)
    end = rows.read(csv.reader(lines), checker, first if resume else 2)
    after = rows.resume_point(text, end, resume.offset if resume else 0) if as_written else None
    log.problems += rows.problems
    if rows.voids:
        _link_voids(log)
    log.problems.sort(key=lambda p: p.line or 0)
    return log, after


_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")  # str.splitlines breaks there too


def _lines(text: str) -> Iterator[str]:
    """The lines as the csv module reads a file: ended by \\n, \\r or \\r\\n, ends kept.

    `str.splitlines` also breaks at a few rare control characters (and at \\x85, \\u2028 and
    \\u2029 beyond ASCII), so it is used only on ASCII text without them; io.StringIO, which
    copies the text at 4 bytes a character, reads the rest.
    """
    if text.isascii() and not any(c in text for c in _OTHER_BREAKS):
        return iter(text.splitlines(keepends=True))
    return io.StringIO(text, newline="")


class _Rows:
    """Reads rows into a log, remembering where its last record began (Resume)."""

    def __init__(self, log: MonthLog, resume: Resume | None, taken: dict[str, str]) -> None:
        self.log = log
        self.taken = taken
        if resume is not None:
            log.entries = list(resume.entries)
        self.problems: list[Problem] = list(resume.problems) if resume else []
        self.voids = any(e.voids for e in log.entries)
        self.seen: dict[str, int] = {e.id: e.line for e in log.entries}
        self.end = 0  # the last line read
        self.mark = (0, len(log.entries), len(self.problems))  # (line, entries, problems)

    def read(self, reader, checker: RowChecker, first: int) -> int:
        """Check every row from line `first` on, keep the valid ones; the last line read.

        A cell longer than the csv module's limit (131,072 characters: a paste gone wrong, a
        quote left open in a large file) stops the reader at that row: it is reported, and
        reading goes on at the next line, so the other rows still count."""
        log, problems = self.log, self.problems
        self.end = base = first - 1
        self.mark = (first, len(log.entries), len(problems))
        while True:
            try:
                self._rows(reader, checker, base)
                break
            except csv.Error as exc:
                start, self.end = self.end + 1, reader.line_num + base
                self.mark = (start, len(log.entries), len(problems))
                problems.append(Problem(log.file, start, "error",
                                        _runs_on(_csv_error(exc), start, self.end)))  # fmt: skip
        if self.end < self.mark[0]:  # no record: the mark is the end of the text
            self.mark = (self.end + 1, *self.mark[1:])
        return self.end

    def _rows(self, reader, checker: RowChecker, base: int) -> None:
        """The row loop of `read`: a large practice's month has hundreds of thousands of rows,
        so the mark (the last row's first line, and the entries and problems before it) is
        worked out once at the end, from what the last row added, not kept row by row."""
        log, problems, seen, taken = self.log, self.problems, self.seen, self.taken
        entries = log.entries
        add, check = entries.append, checker.check
        rel, width = log.file, log.columns
        end, start, added = self.end, 0, ""  # added: what the last row read added
        try:
            for row in reader:
                start, end, added = end + 1, reader.line_num + base, ""
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                added = "problem"
                if len(row) != width:
                    problems.append(Problem(rel, start, "error", _runs_on(
                        f"row has {len(row)} columns, expected {width}", start, end)))  # fmt: skip
                    continue
                result = check(row)
                if isinstance(result, str):
                    problems.append(Problem(rel, start, "error", result, patient_id=row[1] or None))
                    continue
                eid = row[0]
                if eid in seen:
                    msg = f"entry id {eid} is already used on line {seen[eid]}"
                    problems.append(Problem(rel, start, "error", msg, patient_id=row[1]))
                    continue
                seen[eid] = start
                if eid in taken:
                    msg = f"entry id {eid} is already used at {taken[eid]}"
                    problems.append(Problem(rel, start, "error", msg, patient_id=row[1]))
                    continue
                day, minutes = result
                if minutes is None:
                    self.voids = True
                # csv_safe.typed_text of staff, activity and note, inlined: three calls a row
                staff, activity, note = row[5], row[6], row[9]
                add(Entry(eid, row[1], day, minutes, row[4],
                          staff[1:] if staff[:1] == "'" else staff,
                          activity[1:] if activity[:1] == "'" else activity,
                          row[7], row[8], note[1:] if note[:1] == "'" else note, row[10], row[11],
                          start, rel, None, row[12] if width > 12 else ""))  # fmt: skip
                added = "entry"
        finally:
            self.end = end
            if start:
                self.mark = (start, len(entries) - (added == "entry"),
                             len(problems) - (added == "problem"))  # fmt: skip

    def resume_point(self, text: str, end: int, offset: int) -> Resume | None:
        """Where the last record starts, for ASCII text whose lines all end in \\n (or \\r\\n):
        only there are characters bytes and line numbers counts of \\n. `end` is the text's last
        line and `offset` where the text starts in the file."""
        if not text.isascii() or text.count("\r") != text.count("\r\n"):
            return None
        line, n_entries, n_problems = self.mark
        pos = len(text)
        for _ in range(end + 1 - line):  # back over the lines from the mark's to the end
            pos = text.rfind("\n", 0, pos - 1) + 1
        return Resume(offset + pos, line, self.log.entries[:n_entries],
                      self.problems[:n_problems], self.log.columns)  # fmt: skip


def _csv_error(exc: csv.Error) -> str:
    if "field larger" in str(exc):
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"cannot read this row as CSV ({exc})"


def _runs_on(msg: str, start: int, end: int) -> str:
    """A quote left open swallows the lines after it: say so, loudly."""
    if end > start:
        return f"{msg}; it runs on to line {end} (a quote left open?): lines {start}-{end} are not counted"
    return msg


def _link_voids(log: MonthLog) -> None:
    """Mark voided entries; a void of a missing, void or already-voided entry is an error."""
    by_id = {e.id: e for e in log.entries}
    bad: set[int] = set()
    for e in log.entries:
        if not e.voids:
            continue
        target = by_id.get(e.voids)
        problem = None
        if target is None:
            problem = f"voids {e.voids}, which is not an entry in this file"
        elif target.voids:
            problem = f"voids {e.voids}, which is itself a void row"
        elif target.patient_id != e.patient_id or target.date != e.date:
            problem = f"void row must repeat the patient_id and date of entry {e.voids}"
        elif target.voided_by is not None:
            problem = f"entry {e.voids} is already voided by {target.voided_by}"
        if problem:
            log.problems.append(
                Problem(log.file, e.line, "error", problem, patient_id=e.patient_id)
            )
            bad.add(id(e))
        else:
            target.voided_by = e.id
    if bad:
        log.entries[:] = [e for e in log.entries if id(e) not in bad]
