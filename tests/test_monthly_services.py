"""A11-A16: BHI (99484), G0570 beside APCM, RPM and RTM billed from their own minutes, through
the real `ccm check --format json` and `ccm explain`: the key tests N1-N12 of
ccm-rules-services.md and each threshold at its edge."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.store import timelog

APCM = """\
id: {pid}
name: Test Patient {pid}
birth_date: 1950-01-02
program: {program}
conditions: [E11.9, I10]
consent: {{date: 2025-01-06, method: verbal}}
initiating_visit: {{date: 2025-01-06, type: awv}}
care_plan: {{established: {plan}}}
"""
BHI_BLOCK = """\
bhi:
  conditions: [F33.1]
  consent: {date: 2025-01-06, method: verbal}
  care_plan: {established: 2025-01-06}
"""
RPM_BLOCK = "rpm:\n  consent: {date: 2025-01-06, method: verbal}\n"
RTM_BLOCK = "rtm:\n  consent: {date: 2025-01-06, method: verbal}\n"


class Month:
    """One patient's month in a fresh data directory: record, settings, entries."""

    def __init__(self, cli, root: Path, month: str, monkeypatch, now: str | None = None):
        self.cli, self.root, self.month = cli, root, month
        year, mm = map(int, month.split("-"))
        after = f"{year + (mm == 12)}-{mm % 12 + 1:02d}-15T10:00:00-06:00"
        monkeypatch.setenv("CCM_NOW", now or after)
        self.rows: list[str] = []

    def patient(self, program="ccm", plan="2025-01-06", extra="", pid="P1") -> "Month":
        text = APCM.format(pid=pid, program=program, plan=plan) + extra
        (self.root / "patients" / f"{pid}.yaml").write_text(text)
        return self

    def settings(self, text: str) -> "Month":
        with (self.root / "ccm.yaml").open("a") as f:
            f.write(text)
        return self

    def log(self, day: int, minutes: int, service: str = "", activity: str = "call",
            role: str = "clinical_staff", pid: str = "P1") -> "Month":  # fmt: skip
        n = len(self.rows) + 1
        self.rows.append(f"E{n},{pid},{self.month}-{day:02d},{minutes},{role},rn,{activity},,,,"
                         f"{self.month}-{day:02d}T12:00:00-06:00,,{service}\n")  # fmt: skip
        return self

    def check(self, pid: str = "P1") -> dict:
        (self.root / "logs" / f"{self.month}.csv").write_text(timelog.HEADER + "".join(self.rows))
        result = self.cli("check", "-d", self.root, "--month", self.month, "-f", "json")
        assert result.exit_code == 0, result.stderr + result.stdout
        out = json.loads(result.stdout)
        self.summary = out["summary"]
        return next(p for p in out["patients"] if p["patient_id"] == pid)

    def explain(self, pid: str = "P1") -> tuple[dict, str]:
        (self.root / "logs" / f"{self.month}.csv").write_text(timelog.HEADER + "".join(self.rows))
        as_json = self.cli("explain", pid, "-d", self.root, "--month", self.month, "-f", "json")
        text = self.cli("explain", pid, "-d", self.root, "--month", self.month)
        assert as_json.exit_code == 0 and text.exit_code == 0, as_json.stderr + text.stderr
        return json.loads(as_json.stdout), text.stdout


@pytest.fixture
def month(cli, datadir, monkeypatch):
    return lambda m, now=None: Month(cli, datadir, m, monkeypatch, now)


def service(p: dict, name: str) -> dict:
    return next(s for s in p["services"] if s["service"] == name)


def codes(s: dict) -> list[tuple[str, int]]:
    return [(c["code"], c["units"]) for c in s["codes"]]


def rules(s: dict) -> list[str]:
    return [b["rule"] for b in s["blockers"]]


def warned(s: dict) -> list[str]:
    return [w["rule"] for w in s["warnings"]]


def n1(month):
    return month("2026-02").patient("apcm", extra=BHI_BLOCK).log(3, 5).log(4, 20, "bhi")


# --- N1-N5: G0570 beside APCM (A12) ------------------------------------------------------------


def test_n1_g0570_beside_g0557_with_the_policy_note(month):
    p = n1(month).check()
    assert codes(p) == [("G0557", 1)] and p["amount"] == 53.78
    bhi = service(p, "bhi")
    assert bhi["status"] == "billable" and codes(bhi) == [("G0570", 1)] and bhi["amount"] == 57.78
    assert bhi["date_of_service"] == "2026-02-28"  # the APCM code's (D-07)
    assert "g0570_min_minutes is ccm policy, not a CMS rule" in bhi["note"]
    assert p["total_amount"] == 111.56 and p["patient_share"] == 22.31


def test_n1_explain_names_the_policy_and_why_99484_is_not_billed(month):
    ex, text = n1(month).explain()
    assert service(ex, "bhi")["codes"] == [{"code": "G0570", "units": 1}]
    detail = next(s for s in ex["service_details"] if s["service"] == "bhi")
    assert detail["not_billed"][0]["code"] == "99484" and detail["code"] == "G0570"
    assert "ccm policy, not a CMS rule" in text
    assert "bhi_addon_chosen" in text and "G0570" in text and "111.56" in text


