"""`ccm close`, `ccm close --verify`, `ccm reopen` and what a closed month refuses (contract 8)."""

import hashlib
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.models.months import current_month
from ccmcli.store import closed_records

TZ = "America/Chicago"
OCTOBER = "2026-10"


def close(cli, root: Path, month: str = OCTOBER, *extra: str):
    return cli("-d", root, "close", month, *extra)


def closed_files(root: Path) -> list[str]:
    folder = root / "closed"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def record(root: Path, name: str = f"{OCTOBER}.json") -> dict:
    return json.loads((root / "closed" / name).read_text())


@pytest.fixture
def closed(cli, clinic, monkeypatch) -> Path:
    monkeypatch.setenv("CCM_STAFF", "biller.kim")
    result = close(cli, clinic)
    assert result.exit_code == 0, result.stderr
    return clinic


def test_close_records_the_judgement_digests_and_who(closed):
    r = record(closed)
    assert (r["kind"], r["month"], r["sequence"], r["previous"]) == ("close", OCTOBER, 1, None)
    assert r["by"] == "biller.kim" and r["at"].startswith("20")
    log = (closed / "logs" / "2026-10.csv").read_bytes()
    assert r["log"] == {"file": "logs/2026-10.csv", "sha256": hashlib.sha256(log).hexdigest()}
    assert r["ledger"] == {"file": "exports/2026-10.csv", "sha256": None}
    p6 = next(p for p in r["patients"] if p["patient_id"] == "P0006")
    # examples/clinic/SCENARIOS.md: P0006 bills 99490 on 2026-10-22; the entry before consent
    # (line 10) counts toward nothing, the two after it count.
    assert p6["status"] == "billable" and p6["codes"] == [{"code": "99490", "units": 1}]
    assert (p6["amount"], p6["date_of_service"]) == (66.13, "2026-10-22")
    assert p6["entries"] == ["E20261014-0001", "E20261022-0002"]
    assert r["sha256"] == hashlib.sha256(closed_records.canonical(r)).hexdigest()


def test_records_and_their_folder_are_private(closed):
    assert stat.S_IMODE((closed / "closed").stat().st_mode) == 0o700
    assert stat.S_IMODE((closed / "closed" / f"{OCTOBER}.json").stat().st_mode) == 0o600


def test_log_and_void_into_a_closed_month_are_refused(cli, closed):
    log = closed / "logs" / "2026-10.csv"
    before = log.read_bytes()
    result = cli("-d", closed, "log", "P0001", "5", "--date", "2026-10-15")
    assert result.exit_code == 1
    assert "2026-10 is closed" in result.stderr and "ccm reopen 2026-10" in result.stderr
    result = cli("-d", closed, "void", "E20261002-0003", "--reason", "wrong patient")
    assert result.exit_code == 1 and "ccm reopen" in result.stderr
    assert log.read_bytes() == before
    # another month is not affected
    assert cli("-d", closed, "log", "P0001", "5", "--date", "2026-11-02").exit_code == 0


