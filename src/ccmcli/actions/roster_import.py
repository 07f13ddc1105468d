"""`ccm patient import`: a roster CSV from the EHR becomes patient files, all or nothing.

A practice enrols hundreds of patients at once from a registry export (contract section 6). One
bad row must not leave half a roster imported, so every row is read, validated and code-checked
first, and files are written only when no row has an error. Problems name the roster file and
the row's first physical line (a quoted cell may span lines) and never echo names, birth dates or
MBIs.

Empty cells mean "not recorded": for a new patient the field is left out; with `--update` the
existing value is kept, as is every field the roster has no column for (care plan revisions,
complex months, descriptions of codes still listed, who obtained consent, revocation).
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from ccmcli.codes.condition_codes import load_checker
from ccmcli.codes.icd10 import normalize
from ccmcli.codes.identifiers import icd10_format_ok, is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem, has_errors
from ccmcli.models.months import today_in
from ccmcli.models.records import Patient
from ccmcli.store import record_files, staging
from ccmcli.store.datadir import DataDir

COLUMNS = (
    "id", "name", "birth_date", "mbi", "program", "principal_condition", "conditions",
    "consent_date", "consent_method", "initiating_visit_date", "initiating_visit_type",
    "care_plan_established",
)  # fmt: skip
Error = tuple[str, str]  # (column, message)
_DATE_COLUMNS = ("birth_date", "consent_date", "initiating_visit_date", "care_plan_established")
_PAIRS = (
    ("consent", ("date", "method"), ("consent_date", "consent_method")),
    ("initiating_visit", ("date", "type"), ("initiating_visit_date", "initiating_visit_type")),
)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# Model fields as roster columns, so a message names what the biller sees in the spreadsheet.
_COLUMN_OF = {
    ("consent", "date"): "consent_date", ("consent", "method"): "consent_method",
    ("initiating_visit", "date"): "initiating_visit_date",
    ("initiating_visit", "type"): "initiating_visit_type",
    ("care_plan", "established"): "care_plan_established",
}  # fmt: skip


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


def decode(raw: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text with an optional byte-order mark (spreadsheets write one)."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(name, line, "error", "is not UTF-8 text (save the roster as UTF-8)")]


def read_rows(text: str, name: str) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """(first physical line, cells by column) of each non-blank row, after an exact header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        return [], [Problem(name, 1, "error", "the file is empty (expected a header row)")]
    problem = _header_problem(header)
    if problem:
        return [], [Problem(name, 1, "error", problem)]
    rows, problems, end = [], [], reader.line_num
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines and rows of empty cells, as spreadsheets leave them
            if len(cells) != len(COLUMNS):
                msg = f"row has {len(cells)} columns, expected {len(COLUMNS)}"
                problems.append(Problem(name, start, "error", msg))
                continue
            rows.append((start, dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))))
    except csv.Error as exc:  # e.g. an unclosed quote running into a huge cell
        problems.append(Problem(name, end + 1, "error", f"cannot read this row as CSV ({exc})"))
    return rows, problems


def _header_problem(header: list[str]) -> str | None:
    """What is wrong with the header. A first row holding no column name at all is data (an
    export without its header): its cells are patient data and are never repeated."""
    if tuple(header) == COLUMNS:
        return None
    if not any(h in COLUMNS for h in header):
        return "the first row is not a header; a roster starts with the row " + ",".join(COLUMNS)
    missing = [c for c in COLUMNS if c not in header]
    extra = [h[:40] for h in header if h not in COLUMNS]
    parts = [f"{what}: {', '.join(names)}"
             for what, names in (("missing column(s)", missing), ("unknown column(s)", extra)) if names]  # fmt: skip
    return "; ".join(parts) or "header must be exactly: " + ",".join(COLUMNS)


def roster_date(column: str, text: str, errors: list[Error]) -> str | None:
    """ISO `YYYY-MM-DD`, or `M/D/YYYY` as EHR exports write it (US order, four-digit year).

    Nothing else: `03/04/26` could be 1926 or 2026 for a birth date, and `2026.3.4` is a guess.
    """
    if not text:
        return None
    m = _US_DATE.fullmatch(text)
    try:
        day = date(int(m[3]), int(m[1]), int(m[2])) if m else date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or (not m and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)):
        errors.append((column, f"{column} is not a real date of the form YYYY-MM-DD or M/D/YYYY"))
        return None
    return day.isoformat()


def roster_codes(text: str, errors: list[Error]) -> list[str]:
    """Codes separated by `;`, normalized (`e119` -> `E11.9`), each listed once.

    A code listed twice would count twice toward the two chronic conditions CCM needs (E-01).
    """
    codes: list[str] = []
    for piece in text.split(";"):
        code = normalize(piece)
        if not code:
            continue
        if not icd10_format_ok(code):
            msg = f'conditions: "{code[:12]}" is not an ICD-10-CM code (like E11.9)'
            errors.append(("conditions", msg))
        elif code in codes:
            errors.append(("conditions", f"conditions: {code} is listed twice"))
        else:
            codes.append(code)
    return codes


