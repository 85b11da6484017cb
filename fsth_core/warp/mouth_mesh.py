"""The mouth's own mesh vertices: a smooth inner-lip contour and a teeth line that splits the interior.

The 8 inner-lip landmarks (60-67) are joined by a centripetal Catmull-Rom curve on each lip (a cusp at
each corner), sampled ``SUB`` extra points per segment, so the warped lips end on a smooth curve instead
of an octagon.  The source's mouth interior is then split along a *teeth line*: the part above it hangs
from the upper lip (upper teeth move with the skull and the upper lip), the part below from the lower
lip (lower teeth move with the jaw).  In the target, the two parts keep their source height (moved by
the head's rotation and scale); when the mouth opens further than the source's, a *gap* opens between
them, which the warp cannot fill and the painter does (``mouth_paint.py``).  When it opens less, each
part slides under the other lip (the lips are drawn on top).

Vertex order of the rig, after the 68 landmarks: the dense contour points that are not landmarks, then
the teeth line hanging from the upper lip, then the same line hanging from the lower lip.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.face_layout import LIPS_INNER
from fsth_core.landmarks.geometry import mouth_opening

SUB = 2  # extra contour points per inner-lip segment
UPPER = (60, 61, 62, 63, 64)  # inner upper lip, corner to corner
LOWER = (60, 67, 66, 65, 64)  # inner lower lip, corner to corner
N_CURVE = (len(UPPER) - 1) * (SUB + 1) + 1  # points on each lip's curve, corners included
N_LINE = N_CURVE - 2  # teeth-line points (the corners are shared with the lips)
N_DENSE = 2 * (N_CURVE - 1) - len(range(LIPS_INNER.start, LIPS_INNER.stop))  # new contour points
N_RIG = N_DENSE + 2 * N_LINE


def catmull_rom(points: np.ndarray, sub: int = SUB) -> np.ndarray:
    """Centripetal Catmull-Rom curve through points [K,2] (open, the ends extrapolated) -> [(K-1)(sub+1)+1, 2];
    the input points are at every (sub+1)-th position."""
    p = np.asarray(points, np.float64)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    p0, p1, p2, p3 = (ext[i:i + len(p) - 1, None, :] for i in range(4))  # [S,1,2] per segment
    d01, d12, d23 = (np.maximum(np.hypot(*(b - a)[:, 0].T), 1e-12) ** 0.5 for a, b in ((p0, p1), (p1, p2), (p2, p3)))
    t1 = np.maximum(d01, 1e-6)[:, None, None]
    t2 = t1 + np.maximum(d12, 1e-6)[:, None, None]
    t3 = t2 + np.maximum(d23, 1e-6)[:, None, None]
    s = (np.arange(sub + 1) / (sub + 1))[None, :, None]
    t = t1 + s * (t2 - t1)                                     # [S, sub+1, 1]: the segment's start and sub points
    a1 = (t1 - t) / t1 * p0 + t / t1 * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / t2 * a1 + t / t2 * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    c = (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2
    return np.vstack([c.reshape(-1, 2), p[-1:]])


def lip_curves(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) smooth inner-lip curves float64 [N_CURVE, 2], each from corner 60 to corner 64."""
    p = np.asarray(points, np.float64)
    return catmull_rom(p[list(UPPER)]), catmull_rom(p[list(LOWER)])


def inner_contour(points: np.ndarray) -> np.ndarray:
    """The smooth closed inner-lip contour float64 [2(N_CURVE-1), 2]: the upper curve 60 -> 64, then the
    lower one back 64 -> 60 (the corners once)."""
    up, lo = lip_curves(points)
    return np.vstack([up, lo[::-1][1:-1]])


