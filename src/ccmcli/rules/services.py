"""The other monthly services of one patient-month (ccm-rules A11-A16): BHI (99484, or G0570
beside APCM), RPM and RTM, each judged on its own minutes and its own gates; CoCM, TCM and the
device codes reported and never billed.

A minute counts toward one service only (T-05, A7): each service here reads the entries tagged
with its name and nothing else, so minutes of one service never change another's verdict, but
for the two exclusions the rules name (RPM with RTM, F-31; G0570 needs the month's APCM code,
F-06).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ccmcli.models.findings import Finding
from ccmcli.models.months import Month
from ccmcli.rules.engine import EntryVerdict, NextStep
from ccmcli.rules.table import NOT_BILLED, RuleYear, ServiceRule
from ccmcli.store.timelog import Entry

if TYPE_CHECKING:
    from ccmcli.models.records import Consent, Patient, Settings

Codes = list[tuple[str, int]]
BILLED_SERVICES = ("bhi", "rpm", "rtm")
G0570_POLICY = ("g0570_min_minutes is ccm policy, not a CMS rule: CMS's G0570 descriptor sets "
                "no minutes (F-01); ccm asks for the minutes of the 99484 it is valued from")  # fmt: skip


@dataclass
class ServiceResult:
    """One service's month (A16): what `check --format json` lists under `services`."""

    service: str
    status: str  # billable | below_threshold | blocked | no_time
    codes: Codes
    amount: float
    date_of_service: date | None
    blockers: list[Finding]
    warnings: list[Finding]
    next: NextStep | None
    counted: int  # the minutes that count toward the service
    verdicts: list[EntryVerdict] = field(default_factory=list)
    gate_results: list[tuple[str, str | None]] = field(default_factory=list)
    candidate: str = ""  # the code the service's minutes are judged for (99484, G0570, ...)
    note: str | None = None
    provisional: bool = False  # billed now, but a higher code is still reachable (A13, A18)
    not_billed: list[tuple[str, str]] = field(default_factory=list)  # (code, why), for explain

    def as_dict(self) -> dict:
        out = {
            "service": self.service,
            "status": self.status,
            "minutes": {"counted": self.counted, "not_counted": sum(
                v.entry.minutes for v in self.verdicts if not v.counted)},
            "codes": [{"code": c, "units": n} for c, n in self.codes],
            "date_of_service": self.date_of_service.isoformat() if self.date_of_service else None,
            "amount": self.amount,
            "blockers": [b.as_dict() for b in self.blockers],
            "warnings": [w.as_dict() for w in self.warnings],
            "next": self.next.as_dict() if self.next else None,
            "provisional": self.provisional,
        }  # fmt: skip
        if self.note:
            out["note"] = self.note
        return out


def judge_services(
    patient: Patient, month: Month, other: list[Entry], settings: Settings, rules: RuleYear,
    apcm_billable: bool, provisional: bool,
) -> tuple[list[ServiceResult], list[dict]]:  # fmt: skip
    """A16: the services of the patient-month that bill (those the patient is enrolled in or has
    minutes of) and the minutes reported but not assessed (A15)."""
    by: dict[str, list[Entry]] = {}
    for e in other:
        by.setdefault(e.service, []).append(e)
    out = []
    rpm_counted = _counted_total(_monitoring_verdicts(patient.rpm, by.get("rpm", []), True))
    rtm_counted = _counted_total(_monitoring_verdicts(patient.rtm, by.get("rtm", []), False))
    if patient.bhi is not None or "bhi" in by:
        out.append(judge_bhi(patient, month, by.get("bhi", []), settings, rules, apcm_billable,
                             sum(e.minutes for e in by.get("cocm", []))))  # fmt: skip
    if patient.rpm is not None or "rpm" in by:
        out.append(judge_rpm(patient, month, by.get("rpm", []), settings, rules, rtm_counted))
    if settings.bill_rtm and (patient.rtm is not None or "rtm" in by):
        out.append(judge_rtm(patient, month, by.get("rtm", []), settings, rules, rpm_counted))
    for r in out:
        if provisional and r.status == "billable" and r.next is not None:
            r.provisional = True
            r.warnings.append(Finding.warning("provisional_month", (
                f"{month} has not ended: more {r.service} minutes would bill "
                f"{_codes_words(r.next.codes)} in place of {_codes_words(r.codes)} (A18: one "
                "claim per patient-month)")))  # fmt: skip
    return out, not_assessed(patient, month, by, settings, rules)


