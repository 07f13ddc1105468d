"""`ccm rules`: the table in force for a service year, as data.

Each amount comes with what it is computed from (A6): the code's non-facility total RVU, the
year's conversion factor and the CMS file that publishes both, so a biller can check it.
"""

from typing import TYPE_CHECKING

from ccmcli.models.months import now
from ccmcli.reports.wording import rule_ref, service_ref
from ccmcli.rules.table import SERVICE_GATES, YEARS, Amount, RuleYear, rules_for

# `when`: the threshold in the table's words (`>= 20`, `each +20`, `>= 2 cond, qmb`, `5-19`)
if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import RuleService, RulesOutput

ROWS_HEADER = ["program", "track", "code", "kind", "when", "cap", "amount", "references", "rvu",
               "conversion_factor", "rvu_file"]  # fmt: skip


def references(text: str) -> list[str]:
    """A rule's references (`A1, T-01, ccm-rules 2`) as a list, as `rules CODE` gives them."""
    return [part.strip() for part in text.split(",") if part.strip()]


def page_rule_lines(page: dict) -> list[str]:
    """The part of a page per code (contract 11) that reads alike for a program's code and another
    service's: what blocks it, what it is not billed with, its amounts, references and note."""
    out = ["", "Blocked when (rule ids):"]
    out += [f"  {r['rule']}: {r['blocks_when']} [{r['source']}]" for r in page["requirements"]]
    out += ["", "Not billed with, the same patient-month:"]
    out += [f"  {x['code']}: {x['why']}" for x in page["not_billed_with"]]
    out += ["", "Amounts (national non-facility):"]
    out += [f"  {a['year']}: {a['amount']:.2f} ({a['rvu']:.2f} RVU x {a['conversion_factor']:.4f}, "
            f"CMS {a['rvu_file']})" for a in page["amounts"]]  # fmt: skip
    out += ["", "References:"] + [f"  {r}" for r in page["references"]]
    if page.get("note"):
        out += ["", f"note: {page['note']}"]
    return out


def amount_dict(a: Amount) -> dict:
    return {"amount": a.dollars, "rvu": float(a.rvu),
            "conversion_factor": float(a.conversion_factor), "rvu_file": a.file}  # fmt: skip


def code_amounts(code: str) -> list[dict]:
    """A6/A8: each year's amount with the RVU, the factor and the CMS file it is computed from;
    a code's page shows them (code_page.py for the program codes, service_page.py for the rest)."""
    return [{"year": y, **amount_dict(YEARS[y].amounts[code])}
            for y in sorted(YEARS) if code in YEARS[y].amounts]  # fmt: skip


def rules_dict(year: int | None) -> "RulesOutput":
    rules, note = rules_for(year or now().astimezone().year)
    tracks = []
    for t in rules.tracks:
        tracks.append({
            "program": t.program, "track": t.name, "references": references(t.rule), "summary": t.summary,
            "counts": t.counts, "complex_month_only": t.needs_complex_month,
            "base": {"code": t.base_code, "minutes": t.base_minutes,
                     **amount_dict(rules.amounts[t.base_code])},
            "addon": {"code": t.addon_code, "minutes_each": t.addon_minutes, "cap": t.addon_cap,
                      **amount_dict(rules.amounts[t.addon_code])},
        })  # fmt: skip
    levels = [{"program": "apcm", "level": lv.level, "code": lv.code,
               "references": references(lv.rule),
               "summary": lv.summary, "min_conditions": lv.min_conditions, "qmb": lv.needs_qmb,
               **amount_dict(rules.amounts[lv.code])} for lv in rules.levels]  # fmt: skip
    gates = [{"rule": g.id, "ref": rule_ref(g.id, rules), "programs": list(g.programs),
              "source": g.rule, "summary": g.summary} for g in rules.gates]  # fmt: skip
    gates += [{"rule": g.id, "ref": service_ref(g.id, g.programs[0]), "programs": list(g.programs), "source": g.rule,
               "summary": g.summary} for g in SERVICE_GATES]  # fmt: skip
    schedule = rules.fee_schedule
    out = {"schema": "ccm.rules/1", "year": rules.year, "rules": str(rules.year),
           "conversion_factor": float(schedule.conversion_factor),
           "rvu_file": {"name": schedule.name, "released": schedule.released},
           "source": rules.source, "tracks": tracks, "levels": levels,
           "services": _services(rules), "gates": gates}  # fmt: skip
    if note:
        out["note"] = note
    return out


def _services(rules: RuleYear) -> "list[RuleService]":
    """A11-A14: each service's codes by tier, with the same figures as the program codes."""
    out = []
    for r in rules.services:
        tiers = []
        if r.short_code:
            tiers.append({"code": r.short_code, "kind": "short",
                          "when": f"{r.short_minutes}-{r.base_minutes - 1}", "cap": 1})  # fmt: skip
        tiers.append({"code": r.base_code, "kind": "base", "when": f">= {r.base_minutes}",
                      "cap": 1})  # fmt: skip
        if r.addon_code:
            tiers.append({"code": r.addon_code, "kind": "add-on",
                          "when": f"each +{r.addon_minutes}", "cap": r.default_cap,
                          "cap_setting": r.cap_setting})  # fmt: skip
        out += [{"service": r.service, "references": references(r.rule), "summary": r.summary, **t,
                 **amount_dict(rules.amounts[t["code"]])} for t in tiers]  # fmt: skip
    for a in rules.addons:
        out.append({"service": a.service, "references": references(a.rule), "summary": a.summary, "code": a.code,
                    "kind": "add-on",
                    "program": a.program, "when": "ccm policy",
                    "minutes_setting": a.minutes_setting,
                    "cap": 1, **amount_dict(rules.amounts[a.code])})  # fmt: skip
    return out


def rules_rows(view: dict) -> list[list]:
    """One row per code, `ROWS_HEADER`: the amount beside the RVU, factor and file it is from."""
    rows = []
    for t in view["tracks"]:
        b, a = t["base"], t["addon"]
        rows.append([t["program"], t["track"], b["code"], "base", f">= {b['minutes']}", 1,
                     f"{b['amount']:.2f}", ", ".join(t["references"]), *_source(b)])  # fmt: skip
        rows.append([t["program"], t["track"], a["code"], "add-on", f"each +{a['minutes_each']}",
                     a["cap"], f"{a['amount']:.2f}", ", ".join(t["references"]), *_source(a)])  # fmt: skip
    for lv in view.get("levels", []):
        when = f">= {lv['min_conditions']} cond" + (", qmb" if lv["qmb"] else "")
        rows.append(["apcm", f"level{lv['level']}", lv["code"], "level", when, 1,
                     f"{lv['amount']:.2f}", ", ".join(lv["references"]), *_source(lv)])  # fmt: skip
    for s in view.get("services", []):
        rows.append([s["service"], "service", s["code"], s["kind"], s["when"], s["cap"],
                     f"{s['amount']:.2f}", ", ".join(s["references"]), *_source(s)])  # fmt: skip
    return rows


def _source(x: dict) -> list[str]:
    return [f"{x['rvu']:.2f}", f"{x['conversion_factor']:.4f}", x["rvu_file"]]


def amounts_note(view: dict) -> str:
    """The line under the table: how every amount was reached, and from which release."""
    f = view["rvu_file"]
    released = f", released {f['released']}" if f["released"] else ""
    return (f"amount = non-facility total RVU x conversion factor {view['conversion_factor']:.4f}, "
            f"rounded half up to cents; CMS {f['name']}{released} (ccm-rules.md A6)")  # fmt: skip
