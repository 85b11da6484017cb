"""Execution: the one place that picks device, precision and memory format.

No other module hard-codes a device.  Callers pass a device/precision preference
(``"auto"`` by default) and get concrete ``torch.device`` / ``torch.dtype`` back.

What ``auto`` means, first that applies:

1. the caller's explicit choice (``--precision``, the node's precision, ``channels_last=``);
2. the environment: ``FSTH_PRECISION`` (auto, fp32, bf16, fp16) and ``FSTH_MEMORY_FORMAT`` (auto,
   contiguous, channels_last);
3. on a CPU, for inference of a known model size: the measured choice
   (fsth_core/runtime/tuning.py: the candidates timed once per CPU, torch version, thread count and model
   size, and cached);
4. the rule: bf16 on a CUDA GPU that has it (else fp16), fp16 on MPS, channels_last on CUDA; on a CPU
   without a model to measure (training, or no model given) bf16 only where the CPU computes it natively,
   channels_last for fp32.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
from dataclasses import dataclass, field

import torch

from fsth_core.options import PRECISIONS

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


DEVICE_NAMES = "auto, cpu, cuda, cuda:N, mps"
ENV_PRECISION = "FSTH_PRECISION"
ENV_MEMORY_FORMAT = "FSTH_MEMORY_FORMAT"
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")


def check_device_name(name: str) -> str:
    """``name`` if it is a device name torch knows (auto, cpu, cuda, cuda:1, mps, ...), else ValueError."""
    if (name or "auto").lower() == "auto":
        return name
    try:
        ok = torch.device(name.lower()).type in ("cpu", "cuda", "mps", "xpu")
    except (RuntimeError, ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError(f"unknown device {name!r} (use {DEVICE_NAMES})")
    return name


def pick_device(preference: str | torch.device | None = "auto") -> torch.device:
    """Return ``cuda`` if available, else ``mps``, else ``cpu`` (or the device asked for).

    Raises ValueError when an explicitly requested device is not available.
    """
    if isinstance(preference, torch.device):
        return preference
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(check_device_name(pref))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was requested but MPS is not available")
    return dev


def supports_dtype(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether autocast to ``dtype`` is supported and sensible on ``device``."""
    if dtype == torch.float32:
        return True
    if device.type == "cuda":
        return dtype != torch.bfloat16 or torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return dtype == torch.bfloat16  # CPU autocast supports bf16 (fp16 is slow/unsupported)
    if device.type == "mps":
        return dtype == torch.float16
    return False