def not_assessed(patient: Patient, month: Month, by: dict[str, list[Entry]],
                 settings: Settings, rules: RuleYear) -> list[dict]:  # fmt: skip
    """A15, A10: minutes of services ccm does not bill, each with its reason and the codes it
    does not assess (`codes_not_assessed`: `codes` is `{code, units}` in every output); RTM while `bill_rtm` is off (A14)."""
    out = []
    for service in ("cocm", "rpm", "rtm", "tcm", "other"):
        minutes = sum(e.minutes for e in by.get(service, []))
        if not minutes:
            continue
        if service == "rtm" and not settings.bill_rtm:
            out.append({"service": "rtm", "minutes": minutes, "reason": "bill_rtm_off",
                        "codes_not_assessed": [], "rule": "A14"})  # fmt: skip
        for nb in NOT_BILLED:
            if nb.service != service:
                continue
            if nb.codes[:1] == ("G0568",) and (patient.program != "apcm" or month.year < 2026):
                continue  # the APCM CoCM add-ons exist beside APCM, from 2026 (F-02)
            out.append({"service": service, "minutes": minutes, "reason": nb.reason,
                        "codes_not_assessed": list(nb.codes), "rule": nb.rule})  # fmt: skip
    return out


def judge_bhi(patient: Patient, month: Month, entries: list[Entry], settings: Settings,
              rules: RuleYear, apcm_billable: bool, cocm_minutes: int) -> ServiceResult:  # fmt: skip
    """A11 (99484) and A12 (G0570 in an APCM month from 2026, unless `apcm_bhi_code: 99484`)."""
    b = patient.bhi
    rule = rules.service("bhi")
    addon = rules.addon_for("bhi", patient.program) if settings.apcm_bhi_code == "g0570" else None
    code = addon.code if addon else rule.base_code
    minimum = getattr(settings, addon.minutes_setting) if addon else rule.base_minutes
    visit = patient.initiating_visit.date if patient.initiating_visit else None
    consent = b.consent if b else None
    verdicts = _verdicts(entries, consent.date if consent else None, visit)
    gates = [("no_bhi_enrollment", None if b else "no bhi: block in the patient file")]
    if b:
        gates += [
            ("no_bh_condition", None if b.conditions else "no behavioral-health condition in bhi.conditions"),
            ("no_consent", _no_consent(consent, month, "BHI")),
            ("consent_revoked", _revoked(consent, month)),
            ("no_initiating_visit", _bhi_visit(visit, consent, month)),
            ("no_care_plan", _bhi_care_plan(b, month)),
            ("cocm_same_month", f"{month} is in cocm_months: CoCM is billed this month (F-18)"
                                if str(month) in patient.cocm_months else None),
        ]  # fmt: skip
    if addon:
        gates.append(("bh_addon_without_apcm", None if apcm_billable else
                      f"the APCM code of {month} is not billable: G0570 is billed only beside it"))  # fmt: skip
    counted = _counted_total(verdicts)
    codes = [(code, 1)] if counted >= minimum else []
    warnings = _before_warnings(verdicts, consent, visit, "the BHI consent")
    warnings += _bhi_warnings(patient, month, rules, addon, cocm_minutes)
    r = _result("bhi", rules, gates, verdicts, codes, warnings, code)
    if r.status == "billable":
        r.date_of_service = (
            month.last
            if addon or settings.date_of_service == "month_end"
            else (
                _reached(verdicts, minimum, b.care_plan.established if b and b.care_plan else None)
            )
        )
    if not r.blockers and not codes:
        r.next = _next(verdicts, [(code, 1)], minimum - counted, rules)
    if addon:
        r.note = f"{G0570_POLICY} (g0570_min_minutes: {minimum})"
        r.not_billed.append(
            (rule.base_code, "bhi_addon_chosen: the month bills G0570 instead (A12)")
        )
    return r