def test_consent_change_after_close_is_named_by_verify_and_validate(cli, closed):
    assert close(cli, closed, OCTOBER, "--verify").exit_code == 0
    patient = closed / "patients" / "P0006.yaml"
    patient.write_text(patient.read_text().replace("date: 2026-10-14\n  method", "date: 2026-10-25\n  method"))  # fmt: skip
    result = close(cli, closed, OCTOBER, "--verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "P0006: status billable at close, no_time now" in lines
    assert "P0006: codes 99490x1 at close, none now" in lines
    assert all(line.startswith("P0006: ") for line in lines)  # nobody else changed
    result = cli("-d", closed, "validate", "--no-code-check")
    assert result.exit_code == 1
    errors = [x for x in result.stdout.splitlines() if ": error: " in x]
    assert errors and all(x.startswith("closed/2026-10.json: error: P0006: ") for x in errors)
    assert any("status billable at close, no_time now" in x for x in errors)
    data = json.loads(close(cli, closed, OCTOBER, "--verify", "-f", "json").stdout)
    assert data["matches"] is False
    assert {"patient_id": "P0006", "field": "amount", "recorded": 66.13, "now": 0.0}.items() <= (
        next(d for d in data["differences"] if d["field"] == "amount").items()
    )


def test_a_changed_log_is_reported(cli, closed):
    log = closed / "logs" / "2026-10.csv"
    log.write_text(
        log.read_text() + "E20261030-0099,P0003,2026-10-30,5,clinical_staff,rn.x,,,,,"
        "2026-10-30T10:00:00-05:00,,\n"
    )  # fmt: skip (13 columns: voids, service)
    result = close(cli, closed, OCTOBER, "--verify")
    assert result.exit_code == 1
    assert any(x.startswith("log logs/2026-10.csv sha256 ") for x in result.stdout.splitlines())
    assert "P0003: status below_threshold at close, billable now" in result.stdout


def test_reopen_then_close_again_keeps_every_record(cli, closed, monkeypatch):
    monkeypatch.setenv("CCM_STAFF", "dr.lee")
    result = cli("-d", closed, "reopen", OCTOBER, "--reason", "late note found")
    assert result.exit_code == 0, result.stderr
    assert cli("-d", closed, "log", "P0003", "2", "--date", "2026-10-30").exit_code == 0
    assert close(cli, closed).exit_code == 0
    assert closed_files(closed) == ["2026-10.2.json", "2026-10.3.json", "2026-10.json"]
    first, reopened, again = (record(closed, n) for n in ("2026-10.json", "2026-10.2.json", "2026-10.3.json"))  # fmt: skip
    assert (reopened["kind"], reopened["reason"], reopened["by"]) == (
        "reopen",
        "late note found",
        "dr.lee",
    )
    assert reopened["previous"] == first["sha256"] and again["previous"] == reopened["sha256"]
    p3 = next(p for p in again["patients"] if p["patient_id"] == "P0003")
    assert p3["status"] == "billable"  # 18 + 2 minutes reach 99490
    assert close(cli, closed, OCTOBER, "--verify").exit_code == 0
    assert cli("-d", closed, "validate", "--no-code-check").exit_code == 0


def test_close_refuses_an_open_month(cli, clinic):
    month = str(current_month(TZ))
    result = close(cli, clinic, month)
    assert result.exit_code == 1 and "has not ended" in result.stderr
    assert closed_files(clinic) == []


def test_close_refuses_a_month_with_errors(cli, broken):
    result = close(cli, broken)
    assert result.exit_code == 1
    assert "not closing 2026-10" in result.stderr and "logs/2026-10.csv:3" in result.stderr
    assert closed_files(broken) == []


def test_close_twice_and_reopen_of_an_open_month_are_refused(cli, closed):
    again = close(cli, closed)
    assert again.exit_code == 1 and "already closed" in again.stderr
    assert cli("-d", closed, "reopen", "2026-09", "--reason", "x").exit_code == 1
    assert cli("-d", closed, "reopen", OCTOBER, "--reason", " ").exit_code == 2
    assert closed_files(closed) == ["2026-10.json"]


def test_verify_of_a_month_never_closed_is_refused(cli, clinic):
    result = close(cli, clinic, "2026-09", "--verify")
    assert result.exit_code == 1 and "not closed" in result.stderr


def _tamper(root: Path, name: str, change) -> None:
    path = root / "closed" / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_an_edited_record_is_detected(cli, closed):
    _tamper(closed, "2026-10.json", lambda r: r["patients"][0].update(amount=999.0))
    result = close(cli, closed, OCTOBER, "--verify")
    assert result.exit_code == 1
    assert "closed/2026-10.json: error: its content does not match its sha256" in result.stdout
    result = cli("-d", closed, "validate", "--no-code-check")
    assert result.exit_code == 1 and "does not match its sha256" in result.stdout


def test_an_earlier_record_rewritten_with_a_fresh_hash_breaks_the_chain(cli, closed):
    assert cli("-d", closed, "reopen", OCTOBER, "--reason", "fix").exit_code == 0
    assert close(cli, closed).exit_code == 0

    def rewrite(r):
        r["patients"][0]["amount"] = 999.0
        r["sha256"] = hashlib.sha256(closed_records.canonical(r)).hexdigest()

    _tamper(closed, "2026-10.json", rewrite)
    result = cli("-d", closed, "validate", "--no-code-check")
    assert result.exit_code == 1
    assert "closed/2026-10.2.json: error: its previous sha256 does not match" in result.stdout


def test_a_removed_record_is_detected_and_the_month_stays_closed(cli, closed):
    assert cli("-d", closed, "reopen", OCTOBER, "--reason", "fix").exit_code == 0
    assert close(cli, closed).exit_code == 0
    (closed / "closed" / "2026-10.2.json").unlink()
    result = cli("-d", closed, "validate", "--no-code-check")
    assert "closed/2026-10.3.json: error: closed/2026-10.2.json is missing" in result.stdout
    assert cli("-d", closed, "reopen", OCTOBER, "--reason", "again").exit_code == 1


def test_an_unreadable_last_record_still_refuses_entries(cli, closed):
    (closed / "closed" / "2026-10.json").write_text("{not json")
    result = cli("-d", closed, "log", "P0001", "5", "--date", "2026-10-15")
    assert result.exit_code == 1 and "record damaged" in result.stderr
    assert "not a readable close record" in cli("-d", closed, "validate", "--no-code-check").stdout


def test_exclusive_write_never_replaces_a_record(closed, monkeypatch):
    from ccmcli.models.errors import CcmError
    from ccmcli.models.months import Month
    from ccmcli.store.datadir import DataDir

    data, month = DataDir(closed), Month(2026, 10)
    history = closed_records.read_history(data, month)
    taken = closed / "closed" / "2026-10.2.json"
    taken.write_text("someone else's")
    # the folder was listed just before the other writer created .2
    monkeypatch.setattr(closed_records, "record_numbers", lambda d: {month: [1]})
    with pytest.raises(CcmError, match="written by someone else"):
        closed_records.write_next(data, history, {"kind": "reopen", "by": "x", "at": "y"})
    assert taken.read_text() == "someone else's"


def test_exported_month_left_open_is_a_warning_until_closed(cli, clinic, tmp_path):
    out = tmp_path / "claims.csv"
    assert cli("-d", clinic, "export", "--month", "2026-09", "-o", out).exit_code == 0
    # a ledger for last month: the month after it (this month) has not ended, so no warning
    last = current_month(TZ).add(-1)
    ledger = clinic / "exports" / f"{last}.csv"
    ledger.write_text((clinic / "exports" / "2026-09.csv").read_text())
    result = cli("-d", clinic, "validate", "--no-code-check")
    warnings = [x for x in result.stdout.splitlines() if ": warning: " in x]
    assert warnings == [
        "exports/2026-09.csv: warning: 2026-09 has exported claim lines but is not closed; "
        "close it with `ccm close 2026-09` so it cannot change silently"
    ]
    assert result.exit_code == 0  # warnings alone
    assert close(cli, clinic, "2026-09").exit_code == 0
    assert "2026-09 has exported" not in cli("-d", clinic, "validate", "--no-code-check").stdout


def test_every_writer_of_log_rows_is_refused_in_the_shared_append_path(closed):
    """`ccm stop` writes through the same append as log and void, so it is refused alike."""
    from ccmcli.models.errors import CcmError
    from ccmcli.models.months import Month
    from ccmcli.store.datadir import DataDir
    from ccmcli.store.logappend import append_entry

    called = []
    with pytest.raises(CcmError, match=r"ccm reopen 2026-10 --reason TEXT"):
        append_entry(DataDir(closed), Month(2026, 10), TZ, lambda log: called.append(log), list)
    assert called == []


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k != "sha256"),
        st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()),
        min_size=1,
    ),
    st.data(),
)
def test_any_change_to_a_sealed_record_changes_its_hash(record, draw):
    sealed = closed_records.seal(record)
    key = draw.draw(st.sampled_from(sorted(record)))
    changed = {**sealed, key: [sealed[key]]}  # a different value of another type
    assert hashlib.sha256(closed_records.canonical(sealed)).hexdigest() == sealed["sha256"]
    assert hashlib.sha256(closed_records.canonical(changed)).hexdigest() != sealed["sha256"]
