"""Contract 2, "Output for scripts and spreadsheets": formats every command has (and refuses),
and `-q`: only the data asked for on stdout, only errors on stderr, the exit code unchanged."""

import csv
import io
import json
import re

import pytest

from helpers import leaf_commands

NOW = "2026-11-26T10:00:00-06:00"
LISTING = {("check",), ("worklist",), ("entries",), ("patient", "list"), ("compare",),
           ("export",), ("status",), ("rules",)}  # fmt: skip
ENTRY_ID = re.compile(r"^E\d{8}T\d{9}-[0-9A-Z]+$")
WRITES = {"log", "start", "cancel", "add", "cache"}


def _choices(cmd) -> set[str] | None:
    for p in cmd.params:
        if "--format" in getattr(p, "opts", ()):
            return set(p.type.choices)
    return None


def test_every_command_takes_quiet():
    missing = [" ".join(path) for path, cmd in leaf_commands()
               if not any("-q" in getattr(p, "opts", ()) for p in cmd.params)]  # fmt: skip
    assert missing == []


def test_listing_commands_offer_xlsx_and_others_only_what_they_have():
    for path, cmd in leaf_commands():
        choices = _choices(cmd)
        if path in LISTING:
            assert choices == {"table", "json", "csv", "xlsx"}, path
        elif choices is not None:
            assert "xlsx" not in choices, path
            assert choices <= {"table", "json", "csv"}, path


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "P0006", "--month", "2026-10", "-f", "csv"],
        ["patient", "show", "P0006", "-f", "csv"],
        ["rules", "99491", "-f", "csv"],
        ["close", "2026-10", "-f", "csv"],
        ["validate", "-f", "csv"],
        ["start", "P0001", "-f", "xlsx"],
        ["log", "P0001", "5", "-f", "xlsx"],
    ],
)
def test_a_format_a_command_lacks_is_a_usage_error(cli, clinic, args):
    result = cli("-d", clinic, *args)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""


def test_xlsx_needs_a_file_and_a_table_has_none(cli, clinic, tmp_path):
    assert cli("-d", clinic, "check", "-f", "xlsx").exit_code == 2
    assert cli("-d", clinic, "check", "-o", tmp_path / "x.txt").exit_code == 2
    assert cli("-d", clinic, "check", "-f", "table", "-o", tmp_path / "x.csv").exit_code == 2
    inside = cli("-d", clinic, "check", "-f", "csv", "-o", clinic / "x.csv")
    assert inside.exit_code == 1 and not (clinic / "x.csv").exists()


