"""`ccm check --format json` of the whole practice, with each patient's judgement kept between runs.

Judging 20,000 patients takes seconds, and from one run to the next nearly all of them are as
they were: the month's log only grows, one patient at a time. A patient's encoded judgement is
used again only when everything it was judged from is unchanged:

- ccm's code and the ICD-10-CM code set (cache.key), the month and whether it is still
  running, ccm.yaml (by signature) and the checks that could not run (practice.notes);
- the patient's file, by the signature the record cache keeps it under (a file changed in the
  last seconds is never kept: cache.stamp);
- the patient's rows of the month: which lines of the log, and which of them are voided, while
  the log only grew since the bytes that held those lines were read (cache.grown; a row in the
  last record, which an append could still change, is never kept: MonthLog.prefix);
- the overlaps other patients' rows make with the patient's (entry_checks.MonthWarnings: every
  other warning comes from the patient's own rows, and ccm.yaml's limits, which are keyed above).

The first four make the month's key; store/cache.py keeps the lines under it (inside the data
directory, private to its user, skipped when it cannot be written) and says when a signature or
the log's bytes are what they were; this module says what a patient's line is kept under.
Deleting them changes nothing but speed, CCM_NO_CACHE turns them off.
"""

from operator import attrgetter
from typing import TYPE_CHECKING

from ccmcli.models.months import Month
from ccmcli.reports.json_text import encode
from ccmcli.reports.practice_month import (
    JudgedLine,
    MonthReport,
    file_error,
    judgement_dict,
    members,
    month_inputs,
)
from ccmcli.rules.judge import judge
from ccmcli.store import cache, regular_files

if TYPE_CHECKING:
    from ccmcli.loader import Practice
    from ccmcli.rules.engine import Judgement

FORMAT = "2"
_LINE, _VOIDED_BY = attrgetter("line"), attrgetter("voided_by")
_NOTHING = (0, cache.digest(b""), 0)  # no bytes known: only rowless patients kept


def line_of(j: "Judgement") -> JudgedLine:
    return JudgedLine(j.patient.id, j.status, j.amount, list(j.codes), encode(judgement_dict(j)),
                      j.total_amount, j.patient_share)  # fmt: skip


def judge_month_lines(practice: "Practice", month: Month, on_patient=None) -> MonthReport:
    """judge_month of every valid patient, as JSON lines; the patients whose inputs are as when
    they were last judged are not judged again, the others on every CPU when they are many
    (parse_many shares any independent work out among forked workers)."""
    from ccmcli.workers import parse_many

    report, by_patient, warnings = month_inputs(practice, month)
    kept = Kept.open(practice, report)
    settings, rules, provisional = practice.settings, report.rules, report.provisional
    order = members(practice, month, by_patient)
    lines: dict[str, JudgedLine] = {}
    keys: dict[str, tuple] = {}
    for pid in order:
        key = kept.key(pid, by_patient.get(pid, []), warnings.overlaps.get(pid)) if kept else None
        line = kept.get(pid, key) if kept and key else None
        if line is not None:
            lines[pid] = line
            if on_patient:
                on_patient()
        elif key:
            keys[pid] = key

    def judge_one(pid: str) -> JudgedLine:
        patient, entries = practice.patients[pid], by_patient.get(pid, [])
        extra = warnings.of(pid, entries)
        return line_of(judge(patient, month, entries, settings, rules, extra, provisional))

    for line in parse_many([pid for pid in order if pid not in lines], judge_one):
        lines[line.patient_id] = line
        if kept and line.patient_id in keys:
            kept.put(line.patient_id, keys[line.patient_id], line)
        if on_patient:
            on_patient()
    for pid in practice.invalid:  # listed, never kept: file_error reads only the problems
        lines[pid] = line_of(file_error(practice, pid, month, rules))
    report.lines = [lines[pid] for pid in sorted(lines)]
    if kept:
        kept.save()
    return report


