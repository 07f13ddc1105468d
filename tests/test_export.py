"""`ccm export` (contract section 5): claim lines, the ledger that prevents billing twice, refusals,
and formula defusing. Test data is dated in the last finished month of the real clock, so the
default month and the open-month refusal are exercised as a biller meets them."""

import csv
import io
import itertools
import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccmcli.actions import export
from ccmcli.models.months import current_month, last_finished_month
from ccmcli.store import csv_safe, fileio, timelog
from ccmcli.store.datadir import DataDir
from ccmcli.store.ledger import COLUMNS
from helpers import CCM

TZ = "America/Chicago"
PREV = last_finished_month(TZ)
CUR = current_month(TZ)
SINCE = PREV.add(-3).first.isoformat()
_ids = itertools.count(1)


def day(n: int, month=PREV) -> str:
    return month.first.replace(day=n).isoformat()


def add_patient(root: Path, pid: str, name: str = "Test Patient", *, program: str = "ccm",
                conditions=("E11.9", "I10"), extra: str = "") -> None:  # fmt: skip
    conds = "\n".join(f"  - code: {c}" for c in conditions)
    text = (f"id: {json.dumps(pid)}\nname: {json.dumps(name)}\nbirth_date: 1948-03-02\n"
            f"program: {program}\nconditions:\n{conds}\n"
            f"consent:\n  date: {SINCE}\n  method: verbal\n"
            f"initiating_visit:\n  date: {SINCE}\n  type: awv\n"
            f"care_plan:\n  established: {SINCE}\n{extra}")  # fmt: skip
    (root / "patients" / f"{pid}.yaml").write_text(text)


def log(root: Path, pid: str, minutes: int, date: str | None = None,
        role: str = "clinical_staff", month=PREV) -> str:  # fmt: skip
    """Append one entry through the same append path ccm uses; returns its id."""
    eid = f"E{next(_ids):05d}"
    row = [eid, pid, date or day(5, month), str(minutes), role, "rn.test", "call",
           "", "", "", "", ""]  # fmt: skip
    _append(root, month, row)
    return eid


def void(root: Path, eid: str, pid: str, date: str, month=PREV) -> None:
    row = [f"V{next(_ids):05d}", pid, date, "", "", "rn.test", "", "", "", "wrong patient", "", eid]
    _append(root, month, row)


