"""Measured defaults: the precision and memory format that run a model size fastest on this CPU.

The first time a model size is used on a CPU at a thread count, :func:`tuned` times the candidate
executions (fp32 / bf16 × contiguous / channels_last) and keeps the fastest accurate one, in memory and in
a cache file (``execution.json`` in ``$FSTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/fsth``, else
``~/.cache/fsth``), keyed by the CPU (model name and a hash of its flags), the torch version, the thread
count and the model's shape.
:class:`fsth_core.runtime.device.Execution` reads it; ``python -m fsth_core info --bench`` prints it.

How (``measure``), in about 8 frames' time, once (on 2 cores: 0.2 s for cpu128, 3-6 s for the paper preset,
plus building the probe network: ~0.1 s for cpu128, 1-2 s for paper):

1. **Screen** each lower precision with one 3x3 conv (64 channels, 16x16, channels_last, one thread, the
   best of three calls): a precision more than :data:`SCREEN_RATIO` times slower than fp32 there is
   emulated on this CPU (bf16 without AVX512-BF16/AMX: 3-50x slower) and is not timed further.
2. **Probe**: the model's workload (``ModelConfig.workload()``, fsth_core/models/probe.py: its generator
   with fresh weights of its shape, spectral norm folded, ψ fixed, batch 1, on one whole frame: a strip of
   a frame ranks the memory formats differently at the bottleneck),
   each candidate in its memory format and precision.  Rounds interleave the candidates (one call each)
   after a warm-up call; the median (:func:`default_timer`: CPU time with one thread, else wall) of 3-7
   rounds (about :data:`BUDGET_S` s) counts.  A candidate whose warm-up call takes over
   :data:`DROP_RATIO` times the fastest one is not timed further.
3. **Pick** the fastest candidate whose output is within :data:`MIN_PSNR_DB` of fp32 contiguous (the
   reference, always timed); a lower precision also has to beat the best fp32 by
   :data:`LOWER_PRECISION_GAIN` (it costs accuracy).  The bar catches a kernel that computes wrong or
   overflows; bf16's rounding itself is accepted, as on GPUs (a trained model's bf16 frames are ~50 dB
   from fp32; the probe's random weights, ~30 dB).

A cache that cannot be read (missing, corrupt, of another version) is measured anew; one that cannot be
written is skipped (a note on the result): neither is ever an error.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

CACHE_VERSION = 1
ENV_CACHE_DIR = "FSTH_CACHE_DIR"
CANDIDATES = (("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True))
REFERENCE = ("fp32", False)  # the others' outputs are compared with its; always timed, the fallback
SCREEN_RATIO = 1.5
BUDGET_S = 0.3            # timing rounds after the warm-up: about this long in all,
MIN_ROUNDS, MAX_ROUNDS = 3, 7  # within these bounds
DROP_RATIO = 3.0
MIN_PSNR_DB = 25.0  # catches a broken or overflowing kernel; bf16's rounding on the probe's random weights: ~30 dB
LOWER_PRECISION_GAIN = 1.1
MAX_ENTRIES = 64
IDENTICAL_DB = 999.0  # the PSNR of identical outputs (JSON has no infinity)
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}

# A timer gets a label ("fp32 channels_last", "screen bf16") and a call, runs the call once and returns
# its seconds; tests inject one that returns made-up times.
Timer = Callable[[str, Callable[[], object]], float]


def default_timer(label: str, fn: Callable[[], object]) -> float:
    """Seconds of one call of ``fn`` (the default timer).  With one torch thread, this thread's CPU time:
    it does not count the waits for a CPU that another job on the machine causes.  With more, the wall
    clock: the CPU time of OpenMP's threads includes their spinning at barriers (KMP_BLOCKTIME: up to
    200 ms per call), which is no one's speed; the rounds' interleaving and median absorb the load."""
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    t = clock()
    fn()
    return clock() - t


@dataclass(frozen=True)
class Candidate:
    """One execution as measured: median ms per probe call (None: not timed, ``note`` says why) and its
    output's PSNR against fp32 contiguous (dB; 999 when equal)."""

    precision: str
    channels_last: bool
    ms: float | None = None
    psnr_db: float | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return _label(self.precision, self.channels_last)

    @property
    def accurate(self) -> bool:
        return self.ms is not None and (self.psnr_db is None or self.psnr_db >= MIN_PSNR_DB)


