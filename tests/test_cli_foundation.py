"""The foundation commands through the CLI: init, patient add/list/show, validate, --help, exit
codes, finding the data directory, and one clear line (never a traceback) on bad input."""

import json
import re
import stat
from pathlib import Path

import pytest

from ccmcli.models.records import Settings
from ccmcli.store.record_files import parse_model
from helpers import data_files, example_copy, leaf_commands

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INIT = ("--practice", "Test Practice", "--timezone", "America/Chicago", "--npi", "1234567893")
ADD = ("--name", "Jane Doe", "--birth-date", "1948-03-02", "--condition", "E11.9",
       "--condition", "I10", "--consent-date", "2026-01-05", "--consent-method", "verbal",
       "--initiating-visit", "2025-12-15", "--visit-type", "awv", "--care-plan", "2026-01-05")  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_error_line(result, code: int) -> str:
    """The refusal contract: the exit code, one `ccm: ...` line on stderr, no traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ccm: ")
    return lines[0]


def usage_error(result) -> str:
    """Click's usage errors: exit 2, `Error: ...` on stderr, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert "Error:" in result.stderr
    return result.stderr


# --- init ----------------------------------------------------------------------------------


def test_init_creates_an_owner_only_data_directory(cli, tmp_path):
    root = tmp_path / "new" / "data"
    result = cli("init", root, *INIT)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "created data directory" in result.stderr
    assert mode(root / "ccm.yaml") == 0o600
    for sub in ("", "patients", "logs", "exports"):
        assert (root / sub).is_dir()
        assert mode(root / sub) == 0o700
    settings, problems = parse_model(Settings, (root / "ccm.yaml").read_text(), "ccm.yaml")
    assert problems == []
    assert (settings.practice, settings.timezone, settings.billing_npi) == (
        "Test Practice", "America/Chicago", "1234567893")  # fmt: skip


def test_init_refuses_to_overwrite_a_data_directory(cli, datadir):
    before = (datadir / "ccm.yaml").read_bytes()
    result = cli("init", datadir, "--practice", "Other", "--timezone", "UTC", "--npi", "1457302911")
    assert "already exists" in one_error_line(result, 1)
    assert (datadir / "ccm.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--npi", "1234567890", "--npi"),
        ("--timezone", "Central", "--timezone"),
        ("--practice", "", "--practice"),
        ("--place-of-service", "011", "--place-of-service"),
    ],
)
def test_init_refuses_bad_values_as_usage_and_writes_nothing(cli, tmp_path, option, value, named):
    args = dict(zip(INIT[::2], INIT[1::2], strict=True)) | {option: value}
    flat = [x for kv in args.items() for x in kv]
    result = cli("init", tmp_path / "d", *flat)
    assert one_error_line(result, 2).startswith(f"ccm: {named} ")
    assert not (tmp_path / "d" / "ccm.yaml").exists()


def test_init_missing_required_option_is_usage(cli, tmp_path):
    usage_error(cli("init", tmp_path / "d", "--practice", "P"))


@pytest.mark.parametrize("where", ["before", "after", "env", "argument"])
def test_init_target_follows_the_data_directory_order(cli, tmp_path, monkeypatch, where):
    """`ccm -d X init` must create X, never fill the current folder."""
    target = tmp_path / "target"
    args = {"before": ("-d", target, "init", *INIT), "after": ("init", "-d", target, *INIT),
            "env": ("init", *INIT), "argument": ("init", target, *INIT)}[where]  # fmt: skip
    if where == "env":
        monkeypatch.setenv("CCM_DATA_DIR", str(target))
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert (target / "ccm.yaml").is_file()
    assert not (tmp_path / "ccm.yaml").exists()


def test_init_with_conflicting_dir_and_option_is_usage(cli, tmp_path):
    usage_error(cli("-d", tmp_path / "a", "init", tmp_path / "b", *INIT))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# --- patient add / list / show --------------------------------------------------------------


