"""Parsing patient files in forked workers (src/ccmcli/workers.py) gives exactly what parsing
them one by one gives: the same records, the same invalid ids, the same problems in the same order,
whether a worker finishes well or not."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccmcli import loader, workers
from ccmcli.store import cache, record_files
from ccmcli.store.datadir import DataDir

ROOT = Path(__file__).resolve().parent.parent
MAKE_CLINIC = ROOT / "tests" / "vendor" / "make_clinic.py"

BROKEN = {  # file name -> bytes: each a different way for a patient file to fail
    "P9001.yaml": b"id: P9001\nname: [unclosed\n",  # YAML syntax
    "P9002.yaml": b"id: P9002\nname: Someone\nbirth_date: 1950-02-30\n",  # not a real date
    "P9003.yaml": b"id: P9999\nname: Someone\nbirth_date: 1950-02-03\n",  # id is not the name
    "P9004.yaml": b"id: P9004\nname: Caf\xe9\nbirth_date: 1950-02-03\n",  # not UTF-8
    "P9005.yaml": b"id: P9005\nid: P9005\nname: Twice\nbirth_date: 1950-02-03\n",  # key twice
    "P9006.yaml": b"",  # empty: not a mapping
    "P9007.yaml": b"- a list\n- not a record\n",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A make_clinic practice with broken files spread among the good ones (in name order too:
    some fall in a worker's share, some in this process's)."""
    root = tmp_path_factory.mktemp("parallel") / "clinic"
    subprocess.run(
        [sys.executable, str(MAKE_CLINIC), str(root), "--patients", "120", "--months", "2",
         "--entries-per-month", "600", "--last-month", "2026-10"],
        check=True, capture_output=True,
    )  # fmt: skip
    september = (root / "logs" / "2026-09.csv").read_text().splitlines()
    with (root / "logs" / "2026-10.csv").open("a") as october:  # an id September uses again
        october.write(september[1].replace("2026-09-", "2026-10-") + "\n")
    patients = root / "patients"
    for name, raw in BROKEN.items():
        (patients / name).write_bytes(raw)
    names = sorted(p.name for p in patients.iterdir())
    for i, name in enumerate(names[5::20]):  # good files broken in place, spread over the list
        path = patients / name
        text = path.read_text()
        path.write_text(text.replace("birth_date:", "birth_date: [", 1) if i % 2 else text + "x:\n")
    (patients / "P0000.yaml").mkdir(exist_ok=True)  # a folder where a file should be
    return root


def patient_set(root: Path) -> record_files.PatientSet:
    return record_files.load_patients(DataDir(root))


def force_workers(monkeypatch, n: int) -> None:
    monkeypatch.setattr(workers, "worker_count", lambda todo, least=None: n)


@pytest.mark.parametrize("n_workers", [1, 2, 3])
@pytest.mark.parametrize("caches", ["off", "cold"])
def test_workers_give_the_serial_answers(generated, monkeypatch, tmp_path, n_workers, caches):
    if caches == "off":
        monkeypatch.setenv(cache.ENV_OFF, "1")
    monkeypatch.setattr(cache, "RACY_NS", 0)  # files written a moment ago are cached too
    force_workers(monkeypatch, 0)
    shutil.rmtree(generated / cache.FOLDER, ignore_errors=True)  # a cold cache: every file a miss
    serial = patient_set(generated)
    shutil.rmtree(generated / cache.FOLDER, ignore_errors=True)
    force_workers(monkeypatch, n_workers)
    parallel = patient_set(generated)
    assert len(serial.patients) > 100 and len(serial.invalid) >= len(BROKEN) + 5
    assert list(parallel.patients) == list(serial.patients)
    assert parallel.patients == serial.patients
    assert parallel.invalid == serial.invalid
    assert parallel.problems == serial.problems
    if caches == "cold":  # what the workers parsed is what the cache then answers
        force_workers(monkeypatch, 0)
        again = patient_set(generated)
        assert again.patients == serial.patients and again.problems == serial.problems


def test_a_worker_that_fails_has_its_share_parsed_here(generated, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    serial = patient_set(generated)
    parent = os.getpid()
    parse_file = record_files._patient_file

    def dies_in_a_worker(*args):
        if os.getpid() != parent:
            os._exit(3)
        return parse_file(*args)

    monkeypatch.setattr(record_files, "_patient_file", dies_in_a_worker)
    force_workers(monkeypatch, 2)
    parallel = patient_set(generated)
    assert parallel.patients == serial.patients and parallel.problems == serial.problems


def test_check_with_workers_prints_what_check_without_them_prints(generated, cli, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    args = ("check", "-d", generated, "--format", "json", "--month", "2026-10")
    force_workers(monkeypatch, 0)
    serial = cli(*args)
    force_workers(monkeypatch, 1)
    parallel = cli(*args)
    assert parallel.exit_code == serial.exit_code == 1  # the broken files are errors
    assert parallel.stdout == serial.stdout
    assert len(json.loads(parallel.stdout)["problems"]) >= len(BROKEN) + 5


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100])
@pytest.mark.parametrize("n_workers", [0, 1, 2, 3])
def test_parse_many_is_the_list_comprehension(n, n_workers):
    items = [f"item-{i}" for i in range(n)]
    assert workers.parse_many(items, str.upper, n_workers) == [s.upper() for s in items]