def test_n2_g0570_at_one_minute_when_the_practice_sets_the_policy_to_1(month):
    m = month("2026-02").patient("apcm", extra=BHI_BLOCK).log(3, 5).log(4, 12, "bhi")
    assert service(m.check(), "bhi")["status"] == "below_threshold"
    p = m.settings("g0570_min_minutes: 1\n").check()
    assert codes(service(p, "bhi")) == [("G0570", 1)] and p["total_amount"] == 111.56


@pytest.mark.parametrize(("minimum", "minutes", "billed"), [(20, 19, False), (20, 20, True),
                                                            (15, 14, False), (15, 15, True)])  # fmt: skip
def test_g0570_at_its_minimum_and_one_below(month, minimum, minutes, billed):
    m = month("2026-02").patient("apcm", extra=BHI_BLOCK).log(3, 5).log(4, minutes, "bhi")
    bhi = service(m.settings(f"g0570_min_minutes: {minimum}\n").check(), "bhi")
    assert codes(bhi) == ([("G0570", 1)] if billed else [])
    if not billed:
        assert bhi["next"]["minutes_needed"] == 1 and bhi["next"]["codes"][0]["code"] == "G0570"


def test_n3_apcm_bhi_code_99484_bills_99484_and_not_g0570(month):
    p = n1(month).settings("apcm_bhi_code: '99484'\n").check()
    bhi = service(p, "bhi")
    assert codes(bhi) == [("99484", 1)] and bhi["amount"] == 57.45
    assert bhi["date_of_service"] == "2026-02-04" and "note" not in bhi
    assert "bhi_with_apcm_unverified" in warned(bhi)
    assert p["total_amount"] == round(53.78 + 57.45, 2)


def test_n4_a_cocm_month_blocks_the_add_on_and_99484(month):
    m = month("2026-02").patient("apcm", extra=BHI_BLOCK + "cocm_months: [2026-02]\n")
    p = m.log(3, 5).log(4, 20, "bhi").check()
    assert rules(service(p, "bhi")) == ["cocm_same_month"] and codes(p) == [("G0557", 1)]
    assert p["total_amount"] == 53.78
    p = m.settings("apcm_bhi_code: '99484'\n").check()
    assert rules(service(p, "bhi")) == ["cocm_same_month"] and p["total_amount"] == 53.78


def test_n5_g0570_without_a_billable_apcm_code(month):
    m = month("2026-02").patient("apcm", plan="2026-03-01", extra=BHI_BLOCK)
    p = m.log(3, 5).log(4, 20, "bhi").check()
    assert p["status"] == "blocked" and [b["rule"] for b in p["blockers"]] == ["no_care_plan"]
    assert rules(service(p, "bhi")) == ["bh_addon_without_apcm"]
    assert p["total_amount"] == 0


def test_g0570_does_not_exist_in_2025_where_99484_bills_beside_apcm(month):
    p = month("2025-02").patient("apcm", extra=BHI_BLOCK).log(3, 5).log(4, 20, "bhi").check()
    bhi = service(p, "bhi")
    assert codes(bhi) == [("99484", 1)] and bhi["amount"] == 53.05
    assert "bhi_with_apcm_unverified" in warned(bhi)


# --- A11: 99484 beside CCM ----------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "billed"), [(19, False), (20, True), (45, True)])
def test_99484_at_20_minutes_in_full_beside_ccm(month, minutes, billed):
    m = month("2026-03").patient(extra=BHI_BLOCK).log(2, 25).log(3, 10, "bhi")
    p = m.log(9, minutes - 10, "bhi", role="practitioner").check()  # staff and practitioner pool
    assert codes(p) == [("99490", 1)] and p["minutes"]["other_services"] == {"bhi": minutes}
    bhi = service(p, "bhi")
    assert codes(bhi) == ([("99484", 1)] if billed else [])
    assert bhi["date_of_service"] == ("2026-03-09" if billed else None)
    assert p["total_amount"] == round(66.13 + (57.45 if billed else 0), 2)
    assert bhi["next"] == (
        None
        if billed
        else {
            "codes": [{"code": "99484", "units": 1}],
            "minutes_needed": 1,
            "role": "clinical_staff",
        }
    )


def test_bhi_gates_each_block_on_their_own(month):
    m = month("2026-03").patient(extra="bhi:\n  conditions: []\n").log(3, 25, "bhi")
    assert rules(service(m.check(), "bhi")) == ["no_bh_condition", "no_consent", "no_care_plan"]
    m = month("2026-03").patient().log(3, 25, "bhi")
    assert rules(service(m.check(), "bhi")) == ["no_bhi_enrollment"]


