"""`ccm patient import`: a roster CSV from the EHR becomes patient files, all or nothing.

A practice enrols hundreds of patients at once from a registry export (contract section 6). One
bad row must not leave half a roster imported, so every row is read, validated and code-checked
first, and files are written only when no row has an error. Problems name the roster file and
the row's first physical line (a quoted cell may span lines) and never echo names, birth dates or
MBIs. How a row becomes a patient (its columns, cells and checks) is roster_rows.py; this module
checks rows against the data directory (ids already on file, --update) and writes them.
"""

from dataclasses import dataclass, field
from datetime import date

from ccmcli.actions.roster_rows import build_patient, codes_of, decode, merge_row, read_rows
from ccmcli.codes.identifiers import is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem, has_errors
from ccmcli.models.months import today_in
from ccmcli.models.records import Patient
from ccmcli.store import record_files, staging
from ccmcli.store.condition_codes import load_checker
from ccmcli.store.datadir import DataDir


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A valid row: the patient to write and, with --update, the record it replaces."""

    line: int
    patient: Patient
    existing: Patient | None

    @property
    def changed(self) -> bool:
        return self.existing != self.patient


@dataclass
class ImportResult:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)

    def summary(self) -> str:
        """`added 120 patients, updated 3`; `would add ...` before writing (--dry-run)."""
        added = sum(r.existing is None for r in self.rows)
        updated = sum(r.existing is not None and r.changed for r in self.rows)
        same = len(self.rows) - added - updated
        noun = "patient" if added == 1 else "patients"
        text = (
            f"added {added} {noun}, updated {updated}"
            if self.written
            else f"would add {added} {noun}, update {updated}"
        )
        return text + (f", {same} unchanged" if same else "")


@dataclass
class _Checked:
    """One row after its checks: the row to write (when valid), its errors, its codes."""

    row: RosterRow | None = None
    errors: list[str] = field(default_factory=list)
    codes: tuple[list[str], str | None, list[str]] = ([], None, [])


class _Planner:
    """Checks rows one by one, remembering ids already seen in the roster."""

    def __init__(self, data: DataDir, update: bool, today: date) -> None:
        self.data, self.update, self.today = data, update, today
        self.seen: dict[str, int] = {}

    def existing(self, pid: str) -> tuple[Patient | None, str | None]:
        """The current record for --update, or why this row may not touch it."""
        path = self.data.patient_path(pid)
        if not path.exists():
            return None, None
        rel = self.data.relative(path)
        if not self.update:
            return None, f"patient {pid} already exists ({rel}); use --update to rewrite it"
        patient, _ = record_files.load_patient_file(self.data, path)
        if patient is None:
            return None, f"cannot update {pid}: {rel} has errors (see `ccm validate`)"
        return patient, None

    def imported_before(self, line: int, cells: dict[str, str]) -> _Checked | None:
        """An existing file that is exactly what this row writes is no conflict but this row,
        imported before (the same roster run again, say after an interrupted import was
        completed by the next command): it counts as unchanged."""
        if self.update:
            return None
        raw, errors = merge_row(cells, None)
        patient, messages = build_patient(raw, errors, self.today)
        if patient is None:
            return None
        try:
            on_disk = self.data.patient_path(patient.id).read_bytes()
        except OSError:
            return None
        if on_disk != record_files.patient_yaml(patient).encode("utf-8"):
            return None
        return _Checked(RosterRow(line, patient, patient), messages, codes_of(raw))

    def row(self, line: int, cells: dict[str, str]) -> _Checked:
        pid = cells["id"]
        if not pid:
            return _Checked(errors=["id is required"])
        if not is_patient_id(pid):
            return _Checked(errors=["id must be 1-32 letters, digits, '-' or '_'"])
        if pid in self.seen:
            return _Checked(errors=[f"id {pid} is already used on line {self.seen[pid]}"])
        self.seen[pid] = line
        existing, refusal = self.existing(pid)
        if refusal:
            return self.imported_before(line, cells) or _Checked(errors=[refusal])
        raw, errors = merge_row(cells, existing)
        patient, messages = build_patient(raw, errors, self.today)
        row = RosterRow(line, patient, existing) if patient else None
        return _Checked(row, messages, codes_of(raw))


def plan(data: DataDir, text: str, name: str, *, update: bool) -> ImportResult:
    """Every row checked, nothing written: the rows to write and every problem, by line."""
    from ccmcli.loader import load

    settings = load(data, patient_ids=()).settings
    rows, problems = read_rows(text, name)
    result = ImportResult(problems=problems)
    planner = _Planner(data, update, today_in(settings.timezone))
    to_code_check = []
    for line, cells in rows:
        checked = planner.row(line, cells)
        pid = cells["id"] or None
        result.problems += [Problem(name, line, "error", m, patient_id=pid) for m in checked.errors]
        if checked.row:
            result.rows.append(checked.row)
        to_code_check.append((line, pid, checked.codes))
    _check_codes(result, name, to_code_check)
    result.problems.sort(key=lambda p: (p.line or 0, p.severity))
    return result


def _check_codes(result: ImportResult, name: str, rows: list) -> None:
    """Codes not in ICD-10-CM are errors, categories warnings, on each row's line."""
    if not any(codes or principal or bhi for _, _, (codes, principal, bhi) in rows):
        return
    checker, note = load_checker()
    if checker is None:
        result.notes.append(f"warning: {note}")
        return
    columns = {"bhi": "bhi_conditions"}
    for line, pid, (codes, principal, bhi) in rows:
        for f in checker.check(codes, principal, bhi):
            msg = f.message(f"{columns.get(f.path[0], f.path[0])}:")
            result.problems.append(Problem(name, line, f.severity, msg, patient_id=pid))


def write(data: DataDir, result: ImportResult) -> None:
    """Write every new or changed patient file as one (staging.py): all of them or none, also
    after a crash or a full disk; unchanged files are left as they are."""
    todo = [r for r in result.rows if r.changed]
    files = [(f"{r.patient.id}.yaml", record_files.patient_yaml(r.patient), r.existing is not None)
             for r in todo]  # fmt: skip
    try:
        staging.write_all(data, files)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CcmError(f"cannot write the patient files ({reason}); nothing was imported") from None
    result.written = True


def import_roster(
    data: DataDir, raw: bytes, name: str, *, update: bool = False, dry_run: bool = False
) -> ImportResult:
    """Check the whole roster; write it only when no row has an error and this is no dry run."""
    text, problems = decode(raw, name)
    if text is None:
        return ImportResult(problems=problems)
    staging.settle(data)  # an interrupted import first, so existing files are judged whole
    result = plan(data, text, name, update=update)
    if not result.has_errors and not dry_run:
        write(data, result)
    return result
