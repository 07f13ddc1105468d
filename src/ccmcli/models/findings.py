"""Findings: one type for what is wrong in a file and for a month's blockers and warnings.

Plain values, collected and reported, never raised. A file problem names its file and line; a
rule finding (a blocker or warning of a judged month, contract section 3) names its rule id; both
can name the patient and the entry they concern, so every list of findings is read, filtered and
printed the same way.
"""

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "blocker"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong, in words a biller understands (contract sections 3 and 4).

    `file` is relative to the data directory with forward slashes, or None for a rule finding;
    `line` is 1-based or None when the finding concerns a whole file.
    """

    file: str | None
    line: int | None
    severity: Severity
    message: str
    column: int | None = None
    patient_id: str | None = None
    rule: str | None = None
    entry_id: str | None = None
    # a warning about minutes that may not be real (a duplicate, an overlap): how many of the
    # entry's minutes it doubts, so that the bill can be judged without them
    doubted: int = 0

    @classmethod
    def blocker(cls, rule: str, message: str) -> "Finding":
        """A gate that stops the month from being billed (rule A2)."""
        return cls(None, None, "blocker", message, rule=rule)

    @classmethod
    def warning(
        cls, rule: str, message: str, entry_id: str | None = None, doubted: int = 0
    ) -> "Finding":
        """Something a biller should know that does not change the codes."""
        return cls(None, None, "warning", message, rule=rule, entry_id=entry_id, doubted=doubted)

    def render(self) -> str:
        """`FILE:LINE: error: MESSAGE`, the form editors and CI logs understand."""
        where = self.file if self.file is not None else self.rule or ""
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"

    def as_dict(self) -> dict:
        """A rule finding as `{"rule", "message"}`; a file problem with its file, line, severity."""
        if self.file is None and self.rule is not None:
            return {"rule": self.rule, "message": self.message}
        return {
            "file": self.file,
            "line": self.line,
            "severity": self.severity,
            "message": self.message,
        }


Problem = Finding  # the name the file checks have always used


def has_errors(problems: list[Finding]) -> bool:
    return any(p.severity == "error" for p in problems)


def sort_key(p: Finding) -> tuple:
    return (p.file or "", p.line or 0, p.column or 0, p.message)
