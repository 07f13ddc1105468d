"""Records as plain objects: what the record cache hands to a command that asks for one record.

Pydantic validates every file (records.py); once a file has been read, its record is only data.
A command about one patient (`ccm log` above all) takes its records from the cache, and
importing pydantic and building the record models would be most of its start-up: so each
cached record is also kept as a copy of these classes, which hold the same fields, answer the
same methods (PatientFacts is shared with the model) and `model_copy(update=...)` as the rules
use it. Anything else of pydantic's (`model_dump`, `model_fields_set`, ...) is answered by the
model built back from the copy without validation, so it gives what the model would give.
"""

from datetime import date

from ccmcli.models.months import Month


class PatientFacts:
    """What the rules ask of a patient beyond its fields; shared by the model and the copy."""

    def program_in(self, month: Month) -> str:
        """A8: the last change on or before the month, else `program`."""
        if not self.program_changes:
            return self.program
        text, found = str(month), self.program
        for change in self.program_changes:
            if change.month <= text:
                found = change.program
        return found

    def program_began(self, month: Month) -> str | None:
        """The month (YYYY-MM) the program in force began, when a change started it."""
        text = str(month)
        return next((c.month for c in reversed(self.program_changes) if c.month <= text), None)

    def chronic_codes(self) -> list[str]:
        """Qualifying condition codes, in the order written, each once (rule E-01)."""
        return list(dict.fromkeys(c.code for c in self.conditions if c.chronic))

    def chronic_categories(self) -> dict[str, list[str]]:
        """The qualifying codes by ICD-10-CM category, the 3 characters before the dot (A2):
        E11.9 and E11.65 are one condition, as is a code listed twice."""
        out: dict[str, list[str]] = {}
        for c in self.conditions:
            if c.chronic:
                out.setdefault(c.code[:3], []).append(c.code)
        return out

    def complex_month(self, month: Month):
        """The patient's complex-CCM record of the month, if any."""
        if not self.complex_months:  # most patients: no month to look through
            return None
        text = str(month)
        return next((c for c in self.complex_months if c.month == text), None)


class Record:
    """A validated record's fields as attributes (frozen), named as its model is named."""

    __slots__ = ("__dict__", "_fields_set")

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"{type(self).__name__} is frozen")

    def model_copy(self, *, update: dict | None = None, deep: bool = False) -> "Record":
        """A copy with some fields replaced, as pydantic's (shallow) model_copy gives."""
        if deep:
            return to_plain(self.as_model().model_copy(update=update, deep=True))
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        fields_set = self._fields_set
        if update:
            copy.__dict__.update(update)
            fields_set = fields_set | frozenset(update)
        object.__setattr__(copy, "_fields_set", fields_set)
        return copy

    def as_model(self):
        """The pydantic model of the same fields, built without validating them again."""
        from ccmcli.models import records

        model = getattr(records, type(self).__name__)
        values = {k: _to_model(v) for k, v in self.__dict__.items()}
        return model.model_construct(_fields_set=set(self._fields_set), **values)

    def __getattr__(self, name: str):
        if name.startswith("model_"):  # model_dump, model_fields_set, ...: the model's own
            return getattr(self.as_model(), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return type(self) is type(other) and self.__dict__ == other.__dict__
        if type(other).__name__ == type(self).__name__ and hasattr(type(other), "model_fields"):
            return self.__dict__ == other.__dict__
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self):
        return (_rebuild, (type(self), self.__dict__, self._fields_set))


def _rebuild(cls: type, fields: dict, fields_set: frozenset) -> Record:
    record = object.__new__(cls)
    object.__setattr__(record, "__dict__", fields)
    object.__setattr__(record, "_fields_set", fields_set)
    return record


class Settings(Record):
    __slots__ = ()


class Condition(Record):
    __slots__ = ()


class Consent(Record):
    __slots__ = ()


class InitiatingVisit(Record):
    __slots__ = ()


class CarePlan(Record):
    __slots__ = ()


class ComplexMonth(Record):
    __slots__ = ()


class ProgramChange(Record):
    __slots__ = ()


class BhiEnrollment(Record):
    __slots__ = ()


class MonitoringEnrollment(Record):
    __slots__ = ()


class Patient(PatientFacts, Record):
    __slots__ = ()


_CLASSES = {c.__name__: c for c in Record.__subclasses__()}
_VALUES = frozenset((str, int, float, bool, date, type(None)))


def to_plain(value, memo: dict | None = None):
    """The plain copy of a record (of a list, a dict, or a value: as it is). `memo` (id of a
    record -> its copy, for records that stay alive meanwhile) copies a shared sub-record once:
    the record cache copies every record of a practice whenever it is rewritten."""
    kind = type(value)
    if kind in _VALUES or isinstance(value, Record):
        return value
    if kind is list:
        return [to_plain(v, memo) for v in value]
    if kind is dict:
        return {k: to_plain(v, memo) for k, v in value.items()}
    if memo is not None and id(value) in memo:
        return memo[id(value)]
    cls = _CLASSES.get(kind.__name__)
    if cls is None or not hasattr(value, "model_fields_set"):
        raise TypeError(f"no plain copy of {kind.__name__}")
    fields = value.__dict__.copy()
    for k, v in fields.items():
        if type(v) not in _VALUES:
            fields[k] = to_plain(v, memo)
    copy = _rebuild(cls, fields, frozenset(value.model_fields_set))
    if memo is not None:
        memo[id(value)] = copy
    return copy


def _to_model(value):
    if isinstance(value, Record):
        return value.as_model()
    if isinstance(value, list):
        return [_to_model(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_model(v) for k, v in value.items()}
    return value