def test_bhi_minutes_before_the_bhi_consent_do_not_count(month):
    late = BHI_BLOCK.replace("consent: {date: 2025-01-06", "consent: {date: 2025-03-10")
    p = month("2025-03").patient(extra=late).log(3, 15, "bhi").log(12, 10, "bhi").check()
    bhi = service(p, "bhi")
    assert bhi["status"] == "below_threshold" and bhi["minutes"] == {
        "counted": 10,
        "not_counted": 15,
    }
    assert "minutes_before_consent" in warned(bhi)


def test_bhi_initiating_visit_is_measured_against_the_bhi_consent(month):
    late = BHI_BLOCK.replace("consent: {date: 2025-01-06", "consent: {date: 2026-01-07")
    p = month("2026-03").patient(extra=late).log(3, 25, "bhi").check()
    assert rules(service(p, "bhi")) == ["no_initiating_visit"]
    assert codes(p) == []  # the program's own month (no minutes) is not changed by it


def test_cocm_minutes_are_reported_not_billed_and_warned_beside_bhi(month):
    p = month("2026-03").patient(extra=BHI_BLOCK).log(3, 25, "bhi").log(4, 40, "cocm").check()
    assert codes(service(p, "bhi")) == [("99484", 1)]
    assert "cocm_minutes_logged" in warned(service(p, "bhi"))
    assert p["not_assessed"] == [{"service": "cocm", "minutes": 40,
                                  "reason": "needs_cocm_team_registry_and_episode_month",
                                  "codes_not_assessed": ["99492", "99493", "99494", "G2214"],
                                  "rule": "A15, F-41..F-46"}]  # fmt: skip


# --- N6-N9, N11: RPM (A13) ----------------------------------------------------------------------


def rpm(month, m="2026-03", now=None):
    return month(m, now).patient(extra=RPM_BLOCK)


def test_n6_99470_at_12_minutes_provisional_until_month_end(month):
    p = rpm(month, now="2026-03-20T10:00:00-05:00").log(5, 12, "rpm").check()
    r = service(p, "rpm")
    assert codes(r) == [("99470", 1)] and r["amount"] == 26.05 and r["provisional"] is True
    assert r["date_of_service"] == "2026-03-05" and "provisional_month" in warned(r)
    assert (
        r["next"]["codes"] == [{"code": "99457", "units": 1}] and r["next"]["minutes_needed"] == 8
    )
    assert rpm(month).log(5, 12, "rpm").check()["services"][0]["provisional"] is False


def test_n7_99457_and_three_99458_then_the_cap(month):
    p = rpm(month).log(5, 10, "rpm").log(6, 90, "rpm", activity="data review").check()
    r = service(p, "rpm")
    assert codes(r) == [("99457", 1), ("99458", 3)] and r["amount"] == 176.03
    assert "minutes_over_cap" in warned(r) and "20 minutes" in r["warnings"][0]["message"]
    assert r["next"] is None and r["date_of_service"] == "2026-03-06"


def test_n8_messages_only_block_for_want_of_a_live_contact(month):
    p = rpm(month).log(5, 15, "rpm", activity="message").log(6, 10, "rpm", activity="text").check()
    assert rules(service(p, "rpm")) == ["no_interactive_contact"]
    p = rpm(month).log(5, 15, "rpm", activity="message").log(6, 10, "rpm", activity="Video").check()
    assert codes(service(p, "rpm")) == [("99457", 1)]


def test_a_practice_may_name_its_own_interactive_activities(month):
    m = rpm(month).settings("rpm_interactive_activities: [phone]\n")
    assert rules(service(m.log(5, 25, "rpm").check(), "rpm")) == ["no_interactive_contact"]
    assert service(m.log(6, 1, "rpm", activity="phone").check(), "rpm")["status"] == "billable"


def test_n9_rpm_and_rtm_in_one_month(month):
    m = rpm(month).log(5, 25, "rpm").log(6, 15, "rtm")
    p = m.check()
    assert rules(service(p, "rpm")) == ["rtm_same_month"]
    assert [s["service"] for s in p["services"]] == ["rpm"]
    assert {"service": "rtm", "minutes": 15, "reason": "bill_rtm_off", "codes_not_assessed": [],
            "rule": "A14"} in p["not_assessed"]  # fmt: skip
    p = m.settings("bill_rtm: true\n").check()
    assert rules(service(p, "rpm")) == ["rtm_same_month"]
    assert rules(service(p, "rtm")) == ["rpm_same_month"] and p["total_amount"] == 0
    p = m.settings("rpm_rtm_conflict: prefer_rpm\n").check()
    assert codes(service(p, "rpm")) == [("99457", 1)]
    assert rules(service(p, "rtm")) == ["rpm_same_month"]


def test_n11_no_99470_in_2025(month):
    r = service(rpm(month, "2025-03").log(5, 15, "rpm").check(), "rpm")
    assert r["status"] == "below_threshold" and codes(r) == []
    assert r["next"] == {"codes": [{"code": "99457", "units": 1}], "minutes_needed": 5,
                         "role": "clinical_staff"}  # fmt: skip
    r = service(rpm(month, "2025-03").log(5, 45, "rpm").check(), "rpm")
    assert codes(r) == [("99457", 1), ("99458", 1)] and r["amount"] == round(47.87 + 38.49, 2)


