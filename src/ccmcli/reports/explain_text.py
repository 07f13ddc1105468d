"""`ccm explain` in words: each gate with its fact, each entry counted or why not, the track."""

from ccmcli.reports.wording import codes_text, rule_ref, status_line
from ccmcli.rules.engine import Judgement


def references(text: str) -> list[str]:
    from ccmcli.reports.rules_view import references as split

    return split(text)


def track_reason(j: Judgement, settings) -> dict | None:
    """Which track was chosen and why (rule A4), with the alternatives it beat."""
    if j.chosen is None:
        return None
    t = j.chosen.track
    if t.program == "apcm":
        from ccmcli.rules.gates import qualifying_condition_count

        n = qualifying_condition_count(j.patient)
        why = (f"APCM {t.name.replace('level', 'level ')}: {n} qualifying chronic condition"
               f"{'s' if n != 1 else ''}{', QMB' if j.patient.qmb else ''}; no time threshold")  # fmt: skip
    elif settings.selection == "performer":
        why = "selection: performer (practitioner, then complex, then staff, whichever is met)"
    elif j.alternatives:
        why = "selection: max_payment; it pays most among the tracks whose base threshold is met"
    else:
        why = "the only track whose base threshold is met"
    return {"track": t.name, "codes": [{"code": c, "units": n} for c, n in j.codes],
            "minutes": j.chosen.minutes, "references": references(t.rule), "why": why}  # fmt: skip


def explain_parts(ex) -> tuple[list[str], list[dict], list[str]]:
    """The explanation in three parts: lines before the entries, the entries (one dict each:
    where, id, date, minutes, role, staff, verdict), and lines after them."""
    j = ex.judgement
    d = ex.as_dict()
    began = j.patient.program_began(j.month)
    program = f"program: {j.patient.program}" + (f" (from {began})" if began else "")
    head = [status_line(j), f"rules: {j.rules.year} table ({j.rules.source})", program, "",
            "gates:"]  # fmt: skip
    for g in d["gates"]:
        ref = rule_ref(g["rule"], j.rules)
        tag = "" if ref == g["rule"] else f" [{ref}]"  # the id narrow tables show
        head.append(f"  {'ok     ' if g['passed'] else 'BLOCKED'} {g['rule']}: {g['fact']}{tag}")
    entries = [
        {"where": f"{e['file']}:{e['line']}", "line": e["line"], "id": e["id"], "date": e["date"],
         "minutes": "void" if e["minutes"] is None else f"{e['minutes']} min",
         "role": e["role"] or "-", "staff": e["staff"] or "-",
         "service": e["service"] or j.patient.program,
         "verdict": "counted" if e["counted"] else f"not counted: {e['why_not']}"}
        for e in d["entries"]
    ]  # fmt: skip
    tail = [f"minutes: counted {j.counted}; clinical staff {j.minutes['clinical_staff']}, practitioner "
            f"{j.minutes['practitioner']}, not counted {j.minutes['not_counted']}" + _other(j)]  # fmt: skip
    track = d["track"]
    if track:
        tail.append(f"track: {track['track']} -> {codes_text(j.codes)} (${j.amount:.2f}, date of "
                    f"service {j.date_of_service}); {track['why']} [{', '.join(track['references'])}]")  # fmt: skip
    for a in j.alternatives:
        tail.append(f"  alternative: {a.track.name} -> {codes_text(a.codes)} (${a.amount:.2f})")
    for f in j.blockers + j.warnings:
        tail.append(f"{'blocker' if f in j.blockers else 'warning'} {f.rule}: {f.message}")
    if j.without_doubted is not None:
        tail.append(f"the codes rest on doubted minutes: without the minutes those warnings "
                    f"doubt, the month would bill {codes_text(j.without_doubted) or 'nothing'}")  # fmt: skip
    tail.extend(_services(j, d["service_details"]))
    # errors of the files go to stderr once (cli/output.report_problems), not here as well
    tail.extend(p.render() for p in ex.problems if p.severity != "error")
    return head, entries, tail


def _services(j: Judgement, services: list[dict]) -> list[str]:
    """A16: each other service of the month, as the program is shown: its gates, its counted
    entries and its verdict; then what the month bills in all."""
    from ccmcli.rules.services import SERVICE_NAMES

    out = []
    for s in services:
        codes = codes_text([(c["code"], c["units"]) for c in s["codes"]])
        verdict = (f"{codes} (${s['amount']:.2f}, date of service {s['date_of_service']})"
                   if s["codes"] else f"{s['code']} not billed")  # fmt: skip
        out += ["", f"{SERVICE_NAMES[s['service']]}: {s['status']} -> {verdict}"]
        for g in s["gates"]:
            out.append(f"  {'ok     ' if g['passed'] else 'BLOCKED'} {g['rule']}: {g['fact']}")
        for e in s["entries"]:
            why = "counted" if e["counted"] else f"not counted: {e['why_not']}"
            out.append(f"  {e['file']}:{e['line']}  {e['id']}  {e['date']}  {e['minutes']} min  "
                       f"{e['role']}  {e['activity']}  {why}")  # fmt: skip
        m = s["minutes"]
        out.append(f"  minutes: counted {m['counted']}, not counted {m['not_counted']}")
        if s["next"]:
            n = s["next"]
            out.append(f"  next: {n['minutes_needed']} more minutes for "
                       f"{codes_text([(c['code'], c['units']) for c in n['codes']])}")  # fmt: skip
        for nb in s["not_billed"]:
            out.append(f"  {nb['code']} not billed: {nb['why']}")
        if s.get("note"):
            out.append(f"  note: {s['note']}")
        for kind in ("blockers", "warnings"):
            for f in s[kind]:
                out.append(f"  {kind[:-1]} {f['rule']}: {f['message']}")
    for n in j.not_assessed:
        codes = f" ({', '.join(n['codes_not_assessed'])})" if n["codes_not_assessed"] else ""
        out.append(f"not assessed: {n['service']} {n['minutes']} min{codes}: {n['reason']} "
                   f"[{n['rule']}]")  # fmt: skip
    if j.services:
        extra = j.total_amount - j.amount
        out += ["", f"total: program ${j.amount:.2f} + services ${extra:.2f} = "
                f"${j.total_amount:.2f}; patient share ${j.patient_share:.2f} (20%, A16)"]  # fmt: skip
    return out


def explain_lines(ex) -> list[str]:
    """The explanation as plain lines (no terminal width): every part, entries one per line."""
    head, entries, tail = explain_parts(ex)
    body = [f"  {e['where']}  {e['id']}  {e['date']}  {e['minutes']:>7}  {e['role']}  "
            f"{e['staff']}  {e['service']}  {e['verdict']}" for e in entries]  # fmt: skip
    return [*head, "", "entries:", *(body or ["  (none this month)"]), "", *tail]


def _other(j: Judgement) -> str:
    """`, other services (count toward nothing) bhi 20` (A7), or nothing."""
    other = j.minutes.get("other_services") or {}
    if not other:
        return ""
    return ", other services (count toward nothing) " + ", ".join(
        f"{s} {n}" for s, n in other.items()
    )
