"""A8/A9: programs over time, APCM on claim lines, `ccm compare` and a page per code."""

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.loader import load
from ccmcli.models.months import Month
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient, Settings
from ccmcli.reports.code_page import code_page
from ccmcli.reports.compare import programs_of
from ccmcli.rules.engine import as_enrolled_in
from ccmcli.rules.enrolment import part_of_month
from ccmcli.rules.judge import judge
from ccmcli.rules.outcomes import COUNTING_COLUMNS, counted_minutes, program_outcomes
from ccmcli.rules.table import NOT_BILLED, SERVICE_GATES, YEARS, known_codes, rules_for
from ccmcli.store import log_parser, record_files
from ccmcli.store.datadir import DataDir
from ccmcli.store.timelog import OTHER_SERVICES, ROLES, Entry

CLINIC_MONTHS = ["2026-09", "2026-10", "2026-11"]


# --- ccm compare ------------------------------------------------------------------------------


def compare_json(cli, root: Path, *args) -> dict:
    result = cli("compare", "-d", root, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_compare_json_is_the_contract_shape(cli, clinic):
    out = compare_json(cli, clinic, "--month", "2026-11", "--months", "3")
    assert list(out) == ["schema", "months", "patients", "totals", "enrolled_total", "problems"]
    assert out["months"] == CLINIC_MONTHS
    assert set(out["totals"]) == {"ccm", "pcm", "apcm"}
    for p in out["patients"]:
        assert list(p) == ["patient_id", "name", "enrolled", "best", "programs"]
        for program in p["programs"].values():
            assert list(program) == ["amount", "months_billable", "blockers"]
            assert program["blockers"] == sorted(set(program["blockers"]))
    by_id = {p["patient_id"]: p for p in out["patients"]}
    assert set(by_id["P0011"]["programs"]) == {"ccm", "pcm", "apcm"}  # a principal condition
    assert set(by_id["P0001"]["programs"]) == {"ccm", "apcm"}
    assert by_id["P0018"]["enrolled"] == "apcm" and by_id["P0011"]["enrolled"] == "pcm"
    for program, total in out["totals"].items():
        parts = [
            p["programs"][program]["amount"] for p in out["patients"] if program in p["programs"]
        ]
        assert total == pytest.approx(sum(parts))


def test_compare_adds_up_what_check_gives_under_each_program(cli, clinic):
    """A9: each program is judged as if enrolled, by the rules `check` uses: the sums agree."""
    out = compare_json(cli, clinic, "--month", "2026-11", "--months", "3")
    data = DataDir(clinic.resolve())
    settings = load(data, patient_ids=()).settings
    patients = record_files.load_patients(data).patients
    logs = {m: log_parser.read_month(data, Month.parse(m)) for m in CLINIC_MONTHS}
    for p in out["patients"]:
        for program, got in p["programs"].items():
            amount, billable, blockers = 0.0, 0, set()
            for m, log in logs.items():
                pid, logged = p["patient_id"], {e.patient_id for e in log.entries}
                if not part_of_month(patients[pid], Month.parse(m), pid in logged):
                    continue  # A17: a month the patient is no part of adds nothing
                rules, _ = rules_for(2026)
                who = as_enrolled_in(patients[p["patient_id"]], program)
                j = judge(who, Month.parse(m), log.entries, settings, rules)
                amount, billable = amount + j.amount, billable + (j.status == "billable")
                blockers |= {b.rule for b in j.blockers}
            assert got == {"amount": round(amount, 2), "months_billable": billable,
                           "blockers": sorted(blockers)}, (p["patient_id"], program)  # fmt: skip


def test_compare_reads_the_same_from_the_log_cache(cli, clinic, monkeypatch):
    """A year is read as columns straight from the month-log cache; a cold and a warm run
    agree, and the warm one parses no log."""
    from ccmcli.store import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)  # trust files copied a moment ago
    cold = compare_json(cli, clinic, "--month", "2026-11", "--months", "3")

    def parsed(*args, **kwargs):
        raise AssertionError("parsed a log")

    monkeypatch.setattr(log_parser, "read_month", parsed)
    assert compare_json(cli, clinic, "--month", "2026-11", "--months", "3") == cold