@pytest.mark.parametrize(("minutes", "expected"), [
    (9, []), (10, [("99470", 1)]), (19, [("99470", 1)]), (20, [("99457", 1)]),
    (39, [("99457", 1)]), (40, [("99457", 1), ("99458", 1)]), (79, [("99457", 1), ("99458", 2)]),
    (80, [("99457", 1), ("99458", 3)]), (200, [("99457", 1), ("99458", 3)]),
])  # fmt: skip
def test_rpm_edges_2026(month, minutes, expected):
    r = service(rpm(month).log(5, minutes, "rpm").check(), "rpm")
    assert codes(r) == expected
    assert ("minutes_over_cap" in warned(r)) is (minutes > 80)


def test_rpm_cap_follows_the_setting(month):
    r = service(rpm(month).settings("rpm_addon_cap: 2\n").log(5, 80, "rpm").check(), "rpm")
    assert codes(r) == [("99457", 1), ("99458", 2)] and "minutes_over_cap" in warned(r)


def test_rpm_gates(month):
    r = service(month("2026-03").patient().log(5, 25, "rpm").check(), "rpm")
    assert rules(r) == ["no_rpm_enrollment"]
    late = "rpm:\n  consent: {date: 2026-04-01, method: verbal}\n"
    r = service(month("2026-03").patient(extra=late).log(5, 25, "rpm").check(), "rpm")
    assert rules(r) == ["no_consent"]
    novisit = APCM.format(pid="P1", program="ccm", plan="2025-01-06").replace(
        "initiating_visit: {date: 2025-01-06, type: awv}\n", ""
    )
    m = month("2026-03")
    (m.root / "patients" / "P1.yaml").write_text(novisit + RPM_BLOCK)
    assert "not_established_patient" in rules(service(m.log(5, 25, "rpm").check(), "rpm"))


# --- N10: RTM (A14) -----------------------------------------------------------------------------


def test_n10_rtm_with_bill_rtm_and_its_cap_of_one(month):
    m = month("2026-03").patient(extra=RTM_BLOCK).settings("bill_rtm: true\n")
    r = service(m.log(5, 65, "rtm").check(), "rtm")
    assert codes(r) == [("98980", 1), ("98981", 1)] and r["amount"] == 95.53
    assert "minutes_over_cap" in warned(r) and "25 minutes" in r["warnings"][0]["message"]


@pytest.mark.parametrize(("minutes", "expected"), [(9, []), (10, [("98979", 1)]),
                                                   (19, [("98979", 1)]), (20, [("98980", 1)])])  # fmt: skip
def test_rtm_edges_and_a_missing_consent_warned(month, minutes, expected):
    m = month("2026-03").patient().settings("bill_rtm: true\n")
    r = service(m.log(5, minutes, "rtm").check(), "rtm")
    assert codes(r) == expected and "rtm_consent_not_recorded" in warned(r)


# --- N12, A15 -----------------------------------------------------------------------------------


def test_n12_g0568_g0569_are_listed_not_assessed_and_never_billed(month):
    p = month("2026-02").patient("apcm").log(3, 5).log(4, 80, "cocm").log(5, 30, "tcm").check()
    assert p["services"] == [] and p["total_amount"] == 53.78
    cocm = [n for n in p["not_assessed"] if n["service"] == "cocm"]
    assert [n["codes_not_assessed"] for n in cocm] == [
        ["99492", "99493", "99494", "G2214"],
        ["G0568", "G0569"],
    ]
    assert {"service": "tcm", "minutes": 30, "reason": "not_time_based",
            "codes_not_assessed": ["99495", "99496"], "rule": "A15, A10"} in p["not_assessed"]  # fmt: skip


# --- A16: the patient-month's totals ------------------------------------------------------------


def test_a_qmb_owes_no_share_and_the_summary_adds_both_sums(month):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 20).log(3, 20, "bhi")
    m.patient(pid="P2", extra="qmb: true\n" + RPM_BLOCK).log(4, 25, "rpm", pid="P2")
    p1, p2 = m.check("P1"), m.check("P2")
    assert p1["total_amount"] == round(66.13 + 57.45, 2) and p1["patient_share"] == 24.72
    assert p2["amount"] == 0 and p2["total_amount"] == 51.77 and p2["patient_share"] == 0
    assert m.summary["amount"] == 66.13
    assert m.summary["total_amount"] == round(66.13 + 57.45 + 51.77, 2)
    assert m.summary["patient_share"] == 24.72


