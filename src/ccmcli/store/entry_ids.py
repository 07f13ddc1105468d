"""Entry ids across months: each is unique across all logs (contract 1), so a month's rows must
not use an id an earlier month's file uses (such a row is an error and counts toward nothing).

Checking that means the ids of every earlier month: each month's ids are kept under its file's
signature, and the answer for a month under its own ids and the earlier files' fingerprints
(store/cache.py keys, reads and writes them), so a month whose history did not change costs one
small read, however long the history. An earlier
month file that cannot be read (a named pipe, a device, a link leading outside the data
directory: regular_files) is never waited on; its ids cannot be checked, so it is a problem of
every later month read, in the words reading that month gives.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from operator import attrgetter

from ccmcli.models.findings import Problem, sort_key
from ccmcli.models.months import Month
from ccmcli.store import cache, layout, regular_files, timelog
from ccmcli.store.datadir import DataDir
from ccmcli.store.log_parser import read_month, unreadable


def row_ids(data, month: Month) -> list[str] | None:
    """The entry id (first cell) of every row of the month file, header and broken rows aside;
    None when the file is there but cannot be read (log_parser.read_month says why).

    Entry ids are unique across all logs, so judging one month needs the ids of the others; a
    month's ids are kept under its file's signature (cache.of_file), so a month that did not
    change costs one small read, not a parse.
    """
    path = data.log_path(month)
    return cache.of_file(data.root, path, "ids", lambda p: _file_ids(data, p))  # type: ignore[return-value]


def _text(data, path) -> str | None:
    """The file's text as the ids are read from it, through regular_files (never a pipe or a
    link leading outside); None when it cannot be read."""
    try:
        raw = regular_files.read_bytes(data.root, path)
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    return raw.decode("utf-8-sig", errors="replace")


def _file_ids(data, path) -> list[str] | None:
    """The first cell of every row after the header, as the csv module reads the file."""
    text = _text(data, path)
    if text is None:
        return None
    if '"' not in text:  # no quoting: a line is a row, and much faster to split
        return [line.partition(",")[0] for line in text.splitlines()[1:] if line]
    rows = csv.reader(io.StringIO(text, newline=""))
    next(rows, None)
    return [row[0] for row in rows if row]


def _row_lines(data, path, ids: set[str]) -> dict[str, int]:
    """The line of the first row holding each of `ids`, for a message that points at it."""
    found: dict[str, int] = {}
    rows = csv.reader(io.StringIO(_text(data, path) or "", newline=""))
    line = 1
    next(rows, None)
    for row in rows:
        start, line = line + 1, rows.line_num
        if row and row[0] in ids:
            found.setdefault(row[0], start)
    return found


def history_key(data, earlier: list[Month]) -> str | None:
    """The key of what is kept of the months before a month: every earlier month log's
    fingerprint. None when caching is off or a log changed too recently to be told apart."""
    if not cache.enabled():
        return None
    logs = cache.fingerprints([data.log_path(m) for m in earlier])
    return None if logs is None else cache.key("months before", str(data.root), logs)


def _ids_text(ids: list[str]) -> bytes:
    return "\n".join(ids).encode("utf-8", "surrogateescape")


class _Kept:
    """What is kept of a month's reused-id answer, under its history_key: the answer for the
    month's first `count` ids (their digest), and every earlier id, one a line. A month that
    only grew since (`ccm log` appends all day) checks just its new ids, at C speed; loading
    every earlier month's ids costs more than the rest of `ccm log`."""

    def __init__(self, data, month: Month, key: str) -> None:
        self.root, self.suffix, self.key = data.root, f"-{month}", key

    def answer(self, ids: list[str]) -> tuple[int, tuple[dict[str, str], list[str]]] | None:
        """(how many of `ids` it covers, the answer for them) when they begin with its ids."""
        stored = cache.read(self.root, "reused", self.key, self.suffix)
        if not isinstance(stored, list) or len(stored) != 4:
            return None
        count, digest, used, unreadable = stored
        if not (isinstance(count, int) and count <= len(ids) and isinstance(used, dict)
                and isinstance(unreadable, list)):  # fmt: skip
            return None
        head = _ids_text(ids[:count])  # the month only grew since: the same ids come first
        return (count, (used, unreadable)) if cache.grown(head, (len(head), digest)) else None

    def keep_answer(self, ids: list[str], answer: tuple[dict[str, str], list[str]]) -> None:
        kept = [len(ids), cache.digest(_ids_text(ids)), *answer]
        cache.write(self.root, "reused", self.key, kept, self.suffix)

    def history(self) -> bytes | None:
        stored = cache.read(self.root, "ids-before", self.key, self.suffix)
        return stored if isinstance(stored, bytes) else None

    def keep_history(self, ids: list[str]) -> None:
        text = "\n" + "\n".join(ids) + "\n"  # bytes: loaded without decoding a large text
        cache.write(self.root, "ids-before", self.key, text.encode("utf-8", "surrogateescape"),
                    self.suffix)  # fmt: skip


