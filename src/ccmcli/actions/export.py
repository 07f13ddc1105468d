"""`ccm export`: the month's claims, recorded in a ledger so that nothing is ever billed twice.

Duplicate same-period claims are the largest overpayment finding in audits of CCM (contract 5).
The ledger `exports/<YYYY-MM>.csv` (its format: store/ledger.py) holds every line already
exported. One claim per patient-month (ccm-rules A18): an export, holding the ledger's lock for
the whole judge-read-compare-write-record, writes the claims of patient-months never exported;
for one exported before it writes nothing, and when the data no longer gives the claim exported
(units, a code, a date of service, diagnoses, NPI, place of service) it says that the
patient-month needs a corrected claim. Never an additive line: a payer denies a second line of a
code and date as a duplicate, and an add-on without its base code on the claim. `--corrections`
writes the replacement claims (frequency 7, or 8 to void), recorded like any export, and the
patient-month stays on the track first exported.

Failure order: the output (the `-o` file, written atomically, or stdout) is written first and the
ledger appended after it, still under the lock. If the output cannot be written (a bad path, a
full disk) nothing is recorded and the same lines come again next time. If the ledger cannot be
appended after the output was written, the command says not to bill that output. Recording first
would instead leave lines recorded that no biller ever received.
"""

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, is_provisional
from ccmcli.models.records import Patient, Settings
from ccmcli.reports import practice_month
from ccmcli.rules.engine import Judgement, TrackResult
from ccmcli.rules.table import RuleYear, Track
from ccmcli.store import fileio, regular_files
from ccmcli.store.csv_safe import csv_text
from ccmcli.store.datadir import DataDir
from ccmcli.store.ledger import (
    COLUMNS,
    LEDGER_COLUMNS,
    REPLACEMENT,
    SHOWN_PROBLEMS,
    VOID,
    Claim,
    Line,
    append_lines,
    claims,
    ledger_text,
    next_stamp,
    parse_ledger,
    read_ledger,
)

CENT = Decimal("0.01")

Write = Callable[[str], None]


def fee(code: str, settings: Settings, rules: RuleYear) -> Decimal:
    """Per-unit charge: `fees` in ccm.yaml, else the national amount of the service year (A6)."""
    if code in settings.fees:
        return Decimal(str(settings.fees[code]))
    return rules.amounts[code].exact


def diagnoses(patient: Patient) -> list[str]:
    """dx1-dx4: qualifying conditions, the pcm principal condition first."""
    codes = patient.chronic_codes()
    if patient.program == "pcm" and patient.principal_condition in codes:
        codes.remove(patient.principal_condition)
        codes.insert(0, patient.principal_condition)
    return (codes + [""] * 4)[:4]


def claim_line(
    j: Judgement, result: TrackResult, code: str, units: int, settings: Settings,
    dx: list[str] | None = None,
) -> Line:  # fmt: skip
    p = j.patient
    charge = (fee(code, settings, j.rules) * units).quantize(CENT, ROUND_HALF_UP)
    pos = settings.place_of_service  # a patient has no place of service of its own
    cells = (p.id, p.name, p.birth_date.isoformat(), p.mbi or "", p.billing_npi or settings.billing_npi,
             pos, result.date_of_service.isoformat(), code, str(units), f"{charge}",
             *(dx or diagnoses(p)))  # fmt: skip
    return Line(cells, p.id, code, units, charge)


def service_lines(j: Judgement, settings: Settings) -> list[Line]:
    """A16, A18: the billed services' lines on the patient-month's claim, each with its own
    date of service; BHI lines name the behavioral-health conditions first (F-14)."""
    out = []
    for s in j.services:
        dx = None
        if s.service == "bhi" and j.patient.bhi is not None:
            codes = list(dict.fromkeys([*j.patient.bhi.conditions, *j.patient.chronic_codes()]))
            dx = (codes + [""] * 4)[:4]
        out += [claim_line(j, s, code, n, settings, dx) for code, n in s.codes]
    return out


# ---- what to export ------------------------------------------------------------------------------


CORRECTION_COLUMNS = (*COLUMNS, "frequency", "replaces")


def claim_key(line: Line) -> tuple[str, ...]:
    """What makes two claim lines the same claim line (A18): code, units, date of service,
    billing NPI, place of service, diagnoses. The charge follows the code (ccm.yaml `fees`)."""
    c = line.cells
    return (c[7], c[8], c[6], c[4], c[5], *c[10:14])


def same_claim(exported: list[Line], now: list[Line]) -> bool:
    return sorted(map(claim_key, exported)) == sorted(map(claim_key, now))