def test_explain_shows_each_service_s_gates_entries_and_verdict(month):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 25).log(3, 22, "bhi")
    ex, text = m.log(4, 12, "rpm", activity="message").explain()
    rpm_part = next(s for s in ex["service_details"] if s["service"] == "rpm")
    assert rpm_part["status"] == "blocked" and rules(rpm_part) == ["no_interactive_contact"]
    assert [g["rule"] for g in rpm_part["gates"]][:2] == ["no_rpm_enrollment", "no_consent"]
    assert [e["line"] for e in rpm_part["entries"]] == [4]
    assert "BHI" in text and "99484" in text and "RPM" in text
    assert "no_interactive_contact" in text and "logs/2026-03.csv:3" in text


# --- the one-service-one-verdict property (T-05, A7, A16) ---------------------------------------

SERVICES = ("", "bhi", "rpm", "cocm", "tcm", "other")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(SERVICES), st.integers(1, 28), st.integers(1, 60),
                          st.sampled_from(["call", "message"])), max_size=8))  # fmt: skip
def test_minutes_of_one_service_never_change_another_s_verdict(month, rows):
    """Each service judged with every entry equals it judged with its own entries alone
    (RPM with RTM and G0570 with APCM, the two exclusions the rules name, are left out: the
    program here is ccm and RTM is not generated)."""
    from ccmcli.models.months import Month as M
    from ccmcli.models.record_schema import validate
    from ccmcli.models.records import Patient, Settings
    from ccmcli.rules.judge import judge
    from ccmcli.rules.table import rules_for
    from ccmcli.store.timelog import Entry

    patient = validate(Patient,
        {"id": "P1", "name": "N", "birth_date": "1950-01-02", "conditions": ["E11.9", "I10"],
         "consent": {"date": "2025-01-06", "method": "verbal"},
         "initiating_visit": {"date": "2025-01-06", "type": "awv"},
         "care_plan": {"established": "2025-01-06"},
         "bhi": {"conditions": ["F33.1"], "consent": {"date": "2025-01-06", "method": "verbal"},
                 "care_plan": {"established": "2025-01-06"}},
         "rpm": {"consent": {"date": "2025-01-06", "method": "verbal"}}})  # fmt: skip
    conf = validate(Settings, {"practice": "X", "timezone": "America/Chicago",
                                    "billing_npi": "1234567893"})  # fmt: skip
    month_ = M.parse("2026-03")
    table, _ = rules_for(2026)
    from datetime import date

    entries = [Entry(f"E{i}", "P1", date(2026, 3, day), n, "clinical_staff", "rn", act, "", "",
                     "", "", "", i + 2, "logs/2026-03.csv", None, svc)
               for i, (svc, day, n, act) in enumerate(rows)]  # fmt: skip

    def verdict(j, name):
        if name == "":
            return (j.status, j.codes, j.date_of_service, [b.rule for b in j.blockers])
        s = next((s for s in j.services if s.service == name), None)
        return s and (s.status, s.codes, s.date_of_service, [b.rule for b in s.blockers])

    whole = judge(patient, month_, entries, conf, table)
    for name in ("", "bhi", "rpm"):
        alone = judge(patient, month_, [e for e in entries if e.service == name], conf, table)
        assert verdict(whole, name) == verdict(alone, name)


# --- `ccm rules` and a page per new code (contract 11) ------------------------------------------


@pytest.mark.parametrize(("code", "words"), [
    ("99484", ["20 minutes", "no_bhi_enrollment", "cocm_same_month", "2025: 53.05", "2026: 57.45"]),
    ("G0570", ["ccm policy, not a CMS rule", "g0570_min_minutes", "bh_addon_without_apcm",
               "2026: 57.78"]),
    ("99470", ["10 to 19 minutes", "no_interactive_contact", "99457", "2026: 26.05"]),
    ("99457", ["first 20 minutes", "99458", "2025: 47.87", "2026: 51.77"]),
    ("99458", ["40 minutes", "rpm_addon_cap", "2025: 38.49", "2026: 41.42"]),
    ("98979", ["10 to 19", "bill_rtm", "2026: 26.39"]),
    ("98980", ["2025: 50.14", "2026: 54.11"]),
    ("98981", ["rtm_addon_cap", "2025: 39.14", "2026: 41.42"]),
    ("G0568", ["never bills", "needs_cocm_team_registry_and_episode_month"]),
    ("99454", ["never bills", "needs_device_days"]),
])  # fmt: skip
def test_a_page_per_new_code(cli, code, words):
    result = cli("rules", code, "--year", "2026")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    for w in words:
        assert w in text, w
    page = json.loads(cli("rules", code, "--year", "2026", "-f", "json").stdout)
    assert page["code"] == code


def test_99470_has_no_2025_amount_and_its_page_says_so(cli):
    text = cli("rules", "99470", "--year", "2025").stdout
    amounts = text.split("Amounts")[1].split("References")[0]
    assert (
        "99470 is not billed in 2025" in text
        and "2025:" not in amounts
        and "2026: 26.05" in amounts
    )
    rows = json.loads(cli("rules", "--year", "2025", "-f", "json").stdout)["services"]
    assert "99470" not in [r["code"] for r in rows] and "G0570" not in [r["code"] for r in rows]


# --- every view: the check table, `ccm log --service` -------------------------------------------