def judge_rpm(patient: Patient, month: Month, entries: list[Entry], settings: Settings,
              rules: RuleYear, rtm_counted: int) -> ServiceResult:  # fmt: skip
    """A13: RPM treatment management by year (99470 at 10-19 minutes from 2026; 99457 + 99458
    up to `rpm_addon_cap`), with a live interactive contact in the month (F-24)."""
    enrolled = patient.rpm
    consent = enrolled.consent if enrolled else None
    verdicts = _monitoring_verdicts(enrolled, entries, True)
    gates = [("no_rpm_enrollment", None if enrolled else "no rpm: block in the patient file")]
    if enrolled:
        gates += [("no_consent", _no_consent(consent, month, "RPM")),
                  ("consent_revoked", _revoked(consent, month)),
                  ("not_established_patient", _not_established(patient, verdicts, month))]  # fmt: skip
    gates.append(
        ("no_interactive_contact", _no_live_contact(verdicts, settings.rpm_interactive_activities))
    )
    blocks = rtm_counted and settings.rpm_rtm_conflict in ("block_both", "prefer_rtm")
    gates.append(("rtm_same_month", f"{rtm_counted} RTM minutes this month: a patient is not in "
                  f"RPM and RTM in one month (F-31; rpm_rtm_conflict: {settings.rpm_rtm_conflict})"
                  if blocks else None))  # fmt: skip
    return _timed("rpm", rules.service("rpm"), settings.rpm_addon_cap, gates, verdicts,
                  _before_warnings(verdicts, consent, None, "the RPM consent"), rules, settings,
                  month)  # fmt: skip


def judge_rtm(patient: Patient, month: Month, entries: list[Entry], settings: Settings,
              rules: RuleYear, rpm_counted: int) -> ServiceResult:  # fmt: skip
    """A14 (with `bill_rtm`): as RPM, without the established-patient gate (F-38); a consent
    is optional, its absence a warning."""
    consent = patient.rtm.consent if patient.rtm else None
    verdicts = _monitoring_verdicts(patient.rtm, entries, False)
    gates = [
        ("no_interactive_contact", _no_live_contact(verdicts, settings.rtm_interactive_activities))
    ]
    blocks = rpm_counted and settings.rpm_rtm_conflict in ("block_both", "prefer_rpm")
    gates.append(("rpm_same_month", f"{rpm_counted} RPM minutes this month: a patient is not in "
                  f"RPM and RTM in one month (F-31; rpm_rtm_conflict: {settings.rpm_rtm_conflict})"
                  if blocks else None))  # fmt: skip
    warnings = (
        _before_warnings(verdicts, consent, None, "the RTM consent")
        if consent
        else [Finding.warning("rtm_consent_not_recorded", "no rtm.consent recorded (A14)")]
    )
    return _timed("rtm", rules.service("rtm"), settings.rtm_addon_cap, gates, verdicts,
                  warnings, rules, settings, month)  # fmt: skip


def _timed(service: str, rule: ServiceRule, cap: int, gates: list, verdicts: list[EntryVerdict],
           warnings: list[Finding], rules: RuleYear, settings: Settings,
           month: Month) -> ServiceResult:  # fmt: skip
    """A13/A14's shared arithmetic: codes by the year's tiers, the cap, the date, the next step."""
    counted = _counted_total(verdicts)
    codes = rule.codes(counted, cap)
    top = rule.thresholds(cap)[-1]
    if codes and counted > top and codes[0][0] == rule.base_code:
        over = counted - top
        what = rule.addon_code if cap and rule.addon_code else rule.base_code
        warnings.append(Finding.warning("minutes_over_cap", f"{over} minutes above the {what} "
                                        f"cap of {cap} units are not billable"))  # fmt: skip
    r = _result(service, rules, gates, verdicts, codes, warnings, codes[0][0] if codes else (
        rule.short_code or rule.base_code))  # fmt: skip
    if r.status == "billable":
        billed = _billed_minutes(rule, codes)
        r.date_of_service = (month.last if settings.date_of_service == "month_end"
                             else _reached(verdicts, billed, None))  # fmt: skip
    if not r.blockers:
        further = [t for t in rule.thresholds(cap) if t > counted]
        if further:
            r.next = _next(verdicts, rule.codes(further[0], cap), further[0] - counted, rules)
    return r


def _billed_minutes(rule: ServiceRule, codes: Codes) -> int:
    """The threshold of the last unit billed (A5 on the service's minutes)."""
    if codes[0][0] == rule.short_code:
        return rule.short_minutes
    addon = codes[1][1] if len(codes) > 1 else 0
    return rule.base_minutes + addon * rule.addon_minutes


