"""`ccm rules CODE` for the codes of the other monthly services (ccm-rules A11-A15): 99484,
G0570, 99470/99457/99458, 98979/98980/98981, and the codes ccm reports but never bills.

Read from the rules table like the program codes' pages (code_page.py); the words are our own.
"""

from ccmcli.rules.table import (
    COCM,
    NOT_BILLED,
    SERVICE_GATES,
    YEARS,
    AddonRule,
    RuleYear,
    ServiceRule,
    rules_for,
)

SERVICE_WORDS = {
    "bhi": "general behavioral health integration: care management of a behavioral-health "
    "condition the billing practitioner treats",
    "rpm": "remote physiologic monitoring treatment management: the care team's time on a "
    "patient's device readings, with a live interactive contact in the month",
    "rtm": "remote therapeutic monitoring treatment management: as RPM, for therapeutic data "
    "(musculoskeletal, respiratory, therapy adherence)",
}
SETTING_WORDS = {
    "rpm": "rpm_interactive_activities (default call, video) name the activities that are a "
    "live contact; rpm_addon_cap (default 3) caps 99458; rpm_rtm_conflict (default block_both)",
    "rtm": "bill_rtm (default false) must be true for RTM to bill at all; "
    "rtm_interactive_activities (default call, video); rtm_addon_cap (default 1)",
    "bhi": "apcm_bhi_code (default g0570) says what BHI bills in an APCM month from 2026",
}


def find_service_code(code: str, year: int) -> tuple[RuleYear, str | None, object] | None:
    """The table, a note, and the ServiceRule / AddonRule / NotBilled that holds `code`; the
    year asked first, else the nearest year whose table has it (99470 exists from 2026)."""
    rules, note = rules_for(year)
    for table in [rules, *(YEARS[y] for y in sorted(YEARS, key=lambda y: abs(y - year)))]:
        found = _in(code, table)
        if found is not None:
            if table is not rules:
                note = f"{code} is not billed in {year}; this is the {table.year} table"
            return table, note, found
    return None


def _in(code: str, rules: RuleYear):
    for r in rules.services:
        if code in (r.base_code, r.short_code, r.addon_code):
            return r
    for a in rules.addons:
        if code == a.code:
            return a
    for nb in NOT_BILLED:
        if code in nb.codes:
            return nb
    return None


def service_page(code: str, rules: RuleYear, note: str | None, found) -> dict:
    """The page as data, with the same keys as a program code's page where they apply."""
    if isinstance(found, ServiceRule):
        page = _timed_page(code, rules, found)
    elif isinstance(found, AddonRule):
        page = _addon_page(code, rules, found)
    else:
        page = {"code": code, "rules": str(rules.year), "program": found.service,
                "track": "not billed", "kind": "not_billed", "billed": False,
                "pays_for": found.summary, "why_not_billed": found.reason,
                "whose_time": "not assessed", "threshold_minutes": None, "step_minutes": None,
                "cap": None, "goes_with": None, "requirements": [], "not_billed_with": [],
                "amounts": [], "references": [f"ccm-rules.md {found.rule}"]}  # fmt: skip
    if note:
        page["note"] = note
    return page


def _timed_page(code: str, rules: RuleYear, r: ServiceRule) -> dict:
    from ccmcli.reports.rules_view import code_amounts

    if code == r.short_code:
        kind, threshold, step, cap = "short", r.short_minutes, None, 1
        pays = (f"{r.short_minutes} to {r.base_minutes - 1} minutes in a calendar month of "
                f"{SERVICE_WORDS[r.service]}")  # fmt: skip
        goes = None
    elif code == r.base_code:
        kind, threshold, step, cap = "base", r.base_minutes, None, 1
        pays = (
            f"the first {r.base_minutes} minutes in a calendar month of {SERVICE_WORDS[r.service]}"
        )
        goes = (
            {"code": r.addon_code, "as": "add-on", "cap": r.cap_setting} if r.addon_code else None
        )
    else:
        kind, threshold, step, cap = (
            "addon",
            r.base_minutes + r.addon_minutes,
            r.addon_minutes,
            r.cap_setting,
        )
        pays = (f"each further full {r.addon_minutes} minutes beyond the first {r.base_minutes} "
                f"in the same month of {SERVICE_WORDS[r.service]}")  # fmt: skip
        goes = {"code": r.base_code, "as": "base", "cap": 1}
    return {
        "code": code, "rules": str(rules.year), "program": r.service, "track": "service",
        "kind": kind, "billed": True, "pays_for": pays,
        "whose_time": f"clinical staff and the billing practitioner, pooled; only entries logged "
                      f"with service {r.service}, never the program's minutes (A7)",
        "threshold_minutes": threshold, "step_minutes": step, "cap": cap, "goes_with": goes,
        "settings": SETTING_WORDS[r.service],
        "requirements": _gates(r.service, code),
        "not_billed_with": _not_billed_with(code, kind, rules, r),
        "amounts": code_amounts(code),
        "references": [f"ccm-rules.md {r.rule}", *(f"{y}: {YEARS[y].source}" for y in sorted(YEARS))],
    }  # fmt: skip


