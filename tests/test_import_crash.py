"""`patient import` is all or nothing after kill -9 and a full disk (issue 11, item 7).

An importing process is killed (SIGKILL, nothing runs after it) at a chosen point of the real
code path: while staging its files, or while moving them into patients/. Every command after it
sees the whole roster or none of it, a rerun of the same roster succeeds, and `validate` is clean.
"""

import multiprocessing
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from ccmcli.actions import roster_import
from ccmcli.store import record_files, staging
from ccmcli.store.datadir import DataDir
from helpers import CCM
from test_import import csv_text, patient_files, row

ROWS = 60  # the crash mechanics do not depend on the count; each file costs an fsync


def roster(tmp_path: Path, long_at: int | None = None) -> Path:
    rows = [row(id=f"R{i:04d}") for i in range(ROWS)]
    if long_at is not None:
        rows[long_at]["name"] = "Long Name " * 200
    path = tmp_path / "roster.csv"
    path.write_text(csv_text(rows), newline="")
    return path


def _killed_after(root: str, path: str, where: str, n: int) -> None:
    """In a forked child: import, and SIGKILL this process at the n-th call of `where`."""
    calls = [0]
    target = {"stage": (staging, "stage_file"), "move": (staging.os, "link")}[where]
    real = getattr(*target)

    def counting(*args, **kwargs):
        if where == "move" and staging.STAGING not in str(args[0]):
            return real(*args, **kwargs)  # the journal's own write, not a patient file
        calls[0] += 1
        if calls[0] > n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(*target, counting)
    roster_import.import_roster(DataDir(Path(root)), Path(path).read_bytes(), "roster.csv")
    os._exit(3)  # not reached when killed


def import_killed(root: Path, path: Path, where: str, n: int) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_killed_after, args=(str(root), str(path), where, n)
    )
    child.start()
    child.join(300)
    assert child.exitcode == -signal.SIGKILL


def assert_clean(cli, root: Path) -> None:
    r = cli("validate", "-d", root, "--no-code-check")
    assert r.exit_code == 0 and r.stdout == "", r.stdout
    assert not (root / staging.STAGING).exists()
    assert not (root / staging.JOURNAL).exists()


