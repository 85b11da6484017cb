"""SIGTERM (``kill``, a cluster's pre-emption, a service manager) handled like Ctrl-C: it raises
KeyboardInterrupt in the main thread, so every ``with``/``finally`` cleans up as on Ctrl-C (the
ffmpeg child is stopped, temporary files are removed, training writes its checkpoint).

Two details make that reliable:
- Python drops an exception raised by a signal handler while it runs some callbacks (at-fork
  handlers when a subprocess starts, ``__del__``) and prints "Exception ignored ... Traceback".
  So SIGTERM is also remembered, that report is silenced, and :func:`check_terminated` (called
  once per written frame) raises it again.
- A signal that arrives while a child process is being started would leave that child running
  (an ffmpeg writing a file after we removed it).  Inside :func:`deferred` blocks SIGINT and
  SIGTERM only take effect when the block ends.

A live recording (a camera as the driver) asks for the opposite: :func:`stop_requests` turns the first
Ctrl-C into a request to stop, so the video of what was recorded is written whole.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

_terminated: list[int] = []   # SIGTERMs received inside sigterm_as_interrupt
_deferred: list[int] = []     # signals received inside a deferred() block, raised when it ends
_depth = [0]


def _interrupt(signum, frame):
    if signum == signal.SIGTERM:
        _terminated.append(signum)
    if _depth[0]:
        _deferred.append(signum)
        return
    raise KeyboardInterrupt(f"signal {signum}")


def check_terminated() -> None:
    """Raise KeyboardInterrupt if SIGTERM arrived inside :func:`sigterm_as_interrupt`'s block."""
    if _terminated:
        raise KeyboardInterrupt(f"signal {_terminated[-1]}")


@contextlib.contextmanager
def deferred():
    """SIGINT/SIGTERM arriving inside the block raise KeyboardInterrupt only when it ends."""
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
    if not _depth[0] and _deferred:
        signum = _deferred[-1]
        _deferred.clear()
        raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt like SIGINT (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    hook = sys.unraisablehook

    def quiet(report):
        if not (_terminated and isinstance(report.exc_value, KeyboardInterrupt)):
            hook(report)

    sys.unraisablehook = quiet
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = hook
        _terminated.clear()
        _deferred.clear()


@contextlib.contextmanager
def stop_requests():
    """For a live recording: inside the block the first Ctrl-C (or SIGTERM) sets the returned Event
    instead of raising, so the caller ends the recording and writes the video whole; a second one
    raises KeyboardInterrupt as usual (nothing partial is left).  Outside the main thread: an Event
    that only the caller sets."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt(f"signal {signum}")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
