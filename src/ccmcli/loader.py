"""The one way in: every command reads the data directory through `load`.

`load` reads the settings, the patients and the months a command asks for, and runs every check of
contract section 4 on them once: the file formats, the ICD-10-CM condition codes, entry ids used
again in another month, the export ledgers. A command then works on the `Practice` it returns and
reports its problems, so no command can believe a file that `ccm validate` rejects (`validate` is
just the loader over every file, printed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem, has_errors, sort_key
from ccmcli.models.months import Month
from ccmcli.store import entry_ids, layout, logcache, record_files, regular_files, timelog
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.models.records import Patient, Settings
    from ccmcli.rules.entry_checks import MonthWarnings


@dataclass
class Practice:
    """The data directory as the checks left it: valid records, the months read, every problem."""

    data: DataDir
    settings: Settings
    patients: dict[str, Patient] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    logs: dict[Month, timelog.MonthLog] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # checks that could not run, and why
    whole: bool = True  # every patient file was read (else only those a command asked for)
    # records as filed, for those whose unknown codes the gates must not count (shown as written)
    as_filed: dict[str, Patient] = field(default_factory=dict)
    # ccm.yaml's and every patient file's signature as read, when all were (PatientSet's)
    signatures: dict[str, tuple | None] = field(default_factory=dict)
    read_at_ns: int = 0
    # month logs read while workers parsed the patient files (_read_ahead), not yet taken, and
    # the entry ids of the months before them
    ahead: dict[Month, timelog.MonthLog] = field(default_factory=dict, repr=False)
    ids_before: dict[Month, set[str]] = field(default_factory=dict, repr=False)
    warnings: dict[Month, MonthWarnings] = field(default_factory=dict, repr=False)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)

    def known_ids(self) -> set[str]:
        return set(self.patients) | self.invalid

    def patient(self, patient_id: str) -> Patient:
        """The patient's record; refuses an id without a file or a file with errors."""
        found = self.patients.get(patient_id)
        if found is not None:
            return found
        path = self.data.patient_path(patient_id)
        if patient_id not in self.invalid:
            raise CcmError(f'unknown patient "{patient_id}" (no {self.data.relative(path)})')
        mine = [p for p in self.problems if p.file == self.data.relative(path)]
        raise record_files.refusal(
            mine or [Problem(self.data.relative(path), None, "error", "has errors")]
        )

    def month(self, text: str | None, default: str = "current") -> Month:
        """A MONTH option: as typed, else this month at the practice (`last_finished` for export)."""
        from ccmcli.models.months import current_month, last_finished_month

        if text:
            return Month.parse(text)
        if default == "last_finished":
            return last_finished_month(self.settings.timezone)
        return current_month(self.settings.timezone)

    def read_month(self, month: Month, again: bool = False) -> timelog.MonthLog:
        """The month's log with every check run (once: a month read before is kept, unless
        `again`: `ccm log` reads the month under its lock, and its problems replace those of
        the earlier reading). The one way any command gets a month's entries."""
        if again and month in self.logs:
            before = {id(p) for p in self.logs.pop(month).problems}
            self.problems = [p for p in self.problems if id(p) not in before]
        if month not in self.logs:
            _read_month(self, month)
            self.problems.sort(key=sort_key)
        return self.logs[month]

    def entry_warnings(self, month: Month) -> MonthWarnings:
        """The warnings the month's rows give each patient (rules/entry_checks, contract 3), for
        the reading of the month the command has."""
        found = self.warnings.get(month)
        if found is None:
            from ccmcli.rules.entry_checks import MonthWarnings

            limit = self.settings.warn_minutes_per_day
            found = self.warnings[month] = MonthWarnings(self.read_month(month).entries, limit)
        return found

    def month_problems(self, month: Month) -> list[Problem]:
        """Problems of the files a month's judgement reads: settings, patients, that month's log."""
        other_logs = {log.file for m, log in self.logs.items() if m != month}
        return [p for p in self.problems if p.file not in other_logs]


