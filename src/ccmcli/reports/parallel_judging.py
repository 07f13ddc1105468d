"""Judging many patients on every CPU the process may use.

The first `ccm check` after a change to a large practice (or any check with the caches off)
judges tens of thousands of patients, each independently of the others: forked workers judge
them in chunks while this process judges its own share, then collects their lines. A fork shares the loaded practice
without sending it; only the lines come back. Below PARALLEL_FROM patients, or with one CPU, or
where processes cannot fork, they are judged here, one by one.
"""

import os
from collections.abc import Callable, Iterator

PARALLEL_FROM = 2000  # patients: fewer are judged sooner than workers start
CHUNK = 1000
MAX_WORKERS = 4

_JUDGE: Callable | None = None  # the judging function, for forked workers: inherited, not sent


def judge_all(judge_one: Callable, pids: list, per_item: int = 1) -> Iterator[tuple]:
    """`judge_one(pid)` of every id, in no particular order (each result names its patient).
    `per_item`: patients judged per item (a month of a practice: its patients).

    With `n` workers this process judges a share of its own meanwhile, so a machine whose other
    CPUs are busy loses little more than the fork."""
    global _JUDGE
    n = workers(len(pids) * per_item)
    chunk = max(1, CHUNK // per_item)
    if n < 1:
        yield from map(judge_one, pids)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    mine = len(pids) // (n + 1)
    theirs = pids[mine:]
    _JUDGE = judge_one
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            chunks = [theirs[i : i + chunk] for i in range(0, len(theirs), chunk)]
            futures = [pool.submit(_judge_chunk, c) for c in chunks]
            yield from map(judge_one, pids[:mine])
            for done in as_completed(futures):
                yield from done.result()
    finally:
        _JUDGE = None


def workers(patients: int) -> int:
    """Forked workers besides this process: one fewer than the CPUs it may use."""
    if patients < PARALLEL_FROM or not hasattr(os, "fork"):
        return 0
    return min(len(os.sched_getaffinity(0)), MAX_WORKERS) - 1


def _judge_chunk(pids: list[str]) -> list[tuple]:
    assert _JUDGE is not None
    return list(map(_JUDGE, pids))
