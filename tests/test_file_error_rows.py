"""A patient whose file has an error stays visible in `check` (contract 3, status `error`).

examples/broken has one valid patient (P0001) and four whose files have planted errors
(FAULTS.md): each is listed, counted under `error`, and says what is wrong.
"""

import csv
import io
import json

FAULTS = {
    "P0002": 'patients/P0002.yaml:1: id "P0001" does not match the file name "P0002.yaml"',
    "P0003": "patients/P0003.yaml:10:10: YAML syntax: mapping values are not allowed",
    "P0004": "patients/P0004.yaml:4: billing_npi is not a valid NPI",
    "P0005": "patients/P0005.yaml:3: birth_date is not a real date",
}


def test_check_json_lists_every_patient_file(cli, broken):
    r = cli("-d", broken, "check", "--month", "2026-10", "-f", "json")
    assert r.exit_code == 1  # the files have errors
    out = json.loads(r.stdout)
    assert [p["patient_id"] for p in out["patients"]] == ["P0001", *FAULTS]
    for p in out["patients"][1:]:
        assert p["status"] == "error" and p["codes"] == [] and p["amount"] == 0
        assert p["next"] is None and p["date_of_service"] is None
        [blocker] = p["blockers"]
        assert blocker["rule"] == "file_error"
        assert blocker["message"].startswith(FAULTS[p["patient_id"]])
    s = out["summary"]
    assert (s["patients"], s["billable"], s["error"]) == (5, 1, 4)


def test_check_json_of_a_cached_practice_lists_them_too(cli, broken):
    """The JSON of the whole practice comes from judged_lines (kept between runs)."""
    for _ in range(2):
        out = json.loads(cli("-d", broken, "check", "--month", "2026-10", "-f", "json").stdout)
        assert [p["status"] for p in out["patients"]] == ["billable"] + ["error"] * 4


def test_table_and_csv_keep_the_row(cli, broken):
    table = cli("-d", broken, "check", "--month", "2026-10", "--wide").stdout
    lines = {line.split()[0]: line for line in table.splitlines() if line.startswith("P000")}
    for pid, words in FAULTS.items():
        assert " error " in lines[pid] and words in lines[pid] and "see ccm validate" in lines[pid]
    assert (
        "total: 5 patients (1 billable, 0 below_threshold, 0 blocked, 0 no_time, 4 error" in table
    )
    rows = list(csv.DictReader(io.StringIO(cli("-d", broken, "check", "--month", "2026-10",
                                              "-f", "csv").stdout)))  # fmt: skip
    assert [(r["patient_id"], r["status"], r["blockers"]) for r in rows[1:]] == [
        (pid, "error", "file_error") for pid in FAULTS
    ]


def test_a_narrow_table_points_to_validate(cli, broken, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("-d", broken, "check", "--month", "2026-10")
    line = next(x for x in r.stdout.splitlines() if x.startswith("P0004"))
    assert "error" in line and "ccm validate" in line


def test_check_id_says_what_is_wrong(cli, broken):
    r = cli("-d", broken, "check", "P0004", "--month", "2026-10", "--wide")
    assert r.exit_code == 1
    assert "its file has errors" not in r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("P0004"))
    assert FAULTS["P0004"] in line
    only = json.loads(
        cli("-d", broken, "check", "P0004", "--month", "2026-10", "-f", "json").stdout
    )
    assert only["summary"]["error"] == 1 and only["summary"]["patients"] == 1


def test_status_filter_takes_error(cli, broken):
    out = json.loads(cli("-d", broken, "check", "--month", "2026-10", "--status", "error",
                         "-f", "json").stdout)  # fmt: skip
    assert [p["patient_id"] for p in out["patients"]] == list(FAULTS)


def test_a_clean_practice_counts_no_error(cli, clinic):
    out = json.loads(cli("-d", clinic, "check", "--month", "2026-10", "-f", "json").stdout)
    assert out["summary"]["error"] == 0
    table = cli("-d", clinic, "check", "--month", "2026-10").stdout
    assert "error" not in table
