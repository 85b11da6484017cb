"""The warp mesh: 68 landmarks + forehead points + two damped rings + fixed border anchors.

The topology (triangle index array) is computed once per source face and never changes between
frames, which keeps the animation temporally stable. It is a Delaunay triangulation of the source's
vertices *after* opening its mouth and eyes synthetically, so the inner-lip polygon (60-67) and the
eye polygons are triangulated on their own and the lips never share a triangle across the mouth.

Vertex layers, in order: face landmarks (move exactly), forehead points (move rigidly with the
head), an inner ring around the head (hair/neck, damped motion), an outer ring (damped more), and
anchors on the crop border (fixed), so the background stays still.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from fsth_core.face_layout import EYE_LEFT, EYE_RIGHT, EYES, LIPS_INNER, LIPS_OUTER, MOUTH, NOSE
from fsth_core.landmarks.geometry import close_eyes, face_down, inter_ocular, open_mouth

from .constrain import enforce_edges
from .mouth_mesh import N_RIG, MouthRig, contour_indices, mouth_triangles, rig_indices

# landmarks that move with the skull (nose, eye corners, jaw ends): used to estimate head motion
RIGID = np.array([0, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])
MOUTH_INNER = np.arange(LIPS_INNER.start, LIPS_INNER.stop)
EYE_GROUPS = (np.arange(EYE_RIGHT.start, EYE_RIGHT.stop), np.arange(EYE_LEFT.start, EYE_LEFT.stop))
# eyebrow points under the forehead anchors, and each anchor's height in eye-to-mouth distances
_FOREHEAD = ((17, 0.55), (19, 0.85), (21, 0.95), (22, 0.95), (24, 0.85), (26, 0.55))

# draw order (low first): the mouth interior lies under the lips, the lower part under the upper one
LAYER_BORDER, LAYER_OUTER, LAYER_INNER, LAYER_MOUTH_LOWER, LAYER_MOUTH_UPPER, LAYER_FACE, LAYER_FEATURE = range(7)
RIG = 68  # index of the first mouth-rig vertex (mouth_mesh.py), right after the landmarks


@dataclass(frozen=True)
class MeshOptions:
    """Where the non-landmark vertices go and how much of the head motion they follow."""
    inner_ring_scale: float = 1.35   # × face contour size, about the face centre
    outer_ring_scale: float = 1.8
    inner_ring_follow: float = 0.7   # fraction of the head's similarity motion
    outer_ring_follow: float = 0.3
    ring_points: int = 14
    under_jaw_band: float = 0.12     # depth of the band under the jaw, × eye-to-mouth distance (0: none)
    border_points_per_side: int = 4  # anchors per side, corners included once
    max_scale_change: float = 2.0    # clamp of the estimated head scale change (and its inverse)


@dataclass(frozen=True)
class Mesh:
    """A fixed triangulation over one source face.

    vertices: float32 [N, 2] source positions (0..67 are the landmarks, then the mouth rig);
    follow: float32 [N] fraction of the head motion each non-landmark vertex follows (1 forehead, 0 border);
    layer: int8 [N] vertex layer (LAYER_*); triangles: int32 [T, 3]; tri_layer: int8 [T] draw order
    (low first); bounds: (x0, y0, x1, y1) box the rings are clamped into; rig: the mouth's vertices
    (mouth_mesh.py), at index RIG.
    """
    vertices: np.ndarray
    follow: np.ndarray
    layer: np.ndarray
    triangles: np.ndarray
    tri_layer: np.ndarray
    bounds: tuple[float, float, float, float]
    options: MeshOptions
    rig: MouthRig

    def target_vertices(self, target_points: np.ndarray) -> np.ndarray:
        """Positions of all vertices for a target landmark set.

        Args:
            target_points: float32 [68, 2], already validated.
        Returns:
            float32 [N, 2]: landmarks as given, other vertices moved by a damped similarity fit of
            the head motion and clamped inside the crop (border anchors never move).
        """
        src = self.vertices
        m, t = head_similarity(src[RIGID], target_points[RIGID], self.options.max_scale_change)
        moved = src @ m.T + t
        out = src + self.follow[:, None] * (moved - src)
        out[:68] = target_points
        out[RIG:RIG + N_RIG] = self.rig.vertices(target_points, m)
        ring = (self.layer == LAYER_INNER) | (self.layer == LAYER_OUTER)
        x0, y0, x1, y1 = self.bounds
        out[ring, 0] = np.clip(out[ring, 0], x0, x1)
        out[ring, 1] = np.clip(out[ring, 1], y0, y1)
        return out.astype(np.float32)


def head_similarity(src: np.ndarray, dst: np.ndarray, max_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (rotation, uniform scale, translation) from src [K,2] to dst [K,2].

    Returns (M float64 [2,2], t float64 [2]) with dst ≈ src @ M.T + t; the scale is clamped to
    [1/max_scale, max_scale] so collapsed or exploded targets stay harmless.
    """
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    cs, cd = src.mean(0), dst.mean(0)
    a, b = src - cs, dst - cd
    var = (a ** 2).sum()
    if var < 1e-9:
        return np.eye(2), cd - cs
    # complex-number form of the 2-D Procrustes problem: z = sum(conj(a) * b) / |a|^2
    za, zb = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    z = (np.conj(za) * zb).sum() / var
    scale = abs(z)
    if scale < 1e-9:
        z = 1.0 / max_scale + 0j
    elif not 1.0 / max_scale <= scale <= max_scale:
        z = z / scale * np.clip(scale, 1.0 / max_scale, max_scale)
    m = np.array([[z.real, -z.imag], [z.imag, z.real]])
    return m, cd - cs @ m.T