@dataclass(frozen=True)
class Tuning:
    """The measured choice for one key: ``precision``/``channels_last`` and every candidate's figures.
    ``source``: "measured" (now) or "cache"; ``note``: what went wrong with the cache file, if anything."""

    key: str
    precision: str
    channels_last: bool
    candidates: tuple[Candidate, ...]
    probe: str
    measured_at: str
    source: str = "measured"
    note: str = ""

    def best(self, precision: str | None = None) -> Candidate | None:
        """The fastest accurate timed candidate (of ``precision``), or None."""
        timed = [c for c in self.candidates if c.accurate and precision in (None, c.precision)]
        return min(timed, key=lambda c: c.ms) if timed else None

    def summary(self) -> str:
        """A few words: what was chosen, and where from."""
        timed = sum(c.ms is not None for c in self.candidates)
        return f"{_label(self.precision, self.channels_last)} measured fastest of {timed} timed ({self.source})"

    def reason(self) -> str:
        """One line: what was chosen and each candidate's time."""
        parts = [f"{c.label} {c.ms:.1f} ms" if c.ms is not None else f"{c.label} ({c.note})" for c in self.candidates]
        return f"{_label(self.precision, self.channels_last)}, measured fastest ({self.source}; {'; '.join(parts)})"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        d.pop("note")
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "cache") -> Tuning:
        cands = tuple(Candidate(**c) for c in d["candidates"])
        t = cls(str(d["key"]), str(d["precision"]), bool(d["channels_last"]), cands, str(d["probe"]),
                str(d["measured_at"]), source)
        if t.precision not in _DTYPES or not any(c.precision == t.precision and c.channels_last == t.channels_last
                                                 and c.ms is not None for c in cands):
            raise ValueError("the chosen execution is not a timed candidate")
        return t


# ------------------------------------------------------------------------------------------- keys, cache

def cpu_identity() -> tuple[str, str]:
    """(CPU model name, short hash of its feature flags) from /proc/cpuinfo, else from ``platform``."""
    name, flags = "", ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "cpu model") and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return name, hashlib.sha1(flags.encode()).hexdigest()[:8] if flags else "noflags"


class Workload(Protocol):
    """What is timed: a model size's typical inference call (``ModelConfig.workload()`` gives the
    generator's, fsth_core/models/probe.py).  ``key``: the model's shape, part of the cache's key;
    ``description``: what a call runs (set by :meth:`runners`)."""

    key: str
    description: str

    def runners(self) -> dict[bool, Callable[[], torch.Tensor]]:
        """{channels_last: a call -> its output in [-1, 1]}, run inside the tuner's inference mode and autocast."""


def tuning_key(config, threads: int) -> str:
    """The cache's key: the CPU (name, flags hash), torch's version, the thread count and the model's shape."""
    cpu, flags = cpu_identity()
    return f"{cpu} [{flags}] | torch {torch.__version__} | {threads} threads | {config.workload().key}"


def cache_path() -> Path:
    """The cache file: execution.json in $FSTH_CACHE_DIR, else in $XDG_CACHE_HOME/fsth, else in ~/.cache/fsth."""
    folder = os.environ.get(ENV_CACHE_DIR)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "fsth")
    return Path(folder) / "execution.json"


def read_cache(path: Path) -> dict:
    """The cache's entries {key: dict}; {} when missing, unreadable, corrupt or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"] if data.get("version") == CACHE_VERSION else {}
        return {str(k): v for k, v in entries.items() if isinstance(v, dict)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write_cache(path: Path, key: str, entry: dict) -> str:
    """Add ``entry`` under ``key`` (the oldest entries beyond :data:`MAX_ENTRIES` dropped), written to a
    temporary file and renamed into place.  Returns "" or why it could not be written."""
    entries = read_cache(path)
    entries.pop(key, None)
    entries[key] = entry
    entries = dict(list(entries.items())[-MAX_ENTRIES:])
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".execution.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": CACHE_VERSION, "entries": entries}, f, indent=1, allow_nan=False)
        os.replace(tmp, path)
        return ""
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        return f"not cached ({path}: {exc.strerror or exc})"


# ------------------------------------------------------------------------------------------- measuring

_memo: dict[tuple[str, str], Tuning] = {}
_lock = threading.Lock()


def clear_memory() -> None:
    """Forget this process's measurements (the next :func:`tuned` reads the cache file again)."""
    with _lock:
        _memo.clear()


def tuned(config, threads: int | None = None, timer: Timer | None = None, refresh: bool = False) -> Tuning:
    """The measured execution of ``config``'s model size (a ModelConfig, or anything with a ``workload()``
    method, see :class:`Workload`) on this CPU at ``threads`` torch threads (None:
    torch's current setting): from this process's memory, else the cache file, else measured now (and
    stored in both).  ``refresh``: measure anew.  ``timer``: see :data:`Timer` (default: :func:`default_timer`)."""
    threads = int(threads or torch.get_num_threads())
    key, path = tuning_key(config, threads), cache_path()
    with _lock:
        memo_key = (str(path), key)
        if not refresh and memo_key in _memo:
            return _memo[memo_key]
        found = None if refresh else read_cache(path).get(key)
        result = None
        if found is not None:
            try:
                result = Tuning.from_dict(found)
            except (KeyError, TypeError, ValueError):
                result = None  # a malformed entry: measured anew
        if result is None:
            result = measure(config, threads, timer or default_timer)
            note = write_cache(path, key, result.to_dict())
            result = dataclasses.replace(result, note=note)
        _memo[memo_key] = result
        return result


