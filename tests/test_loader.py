"""One way in: every command reads the data directory through the loader, so none believes a file
that `validate` rejects, and all report the same problem the same way."""

import json
import os
from pathlib import Path

import pytest

from ccmcli.loader import load
from ccmcli.models.months import Month
from ccmcli.store.datadir import DataDir

BAD_CODE = (
    "patients/P0004.yaml:7: error: conditions[0].code Z99.ZZ is not in the ICD-10-CM code set"
)
OCT = ("--month", "2026-10")


@pytest.fixture
def bad_code(clinic: Path) -> Path:
    """P0004 (one chronic condition: blocked) with a made-up code listed first, as a new user
    would type it: the made-up condition must not make the month billable anywhere."""
    path = clinic / "patients" / "P0004.yaml"
    path.write_text(path.read_text().replace("conditions:\n", "conditions:\n  - code: Z99.ZZ\n"))
    return clinic


READERS = {
    "check": ("check", *OCT),
    "check one patient": ("check", *OCT, "P0004"),
    "check json": ("check", *OCT, "--format", "json"),
    "explain": ("explain", "P0004", *OCT),
    "worklist": ("worklist", *OCT),
    "patient list": ("patient", "list"),
    "patient show": ("patient", "show", "P0004", *OCT),
    "entries": ("entries", *OCT),
    "entries of the patient": ("entries", *OCT, "--patient", "P0004"),
    "export": ("export", *OCT, "-o", "claims.csv"),
}


@pytest.mark.parametrize("args", READERS.values(), ids=READERS.keys())
def test_every_reading_command_reports_an_unknown_code_and_exits_1(cli, bad_code, args) -> None:
    result = cli(*args, "-d", bad_code)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert BAD_CODE in result.stderr.splitlines() or BAD_CODE in result.stderr


def test_validate_reports_the_same_line(cli, bad_code) -> None:
    result = cli("validate", "-d", bad_code)
    assert result.exit_code == 1
    assert BAD_CODE in result.stdout.splitlines()


def test_an_unknown_code_counts_toward_no_gate(cli, bad_code) -> None:
    result = cli("check", *OCT, "P0004", "--format", "json", "-d", bad_code)
    (p,) = json.loads(result.stdout)["patients"]
    assert p["status"] == "blocked"
    assert [b["rule"] for b in p["blockers"]] == ["not_enough_conditions"]
    assert p["codes"] == []


def test_patient_show_shows_the_record_as_written(cli, bad_code) -> None:
    result = cli("patient", "show", "P0004", *OCT, "-d", bad_code)
    line = next(x for x in result.stdout.splitlines() if "Z99.ZZ" in x)
    assert "(not chronic)" not in line  # the file does not say so; the error line says why
    assert BAD_CODE in result.stderr


def test_export_refuses_without_force_and_never_bills_the_made_up_condition(cli, bad_code):
    refused = cli("export", *OCT, "-d", bad_code)
    assert refused.exit_code == 1
    assert "not exporting 2026-10" in refused.stderr
    forced = cli("export", *OCT, "--force", "-d", bad_code)
    assert "P0004" not in forced.stdout
    assert "Z99.ZZ" not in forced.stdout


def test_log_records_the_minutes_and_names_the_bad_line(cli, bad_code) -> None:
    """Minutes are facts about work done: they are recorded, and the file's error is named."""
    result = cli("log", "P0004", "5", "--date", "2026-11-02", "--staff", "rn", "-d", bad_code)
    assert result.exit_code == 0, result.stderr
    assert BAD_CODE in result.stderr
    assert "P0004" in (bad_code / "logs" / "2026-11.csv").read_text()


def test_a_category_is_a_warning_and_still_counts(cli, clinic) -> None:
    path = clinic / "patients" / "P0011.yaml"
    path.write_text(path.read_text().replace("I50.22", "I50.2"))
    result = cli("check", *OCT, "P0011", "--format", "json", "-d", clinic)
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert [p["status"] for p in out["patients"]] == ["billable"]
    assert [p["severity"] for p in out["problems"] if "is a category" in p["message"]] == [
        "warning",
        "warning",
    ]


