"""`ccm check`, `explain`, `worklist`, `rules` and `patient show` through the command line.

The example clinic's expected results are transcribed from examples/clinic/SCENARIOS.md (what the
example was built to show), not from ccm's output. Smaller cases use data directories built by
the scenario runner (test_scenarios.build_data_dir).
"""

import csv
import io
import itertools
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ccmcli.models.months import Month, current_month, today_in
from helpers import CCM, example_copy
from test_scenarios import build_data_dir

ROOT = Path(__file__).resolve().parent.parent
CLINIC_TODAY = date(2026, 11, 27)  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"
CHECK_CSV_HEADER = ("patient_id,name,program,status,clinical_staff_minutes,practitioner_minutes,"
                    "codes,date_of_service,amount,minutes_needed,blockers,services,total_amount,"
                    "patient_share,next_codes,next_role")  # fmt: skip

# SCENARIOS.md, October 2026: status, codes, CS, PR, DOS, amount, blockers, warnings, next.
# (not_counted: minutes before consent/visit, plus minutes over a cap as contract section 3 says.)
OCTOBER = {
    "P0001": ("billable", "99490x1 99439x1", 45, 0, 0, "2026-10-27", 116.57, [], [], (15, "99490x1 99439x2")),
    "P0002": ("billable", "99490x1 99439x2", 72, 0, 12, "2026-10-20", 167.01, [], ["minutes_over_cap"], None),
    "P0003": ("below_threshold", "", 18, 0, 0, None, 0.0, [], [], (2, "99490x1")),
    "P0004": ("blocked", "", 27, 0, 0, None, 0.0, ["not_enough_conditions"], [], None),
    "P0005": ("blocked", "", 0, 0, 35, None, 0.0, ["no_consent"], ["minutes_before_consent"], None),
    "P0006": ("billable", "99490x1", 22, 0, 15, "2026-10-22", 66.13, [],
              ["minutes_before_consent", "minutes_before_initiating_visit"], (18, "99490x1 99439x1")),
    "P0007": ("billable", "99490x1", 25, 0, 0, "2026-10-09", 66.13, [], [], (15, "99490x1 99439x1")),
    "P0008": ("blocked", "", 30, 0, 0, None, 0.0, ["no_initiating_visit"], [], None),
    "P0009": ("blocked", "", 25, 0, 0, None, 0.0, ["no_care_plan"], [], None),
    "P0010": ("billable", "99487x1 99489x1", 88, 10, 0, "2026-10-22", 222.45, [], [], (22, "99487x1 99489x2")),
    "P0011": ("billable", "99426x1 99427x1", 65, 0, 0, "2026-10-26", 121.91, [], [], (25, "99426x1 99427x2")),
    "P0012": ("billable", "99491x1 99437x2", 0, 92, 2, "2026-10-26", 215.44, [], ["minutes_over_cap"], None),
    "P0013": ("no_time", "", 0, 0, 0, None, 0.0, [], [], (20, "99490x1")),
    "P0014": ("billable", "99490x1", 25, 0, 0, "2026-10-21", 66.13, [], [], (15, "99490x1 99439x1")),
    "P0015": ("billable", "G0556x1", 10, 0, 0, "2026-10-31", 16.37, [], [], None),
    "P0016": ("billable", "G0557x1", 15, 0, 0, "2026-10-31", 53.78, [], [], None),
    "P0017": ("billable", "G0558x1", 20, 15, 0, "2026-10-31", 117.24, [], [], None),
    "P0018": ("billable", "G0557x1", 12, 0, 0, "2026-10-31", 53.78, [],
              ["consent_before_program_change"], None),
    # remote monitoring only (A13, A14): one chronic condition, so CCM is blocked
    **{pid: ("blocked", "", 0, 0, 0, None, 0.0, ["not_enough_conditions"], [], None)
       for pid in ("P0019", "P0020", "P0021", "P0022")},
}  # fmt: skip
# A7: tagged entries count toward nothing here; A11-A16: their services are judged apart
OTHER_SERVICES = {
    "P0014": {"bhi": 20},
    "P0016": {"bhi": 20},
    "P0019": {"rpm": 12},
    "P0020": {"rpm": 45},
    "P0021": {"rpm": 25},
    "P0022": {"rpm": 25, "rtm": 15},
}
# SCENARIOS.md, October's other services: (service, status, codes, date of service, amount, blockers)
OCTOBER_SERVICES = {
    "P0014": [("bhi", "billable", "99484x1", "2026-10-14", 57.45, [])],
    "P0016": [("bhi", "billable", "G0570x1", "2026-10-31", 57.78, [])],
    "P0019": [("rpm", "billable", "99470x1", "2026-10-12", 26.05, [])],
    "P0020": [("rpm", "billable", "99457x1 99458x1", "2026-10-19", 93.19, [])],
    "P0021": [("rpm", "blocked", "", None, 0.0, ["no_interactive_contact"])],
    "P0022": [("rpm", "blocked", "", None, 0.0, ["rtm_same_month"])],
}  # fmt: skip

