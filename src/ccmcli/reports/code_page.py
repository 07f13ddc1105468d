"""`ccm rules CODE`: one code explained the way a coding reference page does (contract 11).

Every fact on the page is read from the rules table the engine judges by (rules/table.py), so a
page can never disagree with a verdict. The words are our own short descriptions, not CPT text.
"""

from ccmcli.models.errors import CcmError
from ccmcli.rules.table import YEARS, Level, RuleYear, Track, known_codes, rules_for

PROGRAM_WORDS = {
    "ccm": "chronic care management: a patient with two or more chronic conditions",
    "pcm": "principal care management: one high-risk chronic condition",
    "apcm": "advanced primary care management: a monthly bundle of care management, no time "
    "threshold",
}
PERFORMER_WORDS = {"clinical_staff": "by clinical staff directed by the billing practitioner",
                   "practitioner": "by the billing practitioner personally"}  # fmt: skip
COUNTS_WORDS = {
    "pool": "clinical staff; the practitioner's own minutes count too while ccm.yaml has "
    "count_practitioner_minutes_as_staff: true (the default; T-03)",
    "staff": "clinical staff only",
    "practitioner": "the billing practitioner only, personally",
    "any": "no minutes are required: one documented activity of the program in the month, by "
    "anyone on the care team (SE-06)",
}


def _find(code: str, rules: RuleYear) -> tuple[Track, str, Level | None]:
    """The track that bills `code`, whether it is the base or the add-on, and the APCM level."""
    for t in rules.tracks:
        if code in (t.base_code, t.addon_code):
            return t, "base" if code == t.base_code else "addon", None
    for level in rules.levels:
        if code == level.code:
            return rules.level_track(level), "level", level
    known = ", ".join(known_codes())
    raise CcmError(f'unknown code "{code[:12]}"; codes known: {known}')


def code_page(code: str, year: int) -> dict:
    """The page as data: what `ccm rules CODE --format json` prints and the text is made of."""
    code = code.strip().upper()
    rules, note = rules_for(year)
    if not any(code in (t.base_code, t.addon_code) for t in rules.tracks) and all(
        code != lv.code for lv in rules.levels
    ):
        from ccmcli.reports.service_page import find_service_code, service_page

        found = find_service_code(code, year)  # A11-A15: the other monthly services' codes
        if found is not None:
            return service_page(code, *found)
    from ccmcli.reports.rules_view import code_amounts

    track, kind, level = _find(code, rules)
    page = {
        "code": code, "rules": str(rules.year), "program": track.program, "track": track.name,
        "kind": kind, "pays_for": _pays_for(track, kind, level),
        "whose_time": COUNTS_WORDS[track.counts], **_time(track, kind, level),
        "requirements": [{"rule": g.id, "blocks_when": g.summary, "source": g.rule}
                         for g in rules.gates_for(track.program)],
        "not_billed_with": _excluded(code, track, rules),
        "amounts": code_amounts(code),
        "references": [f"ccm-rules.md {track.rule}", *(f"{y}: {YEARS[y].source}" for y in sorted(YEARS))],
    }  # fmt: skip
    if note:
        page["note"] = note
    return page


def _pays_for(track: Track, kind: str, level: Level | None) -> str:
    program = PROGRAM_WORDS[track.program]
    if level is not None:
        return f"{program}; {level.summary} (a month, whole)"
    who = PERFORMER_WORDS[track.performer]
    if kind == "base":
        return f"the first {track.base_minutes} minutes in a calendar month of {program}, {who}"
    return (f"each further full {track.addon_minutes} minutes beyond the first "
            f"{track.base_minutes} in the same month of {program}, {who}")  # fmt: skip


def _time(track: Track, kind: str, level: Level | None) -> dict:
    """Threshold, step, the code it goes with and the cap (A1, T-01)."""
    if level is not None:
        qmb = (
            " and the patient is a Qualified Medicare Beneficiary (qmb: true)"
            if level.needs_qmb
            else ""
        )
        return {"threshold_minutes": None, "step_minutes": None, "cap": 1, "goes_with": None,
                "level": level.level,
                "when": f"at least {level.min_conditions} qualifying chronic conditions{qmb}; the "
                        "highest level met is billed (A8)"}  # fmt: skip
    extra = {"complex_month_only": track.needs_complex_month}
    if kind == "base":
        return {"threshold_minutes": track.base_minutes, "step_minutes": None, "cap": 1,
                "goes_with": {"code": track.addon_code, "as": "add-on",
                              "cap": track.addon_cap}, **extra}  # fmt: skip
    return {"threshold_minutes": track.base_minutes + track.addon_minutes,
            "step_minutes": track.addon_minutes, "cap": track.addon_cap,
            "goes_with": {"code": track.base_code, "as": "base", "cap": 1}, **extra}  # fmt: skip


def _excluded(code: str, track: Track, rules: RuleYear) -> list[dict]:
    """Codes of the other tracks of its program (one track a month, A1) and of the other
    programs (one program a patient-month, A8)."""
    out = []
    for t in rules.tracks:
        if t is track:
            continue
        why = ("another track of the same program: one track a month (A1)"
               if t.program == track.program else
               f"another program ({t.program}): one program a patient-month (A8)")  # fmt: skip
        out += [{"code": c, "why": why} for c in (t.base_code, t.addon_code)]
    for level in rules.levels:
        if level.code == code:
            continue
        why = ("another APCM level: one level a month (A8)" if track.program == "apcm"
               else "APCM bundles CCM and PCM: one program a patient-month (A8)")  # fmt: skip
        out.append({"code": level.code, "why": why})
    return out


def page_lines(page: dict) -> list[str]:
    """The page in plain words, for a person at a terminal."""
    if "billed" in page:
        from ccmcli.reports.service_page import service_page_lines

        return service_page_lines(page)
    t = page["threshold_minutes"]
    out = [f"{page['code']}  ({page['program']}, {page['track']} track; rules {page['rules']})", "",
           f"What it pays for: {page['pays_for']}.", f"Whose time counts: {page['whose_time']}."]  # fmt: skip
    if page.get("level"):
        out.append(f"When: {page['when']}.")
    elif page["kind"] == "base":
        g = page["goes_with"]
        out += [f"Threshold: {t} minutes in the month, met in full (no rounding; T-01); once a month.",
                f"Goes with: add-on {g['code']} for further time, at most {g['cap']} a month."]  # fmt: skip
    else:
        g = page["goes_with"]
        out += [f"Threshold: {t} minutes in the month for the first unit, then each further "
                f"{page['step_minutes']} in full; at most {page['cap']} a month (T-01).",
                f"Goes with: base {g['code']}, billed the same month."]  # fmt: skip
    if page.get("complex_month_only"):
        out.append("Only in a month listed in complex_months (moderate or high MDM; E-03).")
    from ccmcli.reports.rules_view import page_rule_lines

    return out + page_rule_lines(page)