def test_start_json_is_the_timer(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    out = cli("-d", clinic, "start", "P0001", "--staff", "rn.a", "-f", "json")
    assert out.exit_code == 0, out.stderr
    timer = json.loads(out.stdout)
    assert (timer["patient_id"], timer["staff"], timer["started"]) == ("P0001", "rn.a", NOW)


def test_status_csv_gives_started_with_its_offset(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    cli("-d", clinic, "start", "P0001", "--staff", "rn.a")
    rows = list(csv.DictReader(io.StringIO(cli("-d", clinic, "status", "-f", "csv").stdout)))
    assert rows[0]["started"] == NOW
    assert (
        rows[0]["started"]
        == json.loads(cli("-d", clinic, "status", "-f", "json").stdout)[0]["started"]
    )


def test_csv_bom_on_request(cli, clinic, tmp_path):
    plain = cli("-d", clinic, "check", "--month", "2026-10", "-f", "csv").stdout
    assert not plain.startswith("\ufeff")
    out = tmp_path / "check.csv"
    done = cli("-d", clinic, "check", "--month", "2026-10", "-f", "csv", "--bom", "-o", out)
    assert done.exit_code == 0, done.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode().replace("\r\n", "\n") == plain.replace("\r\n", "\n")
    assert out.stat().st_mode & 0o777 == 0o600
    assert cli("-d", clinic, "check", "-f", "json", "--bom").exit_code == 2


# Every command run quietly on the example clinic: (arguments, what stdout may hold).
QUIET_RUNS = [
    (["check", "--month", "2026-10"], "nothing"),
    (["check", "--month", "2026-10", "-f", "json"], "json"),
    (["check", "--month", "2026-10", "-f", "csv"], "csv"),
    (["worklist", "--month", "2026-11"], "nothing"),
    (["worklist", "--month", "2026-11", "-f", "json"], "json"),
    (["entries", "--month", "2026-10"], "nothing"),
    (["patient", "list"], "nothing"),
    (["patient", "show", "P0006", "--month", "2026-10"], "nothing"),
    (["explain", "P0006", "--month", "2026-10"], "nothing"),
    (["explain", "P0006", "--month", "2026-10", "-f", "json"], "json"),
    (["compare", "--month", "2026-10"], "nothing"),
    (["rules"], "nothing"),
    (["rules", "99491"], "nothing"),
    (["rules", "-f", "json"], "json"),
    (["status"], "nothing"),
    (["validate"], "nothing"),
    (["start", "P0001", "--staff", "rn.q"], "nothing"),
    (["cancel", "--staff", "rn.q"], "nothing"),
    (["patient", "add", "P0100", "--name", "A B", "--birth-date", "1950-01-01"], "nothing"),
    (["cache", "clear"], "nothing"),
]


@pytest.mark.parametrize(("args", "shape"), QUIET_RUNS, ids=lambda a: " ".join(a))
def test_quiet_prints_only_the_data_asked_for(cli, clinic, monkeypatch, args, shape):
    monkeypatch.setenv("CCM_NOW", NOW)  # its warning, too, is left out
    if args[0] == "cancel":
        cli("-d", clinic, "start", "P0001", "--staff", "rn.q", "-q")
    writes = bool(WRITES & set(args[:2]))  # run once: a second run would be refused
    loud = None if writes else cli("-d", clinic, *args)
    quiet = cli("-d", clinic, *args, "-q")
    assert quiet.exit_code == (0 if writes else loud.exit_code)
    assert quiet.stderr == ""
    if shape == "nothing":
        assert quiet.stdout == ""
    elif shape == "json":
        assert json.loads(quiet.stdout) == json.loads(loud.stdout)
    elif shape == "csv":
        assert quiet.stdout == loud.stdout


@pytest.mark.parametrize(
    "args", [["log", "P0006", "5"], ["log", "P0006", "5", "--date", "2026-11-02"]]
)
def test_log_quiet_is_the_entry_id_alone(cli, clinic, monkeypatch, args):
    monkeypatch.setenv("CCM_NOW", NOW)
    out = cli("-d", clinic, *args, "--staff", "rn.q", "-q")
    assert out.exit_code == 0 and out.stderr == ""
    assert ENTRY_ID.match(out.stdout.strip()) and out.stdout.count("\n") == 1


def test_stop_quiet_is_the_entry_id_or_nothing(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    cli("-d", clinic, "start", "P0001", "--staff", "rn.q", "-q")
    soon = cli("-d", clinic, "stop", "--staff", "rn.q", "-q")  # under a minute: nothing logged
    assert (soon.exit_code, soon.stdout, soon.stderr) == (0, "", "")
    cli("-d", clinic, "start", "P0001", "--staff", "rn.q", "-q")
    monkeypatch.setenv("CCM_NOW", "2026-11-26T10:12:00-06:00")
    done = cli("-d", clinic, "stop", "--staff", "rn.q", "-q")
    assert done.exit_code == 0 and done.stderr == ""
    assert ENTRY_ID.match(done.stdout.strip())


def test_void_quiet_is_the_void_rows_id(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    entry = cli("-d", clinic, "log", "P0006", "5", "--staff", "rn.q", "-q").stdout.strip()
    out = cli("-d", clinic, "void", entry, "--reason", "wrong patient", "-q")
    assert out.exit_code == 0 and out.stderr == ""
    assert ENTRY_ID.match(out.stdout.strip()) and out.stdout.strip() != entry


@pytest.mark.parametrize(
    "args",
    [["check", "--month", "2026-10"], ["compare", "--month", "2026-10"],
     ["worklist", "--month", "2026-10"], ["entries", "--month", "2026-10"], ["patient", "list"],
     ["validate"], ["check", "--month", "2026-10", "-f", "json"]],
    ids=" ".join,
)  # fmt: skip
def test_quiet_keeps_the_exit_code_and_the_errors(cli, broken, args):
    loud = cli("-d", broken, *args)
    quiet = cli("-d", broken, *args, "-q")
    assert loud.exit_code == quiet.exit_code == 1
    said = quiet.stdout if args[0] == "validate" else quiet.stderr  # validate's data: problems
    assert said.strip()
    assert all(": error:" in line for line in said.splitlines()), said


def test_without_format_the_files_suffix_names_it(cli, clinic, tmp_path):
    for suffix, starts in ((".xlsx", b"PK"), (".json", b"{"), (".csv", b"patient_id,")):
        out = tmp_path / f"check{suffix}"
        assert cli("-d", clinic, "check", "--month", "2026-10", "-o", out).exit_code == 0
        assert out.read_bytes().startswith(starts)
    claims = tmp_path / "claims.xlsx"  # never CSV in a file named .xlsx
    assert cli("-d", clinic, "export", "--month", "2026-10", "-o", claims).exit_code == 0
    assert claims.read_bytes().startswith(b"PK")
    assert (clinic / "exports" / "2026-10.csv").read_text().startswith("patient_id,")
