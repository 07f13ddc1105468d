"""Several processes logging into the same month at once: nothing lost, torn or counted twice."""

import multiprocessing
import os
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from ccmcli.actions import recording
from ccmcli.models.errors import CcmError
from ccmcli.models.months import current_month
from ccmcli.store import log_parser, timelog
from ccmcli.store.datadir import DataDir
from helpers import CCM, ELIGIBLE_PATIENT

TZ = "America/Chicago"
PATIENTS = ("P0001", "P0002", "P0003")
WORKERS, EACH = 5, 60
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def data(datadir: Path) -> Path:
    for pid in PATIENTS:
        (datadir / "patients" / f"{pid}.yaml").write_text(ELIGIBLE_PATIENT.format(pid=pid))
    return datadir


def month_log(root: Path) -> tuple[str, timelog.MonthLog]:
    month = current_month(TZ)
    path = root / "logs" / f"{month}.csv"
    text = path.read_text()
    return text, log_parser.parse_month(text, month, path.name, set(PATIENTS).__contains__)


def _run_all(target, args_of, workers: int) -> list:
    """Start `workers` processes that wait for one signal, then collect what each returns."""
    go, results = FORK.Event(), FORK.Queue()
    procs = [FORK.Process(target=target, args=(*args_of(w), go, results)) for w in range(workers)]
    for p in procs:
        p.start()
    go.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def _logger(root: str, worker: int, go, results) -> None:
    go.wait()
    done = []
    try:
        for i in range(EACH):
            req = recording.LogRequest(PATIENTS[(worker + i) % 3], str(1 + i % 20),
                                       staff=f"staff{worker}", note=f"w{worker}-{i}, \"q\"")  # fmt: skip
            entry = recording.log_time(DataDir(Path(root)), req, environ={}).entry
            done.append((entry.id, entry.line, entry.note))
    except Exception as exc:  # reported to the test, which fails on it
        done.append(("error", 0, repr(exc)))
    results.put(done)


def test_processes_logging_at_once_lose_nothing(data):
    reports = _run_all(_logger, lambda w: (str(data), w), WORKERS)
    written = [item for report in reports for item in report]
    assert [w for w in written if w[0] == "error"] == []
    text, log = month_log(data)
    assert log.problems == []
    assert len(log.entries) == WORKERS * EACH == len(written)
    ids = [e.id for e in log.entries]
    assert len(set(ids)) == len(ids)
    notes = Counter(e.note for e in log.entries)
    assert notes == Counter(f'w{w}-{i}, "q"' for w in range(WORKERS) for i in range(EACH))
    # each process was told the line its row landed on
    assert {(e.id, e.line) for e in log.entries} == {(i, line) for i, line, _ in written}
    assert text.count("\n") == WORKERS * EACH + 1 and text.endswith("\n")
    # ids are made under the lock, so down the file their time stamps never go back
    stamps = [i.split("-")[0] for i in ids]
    assert stamps == sorted(stamps)
    path = data / "logs" / f"{current_month(TZ)}.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _voider(root: str, entry_id: str, worker: int, go, results) -> None:
    go.wait()
    try:
        entry = recording.void_entry(DataDir(Path(root)), entry_id, "r", f"s{worker}", environ={})
        results.put(("ok", entry.entry.id))
    except CcmError as exc:
        results.put(("refused", exc.message))


def test_two_people_voiding_one_entry_at_once_only_one_wins(data):
    req = recording.LogRequest("P0001", "30", staff="rn")
    target = recording.log_time(DataDir(data), req, environ={}).entry.id
    outcomes = _run_all(_voider, lambda w: (str(data), target, w), 4)
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused", "refused", "refused"]
    assert all("already voided" in msg for kind, msg in outcomes if kind == "refused")
    _, log = month_log(data)
    assert log.problems == []
    assert [e.voids for e in log.entries] == ["", target]


def test_the_installed_ccm_log_run_at_once(data):
    env = {**os.environ, "CCM_DATA_DIR": str(data)}
    cmds = [[CCM, "log", PATIENTS[i % 3], str(10 + i), "--staff", f"s{i}", "-q"] for i in range(4)]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    printed = {out.strip() for out, _ in outs}
    _, log = month_log(data)
    assert log.problems == []
    assert {e.id for e in log.entries} == printed and len(printed) == 4
    assert sorted(e.minutes for e in log.entries) == [10, 11, 12, 13]
