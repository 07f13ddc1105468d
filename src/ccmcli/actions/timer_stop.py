"""`ccm stop`: a timer becomes log entries, exactly once even when the process dies half-way.

So a stop first decides everything (end, parts, the entry id of each part) and writes that into
the timer file; then appends each part through `ccm log`'s own path with that id; then deletes
the timer file. A stop that finds a decided stop in the file finishes it: parts whose id is
already in the log are not written again (logappend refuses a chosen id twice under the file's
lock). A stop refused before anything was written leaves the timer running as it was. Starting,
listing and cancelling timers is timers.py; how a span becomes whole-minute parts, timer_parts.py.
"""

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ccmcli.actions.entry_input import parse_time, resolve_staff, single_line
from ccmcli.actions.recording import LogRequest, Recorded, log_time
from ccmcli.actions.timer_parts import day_parts, end_of_timer
from ccmcli.actions.timers import patient_digest, require_timer
from ccmcli.loader import load
from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month, now_in, zone
from ccmcli.store import timerstate
from ccmcli.store.datadir import DataDir
from ccmcli.store.logappend import AlreadyLogged, new_entry_id
from ccmcli.store.timelog import Entry
from ccmcli.store.timerstate import Part, Timer


@dataclass
class Stopped:
    """What a stop did: the entries written (or found written), and the time that passed."""

    timer: Timer
    recorded: list[Recorded] = field(default_factory=list)
    seconds: int = 0
    resumed: bool = False


@dataclass
class StopRequest:
    note: str = ""
    at: str | None = None
    staff: str | None = None
    force: bool = False


def stop_timer(data: DataDir, req: StopRequest, environ: Mapping[str, str] = os.environ) -> Stopped:
    """Turn the caller's timer into log entries (see the module's docstring for crash safety)."""
    who = resolve_staff(req.staff, environ)
    note = single_line("--note", req.note)
    at = parse_time("--at", req.at) if req.at else None
    tz = load(data, patient_ids=()).settings.timezone
    with timerstate.locked(data):
        timer = require_timer(data, who)
        resumed = timer.stop is not None
        started = timer.started.astimezone(zone(tz))
        if not resumed:
            ended = end_of_timer(started, now_in(tz), at)
            parts = day_parts(started, ended)
            seconds = int((ended.astimezone(UTC) - started.astimezone(UTC)).total_seconds())
            if not parts:
                timerstate.remove(timer)
                return Stopped(timer, [], seconds)
            _check_patient(data, timer, req.force)
            _check_service(timer)
            timer.stop = {"ended": ended.isoformat(), "note": note,
                          "parts": [p.state() for p in _with_ids(data, parts)]}  # fmt: skip
            timerstate.save(timer)
        recorded = _write_parts(data, timer)
        timerstate.remove(timer)
    _judge_missing(data, recorded)
    ended = datetime.fromisoformat(timer.stop["ended"])
    seconds = int((ended.astimezone(UTC) - started.astimezone(UTC)).total_seconds())
    return Stopped(timer, recorded, seconds, resumed)


def _check_patient(data: DataDir, timer: Timer, force: bool) -> None:
    """The entry is for the patient the timer was started on: a file that vanished or changed
    meanwhile (renamed, merged, replaced) is refused until a person has looked."""
    rel = data.relative(data.patient_path(timer.patient_id))
    try:
        digest = patient_digest(data, timer.patient_id)
    except FileNotFoundError:
        raise CcmError(f"{rel} is gone since the timer started: nothing logged, the timer keeps "
                       "running; restore the file, or `ccm cancel`") from None  # fmt: skip
    except OSError as exc:
        raise CcmError(f"cannot read {rel} ({exc.strerror or type(exc).__name__}): nothing "
                       "logged, the timer keeps running") from None  # fmt: skip
    if digest != timer.patient_sha256 and not force:
        raise CcmError(f"{rel} changed since the timer started: nothing logged, the timer keeps "
                       "running; check it is the same patient, then `ccm stop --force`")  # fmt: skip


def _has_service_column() -> bool:
    return "service" in {f.name for f in dataclasses.fields(LogRequest)}


def _check_service(timer: Timer) -> None:
    """Time of another service logged as care-management time would be billed: refuse instead."""
    if timer.service and not _has_service_column():
        raise CcmError(f"this ccm cannot log {timer.service} time yet (no log service column); "
                       "the timer keeps running: `ccm cancel` it and log the time later")  # fmt: skip


def _with_ids(data: DataDir, parts: list[Part]) -> list[Part]:
    """Each part with a fresh entry id that its month log does not hold yet."""
    from ccmcli.store.entry_ids import row_ids

    out: list[Part] = []
    for p in parts:
        used = set(row_ids(data, Month.of(p.day)) or ())  # the lock's check refuses one anyway
        entry_id = new_entry_id()
        while entry_id in used or any(q.entry_id == entry_id for q in out):
            entry_id = new_entry_id()
        out.append(dataclasses.replace(p, entry_id=entry_id))
    return out


def _write_parts(data: DataDir, timer: Timer) -> list[Recorded]:
    """Append each part through `ccm log`'s path with its chosen id; a part already in its log
    (an interrupted stop) is reported, not written again."""
    out: list[Recorded] = []
    note = (timer.stop or {}).get("note", "")
    for part in timer.parts():
        extra = {"service": timer.service} if timer.service and _has_service_column() else {}
        req = LogRequest(patient_id=timer.patient_id, day=part.day.isoformat(), start=part.start,
                         end=part.end, role=timer.role, staff=timer.staff,
                         activity=timer.activity, note=note, entry_id=part.entry_id, **extra)  # fmt: skip
        try:
            out.append(log_time(data, req, environ={}))
        except AlreadyLogged:
            written = f"{part.entry_id} was already logged before the stop was interrupted"
            out.append(Recorded(_entry(timer, part, note), None, [written]))
        except CcmError as exc:
            _failed(data, timer, out, exc)
    return out


def _judge_missing(data: DataDir, recorded: list[Recorded]) -> None:
    """Parts found already logged carry no judgement: judge each month that has none."""
    from ccmcli.reports.patient_month import month_status

    by_month: dict[Month, list[Recorded]] = {}
    for r in recorded:
        by_month.setdefault(Month.of(r.entry.date), []).append(r)
    for month, rs in by_month.items():
        if all(r.judgement is None for r in rs):
            practice = load(data, patient_ids=[rs[-1].entry.patient_id])
            try:
                patient = practice.patient(rs[-1].entry.patient_id)
            except CcmError:
                continue
            rs[-1].judgement = month_status(practice, patient, month)


def _entry(timer: Timer, part: Part, note: str) -> Entry:
    return Entry(part.entry_id, timer.patient_id, part.day, part.minutes, timer.role, timer.staff,
                 timer.activity, part.start, part.end, note, "", "", 0, "")  # fmt: skip


def _failed(data: DataDir, timer: Timer, done: list[Recorded], exc: CcmError) -> None:
    """A part was refused. With nothing logged, the timer runs on as before the stop; else the
    decided stop stays in the file for the next `ccm stop` to finish."""
    if not done:
        timer.stop = None
        timerstate.save(timer)
        raise CcmError(f"{exc.message} (nothing logged; the timer keeps running)", exc.exit_code)
    ids = ", ".join(r.entry.id for r in done)
    raise CcmError(f"{exc.message} ({ids} logged; `ccm stop` again logs the rest)", exc.exit_code)