def test_log_with_a_service_answers_with_that_service_s_month_to_date(cli, datadir, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-03-20T10:00:00-05:00")
    text = APCM.format(pid="P1", program="ccm", plan="2025-01-06") + RPM_BLOCK
    (datadir / "patients" / "P1.yaml").write_text(text)
    first = cli("log", "P1", "12", "-d", datadir, "--date", "2026-03-05", "--service", "rpm",
                "--activity", "call")  # fmt: skip
    assert first.exit_code == 0, first.stderr
    assert (
        first.stdout.splitlines()[-1] == "P1: RPM 12 min in March 2026: 99470 met; 8 more for 99457"
    )
    done = cli("log", "P1", "8", "-d", datadir, "--date", "2026-03-06", "--service", "rpm", "-f",
               "json")  # fmt: skip
    out = json.loads(done.stdout)
    schema = json.loads(cli("schema", "log").stdout)
    jsonschema.validate(out, schema)
    assert set(out) <= set(schema["properties"])  # `service` is a documented field
    assert out["service"]["codes"] == [{"code": "99457", "units": 1}]
    assert out["patient_month"]["codes"] == []  # the program's month is its own (A7)
    other = cli("log", "P1", "9", "-d", datadir, "--date", "2026-03-06", "--service", "cocm")
    assert other.stdout.splitlines()[-1] == (
        "P1: cocm 9 min in March 2026: reported, never billed "
        "(needs_cocm_team_registry_and_episode_month)"
    )


def test_the_check_table_shows_each_service_on_a_line_of_its_own(month):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 25).log(3, 22, "bhi")
    m.log(4, 12, "rpm", activity="message").check()
    table = m.cli("check", "-d", m.root, "--month", "2026-03", "--wide").stdout.splitlines()
    at = next(i for i, line in enumerate(table) if line.startswith("P1 "))
    assert table[at + 1].split()[:6] == ["+", "BHI", "bhi", "billable", "22", "0"]
    assert "99484x1" in table[at + 1] and "57.45" in table[at + 1]
    assert table[at + 2].split()[:4] == ["+", "RPM", "rpm", "blocked"]
    assert table[at + 2].split()[-1] == "no_interactive_contact"
    assert "with other services 123.58 (patient share 24.72)" in " ".join(table[-3:])
    rows = m.cli("check", "-d", m.root, "--month", "2026-03", "-f", "csv").stdout.splitlines()
    assert rows[1].endswith(
        ",bhi:99484x1 rpm:blocked(no_interactive_contact),123.58,24.72,"
        "99490x1 99439x1,clinical_staff,,"
    )


# --- patient add and patient import take the service blocks -------------------------------------