_JAW_BAND = np.arange(4, 13)


def _under_jaw(points: np.ndarray, depth: float) -> np.ndarray:
    """Points [9, 2] ``depth`` px outside the jaw contour (points 4-12), along its outward normal."""
    tangent = points[_JAW_BAND + 1] - points[_JAW_BAND - 1]
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.maximum(np.hypot(*normal.T), 1e-6)[:, None]
    outward = points[_JAW_BAND] - points[NOSE].mean(0)
    normal *= np.sign((normal * outward).sum(1, keepdims=True) + 1e-9)
    return (points[_JAW_BAND] + depth * normal).astype(np.float32)


def _eye_mouth(points: np.ndarray) -> float:
    """Distance from the eyes' centre to the mouth's centre in pixels."""
    return float(np.hypot(*(points[MOUTH].mean(0) - points[EYES].mean(0))))


def _forehead(points: np.ndarray) -> np.ndarray:
    up = -face_down(points)
    height = _eye_mouth(points)
    return np.stack([points[i] + up * k * height for i, k in _FOREHEAD]).astype(np.float32)


def _resample_closed(poly: np.ndarray, n: int) -> np.ndarray:
    """n points evenly spaced by arc length along a closed polygon [K, 2]."""
    closed = np.vstack([poly, poly[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, cum[-1], n, endpoint=False)
    return np.stack([np.interp(s, cum, closed[:, 0]), np.interp(s, cum, closed[:, 1])], 1)


def _border(x0: float, y0: float, x1: float, y1: float, per_side: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    top = np.stack([x0 + t * (x1 - x0), np.full_like(t, y0)], 1)
    right = np.stack([np.full_like(t, x1), y0 + t * (y1 - y0)], 1)
    bottom = np.stack([x1 - t * (x1 - x0), np.full_like(t, y1)], 1)
    left = np.stack([np.full_like(t, x0), y1 - t * (y1 - y0)], 1)
    return np.concatenate([top, right, bottom, left])


def _add_spaced(existing: list[np.ndarray], candidates: np.ndarray, min_dist: float) -> np.ndarray:
    """Keep candidates at least min_dist from every kept point (existing and earlier candidates)."""
    kept = []
    pool = np.concatenate(existing)
    for c in candidates:
        if np.hypot(*(pool - c).T).min() >= min_dist:
            kept.append(c)
            pool = np.vstack([pool, c[None]])
    return np.array(kept, np.float32).reshape(-1, 2)


def _signed_area(v: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def build_mesh(source_points: np.ndarray, height: int, width: int, options: MeshOptions = MeshOptions(),
               teeth_split: float = 1.0) -> Mesh:
    """Build the fixed mesh for one source face.

    Args:
        source_points: float32 [68, 2] landmarks in the source crop (validated by the caller).
        height, width: crop size in pixels.
        teeth_split: where the source's mouth interior divides between the lips (mouth_mesh.teeth_split).
    Returns:
        Mesh whose vertices start with the 68 landmarks and the mouth rig.
    """
    pts = source_points.astype(np.float32)
    rig = MouthRig.build(pts, teeth_split)
    # the border box holds the whole frame and every landmark, so the mesh covers every pixel
    x0 = min(0.0, float(pts[:, 0].min()) - 1.0)
    y0 = min(0.0, float(pts[:, 1].min()) - 1.0)
    x1 = max(width - 1.0, float(pts[:, 0].max()) + 1.0)
    y1 = max(height - 1.0, float(pts[:, 1].max()) + 1.0)
    border = _border(x0, y0, x1, y1, options.border_points_per_side).astype(np.float32)
    margin = 0.03 * min(height, width)
    bounds = (x0 + margin, y0 + margin, x1 - margin, y1 - margin)

    forehead = _forehead(pts)
    contour = np.vstack([pts[0:17], forehead[::-1]])
    centre = contour.mean(0)
    min_dist = max(0.25 * inter_ocular(pts), 2.0)
    # a thin band under the jaw that moves with the skull, not the jaw: an opening mouth folds
    # it under the chin (the face is drawn last) instead of dragging the neck and collar down
    depth = options.under_jaw_band * _eye_mouth(pts)
    under_jaw = _under_jaw(pts, depth)
    ix = rig_indices(RIG)
    rig_v = rig.vertices(pts, np.eye(2))
    rig_layer = np.full(N_RIG, LAYER_FACE)
    rig_layer[np.isin(np.arange(RIG, RIG + N_RIG), np.concatenate([ix["line_up"], ix["line_lo"]]))] = \
        LAYER_MOUTH_LOWER
    groups, follows, layers = [pts, rig_v, forehead], [np.zeros(68), np.zeros(N_RIG), np.ones(len(forehead))], \
        [np.full(68, LAYER_FACE), rig_layer, np.full(len(forehead), LAYER_FACE)]
    jaw_band = {}  # vertex index -> the jaw landmark it hangs under
    if depth >= 1.0:
        n = sum(len(g) for g in groups)
        inside = (under_jaw[:, 0] > bounds[0]) & (under_jaw[:, 0] < bounds[2]) & (under_jaw[:, 1] < bounds[3])
        jaw_band = {n + k: int(j) for k, j in enumerate(_JAW_BAND[inside])}
        groups.append(under_jaw[inside].astype(np.float32))
        follows.append(np.ones(int(inside.sum())))
        layers.append(np.full(int(inside.sum()), LAYER_INNER))
    for scale, follow, layer in ((options.inner_ring_scale, options.inner_ring_follow, LAYER_INNER),
                                 (options.outer_ring_scale, options.outer_ring_follow, LAYER_OUTER)):
        ring = _resample_closed(centre + scale * (contour - centre), options.ring_points)
        ring[:, 0] = np.clip(ring[:, 0], bounds[0], bounds[2])
        ring[:, 1] = np.clip(ring[:, 1], bounds[1], bounds[3])
        ring = _add_spaced(groups + [border], ring, min_dist)
        groups.append(ring)
        follows.append(np.full(len(ring), follow))
        layers.append(np.full(len(ring), layer))
    groups.append(border)
    follows.append(np.zeros(len(border)))
    layers.append(np.full(len(border), LAYER_BORDER))

    vertices = np.concatenate(groups).astype(np.float32)
    layer = np.concatenate(layers).astype(np.int8)
    triangles, n_mouth = _triangulate(vertices, jaw_band)
    tri_layer = layer[triangles].min(1)
    feature = np.zeros(len(triangles), bool)
    for group in EYE_GROUPS:
        feature |= np.isin(triangles, group).all(1)
    tri_layer[feature] = LAYER_FEATURE
    upper_part = np.isin(triangles, np.concatenate([ix["upper"], ix["line_up"]])).all(1)
    tri_layer[:n_mouth] = np.where(upper_part[:n_mouth], LAYER_MOUTH_UPPER, LAYER_MOUTH_LOWER)
    return Mesh(vertices, np.concatenate(follows).astype(np.float32), layer, triangles,
                tri_layer.astype(np.int8), bounds, options, rig)


def _polygon_edges(indices: np.ndarray) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in zip(indices, np.roll(indices, -1))]


INNER_CONTOUR = contour_indices(RIG)  # the smooth inner-lip contour, landmarks and rig points
REQUIRED_EDGES = (_polygon_edges(np.arange(LIPS_OUTER.start, LIPS_OUTER.stop)) + _polygon_edges(INNER_CONTOUR)
                  + _polygon_edges(EYE_GROUPS[0]) + _polygon_edges(EYE_GROUPS[1]))
_TEETH_LINES = np.setdiff1d(np.concatenate([rig_indices(RIG)["line_up"], rig_indices(RIG)["line_lo"]]),
                            MOUTH_INNER)


def _constrained(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise Delaunay triangles [T, 3] on points with the lip and eye contours as edges
    (best effort: unconstrained Delaunay if an edge cannot be inserted); the teeth-line vertices are
    left out and nothing is inside the inner-lip contour (the mouth's own triangles go there)."""
    used = np.setdiff1d(np.arange(len(points)), _TEETH_LINES)
    sub = points[used].astype(np.float64)
    tri = Delaunay(sub).simplices.astype(np.int32)
    neg = _signed_area(sub, tri) < 0
    tri[neg] = tri[neg][:, [0, 2, 1]]
    local = {int(v): i for i, v in enumerate(used)}
    edges = [(local[a], local[b]) for a, b in REQUIRED_EDGES]
    try:
        tri = enforce_edges(tri, sub, edges)
    except ValueError:
        pass
    tri = used[tri].astype(np.int32)
    on_contour = np.isin(tri, INNER_CONTOUR).all(1)
    centroid = points[tri].mean(1)
    contour = points[INNER_CONTOUR].astype(np.float32)
    inside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in centroid])
    return tri[~(on_contour & inside)]


def _oriented(tris: np.ndarray, points: np.ndarray) -> np.ndarray:
    tris = tris.copy()
    neg = _signed_area(points, tris) < 0
    tris[neg] = tris[neg][:, [0, 2, 1]]
    return tris


def _triangulate(vertices: np.ndarray, jaw_band: dict[int, int]) -> tuple[np.ndarray, int]:
    """(triangles [T, 3], how many of the first are the mouth interior's), built on the vertices with
    the mouth and eyes opened (the under-jaw band moving with the jaw), counter-clockwise there; falls
    back to the source geometry itself if that topology would flip a source triangle."""
    opened = vertices.copy()
    opened[:68] = close_eyes(open_mouth(vertices[:68], 0.25), -0.6)
    opened[RIG:RIG + N_RIG] = MouthRig.build(opened[:68], 0.5).vertices(opened[:68], np.eye(2))
    for v, j in jaw_band.items():
        opened[v] += opened[j] - vertices[j]
    parts, gap = mouth_triangles(RIG)
    mouth = _oriented(np.vstack([gap, parts]), opened)
    tri = _constrained(opened)
    inside = np.zeros(len(tri), bool)
    for group in EYE_GROUPS:
        inside |= np.isin(tri, group).all(1)
    if ((_signed_area(vertices, tri) <= 0) & ~inside).any():
        tri = _constrained(vertices)
    return np.vstack([mouth, tri]).astype(np.int32), len(mouth)