# --- the layout, unreadable files and ledgers: the same verdict from every command ------------


def test_logs_as_a_plain_file_is_an_error_for_validate_and_check(cli, clinic) -> None:
    for f in (clinic / "logs").iterdir():
        f.unlink()
    (clinic / "logs").rmdir()
    (clinic / "logs").write_text("not a folder\n")
    for args in (("validate",), ("check", *OCT), ("explain", "P0001", *OCT)):
        result = cli(*args, "-d", clinic)
        assert result.exit_code == 1, args
        assert "logs: error: is not a folder" in result.stdout + result.stderr, args


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_log_is_an_error_for_explain(cli, clinic) -> None:  # pragma: no cover
    (clinic / "logs" / "2026-10.csv").chmod(0)
    result = cli("explain", "P0001", *OCT, "-d", clinic)
    assert result.exit_code == 1
    assert "logs/2026-10.csv: error: cannot read" in result.stderr


def test_a_log_that_is_a_folder_is_an_error_for_explain_and_check(cli, clinic) -> None:
    """The unreadable-log case, reachable as root too: the log path is not a file."""
    log = clinic / "logs" / "2026-10.csv"
    log.unlink()
    log.mkdir()
    for args in (("explain", "P0001", *OCT), ("check", *OCT), ("entries", *OCT)):
        result = cli(*args, "-d", clinic)
        assert result.exit_code == 1, args
        assert "logs/2026-10.csv: error: cannot read" in result.stderr, args


def test_validate_checks_the_export_ledgers(cli, clinic) -> None:
    assert cli("export", *OCT, "-o", "claims.csv", "-d", clinic).exit_code == 0
    ledger = clinic / "exports" / "2026-10.csv"
    text = ledger.read_text()
    ledger.write_text(text[:-5])  # a torn last line
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 1
    lines = len(text.splitlines())
    assert f"exports/2026-10.csv:{lines}: error: the last line is incomplete" in result.stdout
    refused = cli("export", *OCT, "-d", clinic)
    assert refused.exit_code == 1


# --- entry ids across months --------------------------------------------------------------------


def _reuse_an_october_id_in_november(clinic: Path) -> str:
    october = (clinic / "logs" / "2026-10.csv").read_text().splitlines()
    november = clinic / "logs" / "2026-11.csv"
    first = october[1].split(",")
    row = next(r.split(",") for r in november.read_text().splitlines()[1:] if r)
    row[0] = first[0]
    with november.open("a") as f:
        f.write(",".join(row) + "\n")
    return first[0]


def test_an_id_used_in_an_earlier_month_is_an_error_in_check_too(cli, clinic) -> None:
    reused = _reuse_an_october_id_in_november(clinic)
    lines = len((clinic / "logs" / "2026-11.csv").read_text().splitlines())
    expected = (
        f"logs/2026-11.csv:{lines}: error: entry id {reused} is already used at logs/2026-10.csv:2"
    )
    validate = cli("validate", "-d", clinic)
    assert expected in validate.stdout.splitlines()
    check = cli("check", "--month", "2026-11", "--format", "json", "-d", clinic)
    assert check.exit_code == 1
    assert expected in check.stderr or any(
        p["message"].endswith("already used at logs/2026-10.csv:2")
        for p in json.loads(check.stdout)["problems"]
    )
    assert cli("check", *OCT, "-d", clinic).exit_code == 0  # October holds the first use


def test_the_reused_row_counts_toward_nothing(clinic) -> None:
    data = DataDir(clinic)
    before = load(data, [Month(2026, 11)]).logs[Month(2026, 11)]
    reused = _reuse_an_october_id_in_november(clinic)
    after = load(data, [Month(2026, 11)]).logs[Month(2026, 11)]
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    assert reused not in {e.id for e in after.entries}


def test_commands_about_one_patient_read_only_that_patient(cli, clinic) -> None:
    """A broken file of another patient is that patient's problem, not this command's."""
    (clinic / "patients" / "P0002.yaml").write_text("id: P0002\nname: [unclosed\n")
    assert cli("explain", "P0001", *OCT, "-d", clinic).exit_code == 0
    assert cli("patient", "show", "P0001", *OCT, "-d", clinic).exit_code == 0
    assert cli("check", *OCT, "-d", clinic).exit_code == 1


