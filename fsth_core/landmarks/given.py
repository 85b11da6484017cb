"""Landmarks given by the user (``animate --landmarks FILE.npz``): points corrected or placed elsewhere,
matched to the pictures they are for.

The file is a ``.npz`` with a ``points`` array, float [N, 68, 2] (or [68, 2] for one picture): x, y in
pixels of the picture, in the iBUG 300-W order (docs/landmarks.md shows the layout).  The ``landmarks``
command writes such a file; one line of numpy writes one too::

    np.savez("face.npz", points=pts)   # pts: [68, 2] or [N, 68, 2]

An ``image_size`` (h, w) in the file, as the landmarks command writes, must match the pictures.  It is
read without pickle.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from fsth_core.landmarks.detect import LandmarkResult


def given_points(path: str | os.PathLike, sizes: Sequence[tuple[int, int]], names: Sequence[str],
                 what: str = "picture") -> np.ndarray:
    """The points of ``path`` for pictures of ``sizes`` (h, w) named ``names``: float32 [N, 68, 2], N =
    len(sizes).  One ValueError line when the file does not fit them (count, size, points off the picture)."""
    res = LandmarkResult.load(path)
    n = len(sizes)
    if len(res) != n:
        raise ValueError(f"{path} holds {len(res)} set(s) of landmarks for {n} {what}(s): give one set of 68 "
                         f"points per {what}, in order ([{n}, 68, 2])")
    pts = res.points
    if not np.isfinite(pts).all():
        raise ValueError(f"{path}: the points must be finite numbers (no NaN or infinity)")
    for i, ((h, w), name) in enumerate(zip(sizes, names)):
        if res.image_size != (0, 0) and tuple(res.image_size) != (int(h), int(w)):
            rh, rw = res.image_size
            raise ValueError(f"{path}: its landmarks are for a {rw}x{rh} picture, but {name} is {w}x{h}")
        lo, hi = pts[i].min(0), pts[i].max(0)
        if hi[0] < 0 or hi[1] < 0 or lo[0] >= w or lo[1] >= h:
            raise ValueError(f"{path}: the points for {name} lie outside it (x {lo[0]:.0f}..{hi[0]:.0f}, "
                             f"y {lo[1]:.0f}..{hi[1]:.0f}; it is {w}x{h}): they are x, y in its pixels")
        if float(np.max(hi - lo)) < 4:
            raise ValueError(f"{path}: the points for {name} span under 4 px: they are x, y in its pixels")
    return pts
