"""argparse ``type=`` callables that validate a number's range where it enters, so a bad value is
one ``error: argument --x: ...`` line before any work (no 'inf', 'nan' or nonsense reaches the job).

    p.add_argument("--fps", type=floats(0, 240, low_open=True))
    p.add_argument("--batch", type=ints(1, 1024))
"""
from __future__ import annotations

import argparse
import math

from fsth_core import options


def _span(lo, hi, low_open: bool) -> str:
    left = "> " if low_open else ">= "
    if hi is None:
        return f"{left}{lo:g}"
    return f"{'in (' if low_open else 'in ['}{lo:g}, {hi:g}]"


def ints(lo: int | None = None, hi: int | None = None):
    """An integer in lo..hi (either bound may be None)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            span = f"{lo}..{hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None
                                                                              else f"<= {hi}")
            raise argparse.ArgumentTypeError(f"must be {span}, got {v}")
        return v
    parse.__name__ = "integer"
    return parse


def floats(lo: float, hi: float | None = None, low_open: bool = False):
    """A finite number >= lo (> lo with ``low_open``) and <= hi."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        bad = (not math.isfinite(v) or v < lo or (low_open and v == lo) or (hi is not None and v > hi))
        if bad:
            raise argparse.ArgumentTypeError(f"must be a finite number {_span(lo, hi, low_open)}, got {text}")
        return v
    parse.__name__ = "number"
    return parse


def finite(text: str) -> float:
    """Any finite number."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return v


def device(text: str) -> str:
    """auto, cpu, cuda, cuda:N, mps (availability is checked when the device is used)."""
    from fsth_core.runtime.device import check_device_name

    try:
        return check_device_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def face_box(text: str):
    """X,Y,W,H in pixels (a FaceBox; whether it fits the picture is checked when the picture is read)."""
    from fsth_core.landmarks.face_box import FaceBox  # cv2: imported only when the option is given

    try:
        return FaceBox.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: frames per second accepted anywhere (an output rate, a folder of frames' rate)
FPS = floats(0, options.MAX_FPS, low_open=True)
SEED = ints(0, 2 ** 32 - 1)


def word_or_count(words: tuple[str, ...], least: int, what: str):
    """One of ``words`` or an integer >= ``least`` (fsth_core.options.word_or_count)."""
    def parse(text: str) -> str | int:
        try:
            return options.word_or_count(text, words, least, what)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = what
    return parse


#: which face of a picture: 'largest', or N, the N-th from the left (0-based)
face_rule = word_or_count(options.FACE_WORDS, 0, options.FACE_INDEX)