def test_patient_add_writes_the_service_blocks(cli, datadir, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-03-20T10:00:00-05:00")
    added = cli("patient", "add", "P9", "-d", datadir, "--name", "A B", "--birth-date",
                "1950-01-01", "--bhi-condition", "f33.1", "--bhi-consent-date", "2026-01-05",
                "--bhi-consent-method", "Verbal", "--bhi-care-plan", "2026-01-05",
                "--cocm-month", "2026-04", "--rpm-consent-date", "2026-02-01",
                "--rpm-consent-method", "written", "--rtm-consent-date", "2026-02-02",
                "--rtm-consent-method", "verbal")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    from ccmcli.store.yamlio import load as load_yaml

    record = load_yaml((datadir / "patients" / "P9.yaml").read_text())
    assert record["bhi"] == {"conditions": ["F33.1"],
                             "consent": {"date": "2026-01-05", "method": "verbal"},
                             "care_plan": {"established": "2026-01-05"}}  # fmt: skip
    assert record["cocm_months"] == ["2026-04"]
    assert record["rpm"] == {"consent": {"date": "2026-02-01", "method": "written"}}
    assert record["rtm"] == {"consent": {"date": "2026-02-02", "method": "verbal"}}
    half = cli("patient", "add", "P8", "-d", datadir, "--name", "A B", "--birth-date",
               "1950-01-01", "--rpm-consent-date", "2026-02-01")  # fmt: skip
    assert half.exit_code == 2 and "--rpm-consent-method go together" in half.stderr
    bad = cli("patient", "add", "P8", "-d", datadir, "--name", "A B", "--birth-date",
              "1950-01-01", "--cocm-month", "2026-13")  # fmt: skip
    assert bad.exit_code == 2 and "--cocm-month: must be a month" in bad.stderr
    assert not (datadir / "patients" / "P8.yaml").exists()


ROSTER = ("id,name,birth_date,mbi,program,principal_condition,conditions,consent_date,"
          "consent_method,initiating_visit_date,initiating_visit_type,care_plan_established")  # fmt: skip


def test_patient_import_takes_the_optional_service_columns(cli, datadir, tmp_path, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-03-20T10:00:00-05:00")
    base = "Ann Lee,1950-02-03,,ccm,,E11.9;I10,2026-01-05,verbal,2025-12-01,awv,2026-01-05"
    roster = tmp_path / "roster.csv"
    roster.write_text(f"{ROSTER},rpm_consent_date,rpm_consent_method,bhi_conditions,"
                      "bhi_consent_date,bhi_consent_method,bhi_care_plan_established,cocm_months\n"
                      f"R1,{base},2026-02-01,Written,f33.1;F41.1,2026-01-05,verbal,1/5/2026,"
                      "2026-04;2026-05\n"
                      f"R2,{base},,,,,,,\n")  # fmt: skip
    done = cli("patient", "import", roster, "-d", datadir)
    assert done.exit_code == 0, done.stderr
    from ccmcli.store.yamlio import load as load_yaml

    r1 = load_yaml((datadir / "patients" / "R1.yaml").read_text())
    assert r1["bhi"]["conditions"] == ["F33.1", "F41.1"]
    assert r1["bhi"]["care_plan"] == {"established": "2026-01-05"}
    assert r1["rpm"] == {"consent": {"date": "2026-02-01", "method": "written"}}
    assert r1["cocm_months"] == ["2026-04", "2026-05"]
    r2 = load_yaml((datadir / "patients" / "R2.yaml").read_text())
    assert "bhi" not in r2 and "rpm" not in r2
    update = tmp_path / "update.csv"
    update.write_text(f"{ROSTER},rtm_consent_date,rtm_consent_method\n"
                      f"R1,{base},2026-03-01,verbal\n")  # fmt: skip
    assert cli("patient", "import", update, "-d", datadir, "--update").exit_code == 0
    r1 = load_yaml((datadir / "patients" / "R1.yaml").read_text())
    assert r1["rtm"]["consent"]["date"] == "2026-03-01" and r1["bhi"]["conditions"]  # kept
    half = tmp_path / "half.csv"
    half.write_text(f"{ROSTER},bhi_consent_date,notes\nR3,{base},2026-01-05,x\n")
    refused = cli("patient", "import", half, "-d", datadir)
    assert refused.exit_code == 1 and "unknown column(s): notes" in refused.stderr
    half.write_text(f"{ROSTER},bhi_consent_date\nR3,{base},2026-01-05\n")
    refused = cli("patient", "import", half, "-d", datadir)
    assert refused.exit_code == 1
    assert (
        "half.csv:2: error: bhi_consent_date and bhi_consent_method go together" in refused.stderr
    )


# --- export: one claim per patient-month, every service's lines on it (A16, A18) ----------------


def export(m: Month, tmp_path: Path, *args: str):
    (m.root / "logs" / f"{m.month}.csv").write_text(timelog.HEADER + "".join(m.rows))
    out = tmp_path / f"claims{len(list(tmp_path.glob('claims*')))}.csv"
    result = m.cli("export", "-d", m.root, "--month", m.month, "-o", out, *args)
    lines = out.read_text().splitlines() if out.exists() else []
    return result, [line.split(",") for line in lines[1:]]


def test_export_puts_each_service_s_lines_on_the_patient_month_s_claim(month, tmp_path):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 25).log(3, 22, "bhi")
    m.log(4, 12, "rpm").log(9, 3, "cocm")
    done, rows = export(m, tmp_path)
    assert done.exit_code == 0, done.stderr
    assert [(r[6], r[7], r[8], r[9]) for r in rows] == [
        ("2026-03-02", "99490", "1", "66.13"), ("2026-03-03", "99484", "1", "57.45"),
        ("2026-03-04", "99470", "1", "26.05")]  # fmt: skip
    assert rows[1][10:12] == ["F33.1", "E11.9"]  # the BHI line names its condition first
    again, rows = export(m, tmp_path)
    assert again.exit_code == 0 and rows == [] and "nothing new" in again.stderr
    m.log(20, 10, "rpm")  # 22 RPM minutes now: 99457, not the 99470 exported (A18)
    changed, rows = export(m, tmp_path)
    assert changed.exit_code == 1 and rows == []
    assert "99470x1 on 2026-03-04" in changed.stderr and "99457x1 on 2026-03-20" in changed.stderr
    assert "needs a corrected claim" in changed.stderr
    fixed, rows = export(m, tmp_path, "--corrections")
    assert fixed.exit_code == 0, fixed.stderr
    assert [r[7] for r in rows] == ["99490", "99484", "99457"]


def test_g0570_is_exported_beside_the_apcm_code_on_its_date(month, tmp_path):
    done, rows = export(n1(month), tmp_path)
    assert done.exit_code == 0, done.stderr
    assert [(r[6], r[7], r[9]) for r in rows] == [("2026-02-28", "G0557", "53.78"),
                                                  ("2026-02-28", "G0570", "57.78")]  # fmt: skip


def test_close_records_each_service_and_verify_names_a_change(month):
    m = month("2026-03").patient(extra=RPM_BLOCK).log(2, 25).log(4, 12, "rpm")
    m.check()
    closed = m.cli("close", "2026-03", "-d", m.root)
    assert closed.exit_code == 0, closed.stderr
    record = json.loads((m.root / "closed" / "2026-03.json").read_text())
    rpm_line = record["patients"][0]["services"][0]
    assert rpm_line["codes"] == [{"code": "99470", "units": 1}] and rpm_line["entries"] == ["E2"]
    assert record["summary"]["total_amount"] == round(66.13 + 26.05, 2)
    assert m.cli("close", "--verify", "2026-03", "-d", m.root).exit_code == 0
    with (m.root / "patients" / "P1.yaml").open("a") as f:
        f.write("qmb: true\n")  # the program's verdict stays; the services' too
    assert m.cli("close", "--verify", "2026-03", "-d", m.root).exit_code == 0
    (m.root / "patients" / "P1.yaml").write_text(APCM.format(pid="P1", program="ccm",
                                                              plan="2025-01-06"))  # fmt: skip
    verify = m.cli("close", "--verify", "2026-03", "-d", m.root)
    assert verify.exit_code == 1
    assert "P1: rpm status billable at close, blocked now" in verify.stdout + verify.stderr


def test_worklist_lists_a_patient_for_a_service_s_next_code(month):
    m = month("2026-03", now="2026-03-20T10:00:00-05:00").patient(extra=RPM_BLOCK)
    m.log(4, 15, "rpm").patient(pid="P2", extra=RPM_BLOCK).log(5, 25, "rpm", "message", pid="P2")
    m.check()
    out = json.loads(m.cli("worklist", "-d", m.root, "--month", "2026-03", "-f", "json").stdout)
    by = {(p["patient_id"], p.get("service")): p for p in out["patients"]}
    p1 = by[("P1", "rpm")]
    assert p1["minutes_needed"] == 5 and p1["next"]["codes"] == [{"code": "99457", "units": 1}]
    assert p1["adds"] == round(51.77 - 26.05, 2) and p1["needs"] is None
    p2 = by[("P2", "rpm")]  # blocked for want of a live call: the call is what it needs
    assert p2["minutes_needed"] == 1 and p2["adds"] == 51.77 and "live call" in p2["needs"]
    table = m.cli("worklist", "-d", m.root, "--month", "2026-03", "--wide").stdout
    assert "RPM: 99457x1, needs a live call" in table and "RPM: 99457x1 " in table


def test_the_audit_packet_has_a_section_per_service(month, tmp_path):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 25).log(3, 22, "bhi")
    m.log(4, 12, "rpm", activity="message").check()
    text = m.cli("audit", "P1", "--month", "2026-03", "-d", m.root).stdout
    bhi = text.split("## BHI (99484)")[1].split("## RPM")[0]
    assert "- Codes: 99484x1" in bhi and "- Date of service: 2026-03-03" in bhi
    assert "conditions F33.1; consent 2025-01-06 (verbal)" in bhi
    assert "| E2 | logs/2026-03.csv:3 | 2026-03-03 | 22 |" in bhi
    rpm_part = text.split("## RPM (99470)")[1].split("## Lines exported")[0]
    assert "| no_interactive_contact | BLOCKED |" in rpm_part
    assert "Total for the patient-month: 123.58 (program 66.13); patient share 24.72" in text
    page = tmp_path / "p.html"
    assert m.cli("audit", "P1", "--month", "2026-03", "-d", m.root, "-o", page).exit_code == 0
    html = page.read_text()
    assert "<h2>BHI (99484)</h2>" in html and "<h2>RPM (99470)</h2>" in html


