"""What an auditor asks for one patient-month (contract 9), as plain data for the templates.

Everything comes from the judgement `explain` shows (check_views.Explanation over rules.judge):
the gates with the facts they read, every entry and void row with its file and line and why it
counted or not, the track and the rules that chose it. Added here: the record facts in full, the
lines exported for the month (with `exported_at`) and the month's close records.
"""

from dataclasses import dataclass, field

from ccmcli.loader import load
from ccmcli.models.months import Month, now_in
from ccmcli.models.records import Patient, Settings
from ccmcli.reports import month_record
from ccmcli.reports.check_views import Explanation, run_explain
from ccmcli.reports.practice_month import judge_month
from ccmcli.store import closed_records
from ccmcli.store.datadir import DataDir


@dataclass
class MonthFacts:
    """What every packet of one month shares: settings, ledger, close records, code set."""

    data: DataDir
    settings: Settings
    month: Month
    ledger: list[dict] = field(default_factory=list)
    ledger_note: str | None = None
    close: dict = field(default_factory=dict)
    recorded: dict = field(default_factory=dict)  # patient id -> line of the last close record
    describe: object = None  # CodeChecker or None
    generated_at: str = ""


def month_facts(data: DataDir, settings: Settings, month: Month) -> MonthFacts:
    facts = MonthFacts(data, settings, month)
    facts.generated_at = now_in(settings.timezone).isoformat(timespec="seconds")
    facts.ledger, facts.ledger_note = ledger_rows(data, month)
    facts.close, facts.recorded = _close_facts(data, month)
    from ccmcli.store.condition_codes import load_checker

    facts.describe, _ = load_checker()
    return facts


def ledger_rows(data: DataDir, month: Month) -> tuple[list[dict], str | None]:
    """Every line of the month's export ledger as a dict of its columns, as the ledger's one
    reader (store/ledger.scan_ledger, under its shared lock) reads them: a line that `validate`
    and `export` call damaged is not shown, and the packet says how many were left out."""
    from ccmcli.store.ledger import BAD_HEADER, COLUMNS, ledger_lines

    lines, problems = ledger_lines(data, month)
    rows = []
    for line in lines:
        row = dict(zip(COLUMNS, line.cells, strict=True))
        row["patient_id"] = line.patient_id  # without the `'` that defuses a cell
        row["frequency"], row["replaces"] = line.frequency, line.replaces
        row["exported_at"] = line.exported_at + _claim_words(line.frequency, line.replaces)
        rows.append(row)
    rel = data.relative(data.export_path(month))
    if any(p.message == BAD_HEADER for p in problems):
        return [], f"{rel} has an unexpected header; its lines are not shown"
    note = f"{len(problems)} damaged line(s) in {rel} are not shown" if problems else None
    return rows, note


def _claim_words(frequency: str, replaces: str) -> str:
    """What a line of a corrected claim is (A18), beside its exported_at: a packet lists every
    line exported, and a replacement must not read as the month billed twice."""
    if frequency == "7":
        return f" · corrected claim (frequency 7) replacing {replaces}"
    if frequency == "8":
        return f" · void (frequency 8) of the claim exported {replaces}"
    return ""


def _close_facts(data: DataDir, month: Month) -> tuple[dict, dict]:
    history = closed_records.read_history(data, month)
    records = [{"file": f, "kind": r.get("kind"), "by": r.get("by"), "at": r.get("at"),
                "reason": r.get("reason"), "sha256": r.get("sha256")}
               for f, r in zip(history.files, history.records, strict=False)]  # fmt: skip
    last = history.last_close() if history.closed else None
    state = "closed" if history.closed else ("reopened" if history.files else "not closed")
    changed = []
    if last:
        for part, name in (("log", "log"), ("ledger", "export ledger")):
            path = data.root / last[part]["file"]
            if closed_records.file_digest(data.root, path) != last[part]["sha256"]:
                changed.append(f"the {name} {last[part]['file']} changed after the close")
    close = {"state": state, "records": records, "files_changed": changed,
             "problems": [p.render() for p in history.problems]}  # fmt: skip
    recorded = {p["patient_id"]: p for p in last["patients"]} if last else {}
    return close, recorded