def test_compare_counts_what_check_counts_when_an_id_is_reused(cli, clinic) -> None:
    """compare reads month logs as columns for speed; it drops the same rows the loader drops."""
    _reuse_an_october_id_in_november(clinic)
    check = json.loads(cli("check", "--month", "2026-11", "-f", "json", "-d", clinic).stdout)
    compare = json.loads(cli("compare", "--month", "2026-11", "-f", "json", "-d", clinic).stdout)
    enrolled = {
        p["patient_id"]: p["programs"][p["enrolled"]]["amount"] for p in compare["patients"]
    }
    assert {p["patient_id"]: p["amount"] for p in check["patients"]} == enrolled


def test_a_void_row_whose_id_is_reused_voids_nothing(clinic) -> None:
    """A row with an error counts toward nothing (contract 4): a void row is such a row too."""
    data = DataDir(clinic)
    october = (clinic / "logs" / "2026-10.csv").read_text().splitlines()
    november = clinic / "logs" / "2026-11.csv"
    header = november.read_text().splitlines()[0].split(",")
    target = next(r.split(",") for r in november.read_text().splitlines()[1:] if r)
    void = dict(zip(header, target, strict=True))
    void.update(id=october[1].split(",")[0], minutes="", note="wrong", voids=target[0])
    with november.open("a") as f:
        f.write(",".join(void[c] for c in header) + "\n")
    log = load(data, [Month(2026, 11)]).logs[Month(2026, 11)]
    entry = next(e for e in log.entries if e.id == target[0])
    assert entry.voided_by is None and entry.counts


def test_a_kept_reused_id_answer_follows_an_edit_of_an_earlier_month(cli, clinic, monkeypatch):
    """The answer to "which of October's ids did an earlier month use" is kept beside the logs'
    signatures; a row added to September with an October id is seen by the next command."""
    import json

    from ccmcli.store import cache

    monkeypatch.setattr(cache, "RACY_NS", 0)  # trust files copied a moment ago
    args = ("-d", clinic, "check", "--format", "json", "--month", "2026-10")
    before = json.loads(cli(*args).stdout)
    assert not [p for p in before["problems"] if "already used" in p["message"]]
    october = (clinic / "logs" / "2026-10.csv").read_text().splitlines()[1]
    with open(clinic / "logs" / "2026-09.csv", "a") as f:
        f.write(october.replace(",2026-10-", ",2026-09-", 1) + "\n")
    after = json.loads(cli(*args).stdout)
    assert [p for p in after["problems"] if "already used" in p["message"]]


def test_entry_warnings_follow_the_reading_of_the_month(clinic: Path) -> None:
    """Practice.entry_warnings is worked out once per reading: a month read again (as `ccm log`
    reads it under its lock, with the new row) gives the new row's warnings, never the old ones."""
    oct_ = Month.parse("2026-10")
    practice = load(DataDir(clinic), [oct_])
    before = practice.entry_warnings(oct_)
    assert practice.entry_warnings(oct_) is before  # worked out once
    mine = [e for e in practice.read_month(oct_).entries if e.patient_id == "P0001"]
    log = clinic / "logs" / "2026-10.csv"
    width = log.read_text().splitlines()[0].count(",")
    row = ["E20261031-9999", "P0001", "2026-10-31", "500", "clinical_staff", "rn1", "x", "", "",
           "", "2026-10-31T10:00:00-05:00", ""][: width + 1]  # fmt: skip
    with log.open("a") as f:
        f.write(",".join(row + [""] * (width + 1 - len(row))) + "\n")
    now = [e for e in practice.read_month(oct_, again=True).entries if e.patient_id == "P0001"]
    after = practice.entry_warnings(oct_)
    assert after is not before
    assert "long_entry" not in {w.rule for w in before.of("P0001", mine)}
    assert "long_entry" in {w.rule for w in after.of("P0001", now)}
