"""Reading and writing ccm.yaml and the patient files, collecting problems instead of raising.

A bad file never stops the others from being read: each reader returns what it could build and a
list of problems naming file, line and field. Parsed files are kept in the record cache
(record_cache.py) while unchanged, so YAML (yamlio) and pydantic (record_schema) are imported only
when some file must be parsed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.store import cache, fileio, record_cache, regular_files
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ccmcli.models.records import Patient, Record, Settings

R = TypeVar("R", bound="Record")


@dataclass
class PatientSet:
    """Every patient file: the valid ones as models, the ids of the invalid ones, the problems."""

    patients: dict[str, Patient] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    # each file's signature as read (ccm.yaml's too; None: not taken, caches off), and when the
    # reading began: what later caches compare to know a record is the one they saw
    signatures: dict[str, cache.Signature | None] = field(default_factory=dict)
    read_at_ns: int = 0

    def known(self, patient_id: str) -> bool:
        """A file exists for this id (valid or not): log rows for it are not 'unknown patient'."""
        return patient_id in self.patients or patient_id in self.invalid

    def known_ids(self) -> set[str]:
        return set(self.patients) | self.invalid


def read_text(path: Path, root: Path | None = None) -> str:
    """UTF-8 with an optional byte-order mark; CRLF is normalised by the parsers. Only a regular
    file is read, and with `root` only one whose real location is inside it (regular_files)."""
    return regular_files.read_bytes(root, path).decode("utf-8-sig")


def read_record(path: Path, root: Path, rel: str) -> tuple[str | None, list[Problem]]:
    """A YAML record's text, or the problem that keeps it from being read: a file that is not
    UTF-8 names the first line that is not, as a log file does."""
    try:
        raw = regular_files.read_bytes(root, path)
    except OSError as exc:
        return None, [Problem(rel, None, "error", f"cannot read the file: {reason(exc)}")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        msg = "this line is not UTF-8 text (saved in another encoding?); the file is not read"
        return None, [Problem(rel, line, "error", msg)]


def _field_path(loc: tuple) -> str:
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1]}[{step}]"] if parts else [f"[{step}]"]
        elif step in {"function-after[_condition_shorthand(), Condition]"}:
            continue
        elif not str(step).startswith(("function-", "list[", "dict[", "[key]")):
            parts.append(str(step))
    return ".".join(parts)


def _model_problems(record, exc: ValidationError, text: str, rel: str) -> list[Problem]:
    from ccmcli.models.error_words import field_errors
    from ccmcli.store import yamlio

    problems = []
    for fe in field_errors(exc):
        where = fe.loc
        first_word = fe.text.split(" ")[0]
        if not fe.loc and first_word in record._fields:
            where = (first_word,)  # a rule across fields: the line of the field it names
        msg = fe.message(_field_path(fe.loc))
        problems.append(Problem(rel, yamlio.line_of(text, where), "error", msg))
    return problems


def parse_model(record: type[R], text: str, rel: str) -> tuple[R | None, list[Problem]]:
    """One YAML document validated as `record` (its schema, record_schema.py); on failure,
    problems with file and line."""
    from pydantic import ValidationError

    from ccmcli.models.record_schema import validate
    from ccmcli.store import yamlio

    try:
        data = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        return None, [Problem(rel, exc.line, "error", exc.message, column=exc.column)]
    if not isinstance(data, dict):
        return None, [Problem(rel, 1, "error", "expected a mapping of fields (key: value)")]
    try:
        return validate(record, data), []
    except ValidationError as exc:
        return None, _model_problems(record, exc, text, rel)


def load_settings(data: DataDir) -> tuple[Settings | None, list[Problem]]:
    rel = data.relative(data.settings_path)
    settings, problems = record_cache.one(data.root, rel, lambda _: _parse_settings(data))
    shared = settings is not None and getattr(settings, "shared", None) == "group"
    fileio.share_with_group(data.root if shared else None)
    return settings, list(problems)


def _parse_settings(data: DataDir) -> tuple[Settings | None, list[Problem]]:
    from ccmcli.models.records import Settings

    rel = data.relative(data.settings_path)
    text, problems = read_record(data.settings_path, data.root, rel)
    if text is None:
        return None, problems
    return parse_model(Settings, text, rel)


def refusal(problems: list[Problem]) -> CcmError:
    """One line: the first problem and how many more (`ccm validate` lists them all)."""
    more = len(problems) - 1
    return CcmError(problems[0].render() + (f" (+{more} more: see `ccm validate`)" if more else ""))


def reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return getattr(exc, "strerror", None) or type(exc).__name__


def load_patient_file(data: DataDir, path: Path) -> tuple[Patient | None, list[Problem]]:
    """One patient file; its `id` must equal the file's stem (contract section 1)."""
    return _patient_file(str(path), data.relative(path), data.root)


