"""One claim per patient-month (ccm-rules A18, contract 5; issue 23 items 2 and 3).

Once a patient-month is exported, a later export writes nothing for it: unchanged, there is
nothing to send; changed in any way, it needs a corrected claim (reported once per patient-month,
written by `export --corrections`), never an additive line that a payer denies as a duplicate or
as an add-on without its base code. And an export never empties a claims file written before.
"""

import csv
import io
import os
import subprocess

import pytest

from ccmcli.store.ledger import COLUMNS
from helpers import CCM
from test_export import PREV, add_patient, day, ledger, log, rows, void

CORRECTION_COLUMNS = [*COLUMNS, "frequency", "replaces"]


@pytest.fixture
def run(cli, datadir):
    def go(*args: str):
        return cli("export", "-d", datadir, *args)

    return go


def reports(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "needs a corrected claim" in line]


def lines_of(text: str) -> list[tuple[str, str, str, str]]:
    return [(x["patient_id"], x["code"], x["units"], x["date_of_service"]) for x in rows(text)]


# ---- item 2: no additive line, one report per changed patient-month -------------------------------


def test_a_later_unit_is_no_additive_line_but_a_corrected_claim(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 20, day(10))
    log(datadir, "P1", 20, day(10))  # 40: 99490 + 99439, on day 10
    first = run()
    assert lines_of(first.stdout) == [("P1", "99490", "1", day(10)), ("P1", "99439", "1", day(10))]
    log(datadir, "P1", 20, day(20))  # 60: a second 99439 unit on day 20
    again = run()
    assert again.exit_code == 1
    assert lines_of(again.stdout) == []  # never a lone 99439 on day 20
    assert reports(again.stderr) == [
        f"P1 {PREV}: exported 99490x1 99439x1 on {day(10)}; the data now supports "
        f"99490x1 99439x2 on {day(20)}: needs a corrected claim"
    ]
    assert len(ledger(datadir)) == 2
    third = run()  # still not corrected: said again, still nothing written
    assert third.exit_code == 1 and len(reports(third.stderr)) == 1 and rows(third.stdout) == []


def test_units_down_is_one_report_for_the_patient_month(run, datadir):
    add_patient(datadir, "P1")
    add_patient(datadir, "P2")
    log(datadir, "P1", 25, day(3))
    second = log(datadir, "P1", 20, day(3))
    assert run().exit_code == 0
    void(datadir, second, "P1", day(3))
    log(datadir, "P2", 21, day(4))
    r = run()
    assert r.exit_code == 1
    assert reports(r.stderr) == [
        f"P1 {PREV}: exported 99490x1 99439x1 on {day(3)}; the data now supports "
        f"99490x1 on {day(3)}: needs a corrected claim"
    ]
    assert lines_of(r.stdout) == [("P2", "99490", "1", day(4))]  # others' new claims still go


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ("diagnoses", "diagnoses E11.9 I10; the data now supports 99490x1 on {d}, diagnoses E11.9 I50.22"),
        ("npi", "billing NPI 1234567893; the data now supports 99490x1 on {d}, billing NPI 1245319599"),
        ("place", "place of service 11; the data now supports 99490x1 on {d}, place of service 22"),
    ],
)  # fmt: skip
def test_a_changed_field_of_the_claim_is_named(run, datadir, change, shown):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(6))
    assert run().exit_code == 0
    if change == "diagnoses":
        add_patient(datadir, "P1", conditions=("E11.9", "I50.22"))
    elif change == "npi":
        add_patient(datadir, "P1", extra='billing_npi: "1245319599"\n')
    else:
        settings = datadir / "ccm.yaml"
        text = settings.read_text()
        assert "place_of_service: '11'" in text
        settings.write_text(text.replace("place_of_service: '11'", "place_of_service: '22'"))
    r = run()
    assert r.exit_code == 1
    want = f"P1 {PREV}: exported 99490x1 on {day(6)}, " + shown.format(d=day(6))
    assert reports(r.stderr) == [want + ": needs a corrected claim"]


def test_a_moved_date_of_service_is_reported(run, datadir):
    add_patient(datadir, "P1")
    first = log(datadir, "P1", 20, day(5))
    assert run().exit_code == 0
    void(datadir, first, "P1", day(5))
    log(datadir, "P1", 20, day(22))
    r = run()
    assert reports(r.stderr) == [
        f"P1 {PREV}: exported 99490x1 on {day(5)}; the data now supports 99490x1 on {day(22)}: "
        "needs a corrected claim"
    ]


def test_unchanged_is_silent(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(5))
    assert run().exit_code == 0
    log(datadir, "P1", 5, day(7))  # more minutes, the same claim (30: still 99490 on day 5)
    r = run()
    assert (r.exit_code, reports(r.stderr), rows(r.stdout)) == (0, [], [])