def test_compare_finds_what_the_clinic_shows(cli, clinic):
    out = compare_json(cli, clinic, "--month", "2026-10")
    by_id = {p["patient_id"]: p["programs"] for p in out["patients"]}
    # P0008: a visit 467 days before consent blocks ccm (365) but not apcm (1,095; IV-03)
    assert by_id["P0008"]["ccm"]["blockers"] == ["no_initiating_visit"]
    assert by_id["P0008"]["apcm"] == {"amount": 53.78, "months_billable": 1, "blockers": []}
    # P0004: one chronic condition blocks ccm; apcm is level 1
    assert by_id["P0004"]["apcm"]["amount"] == 16.37
    # P0013: no entry in October: no apcm activity
    assert by_id["P0013"]["apcm"]["blockers"] == ["no_service_this_month"]


def test_compare_only_some_patients_and_an_unknown_one(cli, clinic):
    out = compare_json(cli, clinic, "P0002", "P0011", "--month", "2026-10")
    assert [p["patient_id"] for p in out["patients"]] == ["P0002", "P0011"]
    bad = cli("compare", "-d", clinic, "P9999", "--month", "2026-10")
    assert bad.exit_code == 1 and 'cannot compare "P9999": no such patient' in bad.stderr
    assert cli("compare", "-d", clinic, "--months", "0").exit_code == 2


