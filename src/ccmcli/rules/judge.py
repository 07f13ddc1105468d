"""One patient-month, judged: gates, countable minutes, track, date of service, next step."""

from __future__ import annotations

from dataclasses import replace
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING

from ccmcli.models.months import Month
from ccmcli.rules.engine import (
    EntryVerdict,
    Finding,
    Judgement,
    NextStep,
    TrackResult,
    allowed_tracks,
    apcm_level,
    apply_gates,
    countable,
    counts_role,
    in_force,
    track_minutes,
)
from ccmcli.rules.gates import same_condition
from ccmcli.rules.selection import Option, choose, next_step, options
from ccmcli.rules.services import judge_services
from ccmcli.rules.table import RuleYear, Track
from ccmcli.store.timelog import Entry

if TYPE_CHECKING:
    from ccmcli.models.records import Patient, Settings

_COUNTED = itemgetter(1)  # EntryVerdict.counted, at C speed


def judge(
    patient: Patient,
    month: Month,
    entries: list[Entry],
    settings: Settings,
    rules: RuleYear,
    extra_warnings: list[Finding] | None = None,
    provisional: bool = False,
) -> Judgement:
    """Apply ccm-rules Part A to one patient's entries of one month (void rows already linked).

    Entries of another service (A7) are set aside first: they count toward nothing, so the
    month is judged exactly as if they had never been logged."""
    patient = in_force(patient, month)
    pid = patient.id
    mine = [e for e in entries if e.patient_id == pid and not e.voids and e.voided_by is None]
    other = [e for e in mine if e.service]
    if other:
        mine = [e for e in mine if not e.service]
    gate_results = apply_gates(patient, month, rules)
    verdicts = countable(patient, mine)
    staff, prac, excluded = _minute_totals(verdicts)
    warnings = _exclusion_warnings(patient, verdicts) + _program_warnings(patient, month)
    warnings += list(extra_warnings or [])
    if any(gid == "not_enough_conditions" for gid, _ in gate_results):
        shared = same_condition(patient)
        warnings += [Finding.warning("same_condition", shared)] if shared else []
    if patient.program == "apcm":
        j = _apcm(patient, month, rules, verdicts, gate_results, warnings, provisional)
        j.other, j.minutes["other_services"] = other, _by_service(other)
        return _with_services(j, settings, provisional)
    blockers = [Finding.blocker(gid, fact) for gid, fact in gate_results if fact]
    tracks = allowed_tracks(patient, month, rules)
    pool, sel = settings.count_practitioner_minutes_as_staff, settings.selection
    found, picked, found_next = (
        ([], None, None) if blockers else _priced(tracks, staff, prac, pool, sel, patient, rules)
    )
    chosen = _result(picked, verdicts, patient, month, settings) if picked else None
    others = sorted((o for o in found if o is not picked), key=lambda o: -o.amount)
    alternatives = [_result(o, verdicts, patient, month, settings) for o in others]
    unused = _unused_minutes(chosen, staff, prac, pool)
    if chosen and chosen.over_cap:
        warnings.append(_over_cap(chosen))
    step = NextStep(*found_next) if found_next else None
    counted = _counted(chosen, step, tracks, staff, prac, pool)
    if provisional and not blockers:
        warnings.append(
            Finding.warning("provisional_month", f"{month} has not ended; totals may grow")
        )
    doubted = _without_doubted(patient, month, mine, settings, rules, warnings, chosen)
    return _with_services(Judgement(
        patient=patient, month=month, rules=rules, without_doubted=doubted,
        status=_status(blockers, chosen, staff + prac),
        minutes={"clinical_staff": staff, "practitioner": prac,
                 "not_counted": excluded + unused + (chosen.over_cap if chosen else 0),
                 "other_services": _by_service(other), "counted": counted},
        chosen=chosen, alternatives=alternatives, blockers=blockers, warnings=warnings,
        next=step, verdicts=verdicts, gate_results=gate_results, other=other,
    ), settings, provisional)  # fmt: skip


def _with_services(j: Judgement, settings: Settings, provisional: bool) -> Judgement:
    """A16: the patient-month's other services, each judged on its own minutes, after the
    program (G0570 needs to know whether the month's APCM code bills, A12)."""
    p = j.patient
    if j.other or p.bhi is not None or p.rpm is not None or p.rtm is not None:
        j.services, j.not_assessed = judge_services(
            p, j.month, j.other, settings, j.rules, j.chosen is not None, provisional
        )
    return j


