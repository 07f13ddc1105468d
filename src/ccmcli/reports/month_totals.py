"""Totals of judged months kept between runs of `ccm report`, so past months are not judged
again and again: a report of a large practice judges thirteen months, and past months rarely
change.

A month's totals are stored under a hash of everything its judgement reads: ccm's own code, the
ICD-10-CM code set's version, ccm.yaml and every file in patients/ (by signature: size, mtime,
ctime, inode), the month's log and every earlier month's log (an entry id used before makes a
row count toward nothing, entry_ids.reused_ids), and the month. Any change to any of them is a new
key, so a stale total is never used; when a file changed too recently to be told apart
(store.cache.RACY_NS), nothing is read or kept. The file lives with ccm's other caches (inside
the data directory, private to its user) and is checked like them; deleting it changes nothing
but speed, and CCM_NO_CACHE turns it off.
"""

import hashlib
import marshal
import os
import sys
import time
import zlib
from functools import cache as memo
from pathlib import Path

from ccmcli.models.months import Month
from ccmcli.store import cache
from ccmcli.store.datadir import DataDir

KEEP = 600  # months kept per data directory (a few years of reports), newest last
Totals = tuple[int, int, float, int]  # patients, billable, amount, file errors


@memo
def code_key() -> str:
    """Changes with any of ccm's source files (rules, amounts, readers) or Python itself."""
    from ccmcli.codes.icd10 import CodeSetUnavailable, installed_version

    try:
        codes = installed_version()  # the code set the loader checks conditions against
    except CodeSetUnavailable:
        codes = "none"
    h = hashlib.sha256(f"{sys.version} {codes}".encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _signatures(paths: list[Path], folder: Path | None = None) -> list | None:
    """Signatures of `paths` and of every file in `folder`; None when one is too recent."""
    started = time.time_ns()
    sigs: list = []
    for path in paths:
        try:
            sigs.append((path.name, cache.signature(os.stat(path))))
        except OSError:
            sigs.append((path.name, None))
    try:
        if folder is not None:
            with os.scandir(folder) as found:
                sigs += sorted((e.name, cache.signature(e.stat())) for e in found)
    except OSError:
        sigs.append((folder.name, None))
    if any(s is not None and cache.trusted(s, started) is None for _, s in sigs):
        return None
    return sigs


def inputs_key(data: DataDir, month: Month, records: list | None) -> str | None:
    """The key of `month`'s totals; `records` are the signatures of ccm.yaml and patients/
    (the same for every month: see record_signatures)."""
    if records is None:
        return None
    from ccmcli.store.layout import log_months

    earlier = [data.log_path(m) for m in log_months(data) if m < month]
    logs = _signatures([*earlier, data.log_path(month)])
    if logs is None:
        return None
    text = repr((code_key(), str(data.root), str(month), records, logs))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def record_signatures(data: DataDir) -> list | None:
    return _signatures([data.settings_path], data.patients_dir)


def _path(data: DataDir, kind: str) -> Path:
    return cache.cache_file(data.root, kind)


def load(data: DataDir, kind: str = "report-totals") -> dict[str, Totals]:
    """Every stored total by key; empty when off, missing, damaged or foreign. `kind`: what is
    kept per month (the report's totals; compare's outcomes per patient)."""
    if not cache.enabled():
        return {}
    opened = cache.open_private(_path(data, kind))
    if opened is None:
        return {}
    f, numbers = opened
    with f:
        raw = cache.read_checked(f, *numbers) if len(numbers) == 2 else None
    try:
        stored = marshal.loads(raw) if raw is not None else None
    except (EOFError, ValueError, TypeError):
        return {}
    return stored if isinstance(stored, dict) else {}


def save(
    data: DataDir, known: dict, new: dict, kind: str = "report-totals", keep: int = KEEP
) -> None:
    """Add `new` to what was `known`, oldest dropped past `keep`."""
    if not new or not cache.enabled():
        return
    merged = {k: v for k, v in known.items() if k not in new} | new
    kept = dict(list(merged.items())[-keep:])
    raw = marshal.dumps(kept)
    cache.write_private(_path(data, kind), [len(raw), zlib.crc32(raw)], raw)