def _result(service: str, rules: RuleYear, gates: list, verdicts: list[EntryVerdict],
            codes: Codes, warnings: list[Finding], candidate: str) -> ServiceResult:  # fmt: skip
    blockers = [Finding.blocker(g, fact) for g, fact in gates if fact]
    counted = _counted_total(verdicts)
    if blockers:
        codes, status = [], "blocked"
    else:
        status = "billable" if codes else ("no_time" if counted == 0 else "below_threshold")
    return ServiceResult(service, status, codes, rules.amount(codes) if codes else 0.0, None,
                         blockers, warnings, None, counted, verdicts, gates, candidate)  # fmt: skip


def _verdicts(entries: list[Entry], consent: date | None, visit: date | None) -> list[EntryVerdict]:
    """A11's counting: on or after the service's consent and the initiating visit (if any)."""
    out = []
    for e in entries:
        if consent is None:
            out.append(EntryVerdict(e, False, "no_consent"))
        elif e.date < consent:
            out.append(EntryVerdict(e, False, "before_consent"))
        elif visit is not None and e.date < visit:
            out.append(EntryVerdict(e, False, "before_initiating_visit"))
        else:
            out.append(EntryVerdict(e, True, None))
    return out


def _monitoring_verdicts(enrolled, entries: list[Entry], needs_consent: bool) -> list[EntryVerdict]:
    """A13: RPM minutes count on or after the RPM consent; A14: RTM minutes count on or after
    the RTM consent when one is recorded, else all of them (its absence is a warning)."""
    consent = enrolled.consent if enrolled else None
    if consent is None and not needs_consent:
        return [EntryVerdict(e, True, None) for e in entries]
    return _verdicts(entries, consent.date if consent else None, None)


def _counted_total(verdicts: list[EntryVerdict]) -> int:
    return sum(v.entry.minutes for v in verdicts if v.counted)


def _no_consent(consent: Consent | None, month: Month, what: str) -> str | None:
    """C-01, C-04 on the service's own consent (F-16, F-19: each service's consent apart)."""
    if consent is None:
        return f"no {what} consent recorded"
    if consent.date > month.last:
        return f"{what} consent dated {consent.date}, after {month}"
    return None


def _revoked(consent: Consent | None, month: Month) -> str | None:
    """C-05: the month of revocation stays billable."""
    if consent and consent.revoked and consent.revoked < month.first:
        return f"consent revoked on {consent.revoked}"
    return None


def _bhi_visit(visit: date | None, consent: Consent | None, month: Month) -> str | None:
    """A11, F-17: the IV rules measured against the BHI consent date."""
    if visit is None:
        return "no initiating visit recorded"
    if visit > month.last:
        return f"initiating visit on {visit}, after {month}"
    if consent and visit < consent.date - timedelta(days=365):
        return f"initiating visit on {visit} is more than 365 days before the BHI consent ({consent.date})"
    return None


def _bhi_care_plan(b, month: Month) -> str | None:
    if b.care_plan is None:
        return "no BHI care plan recorded (bhi.care_plan.established)"
    if b.care_plan.established > month.last:
        return f"BHI care plan established on {b.care_plan.established}, after {month}"
    return None


def _not_established(patient: Patient, verdicts: list[EntryVerdict], month: Month) -> str | None:
    """A13, F-32: RPM is for established patients: a visit on or before the first counted entry."""
    first = min((v.entry.date for v in verdicts if v.counted), default=month.last)
    visit = patient.initiating_visit
    if visit is None:
        return "no visit recorded: RPM is for established patients"
    if visit.date > first:
        return f"the recorded visit ({visit.date}) is after the first counted RPM entry ({first})"
    return None


def _no_live_contact(verdicts: list[EntryVerdict], activities: list[str]) -> str | None:
    """F-24, F-37: at least one counted entry whose activity is a real-time interactive contact.
    Decides nothing until minutes count (the month is then no_time)."""
    counted = [v.entry for v in verdicts if v.counted]
    if not counted or any(e.activity.strip().lower() in activities for e in counted):
        return None
    return (f"no counted entry is a live interactive contact (activity one of "
            f"{', '.join(activities)}); messages, texts and alerts are not (F-24)")  # fmt: skip


