"""Reading and writing ccm.yaml and the patient files, collecting problems instead of raising.

A bad file never stops the others from being read: each reader returns what it could build and a
list of problems naming file, line and field.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ccmcli import fileio, yamlio
from ccmcli.datadir import DataDir
from ccmcli.errors import CcmError
from ccmcli.models import Patient, Settings
from ccmcli.problems import Problem

M = TypeVar("M", bound=BaseModel)


@dataclass
class PatientSet:
    """Every patient file: the valid ones as models, the ids of the invalid ones, the problems."""

    patients: dict[str, Patient] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def known(self, patient_id: str) -> bool:
        """A file exists for this id (valid or not): log rows for it are not 'unknown patient'."""
        return patient_id in self.patients or patient_id in self.invalid


def read_text(path: Path) -> str:
    """UTF-8 with an optional byte-order mark; CRLF is normalised by the parsers."""
    return path.read_bytes().decode("utf-8-sig")


def _field_path(loc: tuple) -> str:
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1]}[{step}]"] if parts else [f"[{step}]"]
        elif step in {"function-after[_condition_shorthand(), Condition]"}:
            continue
        elif not str(step).startswith(("function-", "list[", "dict[")):
            parts.append(str(step))
    return ".".join(parts)


def _model_problems(exc: ValidationError, text: str, rel: str) -> list[Problem]:
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(s for s in err["loc"] if not str(s).startswith(("function-", "list[")))
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        name = _field_path(loc)
        if err["type"] == "extra_forbidden":
            msg = f'unknown field "{name}"'
        elif err["type"] == "missing":
            msg = f"{name} is required"
        elif name:
            msg = f"{name} {msg}" if msg[0].islower() else f"{name}: {msg}"
        problems.append(Problem(rel, yamlio.line_of(text, loc), "error", msg))
    return problems


def parse_model(model: type[M], text: str, rel: str) -> tuple[M | None, list[Problem]]:
    """Validate one YAML document as `model`; on failure, problems with file and line."""
    try:
        data = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        return None, [Problem(rel, exc.line, "error", exc.message, column=exc.column)]
    if not isinstance(data, dict):
        return None, [Problem(rel, 1, "error", "expected a mapping of fields (key: value)")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _model_problems(exc, text, rel)


def load_settings(data: DataDir) -> tuple[Settings | None, list[Problem]]:
    rel = data.relative(data.settings_path)
    try:
        text = read_text(data.settings_path)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(rel, None, "error", f"cannot read the file: {_reason(exc)}")]
    return parse_model(Settings, text, rel)


def require_settings(data: DataDir) -> Settings:
    """Settings for commands that cannot work without them: refuse with the first problem."""
    settings, problems = load_settings(data)
    if settings is None:
        raise CcmError("\n".join(p.render() for p in problems))
    return settings


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return getattr(exc, "strerror", None) or type(exc).__name__


def load_patient_file(data: DataDir, path: Path) -> tuple[Patient | None, list[Problem]]:
    """One patient file; its `id` must equal the file's stem (contract section 1)."""
    rel = data.relative(path)
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(rel, None, "error", f"cannot read the file: {_reason(exc)}")]
    patient, problems = parse_model(Patient, text, rel)
    if patient is not None and patient.id != path.stem:
        line = yamlio.line_of(text, ("id",))
        msg = f'id "{patient.id}" does not match the file name "{path.name}"'
        return None, [Problem(rel, line, "error", msg)]
    return patient, problems


def patient_files(data: DataDir) -> list[Path]:
    """The patient files, sorted by name. Other files in patients/ are reported, not read."""
    if not data.patients_dir.is_dir():
        return []
    return sorted(p for p in data.patients_dir.iterdir() if p.suffix == ".yaml")


def load_patients(data: DataDir) -> PatientSet:
    result = PatientSet()
    for path in patient_files(data):
        patient, problems = load_patient_file(data, path)
        result.problems.extend(problems)
        if patient is None:
            result.invalid.add(path.stem)
        else:
            result.patients[patient.id] = patient
    return result


def load_patient(data: DataDir, patient_id: str) -> Patient:
    """One patient for commands about that patient; refuses an unknown or invalid one."""
    path = data.patient_path(patient_id)
    if not path.is_file():
        raise CcmError(f'unknown patient "{patient_id}" (no {data.relative(path)})')
    patient, problems = load_patient_file(data, path)
    if patient is None:
        raise CcmError("\n".join(p.render() for p in problems))
    return patient


def patient_yaml(patient: Patient) -> str:
    """The patient as people would write it: contract field order, no empty or default fields."""
    raw = patient.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    raw = {"id": patient.id, "name": patient.name, "birth_date": raw["birth_date"], **raw}
    for cond in raw.get("conditions", []):
        cond.pop("chronic", None) if cond.get("chronic") is True else None
    return yamlio.dump(raw)


def write_patient(data: DataDir, patient: Patient, *, overwrite: bool = False) -> Path:
    """Write patients/<ID>.yaml atomically (0600); refuse an existing file unless `overwrite`."""
    path = data.patient_path(patient.id)
    try:
        fileio.atomic_write(path, patient_yaml(patient), exclusive=not overwrite)
    except FileExistsError:
        raise CcmError(f'patient "{patient.id}" already exists ({data.relative(path)})') from None
    return path
