"""Totals of judged months kept between runs of `ccm report`, so past months are not judged
again and again: a report of a large practice judges thirteen months, and past months rarely
change.

A month's totals are stored under a hash of everything its judgement reads: ccm's own code, the
ICD-10-CM code set's version, ccm.yaml and every patient file (by the signature the loader read
them at: size, mtime, ctime, inode), the month's log and every earlier month's log (an entry id used before makes a
row count toward nothing, entry_ids.reused_ids), and the month. Any change to any of them is a new
key, so a stale total is never used; when a file changed too recently to be told apart
(store.cache.RACY_NS), nothing is read or kept. The file lives with ccm's other caches (inside
the data directory, private to its user) and is checked like them; deleting it changes nothing
but speed, and CCM_NO_CACHE turns it off.
"""

import hashlib
import os
import sys
import time
from functools import cache as memo
from pathlib import Path
from typing import TYPE_CHECKING

from ccmcli.models.months import Month
from ccmcli.store import cache
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.loader import Practice

KEEP = 600  # months kept per data directory (a few years of reports), newest last
Totals = tuple[int, int, float, int]  # patients, billable, amount, file errors


@memo
def code_key() -> str:
    """Changes with any of ccm's source files (rules, amounts, readers) or Python itself."""
    from ccmcli.store.icd10 import CodeSetUnavailable, installed_version

    try:
        codes = installed_version()  # the code set the loader checks conditions against
    except CodeSetUnavailable:
        codes = "none"
    h = hashlib.sha256(f"{sys.version} {codes}".encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _signatures(paths: list[Path]) -> list | None:
    """Signatures of `paths`; None when one is too recent."""
    started = time.time_ns()
    sigs: list = []
    for path in paths:
        try:
            sigs.append((path.name, cache.signature(os.stat(path))))
        except OSError:
            sigs.append((path.name, None))
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


def record_signatures(practice: "Practice") -> list | None:
    """ccm.yaml's and every patient file's signature as the loader read them (the same for every
    month); None when one changed too recently to be told apart or was not taken (caches off,
    or only some patients read). The loader's own, so a key names the files the answer was
    judged from, and nothing is read twice."""
    sigs = practice.signatures
    if not practice.whole or not sigs:
        return None
    if any(cache.trusted(sig, practice.read_at_ns) is None for sig in sigs.values()):
        return None
    return sorted(sigs.items())


def _path(data: DataDir, kind: str) -> Path:
    return cache.cache_file(data.root, kind)


def load(data: DataDir, kind: str = "report-totals") -> dict[str, Totals]:
    """Every stored total by key; empty when off, missing, damaged or foreign. `kind`: what is
    kept per month (the report's totals; compare's outcomes per patient)."""
    if not cache.enabled():
        return {}
    stored = cache.read_value(_path(data, kind))
    return stored if isinstance(stored, dict) else {}


def save(
    data: DataDir, known: dict, new: dict, kind: str = "report-totals", keep: int = KEEP
) -> None:
    """Add `new` to what was `known`, oldest dropped past `keep`."""
    if not new or not cache.enabled():
        return
    merged = {k: v for k, v in known.items() if k not in new} | new
    kept = dict(list(merged.items())[-keep:])
    cache.write_value(_path(data, kind), kept)
