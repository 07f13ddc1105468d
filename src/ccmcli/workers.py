"""A pool of forked workers: a list of items (record files to parse, patients to judge) is shared
out among this process and workers on every CPU it may use. It knows nothing of ccm, so every
layer may use it.

Reading, YAML and validation of a large practice's patient files is most of a cold `ccm check`
(caches off, or a cache that misses thousands of files). The files are cut into chunks whose
numbers wait in a pipe; this process and each forked worker take the next number until none is
left (a read of 4 bytes from a pipe is atomic), so whoever is faster, or less disturbed by other
work on the machine, parses more, and all finish together. A worker sends each chunk's answers
(record and problems), pickled, as soon as they are ready, and this process takes them in between
its own chunks: unpickling a large practice's records all at the end would leave the other CPU
idle that long. Every answer is put back in file order: the result is exactly what parsing one
by one gives. A chunk whose answers did not arrive whole (its worker failed in any way) is parsed
here, as without workers. A fork costs tens of milliseconds, so a few hundred files are parsed here alone,
and so is everything where fork is not the usual start method (Linux) or threads are running (a
forked copy of a lock another thread held would never be released).
"""

import fcntl
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
    done: dict[int, list] = {}
    try:
        with _forked(n, lambda send: _take(queue, items, spans, parse, send)) as inboxes:

            def receive(*_: object) -> None:
                for inbox in inboxes:
                    inbox.take(done)

            if job is not None:
                job.taken = True
                job.result, job.done = job.run(), True
            done.update(_take(queue, items, spans, parse, receive))
            for inbox in inboxes:
                inbox.finish(done)
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


def _take(queue: int, items: Sequence[T], spans: list, parse: Callable[[T], R],
          after: Callable[[int, list], object]) -> dict:  # fmt: skip
    """Parse chunk after chunk, as long as the queue holds numbers: {chunk number: answers}.
    `after` is called with each chunk's number and answers as soon as they are ready (a
    worker sends them; this process takes in what the workers sent meanwhile)."""
    done = {}
    while raw := os.read(queue, 4):
        i = int.from_bytes(raw, "little")
        a, b = spans[i]
        done[i] = answers = [parse(item) for item in items[a:b]]
        after(i, answers)
    return done


_HEAD = 8  # a frame: chunk number and length of the pickled answers (4 bytes each), then them
PIPE_SIZE = 1 << 20  # what a worker may send ahead of this process's reading (Linux)


class _Outbox:
    """A worker's end: each chunk's answers pickled into a frame as soon as they are ready, sent
    without waiting (what the pipe cannot take yet waits here), so that this process unpickles
    them while both still parse, not all at the end, and the worker never stalls on it."""

    def __init__(self, fd: int) -> None:
        self.fd, self.pending = fd, bytearray()
        os.set_blocking(fd, False)

    def send(self, i: int, answers: list) -> None:
        blob = pickle.dumps(answers, pickle.HIGHEST_PROTOCOL)
        self.pending += i.to_bytes(4, "little") + len(blob).to_bytes(4, "little") + blob
        with suppress(BlockingIOError):
            del self.pending[: os.write(self.fd, self.pending)]

    def close(self) -> None:
        os.set_blocking(self.fd, True)
        view = memoryview(self.pending)
        while view:
            view = view[os.write(self.fd, view) :]
        os.close(self.fd)


class _Inbox:
    """This process's end of one worker's pipe: complete frames are unpickled into answers by
    chunk number; a frame cut short (the worker failed) is not, and its chunk is parsed here."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd, self.buffer, self.open = pid, fd, bytearray(), True
        os.set_blocking(fd, False)

    def take(self, done: dict) -> None:
        """What the worker sent so far, without waiting."""
        while self.open:
            try:
                got = os.read(self.fd, 1 << 18)
            except BlockingIOError:
                break
            except OSError:
                got = b""
            self.buffer += got
            self.open = bool(got)
        self._unpack(done)

    def finish(self, done: dict) -> None:
        """Everything the worker sends until it ends; the worker is reaped."""
        os.set_blocking(self.fd, True)
        self.take(done)
        self.stop()

    def stop(self) -> None:
        _stop(self.pid, self.fd)
        self.open, self.fd = False, -1

    def _unpack(self, done: dict) -> None:
        buffer, at = self.buffer, 0
        while len(buffer) - at >= _HEAD:
            length = int.from_bytes(buffer[at + 4 : at + _HEAD], "little")
            end = at + _HEAD + length
            if len(buffer) < end:
                break
            try:
                answers = pickle.loads(memoryview(buffer)[at + _HEAD : end])
            except Exception:
                answers = None
            if isinstance(answers, list):
                done[int.from_bytes(buffer[at : at + 4], "little")] = answers
            at = end
        del buffer[:at]


@contextmanager
def _forked(workers: int, work: Callable[[Callable[[int, list], None]], object]):
    """Fork `workers` workers doing `work(send)`, `send` taking each chunk's answers; yields
    their inboxes. Workers still running on the way out are stopped."""
    inboxes: list[_Inbox] = []
    try:
        for _ in range(workers):
            inboxes.append(_Inbox(*_fork(work)))
        yield inboxes
    finally:
        for inbox in inboxes:
            if inbox.fd >= 0:
                inbox.stop()


def _fork(work: Callable[[Callable[[int, list], None]], object]) -> tuple[int, int]:
    read, write = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with suppress(OSError):  # a smaller pipe only slows the sending down
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    pid = os.fork()
    if pid == 0:  # the worker: work, send, and leave without running any of the parent's exits
        code = 1
        try:
            os.close(read)
            out = _Outbox(write)
            work(out.send)
            out.close()
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


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