def test_an_exception_in_a_worker_is_raised_here_as_without_workers():
    def parse(i: int) -> int:
        if i == 3:
            raise ValueError("bad item")
        return i * 2

    with pytest.raises(ValueError, match="bad item"):
        workers.parse_many(list(range(10)), parse, 1)  # item 3 is in the worker's share


@pytest.mark.parametrize("n", [0, 1, 5, 1000, 20001, 10**6])
def test_chunks_cover_every_item_once_in_order(n):
    spans = workers.chunks(n)
    assert len(spans) <= workers.MAX_CHUNKS
    assert [i for a, b in spans for i in range(a, b)] == list(range(n))


def test_few_files_are_parsed_here(monkeypatch):
    assert workers.worker_count(10) == 0
    assert workers.worker_count(workers.MIN_FILES - 1) == 0


@pytest.mark.parametrize("worker", ["parses", "dies", "lists other files"])
def test_the_month_read_beside_the_patients_is_the_month_read_after(
    generated, cli, monkeypatch, worker
):
    """`check` reads its month's log here while a worker parses patient files (load's `ahead`);
    that reading is used only when the files it was checked against are the files parsed, and a
    worker that dies changes nothing but who parses its chunks."""
    monkeypatch.setenv(cache.ENV_OFF, "1")
    args = ("check", "-d", generated, "--format", "json", "--month", "2026-10")
    force_workers(monkeypatch, 0)
    serial = cli(*args)
    parent, stems, parse = os.getpid(), record_files.patient_stems, record_files._patient_file
    read_early = []
    real_read_logs = loader._read_logs

    def read_logs(*args):
        read_early.append(os.getpid() == parent)
        return real_read_logs(*args)

    def dying(*args):
        if os.getpid() != parent:
            os._exit(3)
        return parse(*args)

    monkeypatch.setattr(loader, "_read_logs", read_logs)
    if worker == "dies":
        monkeypatch.setattr(record_files, "_patient_file", dying)
    if worker == "lists other files":
        monkeypatch.setattr(record_files, "patient_stems", lambda data: [*stems(data), "P7777"])
    taken = []
    real_read_month = loader._read_month

    def read_month(practice, month):
        taken.append(month in practice.ahead)
        return real_read_month(practice, month)

    monkeypatch.setattr(loader, "_read_month", read_month)
    force_workers(monkeypatch, 1)
    parallel = cli(*args)
    assert read_early == [True]  # read in this process, once, while the worker parsed
    assert parallel.exit_code == serial.exit_code and parallel.stdout == serial.stdout
    assert taken == [worker != "lists other files"]  # used only for the files parsed
    assert "is already used at logs/2026-09.csv:2" in parallel.stdout


def test_a_side_job_runs_here_while_workers_parse():
    parent, seen = os.getpid(), []
    with workers.alongside(lambda: ("ran in", os.getpid() == parent)) as job:
        assert workers.parse_many(list(range(100)), str, 1) == [str(i) for i in range(100)]
        assert workers.parse_many(list(range(100)), str, 1) == [str(i) for i in range(100)]
        seen.append(job.result)
    assert job.done and seen == [("ran in", True)]


def test_a_side_job_does_not_run_without_workers():
    with workers.alongside(lambda: "ran") as job:
        assert workers.parse_many(list(range(10)), str, 0) == [str(i) for i in range(10)]
    assert not job.done and job.result is None


def test_answers_a_worker_sent_before_it_failed_are_kept():
    """A worker sends each chunk's answers as soon as they are ready, and this process takes
    them in while it parses: when the worker then dies, only the chunks it had not sent are
    parsed here."""
    parent, here, count = os.getpid(), [], [0]
    ready, say_ready = os.pipe()

    def parse(i: int) -> int:
        if os.getpid() == parent:
            here.append(i)
        else:
            count[0] += 1
            if count[0] == 3:
                os.write(say_ready, b"x")  # this process starts on the chunks from now on
            elif count[0] == 4:
                os._exit(3)  # the fourth chunk is never sent
        return i * 2

    try:
        with workers.alongside(lambda: os.read(ready, 1)):
            got = workers.parse_many(list(range(40)), parse, 1, chunk=1)
    finally:
        os.close(ready)
        os.close(say_ready)
    assert got == [i * 2 for i in range(40)]
    assert len(here) == 37 and len(set(here)) == 37  # the three sent chunks were not parsed here