def _apcm(patient: Patient, month: Month, rules: RuleYear, verdicts: list[EntryVerdict],
          gate_results: list, warnings: list[Finding], provisional: bool) -> Judgement:  # fmt: skip
    """A8: no minutes decide anything; the level comes from the record, and the month needs one
    documented activity of the program (SE-06). Date of service: the month's last day (D-07)."""
    staff, prac, excluded = _minute_totals(verdicts)
    counted = any(v.counted for v in verdicts)
    why = None if counted else ("no entry of the program counts this month" if verdicts
                                else "no entry of the program this month")  # fmt: skip
    gate_results = [*gate_results, ("no_service_this_month", why)]
    blockers = [Finding.blocker(gid, fact) for gid, fact in gate_results if fact]
    chosen = None
    if not blockers:
        level = apcm_level(patient, rules)
        codes = [(level.code, 1)]
        chosen = TrackResult(rules.level_track(level), staff + prac, codes, rules.amount(codes),
                             month.last, 0, 0)  # fmt: skip
    if provisional and not blockers:
        warnings.append(
            Finding.warning("provisional_month", f"{month} has not ended; totals may grow")
        )
    return Judgement(
        patient=patient, month=month, rules=rules, status="blocked" if blockers else "billable",
        minutes={"clinical_staff": staff, "practitioner": prac, "not_counted": excluded,
                 "counted": staff + prac},
        chosen=chosen, alternatives=[], blockers=blockers, warnings=warnings, next=None,
        verdicts=verdicts, gate_results=gate_results,
    )  # fmt: skip


def _by_service(other: list[Entry]) -> dict[str, int]:
    """A7: minutes of each other service, reported apart; {} when none."""
    out: dict[str, int] = {}
    for e in other:
        out[e.service] = out.get(e.service, 0) + (e.minutes or 0)
    return out


def _program_warnings(patient: Patient, month: Month) -> list[Finding]:
    """A8 / C-01: consent names the service; a program begun after consent may not be covered."""
    if not patient.program_changes:  # most patients: the program has always been the one
        return []
    began = patient.program_began(month)
    if not (began and patient.consent and patient.consent.date < Month.parse(began).first):
        return []
    return [Finding.warning("consent_before_program_change",
                    f"consent of {patient.consent.date} predates the change to {patient.program} "
                    f"in {began}; it may not cover the new program")]  # fmt: skip


def _priced(tracks: tuple[Track, ...], staff: int, prac: int, pool: bool, sel: str,
            patient: Patient, rules: RuleYear) -> tuple[list[Option], Option | None, tuple | None]:  # fmt: skip
    """The options (A1), the choice (A4) and the next step for these minute totals. They
    follow from the totals and the table alone, so the table remembers them: a practice's
    patients share a few hundred totals. The answers are shared, so they are never modified.
    `tracks` come remembered from allowed_tracks, so their identity names them (hashing the
    tracks themselves would cost more than the rest of the look-up)."""

    def work():
        found = options(tracks, staff, prac, pool, rules)
        step = next_step(tracks, staff, prac, pool, sel, patient.program, rules)
        return found, choose(found, sel, patient.program), step

    return rules.remember(("priced", id(tracks), staff, prac, pool, sel, patient.program), work)


def _without_doubted(patient: Patient, month: Month, entries: list[Entry], settings: Settings,
                     rules: RuleYear, warnings: list[Finding], chosen: TrackResult | None):  # fmt: skip
    """The codes the month would bill without the minutes that warnings doubt (an entry that
    repeats another, time that overlaps other time of the same person): None when the codes
    are the same, so that a bill that rests on such minutes is shown where the bill is."""
    doubt: dict[str, int] = {}
    for w in warnings:
        if w.doubted and w.entry_id:
            doubt[w.entry_id] = doubt.get(w.entry_id, 0) + w.doubted
    if not doubt or chosen is None:
        return None
    kept = [e if e.id not in doubt else replace(e, minutes=e.minutes - doubt[e.id])
            for e in entries if e.minutes > doubt.get(e.id, 0)]  # fmt: skip
    codes = judge(patient, month, kept, settings, rules).codes
    return None if codes == chosen.codes else codes