def _append(root: Path, month, row: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    fileio.append_rows(root / "logs" / f"{month}.csv", out.getvalue(), timelog.HEADER_12)


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def ledger(root: Path, month=PREV) -> list[dict]:
    path = root / "exports" / f"{month}.csv"
    return rows(path.read_text()) if path.exists() else []


def claims(r) -> list[tuple[str, str, str]]:
    return [(x["patient_id"], x["code"], x["units"]) for x in rows(r.stdout)]


@pytest.fixture
def run(cli, datadir):
    def go(*args: str):
        return cli("export", "-d", datadir, *args)

    return go


# ---- the ledger: never the same unit twice ------------------------------------------------------


def test_exporting_twice_emits_nothing_the_second_time(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)
    first = run()
    assert first.exit_code == 0, first.stderr
    assert claims(first) == [("P1", "99490", "1")]
    before = (datadir / "exports" / f"{PREV}.csv").read_bytes()
    second = run()
    assert second.exit_code == 0
    assert (
        second.stdout_bytes == (",".join(COLUMNS) + "\r\n").encode()
    )  # header only: still a valid CSV
    assert second.stderr.strip() == f"nothing new to export for {PREV}"
    assert (datadir / "exports" / f"{PREV}.csv").read_bytes() == before


def test_minutes_added_later_need_a_corrected_claim_never_a_further_line(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(3))
    assert claims(run()) == [("P1", "99490", "1")]
    log(datadir, "P1", 20, day(20))
    later = run()
    assert later.exit_code == 1
    assert claims(later) == []  # A18: one claim per patient-month, no additive 99439
    assert f"P1 {PREV}: exported 99490x1 on {day(3)}; the data now supports 99490x1 99439x1 on {day(20)}" in later.stderr  # fmt: skip
    assert [(x["code"], x["units"]) for x in ledger(datadir)] == [("99490", "1")]


def test_void_after_export_needs_a_corrected_claim(run, datadir):
    add_patient(datadir, "P1")
    add_patient(datadir, "P2")
    log(datadir, "P1", 25, day(3))
    second = log(datadir, "P1", 20, day(9))
    assert claims(run()) == [("P1", "99490", "1"), ("P1", "99439", "1")]
    void(datadir, second, "P1", day(9))
    log(datadir, "P2", 21)
    r = run()
    assert r.exit_code == 1
    assert (f"P1 {PREV}: exported 99490x1 99439x1 on {day(9)}; the data now supports 99490x1 "
            f"on {day(3)}: needs a corrected claim") in r.stderr  # fmt: skip
    assert claims(r) == [("P2", "99490", "1")]  # other patients' new lines still go out
    assert [x["patient_id"] for x in ledger(datadir)] == ["P1", "P1", "P2"]


def test_blocked_after_export_needs_the_claim_voided(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 45)
    assert run().exit_code == 0
    add_patient(datadir, "P1", conditions=("E11.9",))  # one condition: not_enough_conditions
    r = run()
    assert r.exit_code == 1
    assert f"P1 {PREV}: exported 99490x1 99439x1 on {day(5)}; the data now supports nothing" in r.stderr  # fmt: skip
    assert claims(r) == []


def test_a_patient_month_stays_on_the_track_first_exported(run, cli, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 30, day(2), role="practitioner")
    assert claims(run()) == [("P1", "99491", "1")]
    log(datadir, "P1", 30, day(10))  # staff now pays more: 60 pooled = 99490 + 99439 x2
    check = json.loads(cli("check", "-d", datadir, "--month", str(PREV), "-f", "json").stdout)
    assert [c["code"] for c in check["patients"][0]["codes"]] == ["99490", "99439"]
    locked = run()
    assert locked.exit_code == 0, locked.stderr
    assert claims(locked) == []
    log(datadir, "P1", 30, day(20), role="practitioner")
    more = run()
    assert claims(more) == []
    assert f"the data now supports 99491x1 99437x1 on {day(20)}" in more.stderr


def test_concurrent_exports_record_each_unit_once(datadir):
    add_patient(datadir, "P1")
    add_patient(datadir, "P2")
    log(datadir, "P1", 45)
    log(datadir, "P2", 20)
    outputs: list[str] = []
    data = DataDir(datadir)
    threads = [threading.Thread(target=export.export_month, args=(data, None, outputs.append))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emitted = [(x["patient_id"], x["code"]) for text in outputs for x in rows(text)]
    assert sorted(emitted) == [("P1", "99439"), ("P1", "99490"), ("P2", "99490")]
    assert len(ledger(datadir)) == 3


def test_reprint_writes_what_was_exported_and_records_nothing(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 45)
    first = run()
    path = datadir / "exports" / f"{PREV}.csv"
    before = path.read_bytes()
    log(datadir, "P1", 20)  # a new unit that reprint must not emit or record
    out = tmp_path / "again.csv"
    r = run("--reprint", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert out.read_text() == first.stdout
    assert path.read_bytes() == before
    assert r.stderr.startswith("reprinted 2 lines for 1 patient, total charge 116.57")


def test_reprint_of_a_month_never_exported(run):
    r = run("--reprint")
    assert r.exit_code == 0
    assert rows(r.stdout) == []
    assert r.stderr.strip() == f"nothing exported yet for {PREV}"


def test_damaged_ledger_refuses(run, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)
    assert run().exit_code == 0
    path = datadir / "exports" / f"{PREV}.csv"
    path.write_text(path.read_text() + "P1,x,1948-03-02\n")
    r = run()
    assert r.exit_code == 1
    assert f"exports/{PREV}.csv:3: row has 3 columns, expected 17" in r.stderr
    assert r.stdout == ""


# ---- refusals -----------------------------------------------------------------------------------


def test_open_month_refused_unless_allowed(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(1, CUR), month=CUR)
    out = tmp_path / "out.csv"
    r = run("--month", str(CUR), "-o", out)
    assert r.exit_code == 1
    assert f"ccm: {CUR} has not ended at the practice" in r.stderr
    assert "--allow-open-month" in r.stderr
    assert not out.exists()
    assert not (datadir / "exports" / f"{CUR}.csv").exists()
    ok = run("--month", str(CUR), "--allow-open-month")
    assert ok.exit_code == 0, ok.stderr
    assert claims(ok) == [("P1", "99490", "1")]


def test_month_with_errors_refused_unless_forced(run, datadir):
    add_patient(datadir, "P1")
    add_patient(datadir, "P2")
    log(datadir, "P1", 25)
    log(datadir, "P2", 25, day(4, PREV.add(-1)))  # a date outside the file's month
    r = run()
    assert r.exit_code == 1
    assert f"not exporting {PREV}: its files have 1 error" in r.stderr
    assert f"logs/{PREV}.csv:3: error: date {day(4, PREV.add(-1))} is outside" in r.stderr
    assert "--force" in r.stderr
    assert r.stdout == ""
    assert ledger(datadir) == []
    forced = run("--force")
    assert forced.exit_code == 1  # contract 2: export exits 1 when any file has an error
    assert claims(forced) == [("P1", "99490", "1")]
    assert len(ledger(datadir)) == 1


def test_output_failure_records_nothing(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)
    (tmp_path / "afile").write_text("x")
    r = run("-o", tmp_path / "afile" / "out.csv")
    assert r.exit_code == 1
    assert "nothing was recorded" in r.stderr
    assert ledger(datadir) == []
    assert claims(run()) == [("P1", "99490", "1")]


def test_output_into_the_ledger_folder_is_refused(run, datadir):
    r = run("-o", datadir / "exports" / f"{PREV}.csv")
    assert r.exit_code == 1  # contract 2: refused
    assert "inside the data directory" in r.stderr


# ---- the claim line -----------------------------------------------------------------------------


def test_default_month_file_modes_and_nothing_on_stdout_with_o(run, datadir, tmp_path):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)
    (datadir / "exports").rmdir()
    out = tmp_path / "claims.csv"
    r = run("-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr.strip() == f"exported 1 line for 1 patient, total charge 66.13 ({PREV})"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE((datadir / "exports").stat().st_mode) == 0o700
    ledger_path = datadir / "exports" / f"{PREV}.csv"
    assert stat.S_IMODE(ledger_path.stat().st_mode) == 0o600
    stamp = ledger(datadir)[0]["exported_at"]
    assert stamp[10] == "T" and stamp[-6] in "+-"  # ISO 8601 with an offset


def test_columns_fees_npi_place_and_dx(run, datadir):
    (datadir / "ccm.yaml").write_text(
        "practice: Test\ntimezone: America/Chicago\nbilling_npi: '1234567893'\n"
        "place_of_service: '22'\nfees:\n  '99490': 75.00\n"
    )
    add_patient(datadir, "P1", conditions=("E11.9", "I10", "E78.5", "N18.30", "I48.91"))
    add_patient(datadir, "P2", program="pcm", conditions=("E78.5", "I50.22"),
                extra="principal_condition: I50.22\nbilling_npi: \"1457302911\"\n")  # fmt: skip
    log(datadir, "P1", 45, day(7))
    log(datadir, "P2", 30, day(8))
    r = run()
    assert r.exit_code == 0, r.stderr
    out = rows(r.stdout)
    assert list(out[0]) == list(COLUMNS)
    p1, p1_addon, p2 = out
    assert (p1["code"], p1["units"], p1["charge"]) == ("99490", "1", "75.00")
    assert (p1_addon["code"], p1_addon["charge"]) == ("99439", "50.44")  # 2026+ national amount
    assert [p1[f"dx{i}"] for i in range(1, 5)] == ["E11.9", "I10", "E78.5", "N18.30"]
    assert (p1["billing_npi"], p1["place_of_service"]) == ("1234567893", "22")
    assert (p2["billing_npi"], p2["place_of_service"]) == ("1457302911", "22")
    assert [p2[f"dx{i}"] for i in range(1, 5)] == ["I50.22", "E78.5", "", ""]
    assert (p2["code"], p2["date_of_service"], p2["birth_date"]) == ("99426", day(8), "1948-03-02")
    assert "total charge 193.24" in r.stderr  # 75.00 + 50.44 + 67.80 (99426, 2026)


# Names are stripped of surrounding whitespace when read, so tab and CR are tested on csv_text.
NASTY = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "=1+2 cmd|' /C calc'!A0"]


def test_formula_injection_defused_in_output_and_ledger(run, datadir):
    for i, name in enumerate(NASTY):
        add_patient(datadir, f"-P{i}", name)
        log(datadir, f"-P{i}", 20)
    r = run()
    assert r.exit_code == 0, r.stderr
    out = rows(r.stdout)
    assert [x["patient_name"] for x in out] == ["'" + n for n in NASTY]
    assert {x["patient_id"] for x in out} == {f"'-P{i}" for i in range(len(NASTY))}
    for text in (r.stdout, (datadir / "exports" / f"{PREV}.csv").read_text()):
        for row in csv.reader(io.StringIO(text)):
            assert not any(cell.startswith(csv_safe.FORMULA_STARTS) for cell in row)
    again = run()  # the defused ids in the ledger still match the patients
    assert (again.exit_code, claims(again)) == (0, [])


@given(st.text())
def test_defuse_never_leaves_a_formula_and_changes_only_the_start(cell):
    out = csv_safe.defuse(cell)
    assert not out.startswith(csv_safe.FORMULA_STARTS)
    assert out in (cell, "'" + cell)
    assert csv_safe.defuse(out) == out


def test_every_column_is_defused_and_line_breaks_stay_inside_cells():
    starts = itertools.islice(itertools.cycle(csv_safe.FORMULA_STARTS), len(COLUMNS))
    line = [c + "x\ry\nz" for c in starts]
    parsed = list(csv.reader(io.StringIO(csv_safe.csv_text([line]), newline="")))
    assert parsed == [["'" + c for c in line]]


# ---- the example clinic -------------------------------------------------------------------------


def test_clinic_export_matches_check_totals(cli, clinic):
    check = json.loads(cli("check", "-d", clinic, "--month", "2026-10", "-f", "json").stdout)
    # A16: the program's codes and the other services' billed beside them, on one claim
    expected = {p["patient_id"]: p["total_amount"] for p in check["patients"] if p["total_amount"]}
    r = cli("export", "-d", clinic, "--month", "2026-10", "--allow-open-month")
    assert r.exit_code == 0, r.stderr
    table = list(csv.reader(io.StringIO(r.stdout)))
    assert table[0] == list(COLUMNS)
    assert all(len(row) == 14 for row in table)
    charged: dict[str, float] = {}
    for x in rows(r.stdout):
        charged[x["patient_id"]] = round(charged.get(x["patient_id"], 0) + float(x["charge"]), 2)
    assert charged == expected
    assert f"total charge {sum(expected.values()):.2f}" in r.stderr


def test_installed_ccm_exports_the_clinic(clinic, tmp_path):
    out = tmp_path / "october.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    done = subprocess.run([CCM, "export", "-d", str(clinic), "--month", "2026-10",
                           "--allow-open-month", "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = rows(out.read_text())
    assert len(lines) == 22  # 17 of the programs, 5 of the other services (A16)
    assert "exported 22 lines for 14 patients" in done.stderr
    # A8: APCM months bill their level's G-code once, dated the month's last day
    apcm = {x["patient_id"]: (x["code"], x["units"], x["date_of_service"], x["charge"])
            for x in lines if x["code"].startswith("G") and x["code"] != "G0570"}  # fmt: skip
    assert apcm == {"P0015": ("G0556", "1", "2026-10-31", "16.37"),
                    "P0016": ("G0557", "1", "2026-10-31", "53.78"),
                    "P0017": ("G0558", "1", "2026-10-31", "117.24"),
                    "P0018": ("G0557", "1", "2026-10-31", "53.78")}  # fmt: skip


def test_ledger_failure_after_output_says_not_to_bill(monkeypatch, datadir):
    add_patient(datadir, "P1")
    log(datadir, "P1", 25)

    def full_disk(fd, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio, "append_locked_fd", full_disk)
    written: list[str] = []
    with pytest.raises(export.CcmError, match="do not bill that output"):
        export.export_month(DataDir(datadir), None, written.append)
    assert len(rows(written[0])) == 1
    assert ledger(datadir) == []
