"""Judging many patients on every CPU the process may use.

The first `ccm check` after a change to a large practice (or any check with the caches off)
judges tens of thousands of patients, each independently of the others: forked workers judge
them in chunks while this process collects their lines. A fork shares the loaded practice
without sending it; only the lines come back. Below PARALLEL_FROM patients, or with one CPU, or
where processes cannot fork, they are judged here, one by one.
"""

import os
from collections.abc import Callable, Iterator

PARALLEL_FROM = 2000  # patients: fewer are judged sooner than workers start
CHUNK = 1000
MAX_WORKERS = 4

_JUDGE: Callable | None = None  # the judging function, for forked workers: inherited, not sent


def judge_all(judge_one: Callable[[str], tuple], pids: list[str]) -> Iterator[tuple]:
    """`judge_one(pid)` of every id, in no particular order (each result names its patient)."""
    global _JUDGE
    n = workers(len(pids))
    if n < 2:
        yield from map(judge_one, pids)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _JUDGE = judge_one
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            chunks = [pids[i : i + CHUNK] for i in range(0, len(pids), CHUNK)]
            for done in as_completed([pool.submit(_judge_chunk, c) for c in chunks]):
                yield from done.result()
    finally:
        _JUDGE = None


def workers(patients: int) -> int:
    if patients < PARALLEL_FROM or not hasattr(os, "fork"):
        return 0
    return min(len(os.sched_getaffinity(0)), MAX_WORKERS)


def _judge_chunk(pids: list[str]) -> list[tuple]:
    assert _JUDGE is not None
    return list(map(_JUDGE, pids))
