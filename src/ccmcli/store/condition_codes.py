"""ICD-10-CM checks of the patients' condition codes (contract section 4).

A code that is not in the code set is an error: no claim can carry it, and an auditor would find
the patient's chronic conditions undocumented. A category (`E11`) names a real condition but is a
heading, not a code a claim may carry: a warning, so the biller adds the missing digits.

The code set comes from the cached index (icd10.py). The loader (loader.py) checks every
condition it reads, for every command, so `check` never bills on a code `validate` rejects; the
index is imported only when some condition is read (never for `--help`, `rules` or `init`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ccmcli.models.findings import Problem

if TYPE_CHECKING:
    from ccmcli.models.records import Patient
    from ccmcli.store.datadir import DataDir
    from ccmcli.store.icd10 import CodeSet

Finding = Literal["unknown", "category"]


@dataclass(frozen=True, slots=True)
class CodeFinding:
    """One code of one patient that is not a billable ICD-10-CM code.

    `path` is the field's place in the patient file (`("conditions", 1, "code")`,
    `("principal_condition",)` or `("bhi", "conditions", 0)`), so a caller can find its line or
    name it its own way.
    """

    path: tuple
    code: str
    kind: Finding

    @property
    def severity(self) -> Literal["error", "warning"]:
        return "error" if self.kind == "unknown" else "warning"

    @property
    def field(self) -> str:
        """The field as `validate` names it: `conditions[1].code`, `principal_condition` or
        `bhi.conditions[0]`."""
        if self.path[0] == "conditions":
            return f"conditions[{self.path[1]}].code"
        if self.path[0] == "bhi":
            return f"bhi.conditions[{self.path[2]}]"
        return str(self.path[0])

    def message(self, field: str | None = None) -> str:
        """`conditions[1].code E11.99 is not in the ICD-10-CM code set`; `field` renames it."""
        name = field or self.field
        if self.kind == "unknown":
            return f"{name} {self.code} is not in the ICD-10-CM code set"
        return f"{name} {self.code} is a category, not a billable code (use a more specific code)"


class CodeChecker:
    """The code set with each distinct code looked up once.

    A practice has thousands of patients but a few dozen distinct codes, so `validate` on a large
    practice costs a few dozen index lookups beyond loading the index.
    """

    def __init__(self, code_set: "CodeSet") -> None:
        self.code_set = code_set
        self._kinds: dict[str, str] = {}

    def kind(self, code: str) -> str:
        """billable | category | unknown."""
        kind = self._kinds.get(code)
        if kind is None:
            kind = self._kinds[code] = self.code_set.lookup(code).kind
        return kind

    def findings(self, patient: "Patient") -> list[CodeFinding]:
        """Every condition code (then the principal condition, then the BHI conditions, which
        a 99484 claim carries as diagnoses too) that is not billable."""
        codes = [c.code for c in patient.conditions]
        principal = patient.principal_condition
        bhi = patient.bhi.conditions if patient.bhi else []
        kinds = self._kinds
        if all(kinds.get(code) == "billable" for code in (*codes, *bhi)) and (
            not principal or kinds.get(principal) == "billable"
        ):
            return []  # the usual case, told apart without building a finding's path
        return self.check(codes, principal, bhi)

    def check(
        self, codes: list[str], principal: str | None = None, bhi: list[str] | None = None
    ) -> list[CodeFinding]:
        """Findings for condition codes in file order, a principal condition, if any, and the
        BHI conditions (`bhi.conditions`) in file order."""
        fields: list[tuple[tuple, str]] = [
            (("conditions", i, "code"), code) for i, code in enumerate(codes)
        ]
        if principal:
            fields.append((("principal_condition",), principal))
        fields += [(("bhi", "conditions", i), code) for i, code in enumerate(bhi or ())]
        out = []
        for path, code in fields:
            kind = self.kind(code)
            if kind != "billable":
                out.append(CodeFinding(path, code, "unknown" if kind == "unknown" else "category"))
        return out

    def with_descriptions(self, patient: "Patient") -> "Patient":
        """A copy of the patient whose conditions without a description get the code set's.

        For display only: the file is never rewritten with them.
        """
        if all(c.description for c in patient.conditions):
            return patient
        conditions = [
            c
            if c.description
            else c.model_copy(update={"description": self.code_set.lookup(c.code).description})
            for c in patient.conditions
        ]
        return patient.model_copy(update={"conditions": conditions})


def load_checker(cache_dir=None) -> tuple[CodeChecker | None, str | None]:
    """The code checker, or None and a one-line reason when the code set is unavailable.

    Never raises for a missing package: the callers report the reason once and go on without
    code checks, because the other checks are still worth having.
    """
    from ccmcli.store.icd10 import CodeSetUnavailable, load_code_set

    try:
        return CodeChecker(load_code_set(cache_dir)), None
    except CodeSetUnavailable as exc:
        return None, f"condition codes not checked: {exc.message}"


def patient_problems(
    checker: CodeChecker, patient: "Patient", file: str, line: int | None
) -> list[Problem]:
    """Findings as problems on one line (a roster row), in the words `validate` uses."""
    return [
        Problem(file, line, f.severity, f.message(), patient_id=patient.id)
        for f in checker.findings(patient)
    ]


def data_dir_problems(
    data: "DataDir", patients: Iterable["Patient"], checker: CodeChecker
) -> list[Problem]:
    """Problems of valid patient files, each on the line of its code.

    A file is read again (and YAML imported) only when it has a finding: the line is needed on
    the problem path alone. A clean practice costs one lookup per distinct code and one pass
    over the codes, which matters once the records cache makes `validate` itself fast.
    """
    patients = list(patients)
    codes = {c.code for p in patients for c in p.conditions}
    codes.update(p.principal_condition for p in patients if p.principal_condition)
    codes.update(code for p in patients if p.bhi for code in p.bhi.conditions)
    if all(checker.kind(code) == "billable" for code in codes):
        return []
    from ccmcli.store import yamlio
    from ccmcli.store.record_files import read_text

    problems = []
    for patient in patients:
        found = checker.findings(patient)
        if not found:
            continue
        path = data.patient_path(patient.id)
        rel = data.relative(path)
        try:
            text = read_text(path, data.root)
        except (OSError, UnicodeDecodeError):
            text = ""
        for f in found:
            line = yamlio.line_of(text, f.path) if text else None
            problems.append(Problem(rel, line, f.severity, f.message(), patient_id=patient.id))
    return problems


def without_unknown(patient: "Patient", checker: CodeChecker) -> "Patient":
    """The patient as the gates must see it: a condition whose code is not in ICD-10-CM is no
    qualifying condition (rule A2 counts chronic conditions a claim can name), so it is kept for
    display but marked not chronic. A category still names a real condition and still counts.
    Likewise a BHI condition (A11) not in ICD-10-CM is left out of `bhi.conditions`: it is no
    condition the practitioner treats that a claim could name, so it neither meets the
    `no_bh_condition` gate nor reaches a 99484 or G0570 claim's diagnoses."""
    unknown = {f.code for f in checker.findings(patient) if f.kind == "unknown"}
    if not unknown:
        return patient
    conditions = [
        c.model_copy(update={"chronic": False}) if c.code in unknown else c
        for c in patient.conditions
    ]
    update: dict = {"conditions": conditions}
    if patient.bhi and any(code in unknown for code in patient.bhi.conditions):
        kept = [code for code in patient.bhi.conditions if code not in unknown]
        update["bhi"] = patient.bhi.model_copy(update={"conditions": kept})
    return patient.model_copy(update=update)