def _counted(chosen: TrackResult | None, step: NextStep | None, tracks: tuple[Track, ...],
             staff: int, prac: int, pool: bool) -> int:  # fmt: skip
    """Contract 3 `minutes.counted`: the one figure every view shows for the month's minutes.
    Those the chosen track counts, less any above its cap (they are in `not_counted`); with no
    codes, those the track `next` names counts (A1, T-03); blocked, every countable minute
    (explain marks them counted: no track was chosen to leave any out)."""
    if chosen is not None:
        return chosen.minutes - chosen.over_cap
    track = step and next((t for t in tracks if t.base_code == step.codes[0][0]), None)
    return track_minutes(track, staff, prac, pool) if track else staff + prac


def _minute_totals(verdicts: list[EntryVerdict]) -> tuple[int, int, int]:
    """Counted clinical staff and practitioner minutes, and minutes that count toward nothing."""
    staff = prac = excluded = 0
    for entry, counted, _ in verdicts:
        if not counted:
            excluded += entry.minutes
        elif entry.role == "practitioner":
            prac += entry.minutes
        else:
            staff += entry.minutes
    return staff, prac, excluded


def _status(blockers: list[Finding], chosen: TrackResult | None, counted: int) -> str:
    """Contract 3: blocked, else billable, else no_time, else below_threshold."""
    if blockers:
        return "blocked"
    if chosen:
        return "billable"
    return "no_time" if counted == 0 else "below_threshold"


def _exclusion_warnings(patient: Patient, verdicts: list[EntryVerdict]) -> list[Finding]:
    """A3: minutes before consent or the initiating visit are reported and count toward nothing.

    An entry before both dates is reported under both rules; with no consent (or no visit)
    recorded, every entry is before it.
    """
    if all(map(_COUNTED, verdicts)):  # most months: nothing excluded, nothing to say
        return []
    consent = patient.consent.date if patient.consent else None
    visit = patient.initiating_visit.date if patient.initiating_visit else None
    out = []
    for rule, day, what in (
        ("minutes_before_consent", consent, "consent"),
        ("minutes_before_initiating_visit", visit, "the initiating visit"),
    ):
        n = sum(
            v.entry.minutes
            for v in verdicts
            if not v.counted and (day is None or v.entry.date < day)
        )
        if n:
            words = f"before {what}" if day else f"with no {what.removeprefix('the ')} recorded"
            out.append(Finding.warning(rule, f"{n} minutes logged {words} do not count"))
    return out  # fmt: skip


def _over_cap(chosen: TrackResult) -> Finding:
    t = chosen.track
    return Finding.warning(
        "minutes_over_cap",
        f"{chosen.over_cap} minutes above the {t.addon_code} cap of {t.addon_cap} units are not billable",
    )


def _unused_minutes(chosen: TrackResult | None, staff: int, prac: int, pool: bool) -> int:
    """Countable minutes of a role the chosen track does not count (S14: staff time lost)."""
    if chosen is None:
        return 0
    return sum(
        n for role, n in (("clinical_staff", staff), ("practitioner", prac))
        if not counts_role(chosen.track, role, pool)
    )  # fmt: skip


def _result(
    option: Option, verdicts: list[EntryVerdict], patient: Patient, month: Month, settings: Settings
) -> TrackResult:
    t = option.track
    billed = t.base_minutes + (option.codes[1][1] if len(option.codes) > 1 else 0) * t.addon_minutes
    over = max(0, option.minutes - t.thresholds()[-1])
    dos = _date_of_service(t, billed, verdicts, patient, month, settings)
    return TrackResult(
        t, option.minutes, option.codes, option.amount, dos, over, option.performer_minutes
    )


def _date_of_service(track, billed, verdicts, patient, month, settings):
    """A5 / D-02: the day the track's counted minutes first reached the last billed unit's
    threshold, never before the care plan was established; or the month's last day."""
    if settings.date_of_service == "month_end":
        return month.last
    pool = settings.count_practitioner_minutes_as_staff
    counts = {r: counts_role(track, r, pool) for r in {v.entry.role for v in verdicts}}
    by_day: dict = {}  # the day a total is reached is the same whatever the order within a day
    for entry, counted, _ in verdicts:
        if counted and counts[entry.role]:
            by_day[entry.date] = by_day.get(entry.date, 0) + entry.minutes
    days = sorted(by_day)
    totals = accumulate(map(by_day.__getitem__, days))
    reached = next(day for day, total in zip(days, totals, strict=True) if total >= billed)
    plan = patient.care_plan.established if patient.care_plan else reached
    return max(reached, plan)