def _clean(cells: dict[str, str]) -> dict[str, str]:
    """Cells as the models spell them: `CCM` -> `ccm`, `1EG4-TE5-MK73` -> `1EG4TE5MK73`."""
    out = dict(cells)
    out["mbi"] = out["mbi"].replace("-", "").replace(" ", "")
    for key in ("program", "consent_method", "initiating_visit_type"):
        out[key] = out[key].lower()
    out["principal_condition"] = normalize(out["principal_condition"])
    return out


def merge_row(cells: dict[str, str], existing: Patient | None) -> tuple[dict, list[Error]]:
    """The patient's fields: the existing record (if any) overlaid with the non-empty cells.

    Errors are (column, message) pairs, so the model does not report a column twice.
    """
    errors: list[Error] = []
    raw = existing.model_dump(mode="json", exclude_none=True) if existing else {}
    cells = _clean(cells)
    for key in ("id", "name", "mbi", "program", "principal_condition"):
        if cells[key]:
            raw[key] = cells[key]
    dates = {c: roster_date(c, cells[c], errors) for c in _DATE_COLUMNS}
    if dates["birth_date"]:
        raw["birth_date"] = dates["birth_date"]
    if cells["conditions"]:
        kept = {c["code"]: c for c in raw.get("conditions", [])}  # description, chronic flag
        codes = roster_codes(cells["conditions"], errors)
        raw["conditions"] = [kept.get(c, {"code": c}) for c in codes]
    _merge_pairs(raw, cells, dates, errors)
    if dates["care_plan_established"]:
        raw["care_plan"] = {
            **raw.get("care_plan", {}),
            "established": dates["care_plan_established"],
        }
    return raw, errors


def _merge_pairs(raw: dict, cells: dict, dates: dict, errors: list[Error]) -> None:
    """Consent and initiating visit: a date and a kind that make sense only together.

    With --update, a cell left empty keeps the existing half (and obtained_by, revoked).
    """
    for key, (sub_date, sub_kind), (col_date, col_kind) in _PAIRS:
        if cells[col_date] and not dates[col_date]:
            continue  # the bad date is already reported
        given = {s: v for s, v in ((sub_date, dates[col_date]), (sub_kind, cells[col_kind])) if v}
        if not given:
            continue
        merged = {**raw.get(key, {}), **given}
        if merged.get(sub_date) and merged.get(sub_kind):
            raw[key] = merged
        else:
            errors.append((col_kind, f"{col_date} and {col_kind} go together: give both"))


def model_messages(exc: ValidationError) -> list[Error]:
    """Pydantic errors as (column, message), never with the input (it is patient data)."""
    from ccmcli.models.error_words import field_errors

    out = []
    for fe in field_errors(exc):
        loc = fe.loc
        name = _COLUMN_OF.get(loc[:2]) or ("conditions" if loc[:1] == ("conditions",) else "")
        name = name or ".".join(str(s) for s in loc)
        out.append((name, fe.message(name)))
    return out


def build_patient(raw: dict, errors: list[Error], today: date) -> tuple[Patient | None, list[str]]:
    """The merged row as a validated Patient, or every reason it is not one."""
    try:
        patient = Patient.model_validate(raw)
    except ValidationError as exc:
        reported = {column for column, _ in errors}
        errors = errors + [e for e in model_messages(exc) if e[0] not in reported]
        patient = None
    if patient is not None and patient.birth_date > today:
        errors = [*errors, ("birth_date", "birth_date is after today")]
    return (None if errors else patient), [msg for _, msg in errors]


def _codes_of(raw: dict) -> tuple[list[str], str | None]:
    """The well-formed codes of a merged row, for the code check even when the row has errors."""
    codes = [c["code"] for c in raw.get("conditions", []) if icd10_format_ok(c.get("code", ""))]
    principal = raw.get("principal_condition")
    return codes, (principal if principal and icd10_format_ok(principal) else None)


@dataclass
class _Checked:
    """One row after its checks: the row to write (when valid), its errors, its codes."""

    row: RosterRow | None = None
    errors: list[str] = field(default_factory=list)
    codes: tuple[list[str], str | None] = ([], None)


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
        return _Checked(RosterRow(line, patient, patient), messages, _codes_of(raw))

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
        return _Checked(row, messages, _codes_of(raw))


def plan(data: DataDir, text: str, name: str, *, update: bool) -> ImportResult:
    """Every row checked, nothing written: the rows to write and every problem, by line."""
    settings = record_files.require_settings(data)
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
    if not any(codes or principal for _, _, (codes, principal) in rows):
        return
    checker, note = load_checker()
    if checker is None:
        result.notes.append(f"warning: {note}")
        return
    for line, pid, (codes, principal) in rows:
        for f in checker.check(codes, principal):
            msg = f.message(f"{f.path[0]}:")
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
