"""Warnings that changed the bill are shown where the bill is.

P0011 (pcm) has 25 staff minutes in November; add a 20-minute call, 10 minutes that overlap it
(same person, same time) and a 12-minute entry logged twice: 79 minutes bill 99426 + 99427, and
without the 22 doubted minutes (57) the month bills 99426 alone. `check`'s table, `--wide`, CSV
and JSON say so; the audit packet lists the overlap once.
"""

import csv
import io
import json

from test_cli_check import CHECK_CSV_HEADER

NOW = "2026-11-27T12:00:00-06:00"


def _doubled(cli, clinic, monkeypatch, overlap=("9:10", "9:20")):
    monkeypatch.setenv("CCM_NOW", NOW)
    start, end = overlap
    for args in (["20", "--start", "9:00", "--end", "9:20"], ["10", "--start", start, "--end", end],
                 ["12"], ["12"]):  # fmt: skip
        r = cli("-d", clinic, "log", "P0011", *args, "--staff", "rn.a", "--date", "2026-11-25",
                "-q")  # fmt: skip
        assert r.exit_code == 0, r.stderr


def test_the_table_marks_the_bill_and_says_why(cli, clinic, monkeypatch):
    _doubled(cli, clinic, monkeypatch)
    for extra in ([], ["--wide"]):
        out = cli("-d", clinic, "check", *extra).stdout
        row = next(x for x in out.splitlines() if x.startswith("P0011"))
        assert "billable!" in row and "99426x1 99427x1" in row
        other = next(x for x in out.splitlines() if x.startswith("P0001"))
        assert "!" not in other
        note = " ".join(x.strip() for x in out.splitlines() if x.startswith(("! ", "  ")))
        assert ("! P0011: 99426x1 99427x1 only with the minutes that duplicate_entry and "
                "overlapping_entries doubt; without them 99426x1 (ccm explain P0011)") in note  # fmt: skip


def test_csv_adds_warnings_after_the_contract_columns(cli, clinic, monkeypatch):
    _doubled(cli, clinic, monkeypatch)
    text = cli("-d", clinic, "check", "-f", "csv").stdout
    header = text.splitlines()[0]
    assert header.startswith(CHECK_CSV_HEADER + ",")
    assert header.endswith(",warnings,codes_without_doubted_minutes")
    rows = {r["patient_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["P0011"]["codes"] == "99426x1 99427x1"
    assert rows["P0011"]["codes_without_doubted_minutes"] == "99426x1"
    assert set(rows["P0011"]["warnings"].split()) >= {"duplicate_entry", "overlapping_entries"}
    assert rows["P0001"]["codes_without_doubted_minutes"] == ""


def test_json_says_it_too(cli, clinic, monkeypatch):
    _doubled(cli, clinic, monkeypatch)
    out = json.loads(cli("-d", clinic, "check", "P0011", "P0001", "-f", "json").stdout)
    p11, p1 = out["patients"]
    assert p11["codes_without_doubted_minutes"] == [{"code": "99426", "units": 1}]
    assert p1["codes_without_doubted_minutes"] is None


def test_warnings_that_change_nothing_leave_no_mark(cli, clinic, monkeypatch):
    """25 + 40 + 10 minutes with a 2-minute overlap: without the 2 doubted minutes, 73 still
    bill 99426 + 99427."""
    monkeypatch.setenv("CCM_NOW", NOW)
    for args in (
        ["40", "--start", "9:00", "--end", "9:40"],
        ["10", "--start", "9:38", "--end", "9:48"],
    ):
        assert cli("-d", clinic, "log", "P0011", *args, "--staff", "rn.a", "-q").exit_code == 0
    out = json.loads(cli("-d", clinic, "check", "P0011", "-f", "json").stdout)["patients"][0]
    assert "overlapping_entries" in [w["rule"] for w in out["warnings"]]
    assert out["codes_without_doubted_minutes"] is None
    assert "billable!" not in cli("-d", clinic, "check", "P0011").stdout


def test_the_audit_packet_lists_each_overlap_once(cli, clinic, monkeypatch):
    _doubled(cli, clinic, monkeypatch)
    md = cli("-d", clinic, "audit", "P0011", "--month", "2026-11").stdout
    overlaps = [x for x in md.splitlines() if "overlapping_entries:" in x]
    assert len(overlaps) == 1 and "by 10 min" in overlaps[0]
    explained = json.loads(cli("-d", clinic, "explain", "P0011", "-f", "json").stdout)
    assert [w["rule"] for w in explained["warnings"]].count("overlapping_entries") == 1


def test_an_overlap_with_another_patient_warns_each(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    for pid, start, end in (("P0011", "9:00", "9:20"), ("P0001", "9:15", "9:30")):
        r = cli("-d", clinic, "log", pid, "--start", start, "--end", end, "--staff", "rn.a", "-q")
        assert r.exit_code == 0, r.stderr
    out = json.loads(cli("-d", clinic, "check", "P0011", "P0001", "-f", "json").stdout)
    for p in out["patients"]:
        found = [w for w in p["warnings"] if w["rule"] == "overlapping_entries"]
        assert len(found) == 1 and "by 5 min" in found[0]["message"]


def test_explain_and_the_audit_packet_say_what_the_bill_rests_on(
    cli, clinic, monkeypatch, tmp_path
):
    _doubled(cli, clinic, monkeypatch)
    words = "without the minutes those warnings doubt, the month would bill 99426x1"
    assert words in cli("-d", clinic, "explain", "P0011", "--wide").stdout.replace("\n  ", " ")
    assert words in cli("-d", clinic, "audit", "P0011", "--month", "2026-11").stdout
    html = tmp_path / "a.html"
    assert cli("-d", clinic, "audit", "P0011", "--month", "2026-11", "-o", html).exit_code == 0
    assert words in html.read_text()