def test_compare_table_marks_the_best_program_and_ends_with_totals(cli, clinic):
    result = cli("compare", "-d", clinic, "--month", "2026-10", "--months", "2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2026-09 to 2026-10, 2 months" in lines[0]
    p8 = next(line for line in lines if line.lstrip().startswith("P0008"))
    assert "107.56 *" in p8 and "ccm: no_initiating_visit" in p8
    total = [line for line in lines if line.strip()][-1].split()
    out = compare_json(cli, clinic, "--month", "2026-10", "--months", "2")
    assert total[0] == "total" and total[1:3] == [str(len(out["patients"])), "patients"]
    assert total[-3:] == [f"{out['totals'][p]:.2f}" for p in ("ccm", "pcm", "apcm")]


def test_compare_csv_is_guarded_against_formulas(cli, clinic):
    path = clinic / "patients" / "P0003.yaml"
    path.write_text(path.read_text().replace("name: Dolores Whitfield", "name: =HYPERLINK(1)"))
    result = cli("compare", "-d", clinic, "--month", "2026-10", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:4] == ["patient_id", "name", "enrolled", "best"]
    p3 = next(r for r in rows if r[0] == "P0003")
    assert p3[1] == "'=HYPERLINK(1)"
    assert rows[-1][0] == "TOTAL"


# --- programs over time and the export --------------------------------------------------------


def test_a_switch_to_apcm_after_an_exported_ccm_month(cli, clinic):
    """September is exported as ccm; from October P0018 is in apcm. October's claim is the
    level's G-code; September, exported again, stays as it was (past months keep their program)."""
    sept = cli("export", "-d", clinic, "--month", "2026-09")
    assert sept.exit_code == 0, sept.stderr
    lines = list(csv.DictReader(io.StringIO(sept.stdout)))
    assert [(r["code"], r["units"]) for r in lines if r["patient_id"] == "P0018"] == [
        ("99490", "1")
    ]
    october = cli("export", "-d", clinic, "--month", "2026-10")
    assert october.exit_code == 0, october.stderr
    rows = [r for r in csv.DictReader(io.StringIO(october.stdout)) if r["patient_id"] == "P0018"]
    assert [(r["code"], r["units"], r["date_of_service"], r["dx1"], r["dx2"]) for r in rows] == [
        ("G0557", "1", "2026-10-31", "E11.9", "I10")]  # fmt: skip
    again = cli("export", "-d", clinic, "--month", "2026-09")
    assert again.exit_code == 0, again.stderr
    assert list(csv.DictReader(io.StringIO(again.stdout))) == []
    sept_check = json.loads(
        cli("check", "-d", clinic, "--month", "2026-09", "P0018", "-f", "json").stdout
    )
    assert sept_check["patients"][0]["program"] == "ccm"


def test_fees_may_name_g_codes_but_not_unknown_codes(cli, clinic):
    settings = clinic / "ccm.yaml"
    settings.write_text(settings.read_text() + 'fees:\n  "G0557": 60.00\n')
    out = cli("export", "-d", clinic, "--month", "2026-10")
    assert out.exit_code == 0, out.stderr
    charges = {(r["patient_id"], r["code"]): r["charge"]
               for r in csv.DictReader(io.StringIO(out.stdout))}  # fmt: skip
    assert charges["P0016", "G0557"] == "60.00" and charges["P0015", "G0556"] == "16.37"
    assert charges["P0016", "G0570"] == "57.78"  # its own code, its national amount
    settings.write_text(settings.read_text().replace('"G0557"', '"G0511"'))
    assert (
        "G0511 is not a code ccm bills" in cli("validate", "-d", clinic, "--no-code-check").stdout
    )


def test_program_changes_must_be_in_order(cli, clinic):
    path = clinic / "patients" / "P0018.yaml"
    path.write_text(path.read_text().replace(
        "  - month: 2026-10\n    program: apcm\n",
        "  - month: 2026-10\n    program: apcm\n  - month: 2026-09\n    program: ccm\n"))  # fmt: skip
    out = cli("validate", "-d", clinic, "--no-code-check").stdout
    assert "patients/P0018.yaml" in out and "program_changes must be in month order" in out


# --- a page per code --------------------------------------------------------------------------


def program_codes(rules) -> set[str]:
    """The codes of a year's programs: every track's base and add-on (A1), every APCM level (A8)."""
    tracks = {c for t in rules.tracks for c in (t.base_code, t.addon_code)}
    return tracks | {level.code for level in rules.levels}


def service_codes(rules) -> set[str]:
    """The codes of a year's other monthly services (A11-A14): tiers, add-ons, G0570 (A12)."""
    tiers = {c for r in rules.services for c in (r.short_code, r.base_code, r.addon_code) if c}
    return tiers | {a.code for a in rules.addons}


@pytest.mark.parametrize("code", known_codes())
@pytest.mark.parametrize("year", sorted(YEARS))
def test_every_code_has_a_page_that_agrees_with_the_table(code, year):
    rules, _ = rules_for(year)
    page = code_page(code.lower(), year)
    assert page["code"] == code
    assert [(a["year"], a["amount"]) for a in page["amounts"]] == [
        (y, YEARS[y].amounts[code].dollars) for y in sorted(YEARS) if code in YEARS[y].amounts]  # fmt: skip
    assert page["references"]
    if code not in program_codes(rules):
        service_page_agrees(page, code, year)
        return
    assert page["rules"] == str(year)
    track = next((t for t in rules.tracks if code in (t.base_code, t.addon_code)), None)
    if track is None:
        level = next(lv for lv in rules.levels if lv.code == code)
        assert (page["program"], page["level"], page["threshold_minutes"]) == (
            "apcm",
            level.level,
            None,
        )
        assert "qmb" in page["when"] if level.needs_qmb else "qmb" not in page["when"]
        program = "apcm"
    else:
        program = track.program
        base = code == track.base_code
        assert page["threshold_minutes"] == track.thresholds()[0 if base else 1]
        assert page["step_minutes"] == (None if base else track.addon_minutes)
        assert page["cap"] == (1 if base else track.addon_cap)
        assert page["goes_with"]["code"] == (track.addon_code if base else track.base_code)
        assert page["complex_month_only"] == track.needs_complex_month
    assert [r["rule"] for r in page["requirements"]] == [g.id for g in rules.gates_for(program)]
    partner = {page["goes_with"]["code"]} if page["goes_with"] else set()
    # one track a month (A1), one program a patient-month (A8); the other services' codes are
    # billed beside the program (A16), so none of them is "not billed with" a program's code
    assert {x["code"] for x in page["not_billed_with"]} == program_codes(rules) - {code} - partner


def service_page_agrees(page: dict, code: str, year: int) -> None:
    """A code of another monthly service (A11-A14): its page is read from the table of its year,
    or of the nearest year that bills it (99470, 98979 and G0570 from 2026)."""
    table = min((YEARS[y] for y in YEARS if code in service_codes(YEARS[y])),
                key=lambda r: abs(r.year - year))  # fmt: skip
    assert page["rules"] == str(table.year)
    if table.year != year:
        assert page["note"] == f"{code} is not billed in {year}; this is the {table.year} table"
    excluded = {x["code"] for x in page["not_billed_with"]}
    assert not excluded & program_codes(table)  # billed beside every program's codes (A16)
    addon = next((a for a in table.addons if a.code == code), None)
    if addon is not None:  # A12: G0570 beside an APCM level, never with the 99484 it mirrors
        assert page["program"] == addon.program
        assert all(lv.code in page["goes_with"]["code"] for lv in table.levels)
        service = addon.service
        assert {r.base_code for r in table.services if r.service == service} <= excluded
    else:
        r = next(r for r in table.services if code in (r.short_code, r.base_code, r.addon_code))
        service = r.service
        kind = {r.short_code: "short", r.base_code: "base", r.addon_code: "addon"}[code]
        assert page["kind"] == kind
        assert page["threshold_minutes"] == {
            "short": r.short_minutes, "base": r.base_minutes,
            "addon": r.base_minutes + r.addon_minutes}[kind]  # fmt: skip
        assert page["step_minutes"] == (r.addon_minutes if kind == "addon" else None)
        partner = {"short": "", "base": r.addon_code, "addon": r.base_code}[kind]
        assert (page["goes_with"] or {}).get("code", "") == partner
        tiers = {r.short_code, r.base_code} - {""} if kind != "addon" else set()
        assert tiers - {code} <= excluded  # one tier a month (F-26, F-36)
        assert {a.code for a in table.addons if a.service == service} <= excluded
    assert [x["rule"] for x in page["requirements"]] == [
        g.id for g in SERVICE_GATES if service in g.programs and code in (g.codes or [code])]  # fmt: skip
    blocks = any(x["rule"] == "bh_addon_without_apcm" for x in page["requirements"])
    assert blocks == (code == "G0570")  # A12: only the add-on, never 99484, needs APCM


def table_codes(rules) -> set[str]:
    """Every code a year's table names: those it bills (amounts) and those ccm reports and never
    bills (A15)."""
    return set(rules.amounts) | {c for nb in NOT_BILLED for c in nb.codes}


@pytest.mark.parametrize("code", [*known_codes(), *(c for nb in NOT_BILLED for c in nb.codes)])
@pytest.mark.parametrize("year", sorted(YEARS))
def test_a_page_names_only_codes_of_the_table_it_reads(code, year):
    """A page for a year is read from one table (its `rules`): every code it is not billed with is
    one code, one that table has (G0570 only from 2026; no "RPM/RTM", no "99492-99494")."""
    page = code_page(code, year)
    table = YEARS[int(page["rules"])]
    named = [x["code"] for x in page["not_billed_with"]]
    assert set(named) <= table_codes(table), named
    assert len(named) == len(set(named)), named


def test_99484_in_2025_is_not_billed_with_g0570_for_g0570_does_not_exist(cli):
    result = cli("rules", "99484", "--year", "2025")
    assert result.exit_code == 0, result.stderr
    assert "G0570" not in result.stdout and "2025" in result.stdout.splitlines()[0]
    page = json.loads(cli("rules", "99484", "--year", "2026", "-f", "json").stdout)
    assert [x["code"] for x in page["not_billed_with"]] == [
        "G0570", "99492", "99493", "99494", "G2214"]  # fmt: skip


@pytest.mark.parametrize("year", sorted(YEARS))
def test_an_add_on_page_names_the_short_code_it_is_never_billed_with(year):
    """99458 goes with 99457 only, never with 99470 (A13, F-28), and 98981 with 98980, never with
    98979 (A14): the add-on starts at 40 minutes, the short code stops at 19."""
    rules = YEARS[year]
    for r in rules.services:
        if not r.addon_code:
            continue
        addon, short = code_page(r.addon_code, year), code_page(r.short_code, year) if (
            r.short_code) else None  # fmt: skip
        assert addon["goes_with"]["code"] == r.base_code
        named = {x["code"] for x in addon["not_billed_with"]}
        assert (r.short_code in named) if r.short_code else not named & {"99470", "98979"}
        if short is not None:
            assert {r.base_code, r.addon_code} <= {x["code"] for x in short["not_billed_with"]}


@pytest.mark.parametrize("year", sorted(YEARS))
def test_rpm_and_rtm_pages_list_the_other_service_s_codes(cli, year):
    """F-31: a patient is in RPM or RTM in a month, not both: each page names the other service's
    codes of that year, in JSON and in words, and no group label."""
    rules = YEARS[year]
    codes = {r.service: [c for c in (r.short_code, r.base_code, r.addon_code) if c]
             for r in rules.services}  # fmt: skip
    for service, other in (("rpm", "rtm"), ("rtm", "rpm")):
        for code in codes[service]:
            page = json.loads(cli("rules", code, "--year", str(year), "-f", "json").stdout)
            assert page["rules"] == str(year)
            named = [x["code"] for x in page["not_billed_with"]]
            assert [c for c in named if c in codes[other]] == codes[other], (code, named)
            text = cli("rules", code, "--year", str(year)).stdout
            assert "RPM/RTM" not in text
            assert all(f"  {c}: a patient is in RPM or RTM" in text for c in codes[other])


def test_rules_code_prints_the_page_in_words(cli):
    result = cli("rules", "99491", "--year", "2026")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("99491  (ccm, practitioner track; rules 2026)")
    for words in ("What it pays for: the first 30 minutes", "Whose time counts: the billing "
                  "practitioner only", "Threshold: 30 minutes", "add-on 99437",
                  "at most 2 a month", "no_initiating_visit:", "99490: another track",
                  "G0557: APCM bundles CCM and PCM", "2025: 82.16", "References:"):  # fmt: skip
        assert words in text, words
    page = json.loads(cli("rules", "G0558", "--year", "2026", "-f", "json").stdout)
    assert page["program"] == "apcm" and page["amounts"][-1]["amount"] == 117.24


def test_an_unknown_code_lists_the_known_ones(cli):
    result = cli("rules", "99999")
    assert result.exit_code == 1
    assert result.stderr.startswith('ccm: unknown code "99999"; codes known: 99490, 99439')
    assert "G0558" in result.stderr


# --- property: compare's short path gives what judge gives ----------------------------------

MARCH = Month(2026, 3)
BASE_DAY = date(2026, 3, 1)
day_st = st.integers(-800, 40).map(lambda n: (BASE_DAY + timedelta(days=n)).isoformat())
maybe_day = st.one_of(st.none(), day_st)


@st.composite
def patients(draw):
    codes = draw(st.lists(st.sampled_from(["E11.9", "I10", "J44.9", "N18.4"]), unique=True))
    record = {"id": "P1", "name": "T", "birth_date": "1950-01-01", "conditions": codes,
              "qmb": draw(st.booleans()), "discharged": draw(maybe_day)}  # fmt: skip
    if codes and draw(st.booleans()):
        record["principal_condition"] = codes[0]
    consent = draw(maybe_day)
    if consent:
        revoked = draw(maybe_day)
        revoked = revoked if revoked and revoked >= consent else None  # before it: an error (19b)
        record["consent"] = {"date": consent, "method": "verbal", "revoked": revoked}
    for key, fields in (("initiating_visit", {"type": "em"}), ("care_plan", {})):
        when = draw(maybe_day)
        if when:
            record[key] = {"date" if key != "care_plan" else "established": when, **fields}
    return validate(Patient, {k: v for k, v in record.items() if v is not None})


entries_st = st.lists(st.tuples(st.integers(1, 31), st.integers(1, 60), st.sampled_from(ROLES),
                                st.sampled_from(("", "", *OTHER_SERVICES)), st.booleans()),
                      max_size=6)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(patient=patients(), specs=entries_st, pool=st.booleans(),
       selection=st.sampled_from(["max_payment", "performer"]))  # fmt: skip
def test_compare_outcomes_equal_judge_for_every_program(patient, specs, pool, selection):
    practice = validate(Settings, {
        "practice": "T", "timezone": "America/Chicago", "billing_npi": "1234567893",
        "selection": selection, "count_practitioner_minutes_as_staff": pool})  # fmt: skip
    entries = [Entry(f"E{n}", "P1", date(2026, 3, d), m, role, "s", "", "", "", "", "", "", n, "x",
                     "V" if voided else None, service)
               for n, (d, m, role, service, voided) in enumerate(specs)]  # fmt: skip
    rules, _ = rules_for(2026)
    columns = [[getattr(e, c) for e in entries] for c in COUNTING_COLUMNS]
    columns[1] = [d.toordinal() for d in columns[1]]
    staff, prac = counted_minutes({"P1": patient}, columns).get("P1", (0, 0))
    variants = [(p, as_enrolled_in(patient, p)) for p in programs_of(patient)]
    got = program_outcomes(MARCH, staff, prac, practice, rules, variants)
    for (program, amount, billable, blockers), (_, who) in zip(got, variants, strict=True):
        j = judge(who, MARCH, entries, practice, rules)
        assert (amount, billable, blockers) == (
            j.amount, j.status == "billable", [b.rule for b in j.blockers]), program  # fmt: skip


def test_compare_gives_the_same_answer_with_months_judged_in_forked_workers(
    cli, clinic, monkeypatch, request
):
    from ccmcli.store import cache

    monkeypatch.setenv(cache.ENV_OFF, "1")  # every month judged, none kept
    args = ("-d", clinic, "compare", "--month", "2026-11", "--months", "3", "--format", "json")
    serial = cli(*args)
    forks = request.getfixturevalue("forked_worker")  # a worker from here on
    parallel = cli(*args)
    assert forks  # the months were shared with a worker
    assert parallel.stdout == serial.stdout and parallel.exit_code == serial.exit_code


def test_kept_months_of_compare_give_the_answer_without_caches(cli, clinic, monkeypatch):
    """compare keeps each month's outcomes under everything they are judged from; a change to
    one month's log is seen by the next run, and kept months equal months judged afresh."""
    from ccmcli.store import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)  # trust files copied a moment ago
    args = ("-d", clinic, "compare", "--month", "2026-11", "--months", "3", "--format", "json")

    def fresh() -> str:
        monkeypatch.setenv(cache.ENV_OFF, "1")
        out = cli(*args).stdout
        monkeypatch.delenv(cache.ENV_OFF)
        return out

    first = cli(*args).stdout
    assert cli(*args).stdout == first == fresh()
    logged = cli("-d", clinic, "log", "P0003", "45", "--date", "2026-09-28")
    assert logged.exit_code == 0, logged.stderr
    after = cli(*args).stdout
    assert after == fresh() and after != first