def test_patient_add_writes_an_owner_only_file_that_reads_back(cli, datadir):
    result = cli("patient", "add", "P0001", "-d", datadir, *ADD, "--mbi", "1eg4te5mk73")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    path = datadir / "patients" / "P0001.yaml"
    assert mode(path) == 0o600
    shown = cli("patient", "show", "P0001", "-d", datadir, "--format", "json", "--month", "2026-03")
    assert shown.exit_code == 0, shown.stderr
    patient = json.loads(shown.stdout)["record"]
    assert patient["mbi"] == "1EG4TE5MK73"
    assert [c["code"] for c in patient["conditions"]] == ["E11.9", "I10"]
    assert patient["consent"] == {"date": "2026-01-05", "method": "verbal", "obtained_by": None,
                                  "revoked": None}  # fmt: skip
    assert cli("validate", "-d", datadir).exit_code == 0


def test_patient_add_refuses_an_existing_id_and_keeps_the_file(cli, datadir):
    assert cli("patient", "add", "P0001", "-d", datadir, *ADD).exit_code == 0
    path = datadir / "patients" / "P0001.yaml"
    before = path.read_bytes()
    result = cli("patient", "add", "P0001", "-d", datadir, "--name", "Other Person",
                 "--birth-date", "1950-01-01")  # fmt: skip
    assert "already exists" in one_error_line(result, 1)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["P0001.yaml"]


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "x" * 33, "P 1"])
def test_patient_add_refuses_unsafe_ids(cli, datadir, bad_id):
    result = cli("patient", "add", bad_id, "-d", datadir, *ADD)
    assert "not a valid patient id" in one_error_line(result, 1)
    assert list((datadir / "patients").iterdir()) == []
    assert not (datadir / "escape.yaml").exists()


@pytest.mark.parametrize(
    ("extra", "secret"),
    [
        (("--mbi", "1EG4TE5MK7S"), "1EG4TE5MK7S"),
        (("--billing-npi", "1457302910"), "1457302910"),
        (("--program", "rpm"), None),
        (("--consent-date", "2026-01-05"), None),
    ],
)
def test_patient_add_refuses_bad_values_without_echo_and_writes_nothing(
    cli, datadir, extra, secret
):
    result = cli("patient", "add", "P0001", "-d", datadir, "--name", "Zelda Quist",
                 "--birth-date", "1948-03-02", *extra)  # fmt: skip
    line = one_error_line(result, 2)
    for value in ("Zelda", "1948-03-02", secret):
        assert value is None or value not in line
    assert list((datadir / "patients").iterdir()) == []