def load(
    data: DataDir,
    months: Iterable[Month] = (),
    *,
    patient_ids: Iterable[str] | None = None,
    every_file: bool = False,
    code_check: bool = True,
    ahead: tuple[str | None, ...] = (),
) -> Practice:
    """The practice with every check run once.

    `months`: the month logs to read. `patient_ids`: read only these patient files (commands about
    one patient); None reads them all. `every_file`: every month log, every export ledger and the
    folders' stray files too (`ccm validate`). `code_check`: condition codes against ICD-10-CM,
    loaded lazily and only when some condition is read. `ahead`: months as a MONTH option names
    them (None: this month) that the command will read once it has the practice (`check` picks
    its month by the practice's time zone): read while workers parse the patient files.
    """
    settings, problems = record_files.load_settings(data)
    if settings is not None and settings.fees:
        unbilled = _unbilled_fees(data, settings)
        if unbilled:  # ccm.yaml is refused as a field of the wrong form would refuse it
            settings, problems = None, problems + unbilled
    if settings is None and not every_file:
        raise record_files.refusal(problems)  # `validate` goes on to list every other problem
    practice = Practice(data, settings, problems=problems)  # type: ignore[arg-type]
    with _read_ahead(practice, months if patient_ids is None else None, ahead):
        _read_patients(practice, patient_ids)
        practice.whole = patient_ids is None
        if code_check and practice.patients:
            _check_codes(practice)
        practice.problems += layout.folder_problems(data, every_file)
    wanted = set(months) | (set(layout.log_months(data)) if every_file else set())
    for month in sorted(wanted):
        _read_month(practice, month)
    if every_file:
        practice.problems += _ledger_problems(data)
    practice.problems.sort(key=sort_key)
    return practice


def _unbilled_fees(data: DataDir, settings: Settings) -> list[Problem]:
    """ccm.yaml's `fees` may name only codes some year's rules table bills: a charge for another
    code could never reach a claim, so it is a slip. The field's type checks the form alone,
    because the table (rules/table.py) is a layer above the records."""
    from ccmcli.rules.table import known_codes

    unknown = [code for code in settings.fees if code not in known_codes()]
    if not unknown:
        return []
    from ccmcli.store import yamlio

    rel = data.relative(data.settings_path)
    try:
        text = record_files.read_text(data.settings_path, data.root)
    except (OSError, UnicodeDecodeError):
        text = ""
    return [
        Problem(rel, yamlio.line_of(text, ("fees", code)) if text else None, "error",
                f"fees.{code} is not a code ccm bills (see `ccm rules`)")
        for code in unknown
    ]  # fmt: skip


def _read_patients(practice: Practice, patient_ids: Iterable[str] | None) -> None:
    data = practice.data
    if patient_ids is None:
        found = record_files.load_patients(data)
        practice.patients, practice.invalid = found.patients, found.invalid
        practice.signatures, practice.read_at_ns = found.signatures, found.read_at_ns
        practice.problems += found.problems
        return
    from ccmcli.store import staging

    with staging.reading(data):  # an import in progress or interrupted is seen whole or not
        for pid in dict.fromkeys(patient_ids):
            path = data.patient_path(pid)  # refuses an id that could name a path outside
            if not path.is_file():
                continue  # `Practice.patient` says "unknown patient" to the command that asks
            patient, problems = record_files.load_patient_cached(data, path)
            practice.problems += problems
            if patient is None:
                practice.invalid.add(pid)
            else:
                practice.patients[pid] = patient


def _check_codes(practice: Practice) -> None:
    """Contract 4: a code outside ICD-10-CM is an error and its condition counts toward no gate
    (rule A2; a BHI condition's, A11); a category is a warning. The code set loads only here, and only once."""
    from ccmcli.store.condition_codes import data_dir_problems, load_checker, without_unknown

    checker, note = load_checker()
    if checker is None:
        practice.notes.append(note or "condition codes not checked")
        return
    practice.problems += data_dir_problems(practice.data, practice.patients.values(), checker)
    codes = {c.code for p in practice.patients.values() for c in p.conditions}
    codes.update(code for p in practice.patients.values() if p.bhi for code in p.bhi.conditions)
    if all(checker.kind(code) != "unknown" for code in codes):
        return  # no code to set aside (a principal condition is one of the conditions' codes)
    for pid, patient in practice.patients.items():
        gated = without_unknown(patient, checker)
        if gated is not patient:
            practice.as_filed[pid] = patient
            practice.patients[pid] = gated