def _before_warnings(verdicts: list[EntryVerdict], consent, visit: date | None,
                     what: str) -> list[Finding]:  # fmt: skip
    """A3 as A11 applies it to a service: minutes before its consent or the visit count not."""
    out = []
    for reason, rule, words in (
        ("before_consent", "minutes_before_consent", f"before {what}"),
        ("no_consent", "minutes_before_consent", f"with no {what.removeprefix('the ')} recorded"),
        ("before_initiating_visit", "minutes_before_initiating_visit", "before the initiating visit"),
    ):  # fmt: skip
        n = sum(v.entry.minutes for v in verdicts if v.reason == reason)
        if n:
            out.append(Finding.warning(rule, f"{n} minutes logged {words} do not count"))
    return out


def _bhi_warnings(patient: Patient, month: Month, rules: RuleYear, addon,
                  cocm_minutes: int) -> list[Finding]:  # fmt: skip
    out = []
    b = patient.bhi
    outside = [c for c in (b.conditions if b else []) if not c.startswith("F")]
    if outside:
        out.append(Finding.warning("bh_condition_outside_f_chapter", (
            f"{', '.join(outside)} not in ICD-10-CM chapter F; allowed when the practitioner "
            "treats it as a behavioral-health condition (F-14)")))  # fmt: skip
    if cocm_minutes and str(month) not in patient.cocm_months:
        out.append(Finding.warning("cocm_minutes_logged", (
            f"{cocm_minutes} CoCM minutes logged in a month not in cocm_months: if CoCM is "
            "billed this month, add it there (99484 and CoCM are not billed together, F-18)")))  # fmt: skip
    if patient.program == "apcm" and addon is None:
        out.append(
            Finding.warning(
                "bhi_with_apcm_unverified",
                ("99484 beside APCM: no source forbids it, none confirms it (F-21, F-22)"),
            )
        )
    return out


def _reached(verdicts: list[EntryVerdict], threshold: int, not_before: date | None) -> date:
    """A5 / D-02 on a service's counted minutes: the day their total first reached the
    threshold of the last unit billed, never before the service's care plan."""
    by_day: dict[date, int] = {}
    for v in verdicts:
        if v.counted:
            by_day[v.entry.date] = by_day.get(v.entry.date, 0) + v.entry.minutes
    total = 0
    for day in sorted(by_day):
        total += by_day[day]
        if total >= threshold:
            return max(day, not_before) if not_before else day
    raise ValueError("threshold not reached")  # callers bill only reached thresholds


def _next(verdicts: list[EntryVerdict], codes: Codes, needed: int, rules: RuleYear) -> NextStep:
    """The fewest further minutes that would raise the service's amount; whose: the
    practitioner's when every counted minute so far is theirs (contract 3), else staff's."""
    roles = {v.entry.role for v in verdicts if v.counted}
    role = "practitioner" if roles == {"practitioner"} else "clinical_staff"
    return NextStep(codes, needed, role, rules.amount(codes))


def _codes_words(codes: Codes) -> str:
    return " + ".join(c if n == 1 else f"{c} x{n}" for c, n in codes)


SERVICE_NAMES = {"bhi": "BHI", "rpm": "RPM", "rtm": "RTM"}


def describe(gate: str, patient: Patient, service: str) -> str:
    """The fact a service's gate read when it passed, for explain."""
    block = getattr(patient, service, None)
    consent = block.consent if block is not None else None
    visit = patient.initiating_visit
    facts = {
        "no_bhi_enrollment": lambda: "bhi: block recorded",
        "no_rpm_enrollment": lambda: "rpm: block recorded",
        "no_bh_condition": lambda: f"conditions: {', '.join(block.conditions)}",
        "no_consent": lambda: f"{SERVICE_NAMES[service]} consent: {consent.date} ({consent.method})",
        "consent_revoked": lambda: "not revoked",
        "no_initiating_visit": lambda: f"initiating visit: {visit.date} ({visit.type})",
        "not_established_patient": lambda: f"visit recorded: {visit.date}",
        "no_care_plan": lambda: f"BHI care plan established: {block.care_plan.established}",
        "cocm_same_month": lambda: f"cocm_months: {', '.join(patient.cocm_months) or 'none'}",
        "bh_addon_without_apcm": lambda: "the month's APCM code is billable",
        "no_interactive_contact": lambda: "a live interactive contact counts, or no minutes yet",
        "rtm_same_month": lambda: "no RTM minutes that block it",
        "rpm_same_month": lambda: "no RPM minutes that block it",
    }  # fmt: skip
    return facts[gate]()