def _dense_new(up: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The curve points that are not landmarks [N_DENSE, 2], upper then lower lip."""
    keep = np.ones(N_CURVE, bool)
    keep[::SUB + 1] = False
    return np.vstack([up[keep], lo[keep]])


def teeth_split(image: np.ndarray, points: np.ndarray) -> float:
    """Where the source's interior splits between the lips, as a fraction of the gap from the upper lip.

    1.0 (all of it moves with the upper lip: the upper teeth of a smile) unless the interior shows a dark
    band (the cavity between upper and lower teeth) in its lower part; then the split is at that band.
    """
    if mouth_opening(points) < 0.05:
        return 1.0
    up, lo = lip_curves(points)
    i0, i1 = N_CURVE // 4, N_CURVE - N_CURVE // 4  # the middle half of the width
    v = np.linspace(0.0, 1.0, 21)
    samples = up[i0:i1, None, :] + v[None, :, None] * (lo[i0:i1, None, :] - up[i0:i1, None, :])
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    xy = samples.reshape(-1, 2).astype(np.float32)
    prof = cv2.remap(gray, xy[:, 0].reshape(1, -1), xy[:, 1].reshape(1, -1), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).reshape(samples.shape[:2]).mean(0)
    lower = slice(6, 20)  # 0.3 .. 0.95 of the gap
    k = int(np.argmin(prof[lower])) + lower.start
    above, below = prof[1:k].max(initial=0.0), prof[k + 1:20].max(initial=0.0)
    if prof[k] < 0.6 * above and prof[k] < 0.75 * below:  # bright above and below a dark band
        return float(v[k])
    return 1.0


@dataclass(frozen=True)
class MouthRig:
    """The mouth vertices of one source: ``up_offsets``/``lo_offsets`` float64 [N_LINE, 2] are the teeth
    line relative to each lip's curve point, in source pixels (moved by the head's linear motion)."""

    split: float
    up_offsets: np.ndarray
    lo_offsets: np.ndarray

    @classmethod
    def build(cls, points: np.ndarray, split: float) -> MouthRig:
        up, lo = lip_curves(points)
        line = up[1:-1] + split * (lo[1:-1] - up[1:-1])
        return cls(float(split), line - up[1:-1], line - lo[1:-1])

    def vertices(self, points: np.ndarray, linear: np.ndarray) -> np.ndarray:
        """float32 [N_RIG, 2] for landmarks [68,2] and the head's 2x2 linear motion (source -> target)."""
        up, lo = lip_curves(points)
        line_up = up[1:-1] + self.up_offsets @ linear.T
        line_lo = lo[1:-1] + self.lo_offsets @ linear.T
        return np.vstack([_dense_new(up, lo), line_up, line_lo]).astype(np.float32)


def rig_indices(first: int) -> dict[str, np.ndarray]:
    """Vertex indices of the rig placed at ``first``: the upper/lower lip curves (corner to corner, with
    the landmarks), the teeth line on the upper and on the lower lip (corners included)."""
    keep = np.ones(N_CURVE, bool)
    keep[::SUB + 1] = False
    new = np.arange(first, first + N_DENSE)
    up, lo = np.empty(N_CURVE, np.int64), np.empty(N_CURVE, np.int64)
    up[~keep], lo[~keep] = UPPER, LOWER
    up[keep], lo[keep] = new[:N_DENSE // 2], new[N_DENSE // 2:]
    line_up = np.concatenate([[UPPER[0]], np.arange(first + N_DENSE, first + N_DENSE + N_LINE), [UPPER[-1]]])
    line_lo = np.concatenate([[UPPER[0]], np.arange(first + N_DENSE + N_LINE, first + N_RIG), [UPPER[-1]]])
    return {"upper": up, "lower": lo, "line_up": line_up, "line_lo": line_lo}


def strip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Triangles [M,3] between two vertex polylines of the same length (shared ends give no sliver)."""
    tris = []
    for i in range(len(a) - 1):
        for t in ((a[i], a[i + 1], b[i + 1]), (a[i], b[i + 1], b[i])):
            if len(set(int(x) for x in t)) == 3:
                tris.append(t)
    return np.array(tris, np.int32)


def mouth_triangles(first: int) -> tuple[np.ndarray, np.ndarray]:
    """(the two interior parts' triangles, the gap's triangles), each int32 [M,3], unoriented."""
    ix = rig_indices(first)
    parts = np.vstack([strip(ix["upper"], ix["line_up"]), strip(ix["lower"], ix["line_lo"])])
    return parts, strip(ix["line_up"], ix["line_lo"])


def contour_indices(first: int) -> np.ndarray:
    """The closed smooth inner contour's vertex indices (upper 60 -> 64, lower back), for mesh edges."""
    ix = rig_indices(first)
    return np.concatenate([ix["upper"], ix["lower"][::-1][1:-1]])