@dataclass
class Packet:
    patient: Patient
    month: Month
    body: dict


def build(ex: Explanation, facts: MonthFacts) -> Packet:
    """One patient-month's packet from the explain judgement and the month's shared facts."""
    j, s = ex.judgement, facts.settings
    p = facts.describe.with_descriptions(j.patient) if facts.describe else j.patient
    d = ex.as_dict()
    body = {
        "generated_at": facts.generated_at, "month": str(j.month), "month_label": j.month.label(),
        "provisional": any(w.rule == "provisional_month" for w in j.warnings),
        "practice": {"name": s.practice, "billing_npi": p.billing_npi or s.billing_npi,
                     "npi_source": "patient file" if p.billing_npi else "ccm.yaml",
                     "place_of_service": s.place_of_service, "timezone": s.timezone},
        **_record(p, j.month),
        "gates": [{**g, "ref": _gate_ref(j.rules, g["rule"])} for g in d["gates"]],
        "entries": [{**e, "where": f"{e['file']}:{e['line']}"} for e in d["entries"]],
        "problems": [pr.render() for pr in ex.problems],
        "minutes": {**j.minutes, "apart": j.apart},  # counted, and apart what does not count
        "billing": _billing(j, d["track"], s),
        "services": [_service(sd, p) for sd in d["service_details"]],
        "total": {"amount": j.amount, "total_amount": j.total_amount,
                  "patient_share": j.patient_share},
        "not_assessed": j.not_assessed,
        "exported": [r for r in facts.ledger if r["patient_id"] == p.id],
        "ledger_note": facts.ledger_note,
        "close": {**facts.close, **_recorded(facts, j, s)},
    }  # fmt: skip
    return Packet(p, j.month, body)


def _record(p: Patient, month: Month) -> dict:
    """The facts of the patient file an auditor asks for (contract 9), dates as YYYY-MM-DD."""
    c = p.complex_month(month)
    return {
        "patient": {"id": p.id, "name": p.name, "birth_date": p.birth_date.isoformat(),
                    "mbi": p.mbi, "program": p.program},
        "conditions": [{"code": c.code, "description": c.description, "chronic": c.chronic,
                        "principal": c.code == p.principal_condition} for c in p.conditions],
        "consent": p.consent.model_dump(mode="json") if p.consent else None,
        "initiating_visit": p.initiating_visit.model_dump(mode="json") if p.initiating_visit else None,
        "care_plan": p.care_plan.model_dump(mode="json") if p.care_plan else None,
        "complex": c.model_dump(mode="json") if c else None,
        "discharged": p.discharged.isoformat() if p.discharged else None,
    }  # fmt: skip


def _billing(j, track: dict | None, s: Settings) -> dict:
    """The codes, units, amounts and date of service, with the rules that decided them."""
    from ccmcli.reports.wording import codes_text

    rules = j.rules
    if track is not None:  # the packet's words: codes as `99490x1`, the references as the rule
        track = {**track, "codes": codes_text(j.codes), "rule": ", ".join(track["references"])}
    return {
        "status": j.status, "amount": j.amount,
        "date_of_service": j.date_of_service.isoformat() if j.date_of_service else None,
        "codes": [{"code": c, "units": n, "amount": round(rules.amounts[c].dollars * n, 2)}
                  for c, n in j.codes],
        "track": track, "alternatives": [a.as_dict() for a in j.alternatives],
        "blockers": [b.as_dict() for b in j.blockers],
        "warnings": [w.as_dict() for w in j.warnings],
        "rules_year": str(rules.year), "rules_source": rules.source,
        "date_rule": f"A5, D-02 ({s.date_of_service})",
        # the bill rests on minutes a duplicate or overlap warning doubts: what it would be
        "without_doubted": None if j.without_doubted is None
        else (" ".join(f"{c}x{n}" for c, n in j.without_doubted) or "nothing"),
    }  # fmt: skip


