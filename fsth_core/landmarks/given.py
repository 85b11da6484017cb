"""Landmarks given by the user (``animate --landmarks FILE.npz``): points corrected or placed elsewhere,
matched to the pictures they are for.

The file is a ``.npz`` with a ``points`` array, float [N, 68, 2] (or [68, 2] for one picture): x, y in
pixels of the picture, in the iBUG 300-W order (docs/landmarks.md shows the layout).  The ``landmarks``
command writes such a file; one line of numpy writes one too::

    np.savez("face.npz", points=pts)   # pts: [68, 2] or [N, 68, 2]

An ``image_size`` (h, w) in the file, as the landmarks command writes, must match the pictures.  It is
read without pickle.  ``given_points`` serves ``animate --landmarks`` (a set per picture or frame),
``read_landmarks`` the Load Face Landmarks node (a track for frames of one size).
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
    _check_points(path, res, sizes, names)
    return res.points


def read_landmarks(path: str | os.PathLike, size: tuple[int, int] | None = None) -> LandmarkResult:
    """A landmark file whose T sets of points are for frames of one ``size`` (h, w); None: the size the file
    records (``image_size``, as the landmarks command writes it).  The points as in ``given_points``: checked
    against that size, one ValueError line when they do not fit or no size is known."""
    res = LandmarkResult.load(path)
    size = tuple(int(v) for v in (size or res.image_size))
    if size == (0, 0):
        raise ValueError(f"{path} does not say what size of picture its points are for (no 'image_size'): give "
                         "the picture(s) too (in ComfyUI: connect Load Face Landmarks' images), or write it with "
                         "np.savez(..., points=pts, image_size=(h, w))")
    h, w = size
    _check_points(path, res, [size] * len(res), [f"set {i} of {len(res)} (a {w}x{h} picture)"
                                                 for i in range(len(res))])
    res.image_size = (h, w)
    return res


def _check_points(path, res: LandmarkResult, sizes: Sequence[tuple[int, int]], names: Sequence[str]) -> None:
    """One ValueError line unless every set of ``res`` fits its picture: finite, of that picture's size (where
    the file records one), on the picture, and larger than a speck."""
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