def listed(cli, root: Path) -> int:
    r = cli("patient", "list", "-d", root, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    return len(r.stdout.splitlines()) - 1


@pytest.mark.parametrize("n", [0, ROWS // 2, ROWS - 1])
def test_killed_while_staging_nothing_was_imported_and_a_rerun_imports_all(
    cli, datadir, tmp_path, n
):
    path = roster(tmp_path)
    import_killed(datadir, path, "stage", n)
    assert (datadir / staging.STAGING).exists()  # what the crash left
    assert listed(cli, datadir) == 0
    assert patient_files(datadir) == []
    assert_clean(cli, datadir)
    again = cli("patient", "import", path, "-d", datadir)
    assert again.exit_code == 0, again.stderr
    assert again.stderr == f"added {ROWS} patients, updated 0\n"
    assert listed(cli, datadir) == ROWS


@pytest.mark.parametrize("n", [0, ROWS // 2, ROWS - 1])
def test_killed_while_moving_files_in_the_import_is_completed(cli, datadir, tmp_path, n):
    path = roster(tmp_path)
    import_killed(datadir, path, "move", n)
    assert (datadir / staging.JOURNAL).exists()
    assert len(patient_files(datadir)) == n  # what the crash left, before any command ran
    assert listed(cli, datadir) == ROWS
    assert len(patient_files(datadir)) == ROWS
    assert_clean(cli, datadir)
    again = cli("patient", "import", path, "-d", datadir)  # the same roster: already there
    assert again.exit_code == 0, again.stderr
    assert again.stderr == f"added 0 patients, updated 0, {ROWS} unchanged\n"


def test_a_single_patient_command_completes_an_interrupted_import_first(cli, datadir, tmp_path):
    import_killed(datadir, roster(tmp_path), "move", 10)
    r = cli("patient", "show", "-d", datadir, f"R{ROWS - 1:04d}")
    assert r.exit_code == 0, r.stderr
    assert_clean(cli, datadir)


def test_a_full_disk_midway_imports_nothing(cli, datadir, tmp_path):
    path = roster(tmp_path, long_at=40)
    normal = (datadir / "ccm.yaml").stat().st_size + 1000

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (normal, normal))

    env = {**os.environ, "CCM_DATA_DIR": str(datadir)}
    r = subprocess.run([CCM, "patient", "import", str(path)], env=env, capture_output=True,
                       text=True, timeout=300, preexec_fn=cap, check=False)  # fmt: skip
    assert r.returncode == 1
    assert "nothing was imported" in r.stderr
    assert patient_files(datadir) == []
    assert_clean(cli, datadir)
    assert cli("patient", "import", path, "-d", datadir).exit_code == 0
    assert listed(cli, datadir) == ROWS


def test_an_existing_file_that_differs_is_still_refused(cli, datadir, tmp_path):
    path = roster(tmp_path)
    assert cli("patient", "import", path, "-d", datadir).exit_code == 0
    target = datadir / "patients" / "R0007.yaml"
    target.write_text(target.read_text().replace("Ada Quill", "Ada Quill-Smith"))
    again = cli("patient", "import", path, "-d", datadir)
    assert again.exit_code == 1
    assert "patient R0007 already exists" in again.stderr
    assert again.stderr.count("already exists") == 1


def test_a_journal_ccm_did_not_write_is_refused_and_nothing_moves(cli, datadir):
    (datadir / staging.STAGING / "x").mkdir(parents=True)
    (datadir / staging.STAGING / "x" / "ccm.yaml").write_text("practice: evil\n")
    (datadir / staging.JOURNAL).write_text('{"stage": "x", "files": [["../ccm.yaml", true]]}')
    before = (datadir / "ccm.yaml").read_bytes()
    r = cli("patient", "list", "-d", datadir)
    assert r.exit_code == 1
    assert "is not what ccm wrote" in r.stderr
    assert (datadir / "ccm.yaml").read_bytes() == before


def _paused_mid_commit(root: str, path: str, n: int, paused, go) -> None:
    """In a forked child: import, and after moving n files wait (holding the commit's lock)."""
    real, calls = staging.os.link, [0]

    def link(src, dst, *args, **kwargs):
        if staging.STAGING in str(src):
            calls[0] += 1
            if calls[0] == n + 1:
                paused.set()
                go.wait(120)
        return real(src, dst, *args, **kwargs)

    staging.os.link = link
    roster_import.import_roster(DataDir(Path(root)), Path(path).read_bytes(), "roster.csv")


def waiting_on_lock(folder: Path) -> bool:
    """Whether some process waits for a flock on `folder` (Linux's /proc/locks marks a waiter
    with `->`)."""
    inode = f":{folder.stat().st_ino} "
    text = Path("/proc/locks").read_text()
    return any("->" in line and "FLOCK" in line and inode in line for line in text.splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_command_reading_during_a_commit_waits_and_sees_every_patient(datadir, tmp_path):
    ctx = multiprocessing.get_context("fork")
    paused, go = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_paused_mid_commit,
                        args=(str(datadir), str(roster(tmp_path)), ROWS // 2, paused, go))  # fmt: skip
    child.start()
    assert paused.wait(300)
    assert len(patient_files(datadir)) == ROWS // 2  # half moved, the lock held
    env = {**os.environ, "CCM_DATA_DIR": str(datadir)}
    reader = subprocess.Popen([CCM, "patient", "list", "--format", "csv"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        while not waiting_on_lock(datadir / "patients"):
            assert reader.poll() is None, reader.communicate()  # it must not finish on half
            time.sleep(0.01)  # polling for the waiter, not waiting for a race
    finally:
        go.set()
    out, err = reader.communicate(timeout=120)
    child.join(120)
    assert child.exitcode == 0
    assert reader.returncode == 0, err
    assert len(out.splitlines()) - 1 == ROWS


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_reader_that_settled_before_the_commit_still_waits_for_it(datadir, tmp_path, monkeypatch):
    """The narrowest interleaving: a command found no journal (so nothing to settle), then an
    import committed and moved half its files before the command listed patients/. The
    listing's shared lock makes it wait for the rest."""
    ctx = multiprocessing.get_context("fork")
    paused, go = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_paused_mid_commit,
                        args=(str(datadir), str(roster(tmp_path)), ROWS // 2, paused, go))  # fmt: skip
    child.start()
    assert paused.wait(300)
    monkeypatch.setattr(staging, "settle", lambda data: None)  # it ran before the commit began
    seen: list = []
    reader = threading.Thread(
        target=lambda: seen.append(record_files.load_patients(DataDir(datadir)))
    )
    reader.start()
    try:
        while not waiting_on_lock(datadir / "patients"):
            assert reader.is_alive(), "listed patients/ in the middle of a commit"
            time.sleep(0.01)  # polling for the waiter, not waiting for a race
    finally:
        go.set()
    reader.join(120)
    child.join(120)
    assert child.exitcode == 0
    assert len(seen[0].patients) == ROWS
