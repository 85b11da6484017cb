"""Retargeting: drive a source face with another face's landmarks.

``absolute`` is the paper's behaviour: the driver's raw landmarks are used as they are,
which carries the driver's face shape (eye distance, jaw, nose) into the result.

``relative`` transfers only the driver's motion.  Each driver frame is aligned to the
driver's reference frame by a similarity (position, scale, in-plane rotation) fitted on
points that barely move with expression; what is left is the expression change, which is
rotated and scaled into the source's frame and added to the source's landmarks.  The head
pose change (the inverse of that similarity) is then applied to the result, conjugated into
the source's frame.  Hence a driver equal to the source, or to any fixed similarity of it,
gives back the source's landmarks.
"""
from __future__ import annotations

import numpy as np

from fsth_core import face_layout as layout
from fsth_core.landmarks.geometry import cap_opening
from fsth_core.options import RETARGET_MODES as MODES

# nose, eye corners and the jaw's ends next to the ears: little expression motion
STABLE = np.array(layout.STABLE)
# (upper, lower) pairs that must not cross: eyelids and inner lips
_PAIRS = np.array(layout.EYELID_PAIRS + layout.INNER_LIP_PAIRS)


def _c(points: np.ndarray) -> np.ndarray:
    """[..., 2] -> complex [...]."""
    return points[..., 0].astype(np.float64) + 1j * points[..., 1].astype(np.float64)


def _xy(z: np.ndarray) -> np.ndarray:
    return np.stack([z.real, z.imag], axis=-1)


def fit_similarity(src: np.ndarray, dst: np.ndarray, idx: np.ndarray = STABLE) -> tuple[complex, complex]:
    """Least-squares similarity mapping ``src`` -> ``dst`` ([68, 2] each) on points ``idx``.

    Returns (a, b) with dst ≈ a * src + b in complex form (|a| = scale, arg a = rotation).
    """
    s, d = _c(src[idx]), _c(dst[idx])
    sm, dm = s.mean(), d.mean()
    sc, dc = s - sm, d - dm
    den = float(np.sum(np.abs(sc) ** 2))
    a = complex(np.sum(np.conj(sc) * dc) / den) if den > 1e-12 else 1.0 + 0j
    return a, complex(dm - a * sm)


def _check(points, name: str, ndim: int) -> np.ndarray:
    p = np.asarray(points, np.float32)
    if ndim == 3 and p.ndim == 2:
        p = p[None]
    if p.ndim != ndim or p.shape[-2:] != (68, 2):
        want = "[68, 2]" if ndim == 2 else "[T, 68, 2]"
        raise ValueError(f"{name} landmarks must be {want}, got {list(np.shape(points))}")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} landmarks contain NaN or infinite values")
    return p


def _uncross(result: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Keep eyelids and lips from crossing further than they do in the source ([68, 2] complex each)."""
    rot = _c(source[layout.EYE_OUTER_LEFT] - source[layout.EYE_OUTER_RIGHT])
    rot = np.conj(rot / abs(rot)) if abs(rot) > 1e-9 else 1.0
    r = result * rot  # face-upright frame (eyes horizontal)
    s = _c(source) * rot
    up, lo = _PAIRS[:, 0], _PAIRS[:, 1]
    allowed = np.minimum(0.0, (s[lo] - s[up]).imag)  # lower minus upper, in y
    gap = (r[lo] - r[up]).imag
    bad = gap < allowed
    if bad.any():
        mid = (r[up] + r[lo]).imag / 2
        fix = np.where(bad, allowed, gap)
        r[up] = np.where(bad, r[up].real + 1j * (mid - fix / 2), r[up])
        r[lo] = np.where(bad, r[lo].real + 1j * (mid + fix / 2), r[lo])
    return r / rot


def retarget(source_points: np.ndarray, driver_points: np.ndarray, mode: str = "relative",
             reference: int = 0) -> np.ndarray:
    """Landmarks that make the source face follow the driver.

    Args:
        source_points: float [68, 2], the face to animate (pixels of the source image).
        driver_points: float [T, 68, 2], the driving sequence (pixels of the driving video).
        mode: "relative" (driver's motion applied to the source's shape) or "absolute"
            (the driver's raw landmarks, as in the paper).
        reference: index of the driver frame taken as neutral (its expression and pose
            map onto the source's).
    Returns:
        float32 [T, 68, 2] in source-image pixels ("relative") or driver pixels ("absolute").
    """
    if mode not in MODES:
        raise ValueError(f"retarget mode must be one of {MODES}, got {mode!r}")
    drv = _check(driver_points, "driver", 3)
    if mode == "absolute":
        return drv.copy()
    src = _check(source_points, "source", 2)
    if not -len(drv) <= reference < len(drv):
        raise ValueError(f"reference frame {reference} is outside the driver's {len(drv)} frames")
    d0 = drv[reference]
    a_ref, b_ref = fit_similarity(d0, src)  # driver reference frame -> source frame
    s_c, d0_c = _c(src), _c(d0)
    out = np.empty(drv.shape, np.float32)
    for t, dt in enumerate(drv):
        a_t, b_t = fit_similarity(dt, d0)  # driver frame t -> driver reference (pose removed)
        delta = a_t * _c(dt) + b_t - d0_c  # expression change, in the reference's frame
        moved = s_c + a_ref * delta  # ... in the source's frame
        moved = _uncross(moved, src)
        # pose change: source -> reference frame -> undo driver alignment -> back to source
        in_ref = (moved - b_ref) / a_ref
        posed = a_ref * ((in_ref - b_t) / a_t) + b_ref
        out[t] = _xy(posed)
    return cap_opening(out, src)  # the driver's opening on top of the source's own stays within real speech