# SCENARIOS.md, September and November 2026: status, codes, CS + PR, DOS.
SEPTEMBER = {
    "P0001": ("billable", "99490x1", 26, "2026-09-17"), "P0002": ("billable", "99490x1 99439x1", 42, "2026-09-22"),
    "P0003": ("billable", "99490x1", 22, "2026-09-10"), "P0004": ("blocked", "", 10, None),
    "P0005": ("blocked", "", 0, None), "P0006": ("blocked", "", 0, None),
    "P0007": ("billable", "99490x1", 35, "2026-09-09"), "P0008": ("blocked", "", 18, None),
    "P0009": ("blocked", "", 10, None), "P0010": ("billable", "99490x1", 35, "2026-09-16"),
    "P0011": ("billable", "99426x1", 32, "2026-09-25"), "P0012": ("billable", "99491x1", 35, "2026-09-30"),
    "P0013": ("billable", "99490x1", 25, "2026-09-21"),
    "P0014": ("no_time", "", 0, None), "P0015": ("billable", "G0556x1", 8, "2026-09-30"),
    "P0016": ("billable", "G0557x1", 5, "2026-09-30"), "P0017": ("billable", "G0558x1", 12, "2026-09-30"),
    "P0018": ("billable", "99490x1", 30, "2026-09-23"),
}  # fmt: skip
NOVEMBER = {
    "P0001": ("billable", "99490x1", 23, "2026-11-12"), "P0002": ("billable", "99490x1 99439x1", 45, "2026-11-18"),
    "P0003": ("billable", "99490x1", 25, "2026-11-09"), "P0004": ("blocked", "", 10, None),
    "P0005": ("blocked", "", 0, None), "P0006": ("billable", "99490x1", 30, "2026-11-19"),
    "P0007": ("blocked", "", 10, None), "P0008": ("blocked", "", 12, None),
    "P0009": ("blocked", "", 12, None), "P0010": ("billable", "99490x1 99439x1", 55, "2026-11-17"),
    "P0011": ("below_threshold", "", 25, None), "P0012": ("billable", "99490x1 99439x1", 45, "2026-11-24"),
    "P0013": ("billable", "99490x1", 20, "2026-11-02"),
    "P0014": ("no_time", "", 0, None), "P0015": ("blocked", "", 0, None),
    "P0016": ("billable", "G0557x1", 10, "2026-11-30"), "P0017": ("billable", "G0558x1", 10, "2026-11-30"),
    "P0018": ("billable", "G0557x1", 10, "2026-11-30"),
    **{pid: ("blocked", "", 0, None) for pid in ("P0019", "P0020", "P0021", "P0022")},
}  # fmt: skip


def codes_of(p: dict) -> str:
    return " ".join(f"{c['code']}x{c['units']}" for c in p["codes"])