def claim_text(lines: list[Line], other: list[Line]) -> str:
    """A claim in words: its codes and units by date of service, and its billing NPI, place of
    service and diagnoses where they are not those of `other` (the claim it is set against)."""
    if not lines:
        return "nothing"
    days: dict[str, list[str]] = {}
    for line in lines:
        days.setdefault(line.cells[6], []).append(f"{line.code}x{line.units}")
    parts = [f"{' '.join(codes)} on {day}" for day, codes in days.items()]
    fields = (("billing NPI", slice(4, 5)), ("place of service", slice(5, 6)),
              ("diagnoses", slice(10, 14)))  # fmt: skip
    for name, cells in fields:
        mine = {" ".join(c for c in line.cells[cells] if c) for line in lines}
        theirs = {" ".join(c for c in line.cells[cells] if c) for line in other}
        if other and mine != theirs:
            parts.append(f"{name} {' / '.join(sorted(mine))}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Correction:
    """A patient-month exported before whose claim the data no longer gives (A18): what was
    exported, and the lines the data supports now (none: the claim is to be voided)."""

    patient_id: str
    month: Month
    claim: Claim
    now: tuple[Line, ...]

    def message(self) -> str:
        was, now = list(self.claim.lines), list(self.now)
        return (f"{self.patient_id} {self.month}: exported {claim_text(was, now)}; the data now "
                f"supports {claim_text(now, was)}: needs a corrected claim")  # fmt: skip

    def lines(self) -> list[Line]:
        """The corrected claim: every line as the data supports it now (frequency 7), or the
        exported lines again (8) when nothing is billable any more; each naming the claim it
        replaces."""
        replaces = " ".join(self.claim.stamps)
        if self.now:
            return [replace(line, frequency=REPLACEMENT, replaces=replaces) for line in self.now]
        return [replace(line, frequency=VOID, replaces=replaces) for line in self.claim.lines]


@dataclass
class Plan:
    lines: list[Line] = field(default_factory=list)  # new claims: patient-months never exported
    corrections: list[Correction] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # exported, but the file has errors now


def track_of(code: str, rules: RuleYear) -> Track | None:
    """The track a code bills on; an APCM level is a one-code track of its own (A8)."""
    levels = (rules.level_track(level) for level in rules.levels)
    return next((t for t in (*rules.tracks, *levels) if code in (t.base_code, t.addon_code)), None)


def supported(j: Judgement | None, locked: Track | None, exported: bool) -> TrackResult | None:
    """What the data supports now: the chosen track, or once exported, the track exported first
    (the patient-month stays on it, even when another track would now pay more)."""
    if j is None:
        return None
    if not exported:
        return j.chosen
    return next((r for r in (j.chosen, *j.alternatives) if r and r.track == locked), None)


def judged_claim(j: Judgement | None, claim: Claim | None, settings: Settings) -> list[Line]:
    """The patient-month's claim lines as the data supports them now (A18: one claim, all its
    lines), on the track of the claim that stands, if one does."""
    standing = claim is not None and not claim.voided and bool(claim.lines)
    tracks = (track_of(line.code, j.rules) for line in claim.lines) if standing and j else ()
    locked = next((t for t in tracks if t is not None), None)  # a service line is no track
    result = supported(j, locked, locked is not None)
    lines = (
        [] if result is None else [claim_line(j, result, c, n, settings) for c, n in result.codes]
    )
    return lines + (service_lines(j, settings) if j is not None else [])


def plan_export(
    report: practice_month.MonthReport, settings: Settings, ledger: list[Line], invalid: set[str]
) -> Plan:
    """New claims for the patient-months never exported (or whose claim was voided); a
    correction for each one exported whose claim the data no longer gives, in any way (A18)."""
    standing = claims(ledger)
    judged = {j.patient.id: j for j in report.judgements}
    plan = Plan()
    for pid in sorted(judged.keys() | standing.keys()):
        if pid not in judged and pid in invalid:
            plan.unchecked.append(pid)
            continue
        claim = standing.get(pid)
        now = judged_claim(judged.get(pid), claim, settings)
        if claim is None or claim.voided:
            plan.lines += now
        elif not same_claim(claim.lines, now):
            plan.corrections.append(Correction(pid, report.month, claim, tuple(now)))
    return plan


# ---- the command's work -------------------------------------------------------------------------


@dataclass
class Outcome:
    month: Month
    lines: list[Line]
    plan: Plan = field(default_factory=Plan)
    forced: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mode: str = "export"  # export | corrections | reprint
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        """1 when claims need correcting or the month's files have errors (contract 2)."""
        pending = self.plan.corrections and self.mode == "export"
        return 1 if pending or self.forced else 0

    def summary(self) -> str:
        dry = "dry run, nothing recorded: " if self.dry_run else ""
        if not self.lines:
            return dry + {"reprint": f"nothing exported yet for {self.month}",
                          "corrections": f"no corrected claims to write for {self.month}",
                          }.get(self.mode, f"nothing new to export for {self.month}")  # fmt: skip
        n, pats = len(self.lines), len({line.patient_id for line in self.lines})
        total = sum((line.charge for line in self.lines), Decimal(0)).quantize(CENT)
        verb = {"reprint": "reprinted", "export": "exported"}.get(self.mode, "wrote")
        what = f" ({pats} corrected claim{'s' * (pats != 1)})" if self.mode == "corrections" else ""
        text = (f"{verb} {n} line{'s' * (n != 1)} for {pats} patient{'s' * (pats != 1)}{what}, "
                f"total charge {total} ({self.month})")  # fmt: skip
        return f"{dry}would have {text}" if self.dry_run else text


def _refusal(month: Month, errors: list[Problem]) -> str:
    n = len(errors)
    shown = [f"  {p.render()}" for p in errors[:SHOWN_PROBLEMS]]
    if n > SHOWN_PROBLEMS:
        shown.append(f"  ... and {n - SHOWN_PROBLEMS} more")
    head = (f"not exporting {month}: its files have {n} error{'s' * (n != 1)} "
            "(run `ccm validate`; fix them, or use --force to export what counts)")  # fmt: skip
    return "\n".join([head, *shown])


@contextlib.contextmanager
def _ledger(path: Path, dry_run: bool) -> Iterator[int | None]:
    """The ledger's exclusive lock for an export (created with its header when missing); for a
    dry run a shared lock, and nothing created (None: no ledger yet)."""
    if not dry_run:
        with fileio.locked(path, csv_text([], LEDGER_COLUMNS)) as fd:
            yield fd
        return
    try:
        fd = fileio.open_locked(path, os.O_RDONLY, fcntl.LOCK_SH)
    except FileNotFoundError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def export_month(
    data: DataDir, month_text: str | None, write: Write, *, allow_open: bool = False,
    force: bool = False, corrections: bool = False, dry_run: bool = False,
    write_empty: bool = True,
) -> Outcome:  # fmt: skip
    """Under the ledger lock: judge the month, set it against the claims exported, write the
    output, record its lines. `corrections`: the corrected claims instead of the new ones.
    `write_empty`: whether output with no line (a header) is written at all: never over an
    `-o` file, which may hold an earlier export's claims."""
    from ccmcli.loader import load

    practice = load(data)
    settings = practice.settings
    month = practice.month(month_text, default="last_finished")
    open_month = is_provisional(month, settings.timezone)
    if open_month and not allow_open:
        raise CcmError(f"{month} has not ended at the practice ({settings.timezone}) and minutes "
                       "may still be added; export it once it ends, or use --allow-open-month")  # fmt: skip
    path = data.export_path(month)
    rel = data.relative(path)
    regular_files.check_writable(data.root, path)
    with _ledger(path, dry_run) as fd:
        # Judged under the lock: a month judged before another export recorded lines (and
        # minutes were logged in between) would read as a claim the data no longer gives.
        report = practice_month.judge_month(practice, month)  # reads the month's log now
        errors = [p for p in report.problems if p.severity == "error"]
        if errors and not force:
            raise CcmError(_refusal(month, errors))
        text = ledger_text(fd) if fd is not None else ""
        ledger = parse_ledger(text, rel)
        plan = plan_export(report, settings, ledger, practice.invalid)
        if corrections:
            lines = [line for c in plan.corrections for line in c.lines()]
            cells = ((*line.cells, line.frequency, line.replaces) for line in lines)
            out = csv_text(cells, CORRECTION_COLUMNS)
        else:
            lines = plan.lines
            out = csv_text((line.cells for line in lines), COLUMNS)
        if lines or write_empty:
            write(out)
        if lines and fd is not None and not dry_run:
            append_lines(fd, path, text, lines, next_stamp(ledger, settings.timezone), rel)
        elif lines and not dry_run:  # pragma: no cover - the export's own lock created it
            raise CcmError(f"{rel} is missing")
    notes = [f"note: {report.rules_note}"] if report.rules_note else []
    if open_month:
        notes.append(f"note: {month} has not ended; minutes added later will need a corrected "
                     "claim (ccm-rules A18)")  # fmt: skip
    notes += [f"note: {pid}: its file has errors, so its exported lines were not re-checked"
              for pid in plan.unchecked]  # fmt: skip
    if plan.corrections and not corrections:
        notes.append("note: `ccm export --corrections` writes the corrected claims")
    new = len({line.patient_id for line in plan.lines})
    if corrections and new:
        notes.append(f"note: {new} patient-month{'s' * (new != 1)} never exported; a plain "
                     "`ccm export` writes their claims")  # fmt: skip
    mode = "corrections" if corrections else "export"
    return Outcome(month, lines, plan, errors, notes, mode, dry_run)


def reprint_month(
    data: DataDir, month_text: str | None, write: Write, *, write_empty: bool = True
) -> Outcome:
    """Every claim exported for the month as it stands (corrections applied, voided claims
    left out), as export columns; records nothing."""
    from ccmcli.loader import load

    month = load(data, patient_ids=()).month(month_text, default="last_finished")
    lines = [line for claim in claims(read_ledger(data, month)).values() for line in claim.lines]
    if lines or write_empty:
        write(csv_text((line.cells for line in lines), COLUMNS))
    return Outcome(month, lines, mode="reprint")