def test_the_patient_month_stays_on_its_track(run, cli, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 30, day(2), role="practitioner")
    assert lines_of(run().stdout) == [("P1", "99491", "1", day(2))]
    log(datadir, "P1", 30, day(10))  # the staff track would pay more now: not a change of claim
    quiet = run()
    assert (quiet.exit_code, reports(quiet.stderr)) == (0, [])
    log(datadir, "P1", 30, day(20), role="practitioner")
    more = run()
    assert reports(more.stderr) == [
        f"P1 {PREV}: exported 99491x1 on {day(2)}; the data now supports 99491x1 99437x1 on "
        f"{day(20)}: needs a corrected claim"
    ]
    fixed = run("--corrections")
    assert [(x["code"], x["units"], x["frequency"]) for x in rows(fixed.stdout)] == [
        ("99491", "1", "7"), ("99437", "1", "7")]  # fmt: skip


# ---- --corrections ---------------------------------------------------------------------------------


def test_corrections_replace_the_claim_once(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    add_patient(datadir, "P2")
    log(datadir, "P1", 20, day(10))
    log(datadir, "P2", 20, day(11))
    assert run().exit_code == 0
    stamp = {x["patient_id"]: x["exported_at"] for x in ledger(datadir)}
    log(datadir, "P1", 20, day(20))
    out = tmp_path / "corrected.csv"
    fixed = run("--corrections", "-o", out)
    assert fixed.exit_code == 0, fixed.stderr
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0] == CORRECTION_COLUMNS
    got = [(x["patient_id"], x["code"], x["units"], x["date_of_service"], x["frequency"],
            x["replaces"]) for x in rows(out.read_text())]  # fmt: skip
    assert got == [("P1", "99490", "1", day(20), "7", stamp["P1"]),
                   ("P1", "99439", "1", day(20), "7", stamp["P1"])]  # fmt: skip
    assert "1 corrected claim" in fixed.stderr
    assert "note: 1 patient-month never exported" not in fixed.stderr
    recorded = [(x["code"], x["frequency"], x["replaces"]) for x in ledger(datadir)]
    assert recorded[-2:] == [("99490", "7", stamp["P1"]), ("99439", "7", stamp["P1"])]
    assert ledger(datadir)[-1]["exported_at"] > stamp["P1"]  # one export, one stamp of its own
    after = run()  # corrected: neither reported nor written again
    assert (after.exit_code, reports(after.stderr), rows(after.stdout)) == (0, [], [])
    none = run("--corrections")
    assert none.exit_code == 0
    assert none.stdout_bytes == (",".join(CORRECTION_COLUMNS) + "\r\n").encode()
    assert f"no corrected claims to write for {PREV}" in none.stderr
    reprint = run("--reprint")
    assert lines_of(reprint.stdout) == [("P1", "99490", "1", day(20)), ("P1", "99439", "1", day(20)),
                                        ("P2", "99490", "1", day(11))]  # fmt: skip


def test_nothing_billable_any_more_voids_the_claim(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 45, day(8))
    first = run()
    stamp = ledger(datadir)[0]["exported_at"]
    add_patient(datadir, "P1", conditions=("E11.9",))  # one condition: blocked
    r = run()
    assert reports(r.stderr) == [
        f"P1 {PREV}: exported 99490x1 99439x1 on {day(8)}; the data now supports nothing: "
        "needs a corrected claim"
    ]
    fixed = run("--corrections")
    got = [(x["code"], x["units"], x["date_of_service"], x["charge"], x["frequency"], x["replaces"])
           for x in rows(fixed.stdout)]  # fmt: skip
    want = [(x["code"], x["units"], x["date_of_service"], x["charge"], "8", stamp)
            for x in rows(first.stdout)]  # fmt: skip
    assert got == want  # the exported lines, repeated, voided
    again = run()
    assert (again.exit_code, reports(again.stderr)) == (0, [])
    assert rows(run("--reprint").stdout) == []  # a voided claim is billed no more