def check_json(cli, path, *args) -> dict:
    result = cli("check", "-d", path, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def build(tmp_path: Path, month: str, entries: list, **case) -> Path:
    """A small data directory: baseline P1 (and `other_patients`), the given entries."""
    return build_data_dir(tmp_path / "data", {"month": month, "entries": entries, **case})


# --- check on the example clinic ------------------------------------------------------------


def test_check_october_gives_every_result_the_clinic_was_built_to_show(cli, clinic):
    report = check_json(cli, clinic, "--month", "2026-10")
    assert (report["month"], report["provisional"], report["rules"]) == ("2026-10", False, "2026")
    assert report["problems"] == []
    assert [p["patient_id"] for p in report["patients"]] == sorted(OCTOBER)
    for p in report["patients"]:
        status, codes, cs, pr, nc, dos, amount, blockers, warnings, nxt = OCTOBER[p["patient_id"]]
        assert p["status"] == status, p["patient_id"]
        assert codes_of(p) == codes, p["patient_id"]
        assert p["minutes"] == {
            "clinical_staff": cs,
            "practitioner": pr,
            "not_counted": nc,
            "other_services": OTHER_SERVICES.get(p["patient_id"], {}),
            "counted": p["minutes"]["counted"],  # test_minutes_counted.py checks the figure
        }
        assert p["date_of_service"] == dos, p["patient_id"]
        assert p["amount"] == pytest.approx(amount), p["patient_id"]
        assert [b["rule"] for b in p["blockers"]] == blockers, p["patient_id"]
        assert sorted(w["rule"] for w in p["warnings"]) == warnings, p["patient_id"]
        got_next = p["next"] and (p["next"]["minutes_needed"], codes_of(p["next"]))
        assert got_next == nxt, p["patient_id"]
        assert p["next"] is None or p["next"]["role"] == "clinical_staff"
    billable = [p for p in report["patients"] if p["status"] == "billable"]
    assert round(sum(p["amount"] for p in billable), 2) == 1282.94  # 975.64 + P0014-P0018
    services = {p["patient_id"]: [(s["service"], s["status"], codes_of(s), s["date_of_service"],
                                   s["amount"], [b["rule"] for b in s["blockers"]])
                                  for s in p["services"]] for p in report["patients"] if p["services"]}  # fmt: skip
    assert services == OCTOBER_SERVICES
    assert report["summary"]["total_amount"] == 1517.41  # + 57.45 + 57.78 + 26.05 + 93.19
    by_id = {p["patient_id"]: p for p in report["patients"]}
    assert [codes_of(a) for a in by_id["P0010"]["alternatives"]] == ["99490x1 99439x2"]
    assert by_id["P0010"]["alternatives"][0]["amount"] == 167.01
    assert [codes_of(a) for a in by_id["P0012"]["alternatives"]] == ["99490x1 99439x2"]


@pytest.mark.parametrize(("month", "expected"), [("2026-09", SEPTEMBER), ("2026-11", NOVEMBER)])
def test_check_september_and_november(cli, clinic, month, expected):
    report = check_json(cli, clinic, "--month", month)
    assert report["provisional"] == (Month.parse(month) >= current_month("America/Chicago"))
    for p in report["patients"]:
        status, codes, minutes, dos = expected[p["patient_id"]]
        got = (p["status"], codes_of(p), p["minutes"]["clinical_staff"] + p["minutes"]["practitioner"],
               p["date_of_service"])  # fmt: skip
        assert got == (status, codes, minutes, dos), p["patient_id"]
        if report["provisional"] and status != "blocked":
            assert "provisional_month" in {w["rule"] for w in p["warnings"]}
    nov_blockers = {p["patient_id"]: [b["rule"] for b in p["blockers"]] for p in report["patients"]}
    if month == "2026-11":
        assert nov_blockers["P0007"] == ["consent_revoked"]
        p12 = next(p for p in report["patients"] if p["patient_id"] == "P0012")
        assert p12["amount"] == 116.57 and codes_of(p12["alternatives"][0]) == "99491x1"
    else:
        assert "P0006" not in nov_blockers  # enrolled on 2026-10-14, no entry before (A17)


def test_check_table_shows_every_patient_with_ids_and_codes_whole(cli, clinic, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    result = cli("check", "-d", clinic, "--month", "2026-10")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2026-10 (rules 2026)")
    for pid, (status, codes, *_rest) in OCTOBER.items():
        at = next(n for n, line in enumerate(lines) if line.split()[:1] == [pid])
        row = lines[at]
        assert {"below_threshold": "below"}.get(status, status) in row.split()  # short word
        own = [row]  # the row's own lines: codes fold at spaces, each code whole
        own += list(itertools.takewhile(lambda line: line.startswith(" "), lines[at + 1 :]))
        assert all(c in " ".join(own).split() for c in codes.split())
        assert max(len(line) for line in lines) <= 60
    assert "left out: program, staff, prac" in result.stdout


def test_check_csv_is_the_contract_row_per_patient(cli, clinic):
    result = cli("check", "-d", clinic, "--month", "2026-10", "--format", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    # the contract's columns, then ccm's own after them
    assert (
        result.stdout.splitlines()[0]
        == CHECK_CSV_HEADER + ",warnings,codes_without_doubted_minutes"
    )
    rows = {r["patient_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert list(rows) == sorted(OCTOBER)
    p1, p4, p10 = rows["P0001"], rows["P0004"], rows["P0010"]
    assert (p1["codes"], p1["amount"], p1["date_of_service"]) == (
        "99490x1 99439x1",
        "116.57",
        "2026-10-27",
    )
    assert (p1["clinical_staff_minutes"], p1["practitioner_minutes"], p1["minutes_needed"]) == (
        "45",
        "0",
        "15",
    )
    assert (p4["status"], p4["codes"], p4["blockers"], p4["minutes_needed"]) == (
        "blocked",
        "",
        "not_enough_conditions",
        "",
    )
    assert (p10["codes"], p10["practitioner_minutes"]) == ("99487x1 99489x1", "10")
    assert rows["P0002"]["minutes_needed"] == ""  # fmt: skip


def test_check_ids_keep_only_those_patients(cli, clinic):
    report = check_json(cli, clinic, "--month", "2026-10", "P0012", "P0002")
    assert [p["patient_id"] for p in report["patients"]] == ["P0012", "P0002"]


def test_check_unknown_id_is_refused(cli, clinic):
    result = cli("check", "-d", clinic, "--month", "2026-10", "P0099")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert 'cannot check "P0099": no such patient' in result.stderr


@pytest.mark.parametrize(
    ("status", "ids"),
    [
        ("blocked", ["P0004", "P0005", "P0008", "P0009", "P0019", "P0020", "P0021", "P0022"]),
        ("below_threshold", ["P0003"]),
        ("no_time", ["P0013"]),
        (
            "billable",
            [
                "P0001",
                "P0002",
                "P0006",
                "P0007",
                "P0010",
                "P0011",
                "P0012",
                "P0014",
                "P0015",
                "P0016",
                "P0017",
                "P0018",
            ],
        ),
    ],
)
def test_check_status_filter(cli, clinic, status, ids):
    report = check_json(cli, clinic, "--month", "2026-10", "--status", status)
    assert [p["patient_id"] for p in report["patients"]] == ids


def test_check_id_whose_file_has_errors_says_what_is_wrong(cli, broken):
    result = cli("check", "-d", broken, "--month", "2026-10", "P0004")
    assert result.exit_code == 1
    assert "patients/P0004.yaml:4: billing_npi is not a valid NPI" in result.stdout


def test_check_quiet_prints_only_errors(cli, clinic, broken):
    clean = cli("check", "-d", clinic, "--month", "2026-10", "-q")
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "")
    bad = cli("check", "-d", broken, "--month", "2026-10", "-q")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert all(": error: " in line for line in bad.stderr.splitlines())


def test_check_status_filter_and_ids_combine(cli, clinic):
    report = check_json(cli, clinic, "--month", "2026-10", "--status", "blocked", "P0001", "P0004")
    assert [p["patient_id"] for p in report["patients"]] == ["P0004"]


def test_check_bad_status_is_a_usage_error(cli, clinic):
    result = cli("check", "-d", clinic, "--month", "2026-10", "--status", "paid")
    assert result.exit_code == 2
    assert "--status" in result.stderr


def test_check_bad_month_is_a_usage_error(cli, clinic):
    result = cli("check", "-d", clinic, "--month", "2026-13")
    assert result.exit_code == 2
    assert "YYYY-MM" in result.stderr


def test_check_without_a_data_directory_names_ccm_init(cli):
    result = cli("check")
    assert result.exit_code == 1
    assert "ccm init" in result.stderr and result.stderr.count("\n") == 1


def test_check_defaults_to_the_current_month(cli, clinic):
    report = check_json(cli, clinic)
    assert report["month"] == str(current_month("America/Chicago"))
    assert report["provisional"] is True


# --- problems and exit codes -----------------------------------------------------------------


def test_check_reports_problems_and_exits_1_when_a_file_has_an_error(cli, broken):
    result = cli("check", "-d", broken, "--month", "2026-10", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    lines = [(p["file"], p["line"]) for p in report["problems"]]
    for n in range(3, 10):
        assert ("logs/2026-10.csv", n) in lines
    assert ("patients/P0002.yaml", 1) in lines
    assert all(p["severity"] == "error" for p in report["problems"])
    assert [p["patient_id"] for p in report["patients"]] == ["P0001", "P0002", "P0003", "P0004",
                                                             "P0005"]  # fmt: skip
    assert [p["status"] for p in report["patients"]] == ["billable"] + ["error"] * 4
    # the valid rows still count: line 2 and line 10 of the log
    assert report["patients"][0]["minutes"]["clinical_staff"] > 0


def test_check_table_prints_problems_on_stderr(cli, broken):
    result = cli("check", "-d", broken, "--month", "2026-10")
    assert result.exit_code == 1
    assert "P0001" in result.stdout
    assert 'logs/2026-10.csv:3: error: minutes "2O" is not a whole number' in result.stderr
    assert "logs/2026-10.csv" not in result.stdout
    # a problem never echoes patient data: the broken patients' names are not printed
    for path in (broken / "patients").glob("*.yaml"):
        name = re.search(r"^name: (.+)$", path.read_text(), re.M)
        if name and path.stem != "P0001":
            assert name.group(1) not in result.stderr


def test_check_a_bad_patient_file_is_reported_and_the_others_judged(cli, tmp_path):
    root = build(tmp_path, "2025-03", ["03-04 20 staff"], other_patients={"P2": {}})
    (root / "patients" / "P2.yaml").write_text("id: P2\nname: X\nbirth_date: 1950-02-30\n")
    result = cli("check", "-d", root, "--month", "2025-03", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(p["patient_id"], p["status"]) for p in report["patients"]] == [
        ("P1", "billable"), ("P2", "error")]  # fmt: skip
    assert report["problems"][0]["file"] == "patients/P2.yaml"
    assert report["problems"][0]["line"] == 3


def test_warnings_alone_do_not_change_the_exit_code(cli, tmp_path):
    late = {"date": "03-04", "minutes": 20, "logged_at": "2025-03-30T10:00:00-05:00"}
    root = build(tmp_path, "2025-03", [late, "03-04 20 staff", "03-04 20 staff"])
    result = cli("check", "-d", root, "--month", "2025-03", "--format", "json")
    assert result.exit_code == 0
    warnings = {w["rule"] for w in json.loads(result.stdout)["patients"][0]["warnings"]}
    assert warnings == {"late_entry", "duplicate_entry"}


def test_check_json_has_exactly_the_contract_keys(cli, tmp_path):
    root = build(tmp_path, "2025-03", ["03-04 20 staff", "03-06 30 prac"])
    report = check_json(cli, root, "--month", "2025-03")
    assert set(report) == {"schema", "month", "provisional", "rules", "patients", "problems",
                           "summary"}  # fmt: skip
    assert report["schema"] == "ccm.check/1"
    p = report["patients"][0]
    assert set(p) == {"patient_id", "name", "program", "status", "minutes", "codes",
                      "date_of_service", "amount", "alternatives", "blockers", "warnings", "next",
                      "services", "total_amount", "patient_share", "not_assessed",
                      "codes_without_doubted_minutes"}  # fmt: skip
    assert set(p["minutes"]) == {"clinical_staff", "practitioner", "not_counted", "other_services",
                                 "counted"}  # fmt: skip
    assert set(p["next"]) == {"codes", "minutes_needed", "role"}
    assert {"codes", "amount"} <= set(p["alternatives"][0])
    assert all(isinstance(c["units"], int) and c["units"] > 0 for c in p["codes"])


def test_rules_note_for_a_year_without_a_table(cli, tmp_path):
    root = build(tmp_path, "2024-11", ["11-04 20 staff"])
    result = cli("check", "-d", root, "--month", "2024-11", "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["rules"] == "2025"
    assert report["rules_note"] == "no rules table for 2024: using the 2025 table"
    table = cli("check", "-d", root, "--month", "2024-11")
    assert "note: no rules table for 2024" in table.stderr
    assert cli("check", "-d", root, "--month", "2024-11", "-q").stderr == ""


# --- explain -----------------------------------------------------------------------------------


def test_explain_shows_each_gate_entry_track_and_warning(cli, clinic):
    result = cli("explain", "P0006", "-d", clinic, "--month", "2026-10")
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert (
        out.splitlines()[0]
        == "P0006: 22 min (15 not counted) in October 2026: 99490 met; 18 more for 99439"
    )
    for gate in ("not_enough_conditions", "no_consent", "consent_revoked", "no_initiating_visit",
                 "no_care_plan"):  # fmt: skip
        assert re.search(rf"^  ok +{gate}: \S", out, re.M), gate
    assert "consent: 2026-10-14" in out
    assert re.search(r"logs/2026-10\.csv:\d+ +E20261006-0001 +2026-10-06 +15 min +clinical_staff"
                     r" .*not counted: before consent", out)  # fmt: skip
    assert len(re.findall(r"^logs/2026-10\.csv:\d+ .* counted$", out, re.M)) == 2
    assert "track: staff -> 99490x1 ($66.13, date of service 2026-10-22)" in out
    assert "warning minutes_before_consent" in out
    assert "warning minutes_before_initiating_visit" in out


def test_explain_json_lists_gates_entries_track_and_alternatives(cli, clinic):
    result = cli("explain", "P0010", "-d", clinic, "--month", "2026-10", "--format", "json")
    assert result.exit_code == 0
    ex = json.loads(result.stdout)
    assert [g["rule"] for g in ex["gates"]][:6] == ["not_enough_conditions", "no_consent",
        "consent_revoked", "no_initiating_visit", "no_care_plan", "discharged"]  # fmt: skip
    assert all(g["passed"] and g["fact"] for g in ex["gates"])
    assert ex["track"]["track"] == "complex" and codes_of(ex["track"]) == "99487x1 99489x1"
    assert ex["track"]["references"][0] == "A1"
    assert "max_payment" in ex["track"]["why"]
    assert [codes_of(a) for a in ex["alternatives"]] == ["99490x1 99439x2"]
    entries = ex["entries"]
    assert sum(e["minutes"] for e in entries) == 98
    assert all(e["file"] == "logs/2026-10.csv" and e["line"] > 1 and e["counted"] for e in entries)
    assert {e["role"] for e in entries} == {"clinical_staff", "practitioner"}
    assert [e["line"] for e in entries] == sorted(e["line"] for e in entries)


def test_explain_shows_voided_entries_and_void_rows(cli, clinic):
    ex = json.loads(
        cli("explain", "P0001", "-d", clinic, "--month", "2026-10", "-f", "json").stdout
    )
    voided = {e["id"]: e["why_not"] for e in ex["entries"] if not e["counted"]}
    assert voided == {"E20261015-0001": "voided by E20261015-0002",
                      "E20261015-0002": "void row for E20261015-0001"}  # fmt: skip
    assert sum(e["minutes"] for e in ex["entries"] if e["counted"]) == 45


def test_explain_blocked_patient_names_the_failed_gate(cli, clinic):
    result = cli("explain", "P0005", "-d", clinic, "--month", "2026-10")
    assert result.exit_code == 0
    assert re.search(r"^  BLOCKED no_consent: no consent recorded \[C-01\]$", result.stdout, re.M)
    assert result.stdout.count("not counted: no consent recorded") == 2
    assert "blocker no_consent" in result.stdout
    assert "track:" not in result.stdout


def test_explain_says_why_entries_of_an_ignored_role_count_toward_nothing(cli, tmp_path):
    entries = ["03-10 30 prac", "03-12 15 staff", "03-25 10 staff"]
    root = build(tmp_path, "2025-03", entries, settings={"selection": "performer"})
    ex = json.loads(cli("explain", "P1", "-d", root, "--month", "2025-03", "-f", "json").stdout)
    assert [(e["id"], e["counted"]) for e in ex["entries"]] == [
        ("E1", True),
        ("E2", False),
        ("E3", False),
    ]
    assert (
        ex["entries"][1]["why_not"]
        == "the practitioner track does not count clinical staff minutes"
    )
    assert "performer" in ex["track"]["why"]  # fmt: skip


def test_explain_unknown_patient_is_refused(cli, clinic):
    result = cli("explain", "P0099", "-d", clinic, "--month", "2026-10")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "P0099" in result.stderr


def test_explain_problems_of_the_patient_are_listed(cli, tmp_path):
    root = build(tmp_path, "2025-03", ["03-04 20 staff"])
    with (root / "logs" / "2025-03.csv").open("a") as f:
        f.write("E9,P1,2025-03-05,2O,clinical_staff,rn.test,calls,,,,,,\n")
    result = cli("explain", "P1", "-d", root, "--month", "2025-03")
    said = 'logs/2025-03.csv:3: error: minutes "2O" is not a whole number'
    assert said in result.stderr and said not in result.stdout  # once, where errors go


# --- worklist ------------------------------------------------------------------------------------


def test_worklist_lists_unblocked_patients_fewest_minutes_first(cli, clinic):
    result = cli("worklist", "-d", clinic, "--month", "2026-10", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    wl = json.loads(result.stdout)
    got = [(p["patient_id"], p["minutes_needed"]) for p in wl["patients"] if "service" not in p]
    # SCENARIOS.md `next` column; blocked patients and P0002/P0012 (at their caps) are left out
    assert got == [("P0003", 2), ("P0001", 15), ("P0007", 15), ("P0014", 15), ("P0006", 18),
                   ("P0013", 20), ("P0010", 22), ("P0011", 25)]  # fmt: skip
    # A16: a service's next code (P0021's RPM needs its live call; P0019, P0020 more minutes)
    services = [(p["patient_id"], p["service"], p["minutes_needed"], codes_of(p["next"]))
                for p in wl["patients"] if "service" in p]  # fmt: skip
    assert services == [("P0021", "rpm", 1, "99457x1"), ("P0019", "rpm", 8, "99457x1"),
                        ("P0020", "rpm", 15, "99457x1 99458x2")]  # fmt: skip
    assert wl["days_left"] == 0  # October has ended
    p10 = next(p for p in wl["patients"] if p["patient_id"] == "P0010")
    assert (p10["minutes"]["clinical_staff"] + p10["minutes"]["practitioner"], p10["role"],
            codes_of(p10["next"])) == (98, "clinical_staff", "99487x1 99489x2")  # fmt: skip
    assert p10["adds"] == 78.16  # one more 99489
    assert wl["summary"]["minutes_needed"] == sum(p["minutes_needed"] for p in wl["patients"])


def test_worklist_days_left_in_the_current_month(cli, clinic):
    wl = json.loads(cli("worklist", "-d", clinic, "--format", "json").stdout)
    month = current_month("America/Chicago")
    today = today_in("America/Chicago")
    assert wl["month"] == str(month)
    assert wl["days_left"] == (month.last - today).days + 1
    assert all(p["days_left"] == wl["days_left"] for p in wl["patients"])
    needed = [p["minutes_needed"] for p in wl["patients"]]
    assert needed == sorted(needed)


def test_worklist_november_matches_the_clinic(cli, clinic):
    wl = json.loads(cli("worklist", "-d", clinic, "--month", "2026-11", "-f", "json").stdout)
    wl["patients"] = [p for p in wl["patients"] if "service" not in p]  # the programs' lines
    got = {p["patient_id"]: (p["minutes_needed"], codes_of(p["next"])) for p in wl["patients"]}
    assert got["P0010"] == (5, "99490x1 99439x2")
    assert got["P0011"] == (5, "99426x1")
    assert got["P0012"][0] == 15 and wl["patients"][1]["patient_id"] == "P0010"
    assert not {"P0004", "P0005", "P0007", "P0008", "P0009"} & set(got)
    # A8: an APCM patient with no activity yet this month needs one documented activity
    first = wl["patients"][0]
    assert (first["patient_id"], first["program"], first["role"]) == ("P0015", "apcm", "any")
    assert got["P0015"] == (1, "G0556x1")
    assert not {"P0016", "P0017", "P0018"} & set(got)  # APCM months already billable


def test_worklist_csv_and_table(cli, clinic):
    result = cli("worklist", "-d", clinic, "--month", "2026-10", "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["patient_id", "name", "program", "status", "minutes", "minutes_needed",
                       "role", "next_codes", "adds", "days_left", "service"]  # fmt: skip
    assert rows[1][:4] == ["P0021", "Victor Haddad", "ccm", "blocked"]  # its RPM: one live call
    assert rows[1][-1] == "rpm"  # the line's codes are RPM's, and the row says so
    assert rows[2] == ["P0003", "Dolores Whitfield", "ccm", "below_threshold", "18", "2",
                       "clinical_staff", "99490x1", "66.13", "0", ""]  # fmt: skip
    table = cli("worklist", "-d", clinic, "--month", "2026-10").stdout
    assert table.splitlines()[0].startswith("worklist 2026-10: the month has ended")
    assert "99487x1 99489x2" in table  # fmt: skip


def test_worklist_role_is_the_practitioner_when_only_they_logged_time(cli, tmp_path):
    root = build(tmp_path, "2025-03", ["03-06 15 prac", "03-21 14 prac"])
    wl = json.loads(cli("worklist", "-d", root, "--month", "2025-03", "-f", "json").stdout)
    assert [(p["minutes_needed"], p["role"], codes_of(p["next"])) for p in wl["patients"]] == [
        (1, "practitioner", "99491x1")
    ]


# --- rules ---------------------------------------------------------------------------------------


def test_rules_for_2025_and_2026(cli):
    for year, amounts in (
        (2025, {"99490": 60.49, "99489": 70.52}),
        (2026, {"99490": 66.13, "99489": 78.16}),
    ):
        view = json.loads(cli("rules", "--year", str(year), "--format", "json").stdout)
        assert view["rules"] == str(year) and "note" not in view
        got = {t["base"]["code"]: t["base"]["amount"] for t in view["tracks"]}
        got |= {t["addon"]["code"]: t["addon"]["amount"] for t in view["tracks"]}
        assert {c: got[c] for c in amounts} == amounts
    caps = {t["addon"]["code"]: t["addon"]["cap"] for t in view["tracks"]}
    assert caps == {"99439": 2, "99437": 2, "99489": 10, "99425": 2, "99427": 2}  # fmt: skip


def test_rules_for_a_later_year_use_the_newest_table_and_say_so(cli):
    view = json.loads(cli("rules", "--year", "2027", "--format", "json").stdout)
    assert view["rules"] == "2026"
    assert view["note"] == "no rules table for 2027: using the 2026 table"
    table = cli("rules", "--year", "2027")
    assert table.exit_code == 0
    assert "using the 2026 table" in table.stdout


def test_rules_table_and_csv(cli):
    table = cli("rules", "--year", "2026").stdout
    row_99491 = next(line for line in table.splitlines() if "99491" in line).split()
    assert {"89.18", "2.67", "33.4009", "RVU26A"} <= set(row_99491)  # amount beside its source
    assert "*" not in table  # no amount is an estimate any more
    assert "CMS RVU26A, released 2025-12-29" in table
    rows = list(csv.reader(io.StringIO(cli("rules", "--year", "2025", "-f", "csv").stdout)))
    assert rows[0] == ["program", "track", "code", "kind", "when", "cap", "amount", "references",
                       "rvu", "conversion_factor", "rvu_file"]  # fmt: skip
    assert rows[1][:7] == ["ccm", "staff", "99490", "base", ">= 20", "1", "60.49"]
    assert rows[1][8:] == ["1.87", "32.3465", "RVU25A"]
    assert len(rows) == 19  # header, 10 time-based codes, 3 APCM levels, 5 service codes (A11-A14)
    assert [r[2] for r in rows[11:14]] == ["G0556", "G0557", "G0558"]
    assert [r[2] for r in rows[14:]] == ["99484", "99457", "99458", "98980", "98981"]  # no 99470


# --- patient show ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pid", "month", "line"),
    [
        ("P0001", "2026-10", "P0001: 45 min in October 2026: 99490 + 99439 met; 15 more for 99439"),
        ("P0002", "2026-10", "P0002: 60 min (12 not counted) in October 2026: 99490 + 99439 x2 met; no further code this month"),
        ("P0003", "2026-10", "P0003: 18 min in October 2026: 2 more for 99490"),
        ("P0007", "2026-11", "P0007: 10 min in November 2026: blocked (consent_revoked)"),
        ("P0013", "2026-10", "P0013: 0 min in October 2026: 20 more for 99490"),
    ],
)  # fmt: skip
def test_patient_show_status_line(cli, clinic, pid, month, line):
    result = cli("patient", "show", pid, "-d", clinic, "--month", month)
    assert result.exit_code == 0, result.stderr
    assert line in result.stdout.splitlines()


def test_status_line_names_every_code_when_more_minutes_change_the_track(cli, tmp_path):
    """S11: 99491 now; 10 more practitioner minutes make 99490 + 99439, never 99491 + 99439."""
    root = build(tmp_path, "2025-03", ["03-06 15 prac", "03-21 15 prac"])
    result = cli("patient", "show", "P1", "-d", root, "--month", "2025-03")
    assert "P1: 30 min in March 2025: 99491 met; 10 more (practitioner) for 99490 + 99439" in (
        result.stdout.splitlines()
    )
    table = cli("check", "-d", root, "--month", "2025-03").stdout
    assert "10 more (practitioner) for 99490 + 99439" in table


def test_patient_show_json_status_is_the_check_result(cli, clinic):
    shown = json.loads(
        cli("patient", "show", "P0010", "-d", clinic, "--month", "2026-10", "-f", "json").stdout
    )
    checked = check_json(cli, clinic, "--month", "2026-10", "P0010")["patients"][0]
    assert {k: shown[k] for k in checked} == checked  # the month as `check` words it
    assert shown["patient_id"] == "P0010" and shown["record"]["name"] == "Eugene Fairweather"


# --- end to end, and the README --------------------------------------------------------------------


def test_installed_ccm_check_csv_end_to_end(tmp_path):
    clinic = example_copy("clinic", tmp_path / "clinic")
    done = subprocess.run([CCM, "check", "--month", "2026-10", "--format", "csv"], cwd=clinic,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(CHECK_CSV_HEADER)
    assert len(done.stdout.splitlines()) == 1 + 22  # header and the 22 example patients
