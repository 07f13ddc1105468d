"""Parsing many record files on every CPU this process may use: forked workers take a share.

Reading, YAML and validation of a large practice's patient files is most of a cold `ccm check`
(caches off, or a cache that misses thousands of files). Each forked worker parses a share of
the files and sends back its (record, problems) pairs, pickled; this process parses its own
share meanwhile and puts every answer back in file order, so the result is exactly what parsing
one by one gives. A worker that fails in any way is not trusted: its share is parsed here, one by
one, as without workers. A fork costs tens of milliseconds, so a few hundred files are parsed
here alone, and so is everything where fork is not the usual start method (Linux) or threads are
running (a forked copy of a lock another thread held would never be released).
"""

import itertools
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
# A worker's answers cost it a pickle and this process an unpickle (about a fifth of a parse
# each): it takes a smaller share so that all finish together.
WORKER_SHARE = 0.8


def worker_count(todo: int, least: int | None = None) -> int:
    """Workers to fork for `todo` files: one fewer than the CPUs this process may use (this one
    works too), none below `least` files (MIN_FILES), without fork, or with threads running."""
    if todo < (MIN_FILES if least is None else least) or threading.active_count() > 1:
        return 0
    if not (hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        return 0  # no fork (Windows), or not the systems fork is safe on (macOS): one process
    return max(0, min(len(os.sched_getaffinity(0)) - 1, MAX_WORKERS))


def split(
    n: int, workers: int, weight: float = WORKER_SHARE, head: float = 0.0
) -> list[tuple[int, int]]:
    """[start, end) of each worker's share of `n` items, then this process's (the last). A
    worker's item costs `1 / weight` of this process's; the first worker has `head` items' worth
    of other work to do besides (a SideJob), so all finish together."""
    if workers < 1:
        return [(0, n)]
    end = (n + weight * head) / (1 + workers * weight)  # this process's share: the time of all
    first = weight * (end - head)
    if first < 0:  # the side job alone takes longer: the first worker takes no files
        first, end = 0.0, n / (1 + (workers - 1) * weight)
    cuts = [0, round(first)] + [round(first + weight * end * i) for i in range(1, workers)] + [n]
    return list(itertools.pairwise(cuts))


@dataclass
class SideJob:
    """Other work for the first worker of the next parse_many with workers (`alongside`): it
    runs there beside that worker's share of files. `result` is what `run` returned, when it
    ran and its worker finished well; else `done` stays False and the caller does the work."""

    run: Callable[[], object]
    cost: float  # as many files' parsing as it takes (to share out the files fairly)
    taken: bool = False
    done: bool = False
    result: object = None


_SIDE_JOBS: list[SideJob] = []


@contextmanager
def alongside(run: Callable[[], object], cost: float) -> Iterator[SideJob]:
    """Offer `run` to the workers of the next parse_many within this block."""
    job = SideJob(run, cost)
    _SIDE_JOBS.append(job)
    try:
        yield job
    finally:
        _SIDE_JOBS.remove(job)


def parse_many(items: Sequence[T], parse: Callable[[T], R], workers: int | None = None) -> list[R]:
    """[parse(item) for item in items], the same answers in the same order, shared out among
    forked workers (`workers`; None: worker_count) when there are many."""
    n = worker_count(len(items)) if workers is None else workers
    if n < 1 or not items:
        return [parse(item) for item in items]
    job = next((j for j in _SIDE_JOBS if not j.taken), None)
    if job is not None:
        job.taken = True
    spans = split(len(items), n, head=job.cost if job else 0.0)
    shares = [items[a:b] for a, b in spans[:-1]]
    with _forked(shares, parse, job) as receive:
        start, end = spans[-1]
        mine = [parse(item) for item in items[start:end]]
        results: list[R] = []
        for (a, b), answers in zip(spans[:-1], receive(), strict=True):
            if answers is None or len(answers) != b - a:
                answers = [parse(item) for item in items[a:b]]
            results += answers
    return results + mine


@contextmanager
def _forked(shares: list[Sequence[T]], parse: Callable[[T], R], job: SideJob | None = None):
    """Fork one worker per share (the first also runs `job`); yields a function that returns
    each worker's answers in turn (None for a worker that failed). Workers still running on the
    way out are stopped."""
    running: dict[int, int] = {}  # pid -> read end of its pipe, until reaped
    try:
        for i, share in enumerate(shares):
            pid, fd = _fork(share, parse, job if i == 0 else None)
            running[pid] = fd

        def receive() -> Iterator[list[R] | None]:
            for i, pid in enumerate(list(running)):
                got = _collect(pid, running.pop(pid))
                if got is None:
                    yield None
                    continue
                side, answers = got
                if i == 0 and job is not None:
                    job.result, job.done = side, True
                yield answers

        yield receive
    finally:
        for pid, fd in running.items():
            _stop(pid, fd)


def _fork(share: Sequence[T], parse: Callable[[T], R], job: SideJob | None) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: work, send, and leave without running any of the parent's exits
        code = 1
        try:
            os.close(read)
            side = job.run() if job is not None else None
            answers = [parse(item) for item in share]
            payload = pickle.dumps((side, answers), pickle.HIGHEST_PROTOCOL)
            with open(write, "wb", closefd=True) as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _collect(pid: int, fd: int) -> tuple[object, list] | None:
    """The worker's side job's result and answers, or None when it did not finish well (its share is parsed again).
    The worker is reaped and its pipe closed."""
    chunks = []
    try:
        with open(fd, "rb", closefd=True) as source:
            chunks.append(source.read())
    except OSError:
        _stop(pid, -1)
        return None
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        side, answers = pickle.loads(b"".join(chunks))
    except Exception:
        return None
    return (side, answers) if isinstance(answers, list) else None


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