def _service(sd: dict, p: Patient) -> dict:
    """A16: one service's section: the record it reads, its gates, entries and codes."""
    from ccmcli.rules.services import SERVICE_NAMES

    return {**sd, "title": f"{SERVICE_NAMES[sd['service']]} ({sd['code']})",
            "record": _service_record(p, sd["service"]),
            "entries": [{**e, "where": f"{e['file']}:{e['line']}"} for e in sd["entries"]]}  # fmt: skip


def _service_record(p: Patient, service: str) -> str:
    """The service's block of the patient file in words (A11, A13, A14)."""
    block = getattr(p, service, None)
    if block is None:
        return f"no {service}: block in the patient file"
    c = block.consent
    parts = [f"consent {c.date} ({c.method})" + (f", revoked {c.revoked}" if c.revoked else "")
             if c else "no consent recorded"]  # fmt: skip
    if service == "bhi":
        plan = block.care_plan.established if block.care_plan else "none"
        parts = [f"conditions {', '.join(block.conditions) or 'none'}", *parts,
                 f"care plan established {plan}",
                 f"CoCM months {', '.join(p.cocm_months) or 'none'}"]  # fmt: skip
    return "; ".join(parts)


def _gate_ref(rules, gate_id: str) -> str:
    return next((g.rule for g in rules.gates if g.id == gate_id), "")


def _recorded(facts: MonthFacts, j, s: Settings) -> dict:
    """The patient's line in the last close record, and how the month differs from it now."""
    if facts.close["state"] != "closed":
        return {"recorded": None, "differences": []}
    old = facts.recorded.get(j.patient.id)
    new = month_record.patient_line(j, s)
    found = month_record.patient_differences(j.patient.id, old, new)
    return {"recorded": old, "differences": [d.message() for d in found]}


def one_packet(data: DataDir, patient_id: str, month_text: str | None) -> Packet:
    """`ccm audit ID --month M`: the explain judgement of one patient, with the month's facts."""
    ex = run_explain(data, patient_id, month_text)
    return build(ex, month_facts(data, ex.settings, ex.judgement.month))


def billed(report, ledger: list[dict]) -> list[str]:
    """Patients with exported lines for the month, or billable now: one packet each."""
    exported = {r["patient_id"] for r in ledger}
    return sorted(exported | {j.patient.id for j in report.judgements
                              if j.status == "billable" or j.total_amount > 0})  # fmt: skip


def month_packets(data: DataDir, month_text: str | None):
    """`ccm audit --all`: the month judged once; yields (count, packets...) lazily so the caller
    can show progress. Patients billed but without a valid file are returned in `skipped`."""
    practice = load(data)
    settings = practice.settings
    month = practice.month(month_text)
    report = judge_month(practice, month)
    facts = month_facts(data, settings, month)
    ids = billed(report, facts.ledger)
    judged = {j.patient.id: j for j in report.judgements}
    skipped = [pid for pid in ids if pid not in judged]
    by_patient: dict[str, list] = {}
    for e in report.log.entries if report.log else []:
        if not e.counts:
            by_patient.setdefault(e.patient_id, []).append(e)
    problems: dict[str, list] = {}
    for pr in report.problems:
        if pr.patient_id:
            problems.setdefault(pr.patient_id, []).append(pr)
    todo = [pid for pid in ids if pid in judged]

    def packets():
        for pid in todo:
            ex = Explanation(judged[pid], by_patient.get(pid, []), problems.get(pid, []), settings)
            yield build(ex, facts)

    return month, todo, skipped, packets()
