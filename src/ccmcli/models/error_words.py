"""Pydantic's validation errors in words a biller understands: the one place they are worded.

Every reader of a record (patient files, ccm.yaml, roster rows, options typed to `patient add` and
`init`) names the field its own way (a line, a column, an option) but says what is wrong in the
same words, and never with the input, which is patient data.
"""

from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    loc: tuple  # the field's path, pydantic's validator wrappers left out
    kind: str  # pydantic's error type: missing, extra_forbidden, ...
    text: str  # what is wrong, without the field's name: "must be a valid date"

    def message(self, name: str) -> str:
        """The whole message with the field named `name` (a path, a column or an option)."""
        if self.kind == "missing":
            return f"{name} is required"
        if self.kind == "extra_forbidden":
            return f'unknown field "{name}"'
        text = self.text
        if self.kind in ("model_type", "dict_type"):
            text = "must be a mapping of fields (key: value)"
        if not name:
            return text
        return f"{name} {text}" if text[:1].islower() else f"{name}: {text}"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Each error of `exc` in our words, in pydantic's order."""
    return [
        FieldError(
            tuple(s for s in e["loc"] if not str(s).startswith(("function-", "list["))),
            e["type"],
            e["msg"].removeprefix("Value error, ").replace("Input should be", "must be"),
        )
        for e in exc.errors(include_input=False, include_url=False)
    ]