def test_a_ledger_written_before_a18_is_read_and_corrected(run, datadir):
    """Ledgers of 15 columns, with the additive lines of earlier versions: the claim is all the
    lines exported; a correction replaces all of them, and the ledger gains the two columns."""
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(3))
    log(datadir, "P1", 20, day(20))
    base = ["P1", "Test Patient", "1948-03-02", "", "1234567893", "11"]
    dx = ["E11.9", "I10", "", ""]
    old = [",".join([*COLUMNS, "exported_at"]),
           ",".join([*base, day(3), "99490", "1", "66.13", *dx, f"{day(28)}T10:00:00-06:00"]),
           ",".join([*base, day(20), "99439", "1", "50.44", *dx, f"{day(28)}T11:00:00-06:00"])]  # fmt: skip
    path = datadir / "exports" / f"{PREV}.csv"
    path.write_text("\n".join(old) + "\n")
    r = run()
    assert reports(r.stderr) == [
        f"P1 {PREV}: exported 99490x1 on {day(3)}, 99439x1 on {day(20)}; the data now supports "
        f"99490x1 99439x1 on {day(20)}: needs a corrected claim"
    ]
    fixed = run("--corrections")
    assert fixed.exit_code == 0, fixed.stderr
    assert {x["replaces"] for x in rows(fixed.stdout)} == {
        f"{day(28)}T10:00:00-06:00 {day(28)}T11:00:00-06:00"}  # fmt: skip
    header = [*COLUMNS, "exported_at", "frequency", "replaces"]
    assert path.read_text().splitlines()[0] == ",".join(header)
    assert [x["frequency"] for x in ledger(datadir)] == ["", "", "7", "7"]
    assert (run().exit_code, reports(run().stderr)) == (0, [])


# ---- item 3: -o is never emptied, --dry-run ---------------------------------------------------------


def test_nothing_new_leaves_the_claims_file_as_it_was(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)
    out = tmp_path / "claims.csv"
    assert run("-o", out).exit_code == 0
    before = out.read_bytes()
    assert len(rows(before.decode())) == 1
    again = run("-o", out)
    assert again.exit_code == 0
    assert out.read_bytes() == before
    assert f"nothing new to export for {PREV}" in again.stderr
    assert f"{out} left as it was" in again.stderr and "--reprint" in again.stderr


def test_two_exports_at_once_to_one_file(datadir, tmp_path):
    for i in range(6):
        add_patient(datadir, f"P{i}")
        log(datadir, f"P{i}", 25)
    out = tmp_path / "claims.csv"
    env = {**os.environ, "CCM_DATA_DIR": str(datadir)}
    procs = [subprocess.Popen([CCM, "export", "-o", str(out)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    done = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], done
    assert sorted(x["patient_id"] for x in rows(out.read_text())) == [f"P{i}" for i in range(6)]
    assert sorted(x["patient_id"] for x in ledger(datadir)) == [f"P{i}" for i in range(6)]


def test_dry_run_prints_and_records_nothing(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(4))
    out = tmp_path / "claims.csv"
    dry = run("--dry-run", "-o", out)
    assert dry.exit_code == 0, dry.stderr
    assert lines_of(dry.stdout) == [("P1", "99490", "1", day(4))]
    assert not out.exists()
    assert not (datadir / "exports" / f"{PREV}.csv").exists()
    assert "dry run" in dry.stderr and "nothing recorded" in dry.stderr
    assert run().exit_code == 0
    log(datadir, "P1", 20, day(9))
    before = (datadir / "exports" / f"{PREV}.csv").read_bytes()
    dry_fix = run("--corrections", "--dry-run")
    assert [x["frequency"] for x in rows(dry_fix.stdout)] == ["7", "7"]
    assert (datadir / "exports" / f"{PREV}.csv").read_bytes() == before


def test_the_audit_packet_tells_a_corrected_claim_from_the_original(run, cli, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 20, day(10))
    assert run().exit_code == 0
    stamp = ledger(datadir)[0]["exported_at"]
    log(datadir, "P1", 20, day(20))
    assert run("--corrections").exit_code == 0
    packet = cli("-d", datadir, "audit", "P1", "--month", str(PREV))
    assert packet.exit_code == 0, packet.stderr
    assert f"corrected claim (frequency 7) replacing {stamp}" in packet.stdout


def test_a_reprint_of_nothing_leaves_the_file_as_it_was(run, datadir, tmp_path):
    out = tmp_path / "claims.csv"
    out.write_text("an earlier claims file\n")
    r = run("--reprint", "-o", out)
    assert r.exit_code == 0
    assert out.read_text() == "an earlier claims file\n"
    assert f"nothing exported yet for {PREV}" in r.stderr and "left as it was" in r.stderr


def test_corrections_leave_new_claims_to_a_plain_export_and_say_so(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 20, day(10))
    assert run().exit_code == 0
    log(datadir, "P1", 20, day(20))
    add_patient(datadir, "P2")
    log(datadir, "P2", 20, day(12))
    fixed = run("--corrections")
    assert {x["patient_id"] for x in rows(fixed.stdout)} == {"P1"}
    assert "note: 1 patient-month never exported; a plain `ccm export` writes" in fixed.stderr
    assert lines_of(run().stdout) == [("P2", "99490", "1", day(12))]