class Kept:
    """The kept lines of one month: read at the start of a run, written back if anything changed."""

    def __init__(self, practice: "Practice", month: Month, context: str, prefix: tuple) -> None:
        self.practice, self.context, self.prefix = practice, context, prefix
        self.root, self.suffix = practice.data.root, f"-{month}"
        self.old: dict = {}
        self.new: dict = {}
        self.old_prefix: tuple | None = None
        self.changed = False  # a line was judged and kept anew
        self.patients = practice.data.relative(practice.data.patients_dir) + "/"
        self.read_at_ns = practice.read_at_ns

    @classmethod
    def open(cls, practice: "Practice", report: MonthReport) -> "Kept | None":
        """None when caching is off or ccm.yaml changed too recently to be told apart."""
        settings_rel = practice.data.relative(practice.data.settings_path)
        settings_sig = practice.signatures.get(settings_rel)
        if not cache.enabled() or cache.stamp(settings_sig, practice.read_at_ns) is None:
            return None
        log = report.log
        context = cache.key("judged lines", FORMAT, str(practice.data.root), log.file if log else "",
                            str(report.month), report.provisional, settings_sig,
                            cache.folder_kinds(practice.data.root), practice.notes)  # fmt: skip
        kept = cls(practice, report.month, context, (log.prefix if log else None) or _NOTHING)
        kept._read(report)
        return kept

    def _read(self, report: MonthReport) -> None:
        stored = cache.read(self.root, "judged", self.context, self.suffix)
        ok = isinstance(stored, list) and len(stored) == 2 and isinstance(stored[1], dict)
        if not ok or len(stored[0]) != 3:  # type: ignore[index]
            return
        prefix, table = stored  # type: ignore[misc]
        if tuple(prefix) == self.prefix or _still_holds(
            tuple(prefix), self.prefix, self.practice, report
        ):
            self.old, self.old_prefix = table, tuple(prefix)

    def key(self, pid: str, entries: list, overlaps: list | None) -> tuple | None:
        """What the patient's judgement reads besides the month's context; None: not to keep."""
        sig = cache.stamp(
            self.practice.signatures.get(self.patients + pid + ".yaml"), self.read_at_ns
        )
        if sig is None:
            return None
        found = repr([w.as_dict() for w in overlaps]) if overlaps else ""
        return sig, tuple(map(_LINE, entries)), tuple(map(_VOIDED_BY, entries)), found

    def get(self, pid: str, key: tuple) -> JudgedLine | None:
        """The kept line, kept again; None when the patient's inputs changed."""
        hit = self.old.get(pid)
        if hit is None or hit[0] != key:
            return None
        self.new[pid] = hit
        _, text, status, amount, codes, total, share = hit
        return JudgedLine(pid, status, amount, list(map(tuple, codes)), text, total, share)

    def put(self, pid: str, key: tuple, line: JudgedLine) -> None:
        """Keep the line if every row of the patient lies in the log's settled bytes."""
        lines = key[1]
        if not lines or max(lines) < self.prefix[2]:
            self.new[pid] = (key, line.json, line.status, line.amount, line.codes,
                             line.total_amount, line.patient_share)  # fmt: skip
            self.changed = True

    def save(self) -> None:
        """Write the lines back when the log grew or some line is new or gone."""
        if self.prefix == self.old_prefix and not self.changed and len(self.new) == len(self.old):
            return
        cache.write(self.root, "judged", self.context, [list(self.prefix), self.new], self.suffix)


def _still_holds(old: tuple, new: tuple, practice: "Practice", report: MonthReport) -> bool:
    """Whether the bytes the kept lines were read from begin the log as read now: the log grew
    by appends (cache.grown). Both prefixes are checked on one read of the file, so the bytes
    compared are the ones this run's rows were read from."""
    if old[0] == 0:  # no bytes known: nothing to read
        return cache.grown(b"", old[:2])
    if new[0] < old[0] or report.log is None:
        return False
    try:
        raw = regular_files.read_bytes(practice.data.root, practice.data.log_path(report.month))
    except OSError:
        return False
    return cache.grown(raw, old[:2], new[:2])
