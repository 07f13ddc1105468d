"""Findings about the data files: plain values, collected and reported, never raised."""

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in one file, in words a biller understands (contract section 4).

    `file` is relative to the data directory with forward slashes; `line` is 1-based or None
    when the problem concerns the whole file.
    """

    file: str
    line: int | None
    severity: Severity
    message: str
    column: int | None = None
    patient_id: str | None = None

    def render(self) -> str:
        """`FILE:LINE: error: MESSAGE`, the form editors and CI logs understand."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "severity": self.severity,
            "message": self.message,
        }


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def sort_key(p: Problem) -> tuple:
    return (p.file, p.line or 0, p.column or 0, p.message)