def test_the_report_gives_revenue_by_service_adding_up_to_the_total(month, tmp_path):
    m = month("2026-03").patient(extra=BHI_BLOCK + RPM_BLOCK).log(2, 25).log(3, 22, "bhi")
    m.log(4, 45, "rpm").check()
    out = tmp_path / "r.html"
    done = m.cli("report", "--month", "2026-03", "--months", "1", "-d", m.root, "-o", out)
    assert done.exit_code == 0, done.stderr
    assert "amount 66.13, with other services 216.77" in done.stderr
    html = out.read_text()
    table = html.split('id="services-table"')[1].split("</table>")[0]
    cells = [c for c in re.findall(r"<td[^>]*>([^<]*)</td>", table)]
    assert cells[:4] == ["ccm", "1", "99490x1 ", "66.13"]
    assert cells[4:8] == ["bhi", "1", "99484x1 ", "57.45"]
    assert cells[8:12] == ["rpm", "1", "99457x1 99458x1 ", "93.19"]
    assert 'id="services-total">216.77<' in table


def test_a_patient_file_never_gets_yaml_anchors_for_dates_shared_between_fields():
    """P0019 has its consent, visit, care plan and RPM consent on one day; a record read back
    from the cache may hold one date object for all of them, which YAML would write as an
    anchor and aliases (`&id001`) in place of the dates."""
    from datetime import date

    from ccmcli.store import yamlio

    day = date(2026, 10, 1)
    text = yamlio.dump({"consent": {"date": day}, "rpm": {"consent": {"date": day}}})
    assert "&" not in text and "*" not in text and text.count("2026-10-01") == 2