def reused_ids(
    data: DataDir, month: Month, ids: set[str], read: dict[Month, set[str]] | None = None,
    in_order: list[str] | None = None,
) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """Which of `ids` (of `month`'s rows) an earlier month's file already uses, and where
    (`logs/2026-09.csv:7`), and the earlier month files that cannot be read (their ids cannot
    be checked). Entry ids are unique across all logs (contract 1): such a row is an error and
    counts toward nothing, as `validate` has always said. `read`: months' ids read already
    (row_ids, as sets). `in_order`: the ids in file order, when the answer may be kept (_Kept,
    under the earlier logs' signatures)."""
    earlier = [m for m in layout.log_months(data) if m < month]
    key = history_key(data, earlier) if in_order is not None else None
    if key is None:
        return _reused_ids(data, earlier, ids, read)[:2]
    kept = _Kept(data, month, key)
    found = kept.answer(in_order)  # type: ignore[arg-type]
    if found is not None:
        count, (used, unreadable) = found
        new = in_order[count:]  # type: ignore[index]
        if not new:
            return used, unreadable
        history = kept.history()
        if history is not None:
            maybe = {i for i in new if f"\n{i}\n".encode("utf-8", "surrogateescape") in history}
            more = _reused_ids(data, earlier, maybe, read)[0] if maybe else {}
            answer = ({**used, **more}, unreadable)
            kept.keep_answer(in_order, answer)  # type: ignore[arg-type]
            return answer
    used, unreadable, every = _reused_ids(data, earlier, ids, read)
    kept.keep_answer(in_order, (used, unreadable))  # type: ignore[arg-type]
    kept.keep_history(every)
    return used, unreadable


def _reused_ids(
    data: DataDir, earlier: list[Month], ids: set[str], read
) -> tuple[dict[str, str], list[str], list[str]]:
    """(reused ids and where, unreadable earlier months, every earlier id)."""
    used: dict[str, str] = {}
    unreadable: list[str] = []
    every: list[str] = []
    for m in earlier:
        before = read.get(m) if read else None
        before = row_ids(data, m) if before is None else before
        path = data.log_path(m)
        if before is None:
            unreadable.append(str(m))
            continue
        every += before
        clashes = ids.intersection(before).difference(used)
        if clashes:
            lines = _row_lines(data, path, clashes)
            used.update({eid: f"{data.relative(path)}:{lines[eid]}" for eid in clashes})
    return used, unreadable, every


def without_reused_ids(
    data: DataDir, month: Month, log: timelog.MonthLog, known: Callable[[str], bool],
    read: dict | None = None,
) -> timelog.MonthLog:  # fmt: skip
    """The month's log with the rows whose ids an earlier month uses in error, and a problem
    for each earlier month file that cannot be read. `known`: whether a patient has a file, as
    the log was read.

    A row in error counts toward nothing, and a void row in error voids nothing: its entry
    counts, and may be voided by another row. So when some id is used again, the month is read
    again with those ids taken (log_parser), which links void rows only among the rest: rare,
    and then exact."""
    ids = list(map(attrgetter("id"), log.entries))
    used, unreadable = reused_ids(data, month, set(ids), read, in_order=ids)
    if used:
        every = set(row_ids(data, month) or ()) | set(ids)  # rows the first reading set aside
        taken = _reused_ids(data, [m for m in layout.log_months(data) if m < month], every,
                            read)[0]  # fmt: skip
        log = read_month(data, month, known, taken)
    if unreadable:
        problems = [_unreadable_problem(data, Month.parse(m)) for m in unreadable]
        log = replace(log, problems=sorted(log.problems + problems, key=sort_key))
    return log


def _unreadable_problem(data: DataDir, month: Month) -> Problem:
    """What reading the month file says of it (log_parser.read_month), in its words."""
    path = data.log_path(month)
    try:
        regular_files.check_readable(data.root, path)
    except OSError as exc:
        return unreadable(data.relative(path), exc)
    return Problem(data.relative(path), None, "error", "cannot read: it changed while being read")
