"""`ccm report`: the practice's month and the months before it, as figures for one HTML page.

This module gathers the figures (plain data, tested against `ccm check`); report_charts.py draws
them and report_html.py writes the page. Nothing here knows about the terminal: the command
passes a callback to hear how far the months have got.
"""

import contextlib
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ccmcli.loader import Practice, load
from ccmcli.models.months import Month, is_provisional, now_in
from ccmcli.reports.practice_month import MonthReport, judge_month, summarize
from ccmcli.rules.engine import Judgement
from ccmcli.store import cache
from ccmcli.store.datadir import DataDir

NEAR_MINUTES = 5  # contract 10: patients within 5 minutes of a further code
DEFAULT_MONTHS = 12
KEEP_TOTALS = 600  # months' totals kept per data directory (a few years of reports), newest last

Progress = Callable[[int, int], None]  # (months judged, months in all)


@dataclass(frozen=True, slots=True)
class MonthTotal:
    """One bar of the amount-per-month chart."""

    month: Month
    patients: int
    billable: int
    amount: float
    provisional: bool
    errors: int


@dataclass(frozen=True, slots=True)
class StaffMinutes:
    """Minutes one staff member logged in the month (valid entries no void cancels)."""

    staff: str
    clinical_staff: int
    practitioner: int
    entries: int
    patients: int

    @property
    def minutes(self) -> int:
        return self.clinical_staff + self.practitioner


@dataclass(frozen=True, slots=True)
class NearPatient:
    """A patient a few minutes short of a further code, and what reaching it would add."""

    judgement: Judgement
    minutes_needed: int
    gain: float


@dataclass
class PracticeReport:
    practice: str
    timezone: str
    month: Month
    current: MonthReport
    history: list[MonthTotal]
    summary: dict
    generated: datetime
    blockers: Counter = field(default_factory=Counter)
    near: list[NearPatient] = field(default_factory=list)
    staff: list[StaffMinutes] = field(default_factory=list)
    data_root: Path | None = None  # where its charts are kept between runs (kept_charts)

    @property
    def near_amount(self) -> float:
        return round(sum(n.gain for n in self.near), 2)

    @property
    def judgements(self) -> list[Judgement]:
        return self.current.judgements

    @property
    def by_service(self) -> list[dict]:
        return revenue_by_service(self.current.judgements)


def report_months(month: Month, before: int) -> list[Month]:
    """The month and the `before` months before it, oldest first (contract 10)."""
    return [month.add(-k) for k in range(before, -1, -1)]


def read_practice(data: DataDir) -> Practice:
    """Everything the report reads, through the loader (judge_month reads the month logs)."""
    return load(data)


def build_report(
    data: DataDir,
    month_text: str | None,
    months_before: int = DEFAULT_MONTHS,
    on_progress: Progress | None = None,
    meanwhile: Callable[["PracticeReport"], None] | None = None,
    workers: int | None = None,
) -> PracticeReport:
    """Judge the report's month in full and the months before it for their totals.

    Past months whose files are as when their totals were kept (store/cache.py) are not judged
    again. The others are judged by `workers` forked processes (default: one fewer than the
    CPUs) while this one runs `meanwhile` (the command draws the month's charts then): on a
    large practice the history is most of the work. `history` is empty until they are done."""
    practice = read_practice(data)
    settings = practice.settings
    month = practice.month(month_text, default="last_finished")
    months = report_months(month, months_before)
    current = judge_month(practice, month)
    report = PracticeReport(
        practice=settings.practice, timezone=settings.timezone, month=month, current=current,
        history=[], summary=summarize(current), generated=now_in(settings.timezone),
        blockers=blocker_counts(current.judgements), near=near_patients(current.judgements),
        staff=staff_minutes(current.judgements), data_root=data.root,
    )  # fmt: skip
    totals = {month: month_total(current)}
    past = months[:-1]
    keys, shelf = _stored_totals(practice, past, totals)
    todo = [m for m in past if m not in totals]
    if on_progress:
        on_progress(len(totals), len(months))
    with history_totals(practice, todo, workers) as results:
        if meanwhile:
            meanwhile(report)
        for total in results:
            totals[total.month] = total
            if on_progress:
                on_progress(len(totals), len(months))
    if shelf is not None:
        for m in todo:
            shelf.put(keys[m], _stored(totals[m]))
        shelf.save()
    report.history = [totals[m] for m in months]
    return report


def _stored_totals(practice: Practice, past: list[Month], totals: dict):
    """Put into `totals` the past months whose inputs are as when their totals were kept;
    return every past month's key (None: not to be kept) and the shelf they are kept on."""
    if not past:
        return {}, None
    data, settings = practice.data, practice.settings
    records = practice.signatures if practice.whole else None
    keys = {m: cache.month_key(data, m, records, practice.read_at_ns, "report totals",
                               practice.notes) for m in past}  # fmt: skip
    shelf = cache.Shelf(data.root, "report-totals", KEEP_TOTALS)
    for m in past:
        hit = shelf.get(keys[m])
        if isinstance(hit, list | tuple) and len(hit) == 4:
            patients, billable, amount, errors = hit
            provisional = is_provisional(m, settings.timezone)
            totals[m] = MonthTotal(m, patients, billable, amount, provisional, errors)
    return keys, shelf


