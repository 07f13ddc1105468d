"""`ccm rules`: the table in force for a service year, as data."""

from datetime import date

from ccmcli.rules.table import rules_for


def rules_dict(year: int | None) -> dict:
    rules, note = rules_for(year or date.today().year)
    tracks = []
    for t in rules.tracks:
        tracks.append({
            "program": t.program, "track": t.name, "rule": t.rule, "summary": t.summary,
            "counts": t.counts, "complex_month_only": t.needs_complex_month,
            "base": {"code": t.base_code, "minutes": t.base_minutes,
                     "amount": rules.amounts[t.base_code].dollars,
                     "estimated": rules.amounts[t.base_code].estimated},
            "addon": {"code": t.addon_code, "minutes_each": t.addon_minutes, "cap": t.addon_cap,
                      "amount": rules.amounts[t.addon_code].dollars,
                      "estimated": rules.amounts[t.addon_code].estimated},
        })  # fmt: skip
    levels = [{"program": "apcm", "level": lv.level, "code": lv.code, "rule": lv.rule,
               "summary": lv.summary, "min_conditions": lv.min_conditions, "qmb": lv.needs_qmb,
               "amount": rules.amounts[lv.code].dollars,
               "estimated": rules.amounts[lv.code].estimated} for lv in rules.levels]  # fmt: skip
    gates = [{"rule": g.id, "programs": list(g.programs), "source": g.rule, "summary": g.summary}
             for g in rules.gates]  # fmt: skip
    out = {"rules": str(rules.year), "conversion_factor": rules.conversion_factor,
           "source": rules.source, "tracks": tracks, "levels": levels, "gates": gates}  # fmt: skip
    if note:
        out["note"] = note
    return out


def rules_rows(view: dict) -> list[list]:
    rows = []
    for t in view["tracks"]:
        b, a = t["base"], t["addon"]
        star = lambda x: "*" if x["estimated"] else ""  # noqa: E731
        rows.append([t["program"], t["track"], b["code"], "base", f">= {b['minutes']}", 1,
                     f"{b['amount']:.2f}{star(b)}", t["rule"]])  # fmt: skip
        rows.append([t["program"], t["track"], a["code"], "add-on", f"each +{a['minutes_each']}",
                     a["cap"], f"{a['amount']:.2f}{star(a)}", t["rule"]])  # fmt: skip
    for lv in view.get("levels", []):
        when = f">= {lv['min_conditions']} cond" + (", qmb" if lv["qmb"] else "")
        rows.append(["apcm", f"level{lv['level']}", lv["code"], "level", when, 1,
                     f"{lv['amount']:.2f}{'*' if lv['estimated'] else ''}", lv["rule"]])  # fmt: skip
    return rows
