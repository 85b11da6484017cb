"""Range checks of AnimateOptions and FinetuneOptions (the library's own validation, so callers other
than the CLI — the nodes, scripts — get one clear ValueError too, before any work)."""
from __future__ import annotations

import math

from fsth_core.options import (
    CRF_RANGE,
    DEFAULT_FPS,
    MAX_BATCH,
    MAX_D_STEPS,
    MAX_FINETUNE_STEPS,
    MAX_FPS,
    MAX_FRAMES,
    MAX_INTENSITY,
    MAX_SHOTS,
    MAX_THREADS,
)


def check_number(name: str, v, lo: float, hi: float, low_open: bool = False) -> None:
    ok = (not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
          and (v > lo if low_open else v >= lo) and v <= hi)
    if not ok:
        span = f"({lo:g}, {hi:g}]" if low_open else f"[{lo:g}, {hi:g}]"
        raise ValueError(f"{name} must be a finite number in {span}, got {v!r}")


def check_integer(name: str, v, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")


def check_options(opt) -> None:
    """Raise ValueError naming the first option out of range (see AnimateOptions for the meaning)."""

    if opt.fps is not None:
        check_number("fps", opt.fps, 0, MAX_FPS, low_open=True)
    check_number("seconds", opt.seconds, 0, MAX_FRAMES, low_open=True)
    frames = opt.seconds * (opt.fps or DEFAULT_FPS)
    if frames > MAX_FRAMES:
        raise ValueError(f"seconds: {opt.seconds:g} s at {opt.fps or DEFAULT_FPS:g} fps is {frames:,.0f} frames; "
                         f"procedural motion is at most {MAX_FRAMES:,} frames")
    check_number("intensity", opt.intensity, 0, MAX_INTENSITY)
    check_number("smoothing", opt.smoothing, 0, 1)
    check_integer("batch", opt.batch, 1, MAX_BATCH)
    check_integer("crf", opt.crf, *CRF_RANGE)
    check_integer("warp_size", opt.warp_size, 16, 4096)
    if opt.finetune_steps is not None:
        check_integer("finetune_steps", opt.finetune_steps, 0, MAX_FINETUNE_STEPS)
    for name in ("finetune_lr_g", "finetune_lr_d"):
        if getattr(opt, name) is not None:
            check_number(name, getattr(opt, name), 0, 1, low_open=True)
    if opt.finetune_pixel_l1 is not None:
        check_number("finetune_pixel_l1", opt.finetune_pixel_l1, 0, 1e6)
    if opt.finetune_d_steps is not None:
        check_integer("finetune_d_steps", opt.finetune_d_steps, 1, MAX_D_STEPS)
    if opt.min_realism is not None:
        check_number("min_realism", opt.min_realism, -math.inf, math.inf)
    if opt.threads is not None:
        check_integer("threads", opt.threads, 1, MAX_THREADS)
    if opt.face != "largest":
        check_integer("face", opt.face, 0, 1_000_000)
    check_integer("shots", opt.shots, 1, MAX_SHOTS)
    if opt.driver_mouth and not opt.paste_back:
        raise ValueError("driver_mouth: the driver's mouth goes into the picture at its own resolution "
                         "(paste-back); it does not work with head crops (--no-paste-back)")
    if not isinstance(opt.pipeline, bool):
        raise ValueError(f"pipeline must be True or False, got {opt.pipeline!r}")


def check_finetune_options(opt) -> None:
    """Raise ValueError naming the first FinetuneOptions field out of range."""
    if opt.steps is not None:
        check_integer("steps", opt.steps, 0, MAX_FINETUNE_STEPS)
    check_integer("batch", opt.batch, 1, MAX_BATCH)
    check_number("lr_g", opt.lr_g, 0, 1, low_open=True)
    check_number("lr_d", opt.lr_d, 0, 1, low_open=True)
    check_number("pixel_l1", opt.pixel_l1, 0, 1e6)
    check_integer("augment", opt.augment, 0, 1000)
    check_integer("d_steps", opt.d_steps, 1, MAX_D_STEPS)