def test_patient_list_in_every_format(cli, clinic):
    as_json = cli("patient", "list", "-d", clinic, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    ids = [p["patient_id"] for p in json.loads(as_json.stdout)["patients"]]
    assert ids == [f"P{n:04d}" for n in range(1, 23)]
    as_csv = cli("patient", "list", "-d", clinic, "--format", "csv")
    rows = as_csv.stdout.splitlines()
    assert rows[0] == "patient_id,name,program,conditions,consent,care_plan"
    assert [r.split(",")[0] for r in rows[1:]] == ids
    table = cli("patient", "list", "-d", clinic)
    assert table.exit_code == 0
    assert all(pid in table.stdout for pid in ids)


def test_patient_list_reports_a_bad_file_and_lists_the_rest(cli, clinic):
    (clinic / "patients" / "P0003.yaml").write_text("id: P0003\nname: [\n")
    result = cli("patient", "list", "-d", clinic, "--format", "csv")
    assert result.exit_code == 1
    assert "P0001" in result.stdout and "P0003" not in result.stdout
    assert re.search(r"^patients/P0003\.yaml:\d+:\d+: error: ", result.stderr, re.M)


def test_patient_show_unknown_patient(cli, clinic):
    line = one_error_line(cli("patient", "show", "P0999", "-d", clinic), 1)
    assert 'unknown patient "P0999"' in line


def test_patient_show_invalid_patient_file_is_one_line(cli, clinic):
    path = clinic / "patients" / "P0003.yaml"
    path.write_text(path.read_text().replace("birth_date:", "birth_date: 1950-02-30\nx_birth:"))
    line = one_error_line(cli("patient", "show", "P0003", "-d", clinic), 1)
    assert line.startswith("ccm: patients/P0003.yaml:")
    assert "1950-02-30" not in line


def test_patient_show_month_status(cli, clinic):
    result = cli("patient", "show", "P0001", "-d", clinic, "--month", "2026-10")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("P0001  ")
    assert "October 2026" in result.stdout


# --- validate ---------------------------------------------------------------------------------


def test_validate_clean_clinic_prints_nothing(cli, clinic):
    result = cli("-d", clinic, "validate")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def planted_faults() -> list[str]:
    text = (EXAMPLES / "broken" / "FAULTS.md").read_text()
    return re.findall(r"^\| `([^`]+:\d+)` \|", text, re.M)


def test_validate_broken_lists_every_planted_fault(cli, broken):
    faults = planted_faults()
    assert len(faults) == 11
    result = cli("-d", broken, "validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for where in faults:
        assert any(re.match(rf"{re.escape(where)}(:\d+)?: error: ", ln) for ln in lines), where
    assert len(lines) == len(faults)


def test_validate_json(cli, broken):
    result = cli("validate", "-d", broken, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"]["errors"] == len(planted_faults())
    assert {"file", "line", "severity", "message"} <= set(data["problems"][0])


def test_validate_warnings_alone_exit_0(cli, clinic):
    (clinic / "logs" / "notes.txt").write_text("x\n")
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 0
    assert (
        result.stdout
        == "logs/notes.txt: warning: not read: ccm reads only YYYY-MM.csv files here\n"
    )


def test_validate_duplicate_entry_id_across_months(cli, clinic):
    sept = (clinic / "logs" / "2026-09.csv").read_text().splitlines()
    first_id = sept[1].split(",")[0]
    oct_path = clinic / "logs" / "2026-10.csv"
    rows = oct_path.read_text().splitlines()
    fields = rows[1].split(",")
    rows.append(",".join([first_id, *fields[1:]]))
    oct_path.write_text("\n".join(rows) + "\n")
    result = cli("validate", "-d", clinic)
    assert result.exit_code == 1
    assert result.stdout == (
        f"logs/2026-10.csv:{len(rows)}: error: entry id {first_id} is already used at "
        "logs/2026-09.csv:2\n"
    )


# --- finding the data directory ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_data_dir_option_before_or_after_the_command(cli, clinic, where):
    args = (
        ("-d", clinic, "patient", "list")
        if where == "before"
        else ("patient", "list", "-d", clinic)
    )
    result = cli(*args, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert "P0013" in result.stdout


def test_the_option_after_the_command_wins(cli, clinic, datadir):
    result = cli("-d", clinic, "patient", "list", "-d", datadir, "--format", "csv")
    assert result.stdout == "patient_id,name,program,conditions,consent,care_plan\n"


def test_ccm_data_dir_environment(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_DATA_DIR", str(clinic))
    result = cli("patient", "list", "--format", "csv")
    assert result.exit_code == 0 and "P0013" in result.stdout


def test_option_beats_environment(cli, clinic, datadir, monkeypatch):
    monkeypatch.setenv("CCM_DATA_DIR", str(clinic))
    result = cli("patient", "list", "-d", datadir, "--format", "csv")
    assert "P0001" not in result.stdout


def test_nearest_ancestor_with_ccm_yaml(cli, clinic, monkeypatch):
    monkeypatch.chdir(clinic / "logs")
    result = cli("patient", "list", "--format", "csv")
    assert result.exit_code == 0 and "P0013" in result.stdout


def test_no_data_directory_is_one_line_naming_ccm_init(cli):
    for args in (("validate",), ("check",), ("patient", "list"), ("patient", "show", "P1")):
        line = one_error_line(cli(*args), 1)
        assert "ccm init" in line


def test_a_named_data_directory_that_is_not_one(cli, tmp_path):
    line = one_error_line(cli("validate", "-d", tmp_path / "nowhere"), 1)
    assert "ccm init" in line


# --- help, usage and exit codes ---------------------------------------------------------------


COMMANDS = leaf_commands()


def test_the_contract_commands_exist():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "patient add", "patient list", "patient show", "validate", "check",
            "explain", "worklist", "rules"} <= names  # fmt: skip


@pytest.mark.parametrize(
    ("path", "cmd"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help_and_accepts_data_dir(cli, path, cmd):
    result = cli(*path, "--help")
    assert result.exit_code == 0
    assert re.match(rf"Usage: \S+ {' '.join(path)} ", result.stdout)  # CliRunner says "root"
    assert (cmd.help or "").strip(), f"ccm {' '.join(path)} has no help text"
    assert "-d, --data-dir" in result.stdout


@pytest.mark.parametrize("group", [(), ("patient",)])
def test_groups_have_help(cli, group):
    result = cli(*group, "--help")
    assert result.exit_code == 0 and "Commands:" in result.stdout


@pytest.mark.parametrize(
    "args",
    [("bogus",), ("-d", "."), ("check", "--status", "nope"), ("check", "--format", "xml"),
     ("patient", "frobnicate"), ("patient", "add"), ("validate", "--no-such-option"),
     ("rules", "--year", "soon")],
)  # fmt: skip
def test_usage_errors_exit_2(cli, clinic, args):
    usage_error(cli(*args, *(("-d", clinic) if args[0] not in ("-d", "bogus") else ())))


@pytest.mark.parametrize("month", ["2026-13", "26-10", "2026-1", "October", "2026-10-01"])
def test_bad_month_is_usage(cli, clinic, month):
    for args in (("check",), ("patient", "show", "P0001")):
        line = one_error_line(cli(*args, "-d", clinic, "--month", month), 2)
        assert "YYYY-MM" in line


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and re.fullmatch(r"ccm \d+\.\d+\.\d+\S*\n", result.stdout)


# --- no traceback on bad input ----------------------------------------------------------------

GARBAGE = {
    "syntax": "practice: [Test\n",
    "not a mapping": "- a\n- b\n",
    "binary": b"\xff\xfe\x00garbage",
    "missing fields": "practice: Test\n",
    "bad values": "practice: Test\ntimezone: Mars/Olympus\nbilling_npi: 1234567890\n",
}
READERS = [("check",), ("validate",), ("worklist",), ("patient", "list"),
           ("patient", "show", "P0001"), ("explain", "P0001")]  # fmt: skip


WRITERS = [("log", "P0001", "10"), ("void", "X1", "--reason", "typo"), ("entries",),
           ("export", "--month", "2026-10")]  # fmt: skip


@pytest.mark.parametrize("kind", GARBAGE)
@pytest.mark.parametrize("args", READERS + WRITERS, ids=" ".join)
def test_no_traceback_on_garbage_ccm_yaml(cli, clinic, kind, args):
    content = GARBAGE[kind]
    path = clinic / "ccm.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = {p: p.read_bytes() for p in data_files(clinic)}
    result = cli(*args, "-d", clinic)
    assert {p: p.read_bytes() for p in data_files(clinic)} == before
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if args == ("validate",):
        assert all(ln.startswith("ccm.yaml") for ln in result.stdout.splitlines())
        assert result.stdout
    else:
        assert one_error_line(result, 1).startswith("ccm: ccm.yaml")


def test_no_traceback_on_garbage_patient_and_log_files(cli, clinic):
    (clinic / "patients" / "P0001.yaml").write_bytes(b"\xff\xfe garbage \x00")
    (clinic / "logs" / "2026-10.csv").write_bytes(b"\x00\x01\x02,,,\n")
    (clinic / "logs" / "2026-11.csv").write_text("")
    for args in READERS:
        result = cli(
            *args,
            "-d",
            clinic,
            *(
                ("--month", "2026-10")
                if args[0] != "validate" and args[:2] != ("patient", "list")
                else ()
            ),
        )
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr


def test_an_os_error_is_one_line(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_error_line(cli("init", blocker / "sub", *INIT), 1)
    assert str(blocker) in line


# --- unexpected errors and --debug -------------------------------------------------------------


@pytest.fixture
def exploding_validate(monkeypatch):
    import ccmcli.reports.validate

    def boom(*args, **kwargs):
        raise RuntimeError("Jane Doe 1948-03-02")  # what a bug might carry: patient data

    monkeypatch.setattr(ccmcli.reports.validate, "validate", boom)


def test_an_unexpected_error_is_one_line_asking_for_debug(cli, clinic, exploding_validate):
    line = one_error_line(cli("validate", "-d", clinic), 1)
    assert "RuntimeError" in line and "--debug" in line
    assert "Jane" not in line


def test_debug_shows_the_traceback(cli, clinic, exploding_validate):
    with pytest.raises(RuntimeError):
        cli("--debug", "validate", "-d", clinic)


def test_ccm_debug_environment_shows_the_traceback(cli, clinic, exploding_validate, monkeypatch):
    monkeypatch.setenv("CCM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli("validate", "-d", clinic)


def test_examples_are_left_untouched(tmp_path):
    """The CLI tests above work on copies; the examples in the repository stay pristine."""
    example_copy("broken", tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "FAULTS.md", "ccm.yaml", "logs", "patients"]  # fmt: skip
