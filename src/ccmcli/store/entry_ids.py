"""Entry ids across months: each is unique across all logs (contract 1), so a month's rows must
not use an id an earlier month's file uses (such a row is an error and counts toward nothing).

Checking that means the ids of every earlier month: each month's ids are kept under its file's
signature, and the answer for a month under its own ids and the earlier files' fingerprints
(store/cache.py), so a month whose history did not change costs one small read, however long
the history.
"""

import hashlib
from dataclasses import replace
from operator import attrgetter

from ccmcli.models.findings import Problem, sort_key
from ccmcli.models.months import Month
from ccmcli.store import cache, layout, timelog
from ccmcli.store.datadir import DataDir


def row_ids(data, month: Month) -> list[str]:
    """The entry id (first cell) of every row of the month file, header and broken rows aside.

    Entry ids are unique across all logs, so judging one month needs the ids of the others; a
    month's ids are kept under its file's signature (cache.of_file), so a month that did not
    change costs one small read, not a parse.
    """
    path = data.log_path(month)
    if cache.fingerprint(path) == "missing":
        return []
    return cache.of_file(data.root, path, "ids", timelog.row_ids)  # type: ignore[return-value]


def reuse_key(data, earlier: list[Month], ids: list[str]) -> str | None:
    """The key of a month's reused-id answer (reused_ids): its entry ids in file order and
    every earlier month log's fingerprint. None when caching is off or a log changed too
    recently to be told apart. Loading every earlier month's ids costs more than a month's own
    rows once the rest of a check is kept."""
    if not cache.enabled():
        return None
    logs = cache.fingerprints([data.log_path(m) for m in earlier])
    if logs is None:
        return None
    digest = hashlib.sha256("\n".join(ids).encode("utf-8", "surrogateescape")).hexdigest()
    return cache.key("reused ids", str(data.root), logs, digest)


def reused_ids(
    data: DataDir, month: Month, ids: set[str], read: dict[Month, set[str]] | None = None,
    in_order: list[str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """Which of `ids` (of `month`'s rows) an earlier month's file already uses, and where
    (`logs/2026-09.csv:7`). Entry ids are unique across all logs (contract 1): such a row is an
    error and counts toward nothing, as `validate` has always said. `read`: months' ids read
    already (logcache.row_ids, as sets). `in_order`: the ids in file order, when the answer may
    be kept (under them and the earlier logs' fingerprints: reuse_key)."""
    if not ids:
        return {}
    earlier = [m for m in layout.log_months(data) if m < month]
    key = reuse_key(data, earlier, in_order) if in_order is not None else None
    kept = cache.read(data.root, "reused", key, f"-{month}") if key else None
    if isinstance(kept, dict):
        return kept
    used = _reused_ids(data, earlier, ids, read)
    if key:
        cache.write(data.root, "reused", key, used, f"-{month}")
    return used


def _reused_ids(data: DataDir, earlier: list[Month], ids: set[str], read) -> dict[str, str]:
    used: dict[str, str] = {}
    for m in earlier:
        before = read.get(m) if read else None
        before = row_ids(data, m) if before is None else before
        clashes = ids.intersection(before).difference(used)
        if clashes:
            path = data.log_path(m)
            lines = timelog.row_lines(path, clashes)
            used.update({eid: f"{data.relative(path)}:{lines[eid]}" for eid in clashes})
    return used


def without_reused_ids(
    data: DataDir, month: Month, log: timelog.MonthLog, read: dict | None = None
) -> timelog.MonthLog:
    """The month's log without the rows whose ids an earlier month uses, each a problem."""
    ids = list(map(attrgetter("id"), log.entries))
    used = reused_ids(data, month, set(ids), read, in_order=ids)
    if not used:
        return log
    problems = [
        Problem(e.file, e.line, "error", f"entry id {e.id} is already used at {used[e.id]}",
                patient_id=e.patient_id)
        for e in log.entries if e.id in used
    ]  # fmt: skip
    kept = [e for e in log.entries if e.id not in used]
    by_id = {e.id: e for e in kept}
    for e in log.entries:  # a void row in error voids nothing: its entry counts again
        target = by_id.get(e.voids) if e.id in used and e.voids else None
        if target is not None and target.voided_by == e.id:
            target.voided_by = None
    return replace(log, entries=kept, problems=sorted(log.problems + problems, key=sort_key))
