"""Metric results and a streaming accumulator that summarizes per-frame values into JSON-able dicts."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


def _json_float(x: float | None) -> float | None:
    """float for JSON: NaN/inf become None (JSON has no NaN)."""
    if x is None or not math.isfinite(float(x)):
        return None
    return float(x)


@dataclass(frozen=True)
class MetricResult:
    """Outcome of one metric over a set of frames.

    value: mean over the frames that could be measured (NaN when none could, or when unavailable).
    per_frame: float64 [N] with NaN for frames that could not be measured (None for set-level metrics
    such as FID). missing: how many frames were NaN. available=False means the metric could not run at
    all (reason says why); its value is NaN, never 0.
    """

    name: str
    value: float = float("nan")
    per_frame: np.ndarray | None = None
    count: int = 0
    missing: int = 0
    available: bool = True
    reason: str = ""

    @classmethod
    def from_frames(cls, name: str, per_frame: Iterable[float]) -> MetricResult:
        v = np.asarray(list(per_frame) if not isinstance(per_frame, np.ndarray) else per_frame, np.float64)
        ok = np.isfinite(v)
        mean = float(v[ok].mean()) if ok.any() else float("nan")
        return cls(name, mean, v, count=int(ok.sum()), missing=int((~ok).sum()))

    @classmethod
    def unavailable(cls, name: str, reason: str) -> MetricResult:
        return cls(name, available=False, reason=reason)

    def __str__(self) -> str:
        if not self.available:
            return f"{self.name}: unavailable: {self.reason}"
        return f"{self.name}: {self.value:.4f} (n={self.count}, missing={self.missing})"

    def to_dict(self) -> dict:
        """JSON-able summary (without the per-frame array)."""
        if not self.available:
            return {"name": self.name, "available": False, "reason": self.reason}
        return {"name": self.name, "available": True, "value": _json_float(self.value),
                "count": self.count, "missing": self.missing}


@dataclass
class _Running:
    count: int = 0
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Welford's sum of squared deviations
    min: float = math.inf
    max: float = -math.inf

    def add(self, x: float) -> None:
        if not math.isfinite(x):
            self.missing += 1
            return
        self.count += 1
        d = x - self.mean
        self.mean += d / self.count
        self.m2 += d * (x - self.mean)
        self.min = min(self.min, x)
        self.max = max(self.max, x)

    def summary(self) -> dict:
        n = self.count
        return {"mean": _json_float(self.mean) if n else None,
                "std": _json_float(math.sqrt(self.m2 / n)) if n else None,
                "min": _json_float(self.min) if n else None,
                "max": _json_float(self.max) if n else None,
                "count": n, "missing": self.missing}


@dataclass
class MetricAccumulator:
    """Streaming per-frame statistics for several named metrics.

    Only running sums are kept (Welford mean/std, min, max, counts), so memory does not grow with the
    number of frames. Non-finite values (NaN: face not found, ...) are counted as missing, not averaged.
    Metrics marked unavailable are reported with their reason.
    """

    _stats: dict[str, _Running] = field(default_factory=dict)
    _unavailable: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, values) -> None:
        """Add one value (float) or many (any array-like; NaN = missing) for metric ``name``."""
        run = self._stats.setdefault(name, _Running())
        for x in np.asarray(values, dtype=np.float64).reshape(-1):
            run.add(float(x))

    def add_result(self, result: MetricResult) -> None:
        """Add a MetricResult: its per-frame values, its value if set-level, or its unavailability."""
        if not result.available:
            self._unavailable[result.name] = result.reason
        elif result.per_frame is not None:
            self.add(result.name, result.per_frame)
        else:
            self.add(result.name, result.value)

    def mark_unavailable(self, name: str, reason: str) -> None:
        self._unavailable[name] = reason

    def summary(self) -> dict:
        """{name: {mean, std, min, max, count, missing}} plus {name: {available: False, reason}}."""
        out: dict = {name: run.summary() for name, run in self._stats.items()}
        for name, reason in self._unavailable.items():
            out[name] = {"available": False, "reason": reason}
        return out
