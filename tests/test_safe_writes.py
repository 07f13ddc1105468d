"""Writes that fail or race leave nothing behind (issue 11, items 1-4 and 8).

`-o` never writes inside the data directory; an append waits for its lock and then writes to the
file the path names now; a full disk during an append or a whole-file write leaves every file
byte for byte as it was and no temporary file; `validate` names a leftover of a crash.
"""

import csv
import fcntl
import io
import json
import os
import resource
import subprocess
import threading
from pathlib import Path

import pytest

from ccmcli.models.months import Month
from ccmcli.store import fileio, ledger
from ccmcli.store.datadir import DataDir
from helpers import CCM

NOW = "2026-11-20T10:00:00-06:00"
OCTOBER = ("--month", "2026-10")


@pytest.fixture
def clinic_env(clinic, monkeypatch) -> Path:
    monkeypatch.setenv("CCM_NOW", NOW)
    monkeypatch.setenv("CCM_STAFF", "rn.test")
    return clinic


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` and its bytes (the cache folder aside)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".ccm-cache" not in p.parts
    }


def run_limited(args: list[str], limit: int | None, env_root: Path) -> subprocess.CompletedProcess:
    """The installed ccm, with every file it writes limited to `limit` bytes (a full disk)."""

    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "CCM_DATA_DIR": str(env_root)}
    return subprocess.run([CCM, *args], env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=cap, check=False)  # fmt: skip


def assert_validate_clean(cli, root: Path) -> None:
    """Nothing but the reminder to close an exported month (the example clinic's September)."""
    r = cli("validate", "-d", root, "--no-code-check")
    others = [
        line
        for line in r.stdout.splitlines()
        if "exported claim lines but is not closed" not in line
    ]
    assert r.exit_code == 0 and others == [], r.stdout


# ---- 1: -o never writes inside the data directory -----------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["logs/2026-10.csv", "ccm.yaml", "patients/P0001.yaml", "exports/2026-10.csv", "new.csv",
     "patients/../logs/2026-09.csv", "."],
)  # fmt: skip
def test_export_output_inside_the_data_directory_is_refused(cli, clinic_env, target):
    before = snapshot(clinic_env)
    r = cli("export", "-d", clinic_env, *OCTOBER, "-o", clinic_env / target)
    assert r.exit_code == 1
    assert "inside the data directory" in r.stderr
    assert r.stdout == ""
    assert snapshot(clinic_env) == before


def test_a_symlink_leading_into_the_data_directory_is_refused(cli, clinic_env, tmp_path):
    before = snapshot(clinic_env)
    (tmp_path / "to-log.csv").symlink_to(clinic_env / "logs" / "2026-10.csv")
    (tmp_path / "to-data").symlink_to(clinic_env)
    (tmp_path / "dangling.csv").symlink_to(clinic_env / "logs" / "2027-01.csv")
    for out in ("to-log.csv", "to-data/ccm.yaml", "dangling.csv"):
        r = cli("export", "-d", clinic_env, *OCTOBER, "-o", tmp_path / out)
        assert r.exit_code == 1, out
        assert "inside the data directory" in r.stderr
    assert snapshot(clinic_env) == before


def test_a_relative_output_inside_is_refused_and_one_outside_written(cli, clinic_env, monkeypatch):
    monkeypatch.chdir(clinic_env / "logs")
    r = cli("export", *OCTOBER, "-o", "2026-10.csv")
    assert r.exit_code == 1 and "inside the data directory" in r.stderr
    r = cli("export", *OCTOBER, "-o", "../../claims.csv")
    assert r.exit_code == 0, r.stderr
    assert (clinic_env.parent / "claims.csv").read_text().startswith("patient_id,")


# ---- 2: a file replaced while waiting for its lock ----------------------------------------------


def while_replaced(path: Path, monkeypatch, replace, work) -> None:
    """Hold the lock on `path`; start `work` in a thread, which opens the file and waits for the
    lock; at that moment `replace` the file (as a sync client or `git pull` does), then release
    the lock on the old one."""
    holder = os.open(path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    real_flock, waiting = fcntl.flock, threading.Event()

    def flock(fd, op):
        if threading.current_thread() is not threading.main_thread():
            waiting.set()
        return real_flock(fd, op)

    monkeypatch.setattr(fileio.fcntl, "flock", flock)
    worker = threading.Thread(target=work)
    worker.start()
    assert waiting.wait(30)
    replace(path)
    os.close(holder)  # releases the lock on the old file
    worker.join(30)
    assert not worker.is_alive()


def replace_with(text: str):
    def replace(path: Path) -> None:
        fresh = path.with_name("incoming")
        fresh.write_text(text)
        os.replace(fresh, path)

    return replace


def test_an_append_waiting_while_the_file_is_replaced_lands_in_the_new_file(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    path.write_text("header\nold row\n")
    append = lambda: fileio.append_rows(path, "new row\n", "header\n")  # noqa: E731
    while_replaced(path, monkeypatch, replace_with("header\nold row\nsynced row\n"), append)
    assert path.read_text() == "header\nold row\nsynced row\nnew row\n"


def test_an_append_waiting_while_the_file_is_removed_creates_it_anew(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    path.write_text("header\nold row\n")
    append = lambda: fileio.append_rows(path, "new row\n", "header\n")  # noqa: E731
    while_replaced(path, monkeypatch, os.unlink, append)
    assert path.read_text() == "header\nnew row\n"


def test_an_export_waiting_while_the_ledger_is_replaced_sees_the_new_ledger(tmp_path, monkeypatch):
    """Lines recorded in the file that replaced the ledger are not exported again."""
    month = Month.parse("2026-10")
    data = DataDir(tmp_path)
    path = data.export_path(month)
    path.parent.mkdir()
    header = ledger.csv_text([], ledger.LEDGER_COLUMNS)
    path.write_text(header)
    line = ["P1", "N", "1948-03-02", "", "1234567893", "11", "2026-10-05", "99490", "1", "66.13",
            "E11.9", "I10", "", "", "2026-11-02T10:00:00-06:00", "1", ""]  # fmt: skip
    got: list = []
    read = lambda: got.extend(ledger.read_ledger(data, month))  # noqa: E731
    while_replaced(path, monkeypatch, replace_with(header + ledger.csv_text([line])), read)
    assert [(x.patient_id, x.code, x.units) for x in got] == [("P1", "99490", 1)]
    got.clear()

    def record() -> None:
        with fileio.locked(path, header) as fd:
            got.extend(ledger.parse_ledger(fileio.read_fd(fd).decode(), "exports/2026-10.csv"))

    while_replaced(path, monkeypatch, replace_with(header + ledger.csv_text([line, line])), record)
    assert len(got) == 2


# ---- 3: a full disk while recording the export ledger -------------------------------------------


def test_a_full_disk_while_recording_leaves_the_ledger_as_it_was(cli, clinic_env):
    first = cli("export", "-d", clinic_env, "--month", "2026-09")  # a ledger with history
    assert first.exit_code == 0, first.stderr
    october = clinic_env / "exports" / "2026-10.csv"
    october.parent.joinpath("2026-10.csv").write_bytes(
        (clinic_env / "exports" / "2026-09.csv").read_bytes().splitlines(keepends=True)[0]
    )
    before = october.read_bytes()
    header_and_3 = len(before) + 3 * 120
    failed = run_limited(["export", *OCTOBER], header_and_3, clinic_env)
    assert failed.returncode == 1
    assert "do not bill that output" in failed.stderr
    assert october.read_bytes() == before
    assert not list(october.parent.glob(".*.tmp"))
    again = cli("export", "-d", clinic_env, *OCTOBER)
    assert again.exit_code == 0, again.stderr
    exported = list(csv.DictReader(io.StringIO(again.stdout)))
    judged = json.loads(cli("check", "-d", clinic_env, *OCTOBER, "-f", "json").stdout)
    lines = sum(
        len(p["codes"]) + sum(len(s["codes"]) for s in p["services"]) for p in judged["patients"]
    )  # one claim line per code, services' too (A16)
    assert len(exported) == lines  # every line, none lost to the failed run
    assert_validate_clean(cli, clinic_env)


def test_a_full_disk_creating_the_ledger_leaves_no_ledger(cli, clinic_env):
    failed = run_limited(["export", *OCTOBER], 40, clinic_env)
    assert failed.returncode == 1
    assert not (clinic_env / "exports" / "2026-10.csv").exists()
    assert_validate_clean(cli, clinic_env)


# ---- 4: a full disk while logging ---------------------------------------------------------------


def test_a_failed_log_append_leaves_no_partial_row_and_a_retry_logs_once(cli, clinic_env):
    path = clinic_env / "logs" / "2026-11.csv"
    before = path.read_bytes()
    failed = run_limited(["log", "P0003", "7", "--note", "x" * 200], len(before) + 60, clinic_env)
    assert failed.returncode == 1
    assert "nothing was written" in failed.stderr
    assert path.read_bytes() == before
    assert_validate_clean(cli, clinic_env)
    retry = cli("log", "-d", clinic_env, "P0003", "7", "--note", "x" * 200, "-q")
    assert retry.exit_code == 0, retry.stderr
    added = path.read_bytes()[len(before) :].decode()
    assert added.count("\n") == 1 and ",P0003," in added
    assert_validate_clean(cli, clinic_env)


def test_a_full_disk_creating_a_month_log_leaves_no_file(cli, clinic_env):
    failed = run_limited(["log", "P0003", "7", "--date", "2026-08-14"], 50, clinic_env)
    assert failed.returncode == 1
    assert "ccm: cannot write to logs/2026-08.csv (" in failed.stderr
    assert not (clinic_env / "logs" / "2026-08.csv").exists()
    assert_validate_clean(cli, clinic_env)


def test_a_write_that_fails_after_all_but_the_newline_is_undone(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    path.write_text("header\nrow 1\n")
    real_write = os.write

    def short_then_full(fd, data):
        if len(data) > 1:
            return real_write(fd, bytes(data)[:-1])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "write", short_then_full)
    with pytest.raises(OSError):
        fileio.append_rows(path, "row 2\n")
    monkeypatch.undo()
    assert path.read_text() == "header\nrow 1\n"
    fileio.append_rows(path, "row 3\n")
    assert path.read_text() == "header\nrow 1\nrow 3\n"


# ---- 8: temporary files never stay behind -------------------------------------------------------


def test_a_failed_whole_file_write_removes_its_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "P1.yaml"

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "write", full)
    with pytest.raises(OSError):
        fileio.atomic_write(target, "name: x\n")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_during_patient_add_leaves_nothing(cli, clinic_env):
    before = snapshot(clinic_env)
    args = ["patient", "add", "P0100", "--name", "Test Person", "--birth-date", "1950-01-02"]
    failed = run_limited(args, 10, clinic_env)
    assert failed.returncode == 1
    assert snapshot(clinic_env) == before
    assert_validate_clean(cli, clinic_env)


def test_a_full_disk_writing_the_output_leaves_no_temporary_file(cli, clinic_env, tmp_path):
    out = tmp_path / "claims.csv"
    failed = run_limited(["export", *OCTOBER, "-o", str(out)], 100, clinic_env)
    assert failed.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".claims")) == []
    assert not (clinic_env / "exports" / "2026-10.csv").exists()


def test_validate_names_a_leftover_temporary_file(cli, clinic_env):
    (clinic_env / "patients" / ".P0001.yaml.4711.tmp").write_text("name: half\n")
    (clinic_env / ".ccm.yaml.99.tmp").write_text("")
    r = cli("validate", "-d", clinic_env, "--no-code-check")
    assert "patients/.P0001.yaml.4711.tmp: warning: temporary file left" in r.stdout
    assert ".ccm.yaml.99.tmp: warning:" in r.stdout