def _patient_file(path: str, rel: str, root: Path) -> tuple[Patient | None, list[Problem]]:
    """load_patient_file on plain strings: a large practice reads tens of thousands of files,
    and building Paths for each is a tenth of reading them."""
    from ccmcli.models.records import Patient

    text, problems = read_record(path, root, rel)  # type: ignore[arg-type]
    if text is None:
        return None, problems
    patient, problems = parse_model(Patient, text, rel)
    name = os.path.basename(path)
    if patient is not None and patient.id + ".yaml" != name:
        from ccmcli.store import yamlio

        line = yamlio.line_of(text, ("id",))
        msg = f'id "{patient.id}" does not match the file name "{name}"'
        return None, [Problem(rel, line, "error", msg)]
    return patient, problems


def patient_files(data: DataDir) -> list[Path]:
    """The patient files, sorted by name. Other files in patients/ are reported, not read."""
    if not data.patients_dir.is_dir():
        return []
    return sorted(p for p in data.patients_dir.iterdir() if p.suffix == ".yaml")


def load_patients(data: DataDir) -> PatientSet:
    """Every patient file, in name order; unchanged files come from the record cache.

    ccm.yaml is refreshed along with them, so that the cache also answers `load_settings`.
    """
    from ccmcli.store import staging

    settings_rel, root = data.relative(data.settings_path), str(data.root)

    def parse(rel: str) -> tuple:
        if rel == settings_rel:
            return _parse_settings(data)
        return _patient_file(os.path.join(root, rel), rel, data.root)

    result = PatientSet(read_at_ns=time.time_ns())
    with staging.reading(data):  # an import in progress or interrupted is seen whole or not
        files = [(settings_rel, _signature(data.settings_path))]
        files += _patient_signatures(data, stat=cache.enabled())
        parsed = record_cache.refresh(data.root, files, parse)
    result.signatures = dict(files)
    for rel, _ in files[1:]:
        patient, problems = parsed[rel]
        result.problems.extend(problems)
        if patient is None:
            result.invalid.add(rel[len("patients/") : -len(".yaml")])
        else:
            result.patients[patient.id] = patient
    return result


def _signature(path: Path | os.DirEntry) -> cache.Signature | None:
    try:
        return cache.signature(path.stat())
    except OSError:
        return None


def _patient_signatures(
    data: DataDir, stat: bool = True
) -> list[tuple[str, cache.Signature | None]]:
    """("patients/<name>", signature) of the files `patient_files` lists, without building a
    Path for each (a large practice has tens of thousands). Without `stat` (the caches are off
    and nothing compares signatures) every signature is None."""
    try:
        with os.scandir(data.patients_dir) as found:
            files = sorted(
                (e.name, e) for e in found if len(e.name) > 5 and e.name.endswith(".yaml")
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
    prefix = data.relative(data.patients_dir) + "/"
    if not stat:
        return [(prefix + name, None) for name, _ in files]
    sigs = cache.entry_signatures([entry for _, entry in files])
    return [(prefix + name, sig) for (name, _), sig in zip(files, sigs, strict=True)]


def patient_ids_on_file(data: DataDir) -> set[str]:
    """The same ids as `patient_stems`, as a set, without sorting or stat: what a command about
    one patient checks a month's rows against (which patients have a file)."""
    try:
        names = os.listdir(data.patients_dir)
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {n[:-5] for n in names if len(n) > 5 and n.endswith(".yaml")}


def patient_stems(data: DataDir) -> list[str]:
    """The ids the patient files' names give (valid files or not), as `load_patients` lists them."""
    skip = len(data.relative(data.patients_dir)) + 1
    return [rel[skip:-5] for rel, _ in _patient_signatures(data, stat=False)]


def load_patient_cached(data: DataDir, path: Path) -> tuple[Patient | None, list[Problem]]:
    """One patient file through the record cache: what `load_patients` would say of it."""
    rel = data.relative(path)
    patient, problems = record_cache.one(data.root, rel, lambda _: load_patient_file(data, path))
    return patient, list(problems)


def patient_yaml(patient: Patient) -> str:
    """The patient as people would write it: contract field order, no empty or default fields."""
    raw = patient.model_dump(mode="python", exclude_none=True, exclude_defaults=True)
    raw = {"id": patient.id, "name": patient.name, "birth_date": raw["birth_date"], **raw}
    for cond in raw.get("conditions", []):
        cond.pop("chronic", None) if cond.get("chronic") is True else None
    from ccmcli.store import yamlio

    return yamlio.dump(raw)


def write_patient(data: DataDir, patient: Patient, *, overwrite: bool = False) -> Path:
    """Write patients/<ID>.yaml atomically (0600); refuse an existing file unless `overwrite`."""
    path = data.patient_path(patient.id)
    regular_files.check_writable(data.root, path)
    try:
        fileio.atomic_write(path, patient_yaml(patient), exclusive=not overwrite)
    except FileExistsError:
        raise CcmError(f'patient "{patient.id}" already exists ({data.relative(path)})') from None
    return path
