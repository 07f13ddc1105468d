"""A pool of forked workers: a list of items (record files to parse, patients to judge) is shared
out among this process and workers on every CPU it may use. It knows nothing of ccm, so every
layer may use it.

Reading, YAML and validation of a large practice's patient files is most of a cold `ccm check`
(caches off, or a cache that misses thousands of files). The files are cut into chunks whose
numbers wait in a pipe; this process and each forked worker take the next number until none is
left (a read of 4 bytes from a pipe is atomic), so whoever is faster, or less disturbed by other
work on the machine, parses more, and all finish together. The workers send back their chunks'
(record, problems) pairs, pickled, and every answer is put back in file order: the result is
exactly what parsing one by one gives. A chunk whose worker failed in any way is parsed here, as
without workers. A fork costs tens of milliseconds, so a few hundred files are parsed here alone,
and so is everything where fork is not the usual start method (Linux) or threads are running (a
forked copy of a lock another thread held would never be released).
"""

import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_FILES = 2000  # fewer to parse: one process (a fork costs as much as ~200 files)
MAX_WORKERS = 3  # beyond this, reading the folder and unpickling in here dominate
MIN_CHUNK = 16  # files a chunk at least: a few milliseconds of work per number taken
MAX_CHUNKS = 1000  # their numbers (4 bytes each) fit in a pipe's smallest buffer (4 KiB)


def worker_count(todo: int, least: int | None = None) -> int:
    """Workers to fork for `todo` files: one fewer than the CPUs this process may use (this one
    works too), none below `least` files (MIN_FILES), without fork, or with threads running."""
    if todo < (MIN_FILES if least is None else least) or threading.active_count() > 1:
        return 0
    if not (hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        return 0  # no fork (Windows), or not the systems fork is safe on (macOS): one process
    return max(0, min(len(os.sched_getaffinity(0)) - 1, MAX_WORKERS))


def chunks(n: int, least: int | None = None) -> list[tuple[int, int]]:
    """[start, end) of each chunk of `n` items, in order: at most MAX_CHUNKS of them, each of
    at least `least` items (None: MIN_CHUNK)."""
    size = max(MIN_CHUNK if least is None else least, -(-n // MAX_CHUNKS))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


@dataclass
class SideJob:
    """Work for this process while the workers of the next parse_many start on the chunks
    (`alongside`): afterwards `result` is what `run` returned and `done` is True. It runs only
    when workers were forked; without them nothing is gained by doing it early, and the caller
    does the work itself when it needs it."""

    run: Callable[[], object]
    taken: bool = False
    done: bool = False
    result: object = None


_SIDE_JOBS: list[SideJob] = []


@contextmanager
def alongside(run: Callable[[], object]) -> Iterator[SideJob]:
    """Offer `run` to the next parse_many within this block: if it forks workers, this process
    does `run` while they parse, then its share of the chunks (the queue evens out the rest)."""
    job = SideJob(run)
    _SIDE_JOBS.append(job)
    try:
        yield job
    finally:
        _SIDE_JOBS.remove(job)


def parse_many(
    items: Sequence[T], parse: Callable[[T], R], workers: int | None = None,
    chunk: int | None = None,
) -> list[R]:  # fmt: skip
    """[parse(item) for item in items], the same answers in the same order, shared out among
    forked workers (`workers`; None: worker_count) when there are many, in chunks of at least
    `chunk` items (None: MIN_CHUNK; 1 for items that are each much work: a month of a practice)."""
    n = worker_count(len(items)) if workers is None else workers
    if n < 1 or not items:
        return [parse(item) for item in items]
    job = next((j for j in _SIDE_JOBS if not j.taken), None)
    spans = chunks(len(items), chunk)
    queue = _queue(len(spans))
    try:
        with _forked(n, lambda: _take(queue, items, spans, parse)) as receive:
            if job is not None:
                job.taken = True
                job.result, job.done = job.run(), True
            done = _take(queue, items, spans, parse)
            for answers in receive():
                done.update(answers or {})
    finally:
        os.close(queue)
    results: list[R] = []
    for i, (a, b) in enumerate(spans):
        answers = done.get(i)
        if answers is None or len(answers) != b - a:  # its worker failed: parsed here
            answers = [parse(item) for item in items[a:b]]
        results += answers
    return results


def _queue(count: int) -> int:
    """The read end of a pipe holding the numbers 0..count-1; reading it past them gives b""."""
    read, write = os.pipe()
    try:
        os.write(write, b"".join(i.to_bytes(4, "little") for i in range(count)))
    finally:
        os.close(write)
    return read


def _take(queue: int, items: Sequence[T], spans: list, parse: Callable[[T], R]) -> dict:
    """Parse chunk after chunk, as long as the queue holds numbers: {chunk number: answers}."""
    done = {}
    while raw := os.read(queue, 4):
        i = int.from_bytes(raw, "little")
        a, b = spans[i]
        done[i] = [parse(item) for item in items[a:b]]
    return done


@contextmanager
def _forked(workers: int, work: Callable[[], dict]):
    """Fork `workers` workers doing `work`; yields a function that returns each worker's answers
    in turn (None for a worker that failed). Workers still running on the way out are stopped."""
    running: dict[int, int] = {}  # pid -> read end of its pipe, until reaped
    try:
        for _ in range(workers):
            pid, fd = _fork(work)
            running[pid] = fd

        def receive() -> Iterator[dict | None]:
            for pid in list(running):
                yield _collect(pid, running.pop(pid))

        yield receive
    finally:
        for pid, fd in running.items():
            _stop(pid, fd)


def _fork(work: Callable[[], dict]) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: work, send, and leave without running any of the parent's exits
        code = 1
        try:
            os.close(read)
            payload = pickle.dumps(work(), pickle.HIGHEST_PROTOCOL)
            with open(write, "wb", closefd=True) as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _collect(pid: int, fd: int) -> dict | None:
    """The worker's answers, or None when it did not finish well. The worker is reaped and its
    pipe closed."""
    try:
        with open(fd, "rb", closefd=True) as source:
            payload = source.read()
    except OSError:
        _stop(pid, -1)
        return None
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        answers = pickle.loads(payload)
    except Exception:
        return None
    return answers if isinstance(answers, dict) else None


def _stop(pid: int, fd: int) -> None:
    """Close the pipe (when `fd` >= 0) and reap the worker, ending it first if still at work."""
    if fd >= 0:
        with suppress(OSError):
            os.close(fd)
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # reaped already
