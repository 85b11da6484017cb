"""How a job's stages run: each in a thread of its own (:class:`Pipeline`), and how many threads torch gets.

:class:`Pipeline` runs the stages of a job (the generator's inputs: landmark images and mesh warps; the
network; composition at the picture's resolution) each in a thread of its own, connected by small bounded
queues, while the calling thread writes (and shows) the frames.  Every stage does the same work on the
same data as when run one after the other, so the frames are the same; torch, OpenCV and NumPy release the
GIL in their heavy parts, so the stages overlap.  :func:`generation_threads` keeps torch's own threads from
competing with the other stages (on 2 cores, two OpenMP threads next to the other stages and the encoder
wait on each other: 4x slower).

The queue protocol (:data:`ITEM`, :data:`END`, :data:`ERROR` messages, :func:`put_unless_stopped`,
:class:`Stopped`) is shared with the camera's reader thread (fsth_core.inference.live).
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator

import torch

ITEM, END, ERROR = 0, 1, 2  # the kinds of message a stage's queue carries: (kind, value)
POLL = 0.05  # seconds between checks of the stop flag while a queue is full or empty


class Stopped(BaseException):
    """Raised inside a stage's thread when the pipeline closes: unwinds its generators quietly."""


def put_unless_stopped(q: queue.Queue, msg, stop: threading.Event) -> None:
    """Put ``msg`` into the bounded queue, waiting for room; raise Stopped as soon as ``stop`` is set."""
    while True:
        if stop.is_set():
            raise Stopped
        try:
            q.put(msg, timeout=POLL)
            return
        except queue.Full:
            pass


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def generation_threads(pipelined: bool, cpus: int | None = None) -> int | None:
    """torch's intra-op threads for generation: with the stages pipelined, one CPU is left to the other
    stages and the video encoder (all but one, at least one); None (torch's own setting) otherwise."""
    if not pipelined:
        return None
    return max(1, (cpus or cpu_count()) - 1)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """torch.set_num_threads(n) inside the block (None: unchanged), restored after.  Threads started
    inside the block use ``n`` too (torch reads the setting at a thread's first parallel operation)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


class Pipeline:
    """Stages in threads connected by bounded queues (or, disabled, the plain iterables).

        with Pipeline() as pipe:
            inputs = pipe.stage(make_inputs(points), "inputs")    # runs in its own thread
            frames = pipe.stage(network(inputs), "generate")      # ... consuming the previous stage
            for f in frames:                                       # this thread: the last step
                write(f)

    An exception in a stage is raised in the thread that iterates it (with its traceback); leaving
    the ``with`` block (normally, by an error, or by Ctrl-C in the calling thread) stops every stage
    and waits for its thread (``join_timeout`` seconds at most in all: a stage busy in its own code
    finishes that item first).  Items are passed in order, nothing is dropped.
    """

    def __init__(self, enabled: bool = True, maxsize: int = 2, join_timeout: float = 10.0):
        self.enabled = bool(enabled)
        self.maxsize = int(maxsize)
        self.join_timeout = float(join_timeout)
        self.stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def stage(self, iterable: Iterable, name: str = "stage", maxsize: int | None = None) -> Iterator:
        """Iterate ``iterable`` in a new thread, ahead of the consumer by at most ``maxsize`` items (default:
        the pipeline's; a stage that makes its items in batches needs room for a batch and more, or it
        waits for the consumer instead of starting on the next batch)."""
        if not self.enabled:
            return iter(iterable)
        st = _Stage(self, iterable, name, maxsize or self.maxsize)
        self._threads.append(st.thread)
        st.thread.start()
        return st

    def close(self) -> None:
        self.stopped.set()
        deadline = time.monotonic() + self.join_timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Stage:
    def __init__(self, pipe: Pipeline, iterable: Iterable, name: str, maxsize: int):
        self.pipe, self._it = pipe, iterable
        self._q: queue.Queue = queue.Queue(maxsize)
        self._done = False
        self.thread = threading.Thread(target=self._run, name=f"fsth-{name}", daemon=True)

    def _put(self, msg) -> None:
        put_unless_stopped(self._q, msg, self.pipe.stopped)

    def _run(self) -> None:
        it = iter(self._it)
        try:
            for item in it:
                self._put((ITEM, item))
            self._put((END, None))
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            with contextlib.suppress(Stopped):
                self._put((ERROR, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                with contextlib.suppress(BaseException):
                    close()

    def __iter__(self) -> _Stage:
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        while True:
            try:
                kind, value = self._q.get(timeout=POLL)
                break
            except queue.Empty:
                if self.pipe.stopped.is_set() and threading.current_thread() is not threading.main_thread():
                    raise Stopped from None
        if kind == ITEM:
            return value
        self._done = True
        if kind == ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        self.pipe.stopped.set()


def mapped(fn, items: Iterable) -> Iterator:
    """fn(item) for each item, as a generator (a stage's body)."""
    for item in items:
        yield fn(item)
