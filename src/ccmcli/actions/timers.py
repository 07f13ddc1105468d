"""Timers: what `ccm start`, `ccm status` and `ccm cancel` do (contract section 7).

A timer is a file per staff member (store/timerstate.py) holding who, which patient and since
when; only a stop turns it into log entries, which must happen exactly once even when the process
dies half-way, so the stop has its own module (timer_stop.py). An interrupted stop whose entries
are all in the logs is cleared here (its file removed); once some are, a cancel is refused.
"""

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ccmcli.actions.entry_input import activity_option, resolve_role, resolve_staff
from ccmcli.actions.timer_parts import elapsed_minutes
from ccmcli.loader import load
from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month, now_in, zone
from ccmcli.store import timerstate
from ccmcli.store.datadir import DataDir
from ccmcli.store.timerstate import Part, Timer

SERVICES = ("bhi", "rpm", "rtm", "tcm", "cocm", "other")

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import Timer as TimerJson


@dataclass
class StartRequest:
    patient_id: str
    activity: str = ""
    role: str | None = None
    staff: str | None = None
    service: str = ""


def _patient_on_file(data: DataDir, patient_id: str) -> tuple[str, str, str]:
    """The practice time zone, the patient's id and a digest of the patient's file: the only data
    a timer reads (the patient is loaded, so an invalid record is refused at the start)."""
    practice = load(data, patient_ids=[patient_id])
    patient = practice.patient(patient_id)
    return practice.settings.timezone, patient.id, patient_digest(data, patient.id)


def patient_digest(data: DataDir, patient_id: str) -> str:
    """The SHA-256 of the patient's file, read as every data file is (regular_files: never a
    pipe, nor a link leading outside)."""
    from ccmcli.store import regular_files

    raw = regular_files.read_bytes(data.root, data.patient_path(patient_id))
    return hashlib.sha256(raw).hexdigest()


def _logged_ids(data: DataDir, parts: list[Part]) -> list[str]:
    """The parts' entry ids that their month logs already hold (entry_ids.row_ids)."""
    from ccmcli.store.entry_ids import row_ids

    return [p.entry_id for p in parts if p.entry_id in (row_ids(data, Month.of(p.day)) or ())]


def _settled(data: DataDir, timer: Timer) -> bool:
    """An interrupted stop whose every entry is in the logs only needs its file removed."""
    parts = timer.parts()
    if timer.stop is None or len(_logged_ids(data, parts)) < len(parts):
        return False
    timerstate.remove(timer)
    return True


def _service(text: str) -> str:
    value = text.strip().lower()
    if value and value not in SERVICES:
        raise CcmError(f"--service must be one of {', '.join(SERVICES)} (or left out)", 2)
    return value


def start_timer(data: DataDir, req: StartRequest, environ: Mapping[str, str] = os.environ) -> Timer:
    """Record a running timer for the staff member; refused while one of theirs runs."""
    role, staff = resolve_role(req.role, environ), resolve_staff(req.staff, environ)
    activity, service = activity_option(req.activity), _service(req.service)
    tz, patient_id, digest = _patient_on_file(data, req.patient_id)
    with timerstate.locked(data):
        running = timerstate.load(data, staff)
        if running is not None and not _settled(data, running):
            raise CcmError(_running_text(running, tz, "already has"))
        timer = Timer(staff, patient_id, now_in(tz), role, activity, service, digest,
                      path=timerstate.state_path(data, staff))  # fmt: skip
        timerstate.save(timer)
    return timer


def _running_text(timer: Timer, tz: str, verb: str) -> str:
    since = timer.started.astimezone(zone(tz))
    if timer.stop is not None:
        return (f"{timer.staff} {verb} a stopped timer for {timer.patient_id} whose entries are "
                "not all logged yet; `ccm stop` finishes it")  # fmt: skip
    minutes = elapsed_minutes(since, now_in(tz))
    return (f"{timer.staff} {verb} a timer running for {timer.patient_id} since "
            f"{since:%Y-%m-%d %H:%M} ({minutes} min); `ccm stop` or `ccm cancel` it first")  # fmt: skip


def require_timer(data: DataDir, staff: str) -> Timer:
    timer = timerstate.load(data, staff)
    if timer is None:
        raise CcmError(f"no timer running for {staff}; `ccm status` lists the running ones")
    return timer


def cancel_timer(
    data: DataDir, staff: str | None, environ: Mapping[str, str] = os.environ
) -> Timer:
    """Discard the caller's timer. Refused when an interrupted stop already logged part of it:
    those entries stand, and `ccm stop` logs the rest (a void undoes them)."""
    who = resolve_staff(staff, environ)
    with timerstate.locked(data):
        timer = require_timer(data, who)
        written = _logged_ids(data, timer.parts()) if timer.stop else []
        if written:
            raise CcmError(f"{who}'s stopped timer already logged {', '.join(written)}; "
                           "`ccm stop` logs the rest (void entries to undo them)")  # fmt: skip
        timerstate.remove(timer)
    return timer


@dataclass
class Running:
    staff: str
    patient_id: str
    started: datetime
    elapsed_minutes: int
    activity: str
    interrupted: bool

    def as_dict(self) -> "TimerJson":
        return {"staff": self.staff, "patient_id": self.patient_id,
                "started": self.started.isoformat(timespec="seconds"),
                "elapsed_minutes": self.elapsed_minutes, "activity": self.activity}  # fmt: skip


def running_timers(data: DataDir) -> list[Running]:
    """Every running timer, started first. An interrupted stop whose entries are all logged is
    finished here (its file removed); one with entries still to write is listed as interrupted."""
    tz = load(data, patient_ids=()).settings.timezone
    now, out = now_in(tz), []
    for timer in timerstate.all_timers(data):
        if timer.stop is not None:
            with timerstate.locked(data):
                again = timerstate.load(data, timer.staff)
                if again is None or _settled(data, again):
                    continue
        started = timer.started.astimezone(zone(tz))
        out.append(Running(timer.staff, timer.patient_id, started, elapsed_minutes(started, now),
                           timer.activity, timer.stop is not None))  # fmt: skip
    return sorted(out, key=lambda r: (r.started, r.staff))