def _addon_page(code: str, rules: RuleYear, a: AddonRule) -> dict:
    from ccmcli.reports.rules_view import code_amounts

    return {
        "code": code, "rules": str(rules.year), "program": a.program, "track": "add-on",
        "kind": "program_addon", "billed": True, "pays_for": a.summary,
        "whose_time": "clinical staff and the billing practitioner, pooled; entries logged with "
                      "service bhi",
        "threshold_minutes": None, "step_minutes": None, "cap": 1,
        "goes_with": {"code": "G0556, G0557 or G0558", "as": "base", "cap": 1},
        "policy": "ccm policy, not a CMS rule: CMS's G0570 descriptor sets no minutes (F-01); "
                  f"ccm bills it from {a.minutes_setting} (default 20) countable bhi minutes, "
                  "the 99484 it is valued from; a practice may set it to 1",
        "settings": SETTING_WORDS["bhi"],
        "requirements": _gates("bhi", code),
        "not_billed_with": [{"code": "99484", "why": "the standalone code it mirrors (F-08)"},
                            *_cocm("F-08")],
        "amounts": code_amounts(code),
        "references": [f"ccm-rules.md {a.rule}", *(f"{y}: {YEARS[y].source}" for y in sorted(YEARS))],
    }  # fmt: skip


# The add-on goes with the base code only: it starts at base + step minutes, above the short band.
ADDON_ONLY = {"rpm": "A13, F-28", "rtm": "A14"}


def _not_billed_with(code: str, kind: str, rules: RuleYear, r: ServiceRule) -> list[dict]:
    """Each code, one by one, of the table the page reads (`rules`) that `code` is never billed
    with in the same patient-month: a code that year does not have is not named."""
    out = []
    if kind != "addon":
        out += [{"code": c, "why": "one code of the 10-19 and 20-minute tiers a month (F-26, F-36)"}
                for c in (r.short_code, r.base_code) if c and c != code]  # fmt: skip
    if r.short_code and r.addon_code and kind in ("short", "addon"):
        why = (f"{r.addon_code} is an add-on to {r.base_code} only, never to {r.short_code}: it "
               f"starts at {r.base_minutes + r.addon_minutes} minutes, {r.short_code} stops at "
               f"{r.base_minutes - 1} ({ADDON_ONLY[r.service]})")  # fmt: skip
        out.append({"code": r.addon_code if kind == "short" else r.short_code, "why": why})
    if r.service == "bhi":
        addon = rules.addon_for("bhi", "apcm")  # G0570: 2026 on (A12)
        if addon is not None:
            out.append({"code": addon.code, "why": "the APCM add-on mirroring 99484 (F-08)"})
        out += _cocm("F-18")
    other = rules.service({"rpm": "rtm", "rtm": "rpm"}.get(r.service, ""))
    if other is not None:
        why = "a patient is in RPM or RTM in a month, not both (F-31; rpm_rtm_conflict)"
        out += [{"code": c, "why": why}
                for c in (other.short_code, other.base_code, other.addon_code) if c]  # fmt: skip
    return out


def _cocm(fact: str) -> list[dict]:
    return [{"code": c, "why": f"CoCM the same month ({fact})"} for c in COCM.codes]


def _gates(service: str, code: str) -> list[dict]:
    """The service's gates that can block `code` (bh_addon_without_apcm blocks G0570 alone)."""
    return [{"rule": g.id, "blocks_when": g.summary, "source": g.rule} for g in SERVICE_GATES
            if service in g.programs and (not g.codes or code in g.codes)]  # fmt: skip


def service_page_lines(page: dict) -> list[str]:
    """The page in plain words."""
    out = [f"{page['code']}  ({page['program']}, {page['track']}; rules {page['rules']})", "",
           f"What it pays for: {page['pays_for']}."]  # fmt: skip
    if not page["billed"]:
        out += [f"ccm reports these minutes and never bills this code: {page['why_not_billed']}."]
        out += ["", "References:"] + [f"  {r}" for r in page["references"]]
        return out + ([f"note: {page['note']}"] if page.get("note") else [])
    out.append(f"Whose time counts: {page['whose_time']}.")
    t, g = page["threshold_minutes"], page["goes_with"]
    if page["kind"] == "short":
        out.append(f"Threshold: {t} minutes in the month, met in full (no rounding; T-01); once "
                   "a month; from 20 minutes the base code is billed instead.")  # fmt: skip
    elif page["kind"] == "base":
        out.append(
            f"Threshold: {t} minutes in the month, met in full (no rounding; T-01); once a month."
        )
    elif page["kind"] == "addon":
        out.append(f"Threshold: {t} minutes for the first unit, then each further "
                   f"{page['step_minutes']} in full; at most the {page['cap']} setting a month.")  # fmt: skip
    else:
        out.append(f"Minutes: {page['policy']}.")
    if g:
        out.append(f"Goes with: {g['as']} {g['code']}.")
    from ccmcli.reports.rules_view import page_rule_lines

    return [*out, f"Settings: {page['settings']}.", *page_rule_lines(page)]