@functools.lru_cache(maxsize=1)
def cpu_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (x86 AVX512-BF16 or AMX-BF16, read from /proc/cpuinfo):
    there bf16 inference is about 2x faster than fp32 (bench/bench_generator.py); elsewhere it is emulated."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_dtype(device: torch.device, precision: str = "auto", training: bool = False) -> torch.dtype:
    """Compute dtype for ``precision`` on ``device``.

    ``auto`` gives bf16 on CUDA GPUs that support it, fp16 on other CUDA GPUs and MPS; on a CPU,
    bf16 for inference where the CPU computes it natively (:func:`cpu_native_bf16`), else fp32, and
    fp32 for training.  An explicit precision the device cannot run raises ValueError.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "mps":
            return torch.float16
        return torch.bfloat16 if not training and cpu_native_bf16() else torch.float32
    dtype = _DTYPES[precision]
    if not supports_dtype(device, dtype):
        raise ValueError(f"precision {precision} is not supported on {device.type}; use auto or fp32")
    return dtype


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast context for ``dtype`` on ``device`` (a no-op for fp32)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def use_channels_last(device: torch.device, dtype: torch.dtype = torch.float32) -> bool:
    """The faster memory format, as measured by bench/bench_generator.py: channels_last on CUDA and for
    fp32 on a CPU; contiguous for bf16 on a CPU (oneDNN's bf16 kernels) and on MPS."""
    if device.type == "cpu":
        return dtype == torch.float32
    return device.type == "cuda"


def env_overrides() -> tuple[str, bool | None]:
    """(precision, channels_last) from FSTH_PRECISION / FSTH_MEMORY_FORMAT: "auto" / None where unset or
    auto.  A value outside the choices raises ValueError naming the variable."""
    prec = (os.environ.get(ENV_PRECISION) or "auto").strip().lower()
    if prec not in PRECISIONS:
        raise ValueError(f"{ENV_PRECISION}={prec!r}: use one of {', '.join(PRECISIONS)}")
    fmt = (os.environ.get(ENV_MEMORY_FORMAT) or "auto").strip().lower().replace("-", "_")
    if fmt not in MEMORY_FORMATS:
        raise ValueError(f"{ENV_MEMORY_FORMAT}={fmt!r}: use one of {', '.join(MEMORY_FORMATS)}")
    return prec, None if fmt == "auto" else fmt == "channels_last"


def _precision_name(dtype: torch.dtype) -> str:
    return next(k for k, v in _DTYPES.items() if v == dtype)


@dataclass(frozen=True)
class Execution:
    """Resolved run-time execution options.  ``reason``: how precision and memory format were chosen
    (``python -m fsth_core info --bench`` prints it); not part of equality."""

    device: torch.device
    dtype: torch.dtype
    channels_last: bool
    train_dtype: torch.dtype | None = None  # what fine-tuning uses (None: ``dtype``)
    train_channels_last: bool | None = None  # its memory format (None: the rule's)
    reason: str = field(default="", compare=False)

    @classmethod
    def resolve(cls, device: str | torch.device | None = "auto", precision: str = "auto",
                channels_last: bool | None = None, training: bool = False, config=None,
                threads: int | None = None) -> Execution:
        """``training``: the execution of a training run (``auto`` never picks bf16 on a CPU then).
        ``config``: the ModelConfig to run; on a CPU its measured execution (fsth_core/runtime/tuning.py)
        fills in what ``precision`` ("auto") and ``channels_last`` (None) leave open, as measured at
        ``threads`` torch threads (None: torch's current setting).  The order: the module's docstring."""
        dev = pick_device(device)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        env_prec, env_cl = env_overrides()
        why = [f"precision {precision} as asked"] if precision != "auto" else []
        why += [f"memory format {'channels_last' if channels_last else 'contiguous'} as asked"] \
            if channels_last is not None else []
        from_env = precision == "auto" and env_prec != "auto"
        if from_env:
            precision = env_prec
            why.append(f"{ENV_PRECISION}={env_prec}")
        if channels_last is None and env_cl is not None:
            channels_last = env_cl
            why.append(f"{ENV_MEMORY_FORMAT}={'channels_last' if env_cl else 'contiguous'}")
        tuning = None
        open_choice = precision == "auto" or channels_last is None
        if dev.type == "cpu" and config is not None and not training and open_choice:
            from fsth_core.runtime.tuning import tuned  # imports the models: only when a model is measured

            tuning = tuned(config, threads)
            why.append(tuning.summary())
        elif open_choice:
            why.append("the rule: " + ("training" if training else "no model to measure" if dev.type == "cpu"
                                       else f"not measured on {dev.type}"))
        try:
            dt = _DTYPES[tuning.precision] if precision == "auto" and tuning is not None else \
                pick_dtype(dev, precision, training)
            train_dt = pick_dtype(dev, precision, training=True)
        except ValueError as exc:  # a precision this device cannot run; name the variable when it came from there
            raise ValueError(f"{ENV_PRECISION}={env_prec}: {exc}" if from_env else str(exc)) from None
        cl = channels_last if channels_last is not None else _measured_format(tuning, dt)
        train_cl = channels_last if channels_last is not None else _measured_format(tuning, train_dt)
        return cls(dev, dt, use_channels_last(dev, dt) if cl is None else cl, train_dt, train_cl, "; ".join(why))

    def training(self) -> Execution:
        """The same execution for training (fine-tuning): the training dtype and its memory format."""
        dt = self.train_dtype or self.dtype
        if dt == self.dtype:
            return self
        cl = self.train_channels_last
        cl = use_channels_last(self.device, dt) if cl is None else cl
        return dataclasses.replace(self, dtype=dt, channels_last=cl)

    @property
    def precision(self) -> str:
        """"fp32", "bf16" or "fp16"."""
        return _precision_name(self.dtype)

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.dtype)

    def prepare_module(self, module: torch.nn.Module) -> torch.nn.Module:
        """Move ``module`` to the device (fp32 weights; compute dtype comes from autocast)."""
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)
        return module

    def input(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device, non_blocking=True)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t


def _measured_format(tuning, dtype: torch.dtype) -> bool | None:
    """The measured fastest memory format for ``dtype`` (None: not measured)."""
    best = tuning.best(_precision_name(dtype)) if tuning is not None else None
    return None if best is None else best.channels_last


def default_execution(config=None, threads: int | None = None) -> Execution:
    """What every stage (identity, generation, realism, fine-tuning) runs on when its caller gives no
    Execution: the auto device and the auto precision, measured for ``config`` (a ModelConfig) on a CPU."""
    return Execution.resolve("auto", "auto", config=config, threads=threads)


def empty_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


# Activation bytes per sample and per pixel of the model's crop: a deliberately generous rule of thumb
# (fine-tuning keeps the activations of G, D and the VGG losses for the backward pass).
_ACTIVATION_BYTES_PER_PIXEL = {"inference": 200, "training": 2000}


def memory_estimate(module: torch.nn.Module, batch: int, image_size: int, training: bool = False) -> int:
    """A generous estimate of the device memory (bytes) ``module`` needs to run ``batch`` crops of
    ``image_size`` pixels: its weights (with gradients and two Adam moments when ``training``) plus
    activations.  Used to ask a host application (ComfyUI) to make room before a job starts."""
    weights = sum(p.numel() * p.element_size() for p in module.parameters())
    per_pixel = _ACTIVATION_BYTES_PER_PIXEL["training" if training else "inference"]
    return int(weights * (4 if training else 1) + max(1, batch) * image_size ** 2 * per_pixel)
