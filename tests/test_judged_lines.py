"""Judgements kept between runs of `ccm check --format json` (reports/judged_lines.py).

A kept line may save the judging of a patient, never change what check says: after any change to
the data directory, the cached answer must equal the answer without caches, and only patients
whose inputs changed are judged again.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.reports import judged_lines
from ccmcli.store import cache

MAKE_CLINIC = Path(__file__).resolve().parent / "vendor" / "make_clinic.py"
NOW = "2026-10-28T12:00:00-05:00"  # October is still running: its judgements are provisional
CHECK = ("check", "--format", "json", "--month", "2026-10")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small practice from the generator (tests/vendor/make_clinic.py): 30 patients, September and October."""
    root = tmp_path_factory.mktemp("judged") / "practice"
    subprocess.run(
        [sys.executable, str(MAKE_CLINIC), str(root), "--patients", "30",
         "--months", "2", "--entries-per-month", "300", "--last-month", "2026-10"],
        check=True, capture_output=True,
    )  # fmt: skip
    return root


@pytest.fixture
def practice(generated, tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(cache, "RACY_NS", 0)  # files copied a moment ago are cached too
    monkeypatch.setenv("CCM_NOW", NOW)
    root = tmp_path / "practice"
    shutil.copytree(generated, root)
    return root


@pytest.fixture
def judged(monkeypatch) -> list[str]:
    """The ids of the patients judged (not taken from kept lines), run after run."""
    calls: list[str] = []
    real = judged_lines.judge

    def counting(patient, *args, **kwargs):
        calls.append(patient.id)
        return real(patient, *args, **kwargs)

    monkeypatch.setattr(judged_lines, "judge", counting)
    return calls


def cached_and_fresh(cli, root: Path, monkeypatch) -> tuple:
    """(cached run, run without caches) of `ccm check --format json` for October."""
    cached = cli(*CHECK, "-d", root)
    monkeypatch.setenv(cache.ENV_OFF, "1")
    fresh = cli(*CHECK, "-d", root)
    monkeypatch.delenv(cache.ENV_OFF)
    return cached, fresh


def assert_same(cli, root: Path, monkeypatch) -> dict:
    cached, fresh = cached_and_fresh(cli, root, monkeypatch)
    assert cached.exit_code == fresh.exit_code, (cached.stderr, fresh.stderr)
    assert cached.stdout == fresh.stdout
    return json.loads(cached.stdout)


def test_a_second_check_judges_no_patient_again(cli, practice, judged):
    first = cli(*CHECK, "-d", practice)
    assert len(judged) == 30
    judged.clear()
    second = cli(*CHECK, "-d", practice)
    assert second.stdout == first.stdout and second.exit_code == first.exit_code
    assert len(judged) <= 1  # a patient with a row in the log's last record is judged each time


def test_after_a_logged_entry_only_that_patient_is_judged_again(cli, practice, judged, monkeypatch):
    cli(*CHECK, "-d", practice)
    cli(*CHECK, "-d", practice)
    logged = cli("log", "P000007", "25", "--date", "2026-10-20", "-d", practice)
    assert logged.exit_code == 0, logged.stderr
    judged.clear()
    cached, fresh = cached_and_fresh(cli, practice, monkeypatch)
    assert cached.stdout == fresh.stdout and cached.exit_code == fresh.exit_code
    again = judged[: len(judged) - 30]  # the run without caches judged all 30
    assert "P000007" in again and len(again) <= 2  # and the one in the last record before
    mine = next(p for p in json.loads(cached.stdout)["patients"] if p["patient_id"] == "P000007")
    total = mine["minutes"]["clinical_staff"] + mine["minutes"]["not_counted"]
    assert total >= 25


def test_a_row_rewritten_in_the_middle_of_the_log_is_seen(cli, practice, monkeypatch):
    cli(*CHECK, "-d", practice)
    log = practice / "logs" / "2026-10.csv"
    lines = log.read_text().splitlines(keepends=True)
    row = lines[5].split(",")
    row[3] = "1" if row[3] != "1" else "2"  # same length or shorter: the log did not grow
    lines[5] = ",".join(row)
    log.write_text("".join(lines))
    _bump(log)
    assert_same(cli, practice, monkeypatch)


def test_kept_lines_are_private_and_cleared_with_the_other_caches(cli, practice):
    cli(*CHECK, "-d", practice)
    kept = cache.cache_file(practice.resolve(), "judged", "-2026-10")
    assert kept.is_file() and kept.stat().st_mode & 0o077 == 0
    assert cli("cache", "clear", "-d", practice).exit_code == 0
    assert not kept.exists()


def test_no_lines_are_kept_when_caching_is_off(cli, practice, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    cli(*CHECK, "-d", practice)
    assert not cache.cache_file(practice.resolve(), "judged", "-2026-10").exists()


# Every change a person or ccm can make to a data directory; after each, the cached answer must
# be the answer without caches.
CHANGES = st.sampled_from(
    ["log", "log_other_service", "void", "rewrite_row", "drop_row", "edit_patient",
     "remove_patient", "edit_settings", "reuse_id_in_september", "torn_last_line",
     "exports_is_a_file", "logs_is_a_file", "another_users_cache", "damaged_cache"]
)  # fmt: skip


@settings(max_examples=16, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(changes=st.lists(st.tuples(CHANGES, st.integers(0, 29)), min_size=1, max_size=5))
def test_kept_judgements_never_change_an_answer(cli, generated, tmp_path_factory, monkeypatch,
                                                changes):  # fmt: skip
    monkeypatch.setattr(cache, "RACY_NS", 0)
    monkeypatch.setenv("CCM_NOW", NOW)
    root = tmp_path_factory.mktemp("changes") / "practice"
    shutil.copytree(generated, root)
    assert_same(cli, root, monkeypatch)
    for change, n in changes:
        CHANGE[change](cli, root, f"P{n:06d}")
        assert_same(cli, root, monkeypatch)
        assert_same_kept_months(cli, root, monkeypatch)
    for change in ("exports_is_a_file", "logs_is_a_file"):  # a folder put back
        if not (root / change.split("_")[0]).is_dir():
            CHANGE[change](cli, root, "")
            assert_same(cli, root, monkeypatch)
            assert_same_kept_months(cli, root, monkeypatch)


COMPARE = ("compare", "--months", "2", "--month", "2026-10", "--format", "json")


def assert_same_kept_months(cli, root: Path, monkeypatch) -> None:
    """The other kept answers: the report's past months' totals and compare's months."""
    from ccmcli.reports.practice_report import build_report
    from ccmcli.store.datadir import DataDir

    def both() -> tuple:
        compared = cli(*COMPARE, "-d", root)
        history = build_report(DataDir(root.resolve()), "2026-10", 1, workers=0).history
        return compared.exit_code, compared.stdout, history

    cached = both()
    monkeypatch.setenv(cache.ENV_OFF, "1")
    fresh = both()
    monkeypatch.delenv(cache.ENV_OFF)
    assert cached == fresh


def _bump(path: Path) -> None:
    """A new modification time: a same-size edit within one clock tick keeps the old one, and
    the tests trust files as soon as they are written (the racy rule is what covers that)."""
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))


def _log(cli, root: Path, pid: str, *more: str) -> None:
    if (root / "patients" / f"{pid}.yaml").is_file():
        cli("log", pid, "15", "--date", "2026-10-21", "-d", root, *more)


def _void(cli, root: Path, pid: str) -> None:
    if not (root / "logs").is_dir():
        return
    rows = [r.split(",") for r in (root / "logs" / "2026-10.csv").read_text().splitlines()[1:]]
    ids = [r[0] for r in rows if r[1] == pid and r[3]]
    if ids:
        cli("void", ids[0], "--reason", "logged twice", "-d", root)


def _rewrite(root: Path, pid: str, drop: bool) -> None:
    if not (root / "logs").is_dir():
        return
    log = root / "logs" / "2026-10.csv"
    lines = log.read_text().splitlines(keepends=True)
    at = next((i for i, r in enumerate(lines[1:], 1) if r.split(",")[1] == pid), None)
    if at is None:
        return
    if drop:
        del lines[at]
    else:
        row = lines[at].split(",")
        row[3] = str(int(row[3]) % 9 + 1) if row[3] else row[3]
        lines[at] = ",".join(row)
    log.write_text("".join(lines))
    _bump(log)


def _edit_patient(root: Path, pid: str) -> None:
    path = root / "patients" / f"{pid}.yaml"
    if path.is_file():
        text = path.read_text()
        path.write_text(text.replace("consent:\n  date: 20", "consent:\n  date: 19", 1)
                        if "consent:\n  date: 20" in text else text + "qmb: true\n")  # fmt: skip
        _bump(path)


def _edit_settings(root: Path, _pid: str) -> None:
    path = root / "ccm.yaml"
    text = path.read_text()
    key = "count_practitioner_minutes_as_staff:"
    if key in text:
        flip = "true" if f"{key} false" in text else "false"
        lines = [f"{key} {flip}" if ln.startswith(key) else ln for ln in text.splitlines()]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text(text + f"{key} false\n")
    _bump(path)


def _reuse_id(root: Path, pid: str) -> None:
    """A September row with an id October uses: October's row then counts toward nothing."""
    if not (root / "logs").is_dir():
        return
    october = (root / "logs" / "2026-10.csv").read_text().splitlines()[1:]
    row = next((r for r in october if r.split(",")[1] == pid), None)
    if row is not None:
        cells = row.split(",")
        cells[2] = "2026-09-15"
        with open(root / "logs" / "2026-09.csv", "a") as f:
            f.write(",".join(cells) + "\n")


def _torn(root: Path, pid: str) -> None:
    if not (root / "logs").is_dir():
        return
    with open(root / "logs" / "2026-10.csv", "a") as f:
        f.write(f"E-TORN-{pid},{pid},2026-10-22,5,clinical_staff")  # no line end: a torn write


def _folder_is_a_file(root: Path, name: str) -> None:
    """The issue's stale page: a folder replaced by a plain file (and back, the next time)."""
    folder, aside = root / name, root / f"{name}.aside"
    if folder.is_dir() or not folder.exists():
        if folder.is_dir():
            folder.rename(aside)
        folder.write_text("not a folder\n")
    else:
        folder.unlink()
        if aside.is_dir():
            aside.rename(folder)
        else:
            folder.mkdir()


def _another_users_cache(root: Path) -> None:
    """Another login's files where this user's cache is (root gives them away; elsewhere,
    files others could have written): none may be believed, nor written into."""
    for path in sorted(cache.cache_folder(root.resolve()).rglob("*"), reverse=True):
        if os.geteuid() == 0:
            os.chown(path, 2002, 2002)
        else:
            path.chmod(0o666)
    folder = cache.cache_folder(root.resolve())
    if folder.is_dir() and os.geteuid() == 0:
        os.chown(folder, 2002, 2002)


def _damaged_cache(root: Path) -> None:
    for path in cache.cache_folder(root.resolve()).glob("*.cache"):
        if path.stat().st_uid == os.geteuid() and os.access(path, os.W_OK):
            raw = bytearray(path.read_bytes())
            raw[len(raw) // 2] ^= 0x55
            path.write_bytes(bytes(raw))


CHANGE = {
    "log": lambda cli, root, pid: _log(cli, root, pid),
    "log_other_service": lambda cli, root, pid: _log(cli, root, pid, "--service", "bhi"),
    "void": _void,
    "rewrite_row": lambda cli, root, pid: _rewrite(root, pid, drop=False),
    "drop_row": lambda cli, root, pid: _rewrite(root, pid, drop=True),
    "edit_patient": lambda cli, root, pid: _edit_patient(root, pid),
    "remove_patient": lambda cli, root, pid: (root / "patients" / f"{pid}.yaml").unlink(True),
    "edit_settings": lambda cli, root, pid: _edit_settings(root, pid),
    "reuse_id_in_september": lambda cli, root, pid: _reuse_id(root, pid),
    "torn_last_line": lambda cli, root, pid: _torn(root, pid),
    "exports_is_a_file": lambda cli, root, pid: _folder_is_a_file(root, "exports"),
    "logs_is_a_file": lambda cli, root, pid: _folder_is_a_file(root, "logs"),
    "another_users_cache": lambda cli, root, pid: _another_users_cache(root),
    "damaged_cache": lambda cli, root, pid: _damaged_cache(root),
}


def test_patients_judged_in_forked_workers_give_the_same_answer(
    cli, practice, monkeypatch, request
):
    from ccmcli import workers

    monkeypatch.setenv(cache.ENV_OFF, "1")  # every patient judged, none kept
    serial = cli(*CHECK, "-d", practice)
    forks = request.getfixturevalue("forked_worker")  # a worker from here on
    monkeypatch.setattr(workers, "MIN_CHUNK", 4)  # 30 patients: eight chunks to share
    parallel = cli(*CHECK, "-d", practice)
    assert forks  # patient files and patients were shared with a worker
    assert parallel.stdout == serial.stdout and parallel.exit_code == serial.exit_code
