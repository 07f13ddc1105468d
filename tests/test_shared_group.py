"""`shared: group` in ccm.yaml (contract 1): a practice on one server with several logins.

What ccm creates inside the data directory then belongs to the data directory's group and is
readable and writable by it (0660 files, 2770 folders), so a second coordinator can log into a
month file the first one created; without it, files stay private (0600 / 0700). Each login is
a real user id (`setpriv`, as root); those tests skip elsewhere.
"""

import os
import stat
from pathlib import Path

import pytest

from ccmcli.store import cache, fileio
from helpers import example_copy
from test_cache_failures import other_users_run, run

GROUP = 3000  # the practice's group: both coordinators are in it
FIRST, SECOND = 2002, 2003
DECEMBER = ("--date", "2026-12-03")
NOW = {"CCM_NOW": "2026-12-05T10:00:00-06:00"}


def _practice(base: Path, shared: bool) -> Path:
    """The example clinic, set up for the group as a person would (chgrp -R, chmod g+rw); the
    test is skipped where ccm cannot run as another user."""
    if not other_users_run(base):
        pytest.skip("cannot run ccm as another user here")
    root = example_copy("clinic", base / "clinic")
    if shared:
        with open(root / "ccm.yaml", "a") as f:
            f.write("shared: group\n")
    for folder, _, files in os.walk(root):
        os.chown(folder, 0, GROUP)
        os.chmod(folder, 0o2770)
        for name in files:
            os.chown(os.path.join(folder, name), 0, GROUP)
            os.chmod(os.path.join(folder, name), 0o660)
    return root


def _first_logs(base: Path, shared: bool) -> Path:
    """The practice after the first coordinator logged 15 minutes into December."""
    root = _practice(base, shared)
    first = _as(base, FIRST, "-d", root, "log", "P0001", "15", *DECEMBER)
    assert first.returncode == 0, first.stderr
    return root


def _as(base: Path, uid: int, *args):
    return run(base, args, uid=uid, groups=str(GROUP), env=NOW)


def _mode(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")


@needs_root
def test_a_second_coordinator_logs_into_the_month_file_the_first_created(base):
    root = _first_logs(base, shared=True)
    month = root / "logs" / "2026-12.csv"
    assert _mode(month) == (0o660, FIRST, GROUP)
    second = _as(base, SECOND, "-d", root, "log", "P0001", "15", *DECEMBER)
    assert second.returncode == 0, second.stderr
    assert "30 min" in second.stdout
    assert month.read_text().count("P0001,2026-12-03,15") == 2
    for uid in (FIRST, SECOND):  # each keeps a cache, its own
        checked = _as(base, uid, "-d", root, "check", "--month", "2026-12")
        assert checked.returncode == 0, checked.stderr
    top = root / cache.FOLDER
    assert _mode(top)[0] == 0o2770 and _mode(top)[2] == GROUP
    for uid in (FIRST, SECOND):
        own = top / f"uid{uid}"
        assert _mode(own)[1] == uid and _mode(own)[0] & 0o077 == 0  # believed by its owner only
        assert all(_mode(p)[0] == 0o600 for p in own.iterdir())


@needs_root
def test_patient_files_and_folders_ccm_creates_are_the_groups(base):
    root = _practice(base, shared=True)
    import shutil

    shutil.rmtree(root / "timers", ignore_errors=True)
    added = _as(base, FIRST, "-d", root, "patient", "add", "P9001", "--name", "Ann Lee",
                "--birth-date", "1950-01-02")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert _mode(root / "patients" / "P9001.yaml") == (0o660, FIRST, GROUP)
    started = _as(base, FIRST, "-d", root, "start", "P0001")
    assert started.returncode == 0, started.stderr
    assert _mode(root / "timers")[0] == 0o2770 and _mode(root / "timers")[2] == GROUP
    assert all(_mode(p)[0] == 0o660 for p in (root / "timers").iterdir())
    second = _as(base, SECOND, "-d", root, "start", "P0002")  # the timers' lock is the first's
    assert second.returncode == 0, second.stderr
    stopped = _as(base, FIRST, "-d", root, "stop")
    assert stopped.returncode == 0, stopped.stderr


@needs_root
def test_without_the_setting_what_ccm_creates_stays_private(base):
    root = _first_logs(base, shared=False)
    assert _mode(root / "logs" / "2026-12.csv") == (0o600, FIRST, GROUP)
    assert _mode(root / cache.FOLDER)[0] == 0o700
    second = _as(base, SECOND, "-d", root, "log", "P0001", "15", *DECEMBER)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    checked = _as(base, SECOND, "-d", root, "check", "--month", "2026-11")
    assert checked.returncode == 0, checked.stderr  # the first one's private cache is skipped


def test_shared_takes_only_group(cli, clinic):
    with open(clinic / "ccm.yaml", "a") as f:
        f.write("shared: everyone\n")
    r = cli("validate", "-d", clinic, "--no-code-check")
    assert r.exit_code == 1
    lines = (clinic / "ccm.yaml").read_text().splitlines()
    assert f"ccm.yaml:{len(lines)}:" in r.stdout + r.stderr and "shared" in r.stdout + r.stderr


def test_modes_are_the_groups_only_inside_the_shared_data_directory(tmp_path):
    inside, outside = tmp_path / "practice", tmp_path / "report.html"
    inside.mkdir()
    try:
        fileio.share_with_group(inside)
        gid = inside.stat().st_gid
        assert fileio.modes(inside / "logs" / "2026-10.csv") == (0o660, 0o2770, gid)
        assert fileio.modes(outside) == (0o600, 0o700, None)
        assert fileio.modes(tmp_path / "practice2" / "x") == (0o600, 0o700, None)
        old = os.umask(0o027)
        try:
            fileio.atomic_write(inside / "logs" / "a.csv", "x\n")
            fileio.append_rows(inside / "logs" / "b.csv", "y\n", "h\n")
        finally:
            os.umask(old)
        assert stat.S_IMODE((inside / "logs").stat().st_mode) == 0o2770
        for name in ("a.csv", "b.csv"):
            assert stat.S_IMODE((inside / "logs" / name).stat().st_mode) == 0o660
        fileio.share_with_group(None)
        fileio.atomic_write(inside / "logs" / "c.csv", "x\n")
        assert stat.S_IMODE((inside / "logs" / "c.csv").stat().st_mode) == 0o600
    finally:
        fileio.share_with_group(None)
