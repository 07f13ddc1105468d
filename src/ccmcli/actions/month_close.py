"""`ccm close`, `ccm close --verify` and `ccm reopen` (contract section 8).

A close records the month's judgement, once billed, so that it cannot change silently: every
later change shows in `--verify` and `validate`, and `log`, `void` and `stop` refuse entries dated
in a closed month (store/logappend asks store/closed_records). Close and reopen hold the month
log's lock while they judge and write, so an entry being logged at that moment lands either before
the close (and in its record) or after it (and is refused): never between.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.actions.entry_input import resolve_staff, single_line
from ccmcli.loader import load
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, is_provisional, now_in
from ccmcli.reports import month_record
from ccmcli.reports.practice_month import judge_month
from ccmcli.store import closed_records, fileio, timelog
from ccmcli.store.closed_records import History
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import CloseVerifyOutput

SHOWN = 5


@dataclass
class Written:
    """A record just written, and where."""

    record: dict
    file: str


@contextlib.contextmanager
def _month_locked(data: DataDir, month: Month) -> Iterator[None]:
    """The month log's lock (as log and void take it) and a shared lock on its export ledger
    (an export waits), held while the month is judged and its record written."""
    with fileio.locked(data.log_path(month), timelog.HEADER):
        try:  # the same lock `read_ledger` takes: on the file the path names, a regular one
            fd = fileio.open_locked(data.export_path(month), os.O_RDONLY, fcntl.LOCK_SH)
        except (FileNotFoundError, NotADirectoryError):  # not a folder: a problem of the month
            yield
            return
        try:
            yield
        finally:
            os.close(fd)


def _history(data: DataDir, month: Month) -> History:
    history = closed_records.read_history(data, month)
    if history.problems:
        shown = "\n".join(f"  {p.render()}" for p in history.problems[:SHOWN])
        raise CcmError(f"the close records of {month} show tampering or damage; restore them "
                       f"from a backup (records are never edited):\n{shown}")  # fmt: skip
    return history


def _stamp(settings, environ: Mapping[str, str]) -> dict:
    return {"by": resolve_staff(None, environ),
            "at": now_in(settings.timezone).isoformat(timespec="seconds")}  # fmt: skip


def close_month(data: DataDir, month_text: str, environ: Mapping[str, str] = os.environ) -> Written:
    """Refuse an unfinished month, a closed one, one with errors; else record its judgement."""
    practice = load(data)
    settings = practice.settings
    month = Month.parse(month_text)
    if is_provisional(month, settings.timezone):
        raise CcmError(f"{month} has not ended at the practice ({settings.timezone}); "
                       "close it once it has ended")  # fmt: skip
    stamp = _stamp(settings, environ)
    with _month_locked(data, month):
        history = _history(data, month)
        if history.closed:
            last = history.last or {}
            raise CcmError(f"{month} is already closed ({history.files[-1]}, by {last.get('by')} "
                           f"at {last.get('at')}); check it with `ccm close --verify {month}`")  # fmt: skip
        report = judge_month(practice, month)  # the log is read here, under its lock
        _refuse_errors(data, month, report.problems)
        record = {"kind": "close", **stamp, **month_record.snapshot(data, settings, report)}
        sealed, rel = closed_records.write_next(data, history, record)
    return Written(sealed, rel)


def _refuse_errors(data: DataDir, month: Month, problems: list[Problem]) -> None:
    """A month with errors in its files (or a damaged export ledger) is not closed."""
    from ccmcli.store.ledger import read_ledger

    read_ledger(data, month)  # raises on a damaged ledger
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return
    shown = [f"  {p.render()}" for p in errors[:SHOWN]]
    if len(errors) > SHOWN:
        shown.append(f"  ... and {len(errors) - SHOWN} more")
    raise CcmError("\n".join([f"not closing {month}: its files have {len(errors)} error"
                              f"{'s' * (len(errors) != 1)} (run `ccm validate` and fix them)",
                              *shown]))  # fmt: skip


def reopen_month(
    data: DataDir, month_text: str, reason: str, environ: Mapping[str, str] = os.environ
) -> Written:
    """Record who reopened a closed month, when and why; the month may then change."""
    why = single_line("--reason", reason)
    if not why:
        raise CcmError("--reason must say why the month is reopened", 2)
    settings = load(data, patient_ids=()).settings
    month = Month.parse(month_text)
    stamp = _stamp(settings, environ)
    with _month_locked(data, month):
        history = _history(data, month)
        if not history.closed:
            raise CcmError(f"{month} is not closed; nothing to reopen")
        sealed, rel = closed_records.write_next(data, history, {"kind": "reopen", **stamp,
                                                                "reason": why})  # fmt: skip
    return Written(sealed, rel)


@dataclass
class Verification:
    month: Month
    history: History
    record_file: str | None = None
    differences: list[month_record.Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.history.problems

    def as_dict(self) -> "CloseVerifyOutput":
        last = self.history.last_close() or {}
        return {"schema": "ccm.close_verify/1", "month": str(self.month),
                "record": self.record_file, "closed_by": last.get("by"),
                "closed_at": last.get("at"), "matches": self.ok,
                "differences": [d.as_dict() for d in self.differences],
                "record_problems": [p.as_dict() for p in self.history.problems]}  # fmt: skip


def verify_month(data: DataDir, month_text: str) -> Verification:
    """Judge the month again and compare it with its last close record."""
    practice = load(data)  # a broken ccm.yaml refuses here as in every command
    month = Month.parse(month_text)
    history = closed_records.read_history(data, month)
    if not history.files:
        raise CcmError(f"{month} is not closed (no {closed_records.FOLDER}/{month}.json)")
    out = Verification(month, history)
    if not history.closed:
        last = history.last or {}
        raise CcmError(f"{month} was reopened ({history.files[-1]}, by {last.get('by')} at "
                       f"{last.get('at')}) and is not closed now; nothing to verify")  # fmt: skip
    record = history.last_close()
    if record is None:
        return out
    out.record_file = history.files[history.records.index(record)]
    now, report = month_record.current(practice, month)
    if now is not None:
        outside = month_record.outside(practice, report)
        out.differences = month_record.differences(record, now, outside)
    return out
