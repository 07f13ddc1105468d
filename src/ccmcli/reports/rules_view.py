"""`ccm rules`: the table in force for a service year, as data.

Each amount comes with what it is computed from (A6): the code's non-facility total RVU, the
year's conversion factor and the CMS file that publishes both, so a biller can check it.
"""

from ccmcli.models.months import now
from ccmcli.reports.wording import rule_ref
from ccmcli.rules.table import Amount, rules_for

ROWS_HEADER = ["program", "track", "code", "kind", "minutes", "min_conditions", "qmb", "cap",
               "amount", "references", "rvu", "conversion_factor", "rvu_file"]  # fmt: skip


def amount_dict(a: Amount) -> dict:
    return {"amount": a.dollars, "rvu": float(a.rvu),
            "conversion_factor": float(a.conversion_factor), "rvu_file": a.file}  # fmt: skip


def rules_dict(year: int | None) -> dict:
    rules, note = rules_for(year or now().astimezone().year)
    tracks = []
    for t in rules.tracks:
        tracks.append({
            "program": t.program, "track": t.name, "references": t.rule, "summary": t.summary,
            "counts": t.counts, "complex_month_only": t.needs_complex_month,
            "base": {"code": t.base_code, "minutes": t.base_minutes,
                     **amount_dict(rules.amounts[t.base_code])},
            "addon": {"code": t.addon_code, "minutes_each": t.addon_minutes, "cap": t.addon_cap,
                      **amount_dict(rules.amounts[t.addon_code])},
        })  # fmt: skip
    levels = [{"program": "apcm", "level": lv.level, "code": lv.code, "references": lv.rule,
               "summary": lv.summary, "min_conditions": lv.min_conditions, "qmb": lv.needs_qmb,
               **amount_dict(rules.amounts[lv.code])} for lv in rules.levels]  # fmt: skip
    gates = [{"rule": g.id, "ref": rule_ref(g.id, rules), "programs": list(g.programs),
              "source": g.rule, "summary": g.summary} for g in rules.gates]  # fmt: skip
    schedule = rules.fee_schedule
    out = {"schema": "ccm.rules/1", "year": rules.year, "rules": str(rules.year),
           "conversion_factor": float(schedule.conversion_factor),
           "rvu_file": {"name": schedule.name, "released": schedule.released},
           "source": rules.source, "tracks": tracks, "levels": levels, "gates": gates}  # fmt: skip
    if note:
        out["note"] = note
    return out


def rules_rows(view: dict) -> list[list]:
    """One row per code, `ROWS_HEADER`: the base code's threshold or the add-on's step in
    minutes (an APCM level: its conditions), the amount beside the RVU, factor and file."""
    rows = []
    for t in view["tracks"]:
        b, a = t["base"], t["addon"]
        rows.append([t["program"], t["track"], b["code"], "base", b["minutes"], None, None, 1,
                     f"{b['amount']:.2f}", t["references"], *_source(b)])  # fmt: skip
        rows.append([t["program"], t["track"], a["code"], "add-on", a["minutes_each"], None,
                     None, a["cap"], f"{a['amount']:.2f}", t["references"], *_source(a)])  # fmt: skip
    for lv in view.get("levels", []):
        rows.append(["apcm", f"level{lv['level']}", lv["code"], "level", None,
                     lv["min_conditions"], "yes" if lv["qmb"] else "", 1, f"{lv['amount']:.2f}",
                     lv["references"], *_source(lv)])  # fmt: skip
    return rows


def when_text(row: dict) -> str:
    """The table's words for a row's threshold: `>= 20`, `each +20`, `>= 2 cond, qmb`."""
    if row["kind"] == "base":
        return f">= {row['minutes']}"
    if row["kind"] == "add-on":
        return f"each +{row['minutes']}"
    return f">= {row['min_conditions']} cond" + (", qmb" if row["qmb"] else "")


def _source(x: dict) -> list[str]:
    return [f"{x['rvu']:.2f}", f"{x['conversion_factor']:.4f}", x["rvu_file"]]


def amounts_note(view: dict) -> str:
    """The line under the table: how every amount was reached, and from which release."""
    f = view["rvu_file"]
    released = f", released {f['released']}" if f["released"] else ""
    return (f"amount = non-facility total RVU x conversion factor {view['conversion_factor']:.4f}, "
            f"rounded half up to cents; CMS {f['name']}{released} (ccm-rules.md A6)")  # fmt: skip