def _stored(t: MonthTotal) -> tuple[int, int, float, int]:
    return (t.patients, t.billable, t.amount, t.errors)


_SHARED: Practice | None = None  # the practice, for forked workers: inherited, not sent


def _judge_total(month: Month) -> MonthTotal:
    assert _SHARED is not None
    return month_total(judge_month(_SHARED, month))


def default_workers(months: int) -> int:
    """Processes for `months` months: none for a few (a fork costs more than a month), else one
    fewer than the CPUs this process may use, at most 4."""
    if months < 3 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return max(0, min(len(os.sched_getaffinity(0)), 5) - 1)


@contextlib.contextmanager
def history_totals(shared: Practice, months: list[Month], workers: int | None):
    """Yields an iterator of the months' totals, in the order they finish: from forked
    workers started on entry, or (no workers) judged here one by one as it is read."""
    global _SHARED
    n = default_workers(len(months)) if workers is None else workers
    if n < 1:
        yield (month_total(judge_month(shared, m)) for m in months)
        return
    _SHARED = shared
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            futures = [pool.submit(_judge_total, m) for m in months]
            yield (f.result() for f in as_completed(futures))
    finally:
        _SHARED = None


def month_total(report: MonthReport) -> MonthTotal:
    s = summarize(report)
    errors = sum(p.severity == "error" for p in report.problems)
    return MonthTotal(report.month, s["patients"], s["billable"], s["amount"],
                      report.provisional, errors)  # fmt: skip


def revenue_by_service(judgements: list[Judgement]) -> list[dict]:
    """A16: the month's amount by what billed it: each program's codes, then each other
    service (BHI with G0570, RPM, RTM), with the patients and units; the rows add up to
    `summary.total_amount`."""
    rows: dict[str, dict] = {}

    def add(key: str, codes: list[tuple[str, int]], amount: float) -> None:
        row = rows.setdefault(key, {"service": key, "patients": 0, "codes": {}, "cents": 0})
        row["patients"] += 1
        row["cents"] += round(amount * 100)
        for code, n in codes:
            row["codes"][code] = row["codes"].get(code, 0) + n

    for j in judgements:
        if j.codes:
            add(j.patient.program, j.codes, j.amount)
        for s in getattr(j, "services", ()):
            if s.codes:
                add(s.service, s.codes, s.amount)
    order = ["ccm", "pcm", "apcm", "bhi", "rpm", "rtm"]
    out = sorted(
        rows.values(), key=lambda r: order.index(r["service"]) if r["service"] in order else 99
    )
    return [{"service": r["service"], "patients": r["patients"], "codes": r["codes"],
             "amount": r["cents"] / 100} for r in out]  # fmt: skip


def blocker_counts(judgements: list[Judgement]) -> Counter:
    """Blocked patients per blocker rule (a patient with two blockers counts under each)."""
    return Counter(b.rule for j in judgements for b in j.blockers)


def near_patients(judgements: list[Judgement], within: int = NEAR_MINUTES) -> list[NearPatient]:
    """Unblocked patients whose `next` needs at most `within` minutes, with the amount those
    minutes would add (next's amount less the month's): revenue left a few minutes short."""
    near = [
        NearPatient(j, j.next.minutes_needed, round(j.next.amount - j.amount, 2))
        for j in judgements
        if j.next is not None and not j.blockers and j.next.minutes_needed <= within
    ]
    return sorted(near, key=lambda n: (n.minutes_needed, -n.gain, n.judgement.patient.id))


def staff_minutes(judgements: list[Judgement]) -> list[StaffMinutes]:
    """Minutes per staff member over the patients judged, most minutes first: the work done,
    whether or not the month bills it."""
    mins: dict[str, list[int]] = {}
    pats: dict[str, set[str]] = {}
    for j in judgements:
        for entry, _counted, _why in j.verdicts:
            row = mins.setdefault(entry.staff, [0, 0, 0])
            row[0 if entry.role == "clinical_staff" else 1] += entry.minutes or 0
            row[2] += 1
            pats.setdefault(entry.staff, set()).add(entry.patient_id)
    rows = [StaffMinutes(s, cs, pr, n, len(pats[s])) for s, (cs, pr, n) in mins.items()]
    return sorted(rows, key=lambda r: (-r.minutes, r.staff))


def counted_minutes(j: Judgement) -> int:
    """The minutes of the month that count (contract 3 `minutes.counted`), as the histogram
    draws them: the minutes of a role the track leaves out would put a patient past a
    threshold it has not reached."""
    return j.counted


def thresholds(report: PracticeReport, up_to: int) -> list[tuple[int, list[str]]]:
    """Minute totals at which a track of a program seen this month earns a unit, with the
    codes earned there, up to `up_to` minutes (A1; the lines on the histogram)."""
    rules = report.current.rules
    at: dict[int, list[str]] = {}
    for program in sorted({j.patient.program for j in report.judgements}):
        for track in rules.tracks_for(program):
            for k, minutes in enumerate(track.thresholds()):
                code = track.base_code if k == 0 else f"{track.addon_code}x{k}"
                if minutes <= up_to and code not in at.setdefault(minutes, []):
                    at[minutes].append(code)
    return sorted(at.items())
