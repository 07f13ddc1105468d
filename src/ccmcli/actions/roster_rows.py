"""A roster CSV's rows as patients: the columns, the cells people type, and their checks.

Reading and validating a row needs nothing but the row and, with --update, the record it
replaces, so it lives apart from planning and writing the import (roster_import.py). Problems
name columns as the biller sees them in the spreadsheet and never echo names, birth dates or
MBIs.

Empty cells mean "not recorded": for a new patient the field is left out; with `--update` the
existing value is kept, as is every field the roster has no column for (care plan revisions,
complex months, descriptions of codes still listed, who obtained consent, revocation).
"""

import csv
import io
import re
from datetime import date

from pydantic import ValidationError

from ccmcli.codes.identifiers import icd10_format_ok
from ccmcli.models.findings import Problem
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient
from ccmcli.store.icd10 import normalize

COLUMNS = (
    "id", "name", "birth_date", "mbi", "program", "principal_condition", "conditions",
    "consent_date", "consent_method", "initiating_visit_date", "initiating_visit_type",
    "care_plan_established",
)  # fmt: skip
# Optional columns after those 12, in any order (README "patient import"): the other monthly
# services of ccm-rules A11-A14. A roster without them reads as before.
SERVICE_COLUMNS = (
    "bhi_conditions", "bhi_consent_date", "bhi_consent_method", "bhi_care_plan_established",
    "cocm_months", "rpm_consent_date", "rpm_consent_method", "rtm_consent_date",
    "rtm_consent_method",
)  # fmt: skip
Error = tuple[str, str]  # (column, message)
_DATE_COLUMNS = ("birth_date", "consent_date", "initiating_visit_date", "care_plan_established",
                 "bhi_consent_date", "bhi_care_plan_established", "rpm_consent_date",
                 "rtm_consent_date")  # fmt: skip
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
    ("bhi", "conditions"): "bhi_conditions", ("cocm_months",): "cocm_months",
    ("bhi", "consent", "date"): "bhi_consent_date", ("bhi", "consent", "method"): "bhi_consent_method",
    ("bhi", "care_plan", "established"): "bhi_care_plan_established",
    ("rpm", "consent", "date"): "rpm_consent_date", ("rpm", "consent", "method"): "rpm_consent_method",
    ("rtm", "consent", "date"): "rtm_consent_date", ("rtm", "consent", "method"): "rtm_consent_method",
}  # fmt: skip


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
    absent = dict.fromkeys((c for c in SERVICE_COLUMNS if c not in header), "")
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines and rows of empty cells, as spreadsheets leave them
            if len(cells) != len(header):
                msg = f"row has {len(cells)} columns, expected {len(header)}"
                problems.append(Problem(name, start, "error", msg))
                continue
            row = dict(zip(header, (c.strip() for c in cells), strict=True))
            rows.append((start, {**row, **absent}))
    except csv.Error as exc:  # e.g. an unclosed quote running into a huge cell
        problems.append(Problem(name, end + 1, "error", f"cannot read this row as CSV ({exc})"))
    return rows, problems


def _header_problem(header: list[str]) -> str | None:
    """What is wrong with the header. A first row holding no column name at all is data (an
    export without its header): its cells are patient data and are never repeated."""
    extras = header[len(COLUMNS) :]
    if tuple(header[: len(COLUMNS)]) == COLUMNS and set(extras) <= set(SERVICE_COLUMNS):
        if len(set(extras)) == len(extras):
            return None
        return "a column is given twice: " + ", ".join(
            sorted({c for c in extras if extras.count(c) > 1})
        )
    if not any(h in COLUMNS for h in header):
        return "the first row is not a header; a roster starts with the row " + ",".join(COLUMNS)
    missing = [c for c in COLUMNS if c not in header]
    extra = [h[:40] for h in header if h not in COLUMNS and h not in SERVICE_COLUMNS]
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