def measure(config, threads: int, timer: Timer = default_timer) -> Tuning:
    """Screen, probe and pick (see the module's docstring), at ``threads`` torch threads."""
    workload = config.workload()
    runners = workload.runners()
    old = torch.get_num_threads()
    try:
        with torch.inference_mode():
            torch.set_num_threads(1)  # emulation is the CPU's, not the thread count's: screened on one thread
            screened = {p: _screen(p, timer) for p in _DTYPES if p != "fp32"}
            torch.set_num_threads(threads)
            cands, rounds = _probe(runners, screened, timer)
    finally:
        torch.set_num_threads(old)
    pick = _pick(cands)
    probe = f"{workload.description}, {threads} threads, median of {rounds} interleaved calls"
    return Tuning(tuning_key(config, threads), pick.precision, pick.channels_last, cands, probe,
                  datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def _probe(runners: dict, screened: dict[str, str], timer: Timer) -> tuple[tuple[Candidate, ...], int]:
    """Every candidate not screened out: a warm-up call (its output compared with the reference's), then
    interleaved rounds."""
    calls, notes = {}, {}
    for prec, cl in CANDIDATES:
        if screened.get(prec):
            notes[(prec, cl)] = screened[prec]
        else:
            calls[(prec, cl)] = _autocast(runners[cl], _DTYPES[prec])
    outputs, first = {}, {}
    for c, fn in calls.items():  # warm-up: also the outputs compared
        first[c] = timer(_label(*c), lambda c=c, fn=fn: outputs.__setitem__(c, fn()))
    fastest = min(first.values())
    for c in list(calls):
        if c != REFERENCE and first[c] > DROP_RATIO * fastest:
            notes[c] = f"dropped: first call {1000 * first[c]:.0f} ms, over {DROP_RATIO:g}x the fastest"
            del calls[c]
    times: dict = {c: [] for c in calls}
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(BUDGET_S / max(sum(first[c] for c in calls), 1e-9))))
    for _ in range(rounds):
        for c, fn in calls.items():
            times[c].append(timer(_label(*c), fn))
    ref = outputs[REFERENCE]
    cands = tuple(Candidate(p, cl, 1000 * statistics.median(times[(p, cl)]) if (p, cl) in times else None,
                            _psnr(outputs[(p, cl)], ref) if (p, cl) in outputs else None,
                            notes.get((p, cl), "")) for p, cl in CANDIDATES)
    return cands, rounds


def _pick(cands: tuple[Candidate, ...]) -> Candidate:
    """The fastest accurate fp32 candidate (the reference, fp32 contiguous, at worst), unless a lower
    precision is accurate and faster by :data:`LOWER_PRECISION_GAIN`."""
    ref = next(c for c in cands if (c.precision, c.channels_last) == REFERENCE)
    fp32 = min((c for c in cands if c.precision == "fp32" and c.accurate), key=lambda c: c.ms, default=ref)
    lower = [c for c in cands if c.precision != "fp32" and c.accurate and c.ms * LOWER_PRECISION_GAIN <= fp32.ms]
    return min(lower, key=lambda c: c.ms) if lower else fp32


def _screen(precision: str, timer: Timer) -> str:
    """"" when ``precision`` is worth probing, else why not (one conv, channels_last, against fp32)."""
    g = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(1, 64, 16, 16, generator=g).contiguous(memory_format=torch.channels_last)
    secs = {}
    for p in ("fp32", precision):
        fn = _autocast(lambda: conv(x), _DTYPES[p])
        fn()
        secs[p] = min(timer(f"screen {p}", fn) for _ in range(3))  # the least disturbed of three
    ratio = secs[precision] / max(secs["fp32"], 1e-9)
    if ratio > SCREEN_RATIO:
        return f"not timed: {ratio:.0f}x slower than fp32 on a 3x3 conv (emulated on this CPU)"
    return ""


def _label(precision: str, channels_last: bool) -> str:
    return f"{precision} {'channels_last' if channels_last else 'contiguous'}"


def _autocast(run: Callable[[], torch.Tensor], dtype: torch.dtype) -> Callable[[], torch.Tensor]:
    def fn():
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            return run().float()
    return fn


def _psnr(out: torch.Tensor, ref: torch.Tensor) -> float:
    """PSNR (dB) of ``out`` against ``ref``, both in [-1, 1] (compared in [0, 1]); :data:`IDENTICAL_DB` when
    equal."""
    mse = float(((out - ref) ** 2).mean()) / 4
    return IDENTICAL_DB if mse == 0 else round(min(IDENTICAL_DB, 10 * math.log10(1 / mse)), 1)