def _read_month(practice: Practice, month: Month) -> None:
    """Contract 1 and 4 for one month, the same for every command: its rows as the parser
    reads them (log_parser: a pipe, device or link leading outside is refused, never waited
    on), a row for a patient without a file in error, the rows whose ids an earlier month uses
    in error too (entry_ids: a void row in error voids nothing), and earlier month files that
    cannot be read. A command about a few patients checks the rows against the same list of
    patient files as one that read them all, so both read the month alike."""
    data = practice.data
    log = practice.ahead.pop(month, None) if practice.whole else None
    if log is None:
        known = practice.known_ids() if practice.whole else record_files.patient_ids_on_file(data)
        log = _month_log(data, month, known, practice.ids_before)
        practice.warnings.pop(month, None)  # any were of another reading
    practice.logs[month] = log
    seen = set(practice.problems)  # an unreadable earlier month is each later month's problem
    practice.problems += [p for p in log.problems if p not in seen]


@contextlib.contextmanager
def _read_ahead(
    practice: Practice, months: Iterable[Month] | None, ahead: tuple[str | None, ...]
) -> Iterator[None]:
    """While workers parse a large practice's patient files (workers.py), this process reads the
    months to be judged, the entry ids of the months before them (which their rows must not use
    again) and every patient's entry warnings; then it takes its share of the files. What it
    read waits in `practice.ahead` (and `practice.warnings`) for _read_month. Without workers nothing is read early: the months are read after the
    patients, as for any command."""
    wanted = set(months) if months is not None else set()
    if months is not None:
        for text in ahead:
            with contextlib.suppress(CcmError):  # the command says so itself, after loading
                wanted.add(practice.month(text))
    data = practice.data
    wanted = {m for m in wanted if not logcache.stored(data, m)}  # a kept read: cheap later
    if not wanted:
        yield
        return
    from ccmcli import workers

    limit = practice.settings.warn_minutes_per_day
    with workers.alongside(lambda: _read_logs(data, sorted(wanted), limit)) as job:
        yield
    if job.done:
        stems, logs, ids_before, warnings = job.result  # type: ignore[misc]
        practice.ids_before = ids_before
        if stems == practice.known_ids():  # the same files: the same reading as after
            practice.ahead, practice.warnings = logs, warnings


def _read_logs(data: DataDir, months: list[Month], day_limit: int) -> tuple:
    """The months' logs as _read_month reads them for the whole practice, with every patient's
    entry warnings (the command judges them all); the patient ids they were checked against
    (from the files' names: the files are being parsed meanwhile), and the ids of every earlier
    month."""
    from ccmcli.rules.entry_checks import MonthWarnings

    known = set(record_files.patient_stems(data))
    earlier = [m for m in layout.log_months(data) if m < months[-1]]
    ids = {m: set(ids) for m in earlier if (ids := entry_ids.row_ids(data, m)) is not None}
    logs = {m: _month_log(data, m, known, ids) for m in months}
    warnings = {m: MonthWarnings(log.entries, day_limit, whole=True) for m, log in logs.items()}
    return known, logs, ids, warnings


def _month_log(data: DataDir, month: Month, known: set[str], ids_before: dict) -> timelog.MonthLog:
    """The month's rows checked against the patient files `known`, and the entry ids of the
    months before (entry_ids: a row using one is in error, and a void row in error voids
    nothing)."""
    log = logcache.read_month(data, month, known)
    return entry_ids.without_reused_ids(data, month, log, known.__contains__, ids_before)


def _ledger_problems(data: DataDir) -> list[Problem]:
    """Every export ledger must parse: `export` refuses a damaged one, so `validate` says so too."""
    from ccmcli.store.ledger import scan_ledger

    problems: list[Problem] = []
    for month in layout.ledger_months(data):
        path = data.export_path(month)
        rel = data.relative(path)
        try:
            text = regular_files.read_bytes(data.root, path).decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            why = record_files.reason(exc)
            problems.append(Problem(rel, None, "error", f"cannot read the ledger: {why}"))
            continue
        problems += scan_ledger(text, rel)[1]
    return problems