def roster_codes(text: str, errors: list[Error], column: str = "conditions") -> list[str]:
    """Codes separated by `;`, normalized (`e119` -> `E11.9`), each listed once.

    A code listed twice would count twice toward the two chronic conditions CCM needs (E-01).
    """
    codes: list[str] = []
    for piece in text.split(";"):
        code = normalize(piece)
        if not code:
            continue
        if not icd10_format_ok(code):
            msg = f'{column}: "{code[:12]}" is not an ICD-10-CM code (like E11.9)'
            errors.append((column, msg))
        elif code in codes:
            errors.append((column, f"{column}: {code} is listed twice"))
        else:
            codes.append(code)
    return codes


def _clean(cells: dict[str, str]) -> dict[str, str]:
    """Cells as the models spell them: `CCM` -> `ccm`, `1EG4-TE5-MK73` -> `1EG4TE5MK73`."""
    out = dict(cells)
    out["mbi"] = out["mbi"].replace("-", "").replace(" ", "")
    for key in ("program", "consent_method", "initiating_visit_type", "bhi_consent_method",
                "rpm_consent_method", "rtm_consent_method"):  # fmt: skip
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
    _merge_services(raw, cells, dates, errors)
    return raw, errors


def _merge_services(raw: dict, cells: dict, dates: dict, errors: list[Error]) -> None:
    """The optional service columns (A11-A14): bhi conditions, consent and care plan, CoCM
    months, the RPM and RTM consents. An empty cell keeps what the record has (--update)."""
    bhi = dict(raw.get("bhi", {}))
    if cells["bhi_conditions"]:
        bhi["conditions"] = roster_codes(cells["bhi_conditions"], errors, "bhi_conditions")
    if dates["bhi_care_plan_established"]:
        bhi["care_plan"] = {**bhi.get("care_plan", {}),
                            "established": dates["bhi_care_plan_established"]}  # fmt: skip
    for block, target in (("bhi", bhi), ("rpm", dict(raw.get("rpm", {}))),
                          ("rtm", dict(raw.get("rtm", {})))):  # fmt: skip
        col_date, col_kind = f"{block}_consent_date", f"{block}_consent_method"
        if cells[col_date] and not dates[col_date]:
            continue  # the bad date is already reported
        given = {k: v for k, v in (("date", dates[col_date]), ("method", cells[col_kind])) if v}
        if given:
            merged = {**target.get("consent", {}), **given}
            if merged.get("date") and merged.get("method"):
                target["consent"] = merged
            else:
                errors.append((col_kind, f"{col_date} and {col_kind} go together: give both"))
        if target:
            raw[block] = target
    if cells["cocm_months"]:
        raw["cocm_months"] = [m.strip() for m in cells["cocm_months"].split(";") if m.strip()]


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
        name = (_COLUMN_OF.get(loc[:3]) or _COLUMN_OF.get(loc[:2]) or _COLUMN_OF.get(loc[:1])
                or ("conditions" if loc[:1] == ("conditions",) else ""))  # fmt: skip
        name = name or ".".join(str(s) for s in loc)
        out.append((name, fe.message(name)))
    return out


def build_patient(raw: dict, errors: list[Error], today: date) -> tuple[Patient | None, list[str]]:
    """The merged row as a validated Patient, or every reason it is not one."""
    try:
        patient = validate(Patient, raw)
    except ValidationError as exc:
        reported = {column for column, _ in errors}
        errors = errors + [e for e in model_messages(exc) if e[0] not in reported]
        patient = None
    if patient is not None and patient.birth_date > today:
        errors = [*errors, ("birth_date", "birth_date is after today")]
    return (None if errors else patient), [msg for _, msg in errors]


def codes_of(raw: dict) -> tuple[list[str], str | None, list[str]]:
    """The well-formed codes of a merged row, for the code check even when the row has errors:
    conditions, principal condition, BHI conditions."""
    codes = [c["code"] for c in raw.get("conditions", []) if icd10_format_ok(c.get("code", ""))]
    principal = raw.get("principal_condition")
    bhi = raw.get("bhi") or {}
    bhi_codes = bhi.get("conditions", []) if isinstance(bhi, dict) else []
    bhi_codes = [c for c in bhi_codes if isinstance(c, str) and icd10_format_ok(c)]
    return codes, (principal if principal and icd10_format_ok(principal) else None), bhi_codes
