"""`ccm explain` in words: each gate with its fact, each entry counted or why not, the track."""

from ccmcli.reports.wording import codes_text, status_line
from ccmcli.rules.engine import Judgement


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
    return {"track": t.name, "codes": codes_text(j.codes), "minutes": j.chosen.minutes,
            "rule": t.rule, "why": why}  # fmt: skip


def explain_lines(ex) -> list[str]:
    j = ex.judgement
    d = ex.as_dict()
    began = j.patient.program_began(j.month)
    program = f"program: {j.patient.program}" + (f" (from {began})" if began else "")
    out = [status_line(j), f"rules: {j.rules.year} table ({j.rules.source})", program, "",
           "gates:"]  # fmt: skip
    for g in d["gates"]:
        out.append(f"  {'ok     ' if g['passed'] else 'BLOCKED'} {g['rule']}: {g['fact']}")
    out += ["", "entries:"]
    for e in d["entries"]:
        mins = "void" if e["minutes"] is None else f"{e['minutes']:>3} min"
        verdict = "counted" if e["counted"] else f"not counted: {e['why_not']}"
        service = e["service"] or j.patient.program
        out.append(f"  {e['file']}:{e['line']}  {e['id']}  {e['date']}  {mins}  {e['role'] or '-'}"
                   f"  {e['staff'] or '-'}  {service}  {verdict}")  # fmt: skip
    if not d["entries"]:
        out.append("  (none this month)")
    out += ["", f"minutes: clinical staff {j.minutes['clinical_staff']}, practitioner "
                f"{j.minutes['practitioner']}, not counted {j.minutes['not_counted']}"
                + _other(j)]  # fmt: skip
    track = d["track"]
    if track:
        out.append(f"track: {track['track']} -> {track['codes']} (${j.amount:.2f}, date of service "
                   f"{j.date_of_service}); {track['why']} [{track['rule']}]")  # fmt: skip
    for a in j.alternatives:
        out.append(f"  alternative: {a.track.name} -> {codes_text(a.codes)} (${a.amount:.2f})")
    for f in j.blockers + j.warnings:
        out.append(f"{'blocker' if f in j.blockers else 'warning'} {f.rule}: {f.message}")
    for p in ex.problems:
        out.append(p.render())
    return out


def _other(j: Judgement) -> str:
    """`, other services (count toward nothing) bhi 20` (A7), or nothing."""
    other = j.minutes.get("other_services") or {}
    if not other:
        return ""
    return ", other services (count toward nothing) " + ", ".join(
        f"{s} {n}" for s, n in other.items()
    )
