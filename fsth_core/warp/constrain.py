"""Force required edges into a triangulation by edge flips (Sloan's method, simplified).

Delaunay does not promise that the lip and eye contours are mesh edges; without them a triangle can
span from the upper lip to the lower lip and smear the mouth when it opens.
"""
from __future__ import annotations

import numpy as np


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _segments_cross(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """True when segments pq and rs intersect at a single interior point of both."""
    d1, d2 = _cross(p, q, r), _cross(p, q, s)
    d3, d4 = _cross(r, s, p), _cross(r, s, q)
    return d1 * d2 < 0 and d3 * d4 < 0


def _edge_map(tris: list[list[int]]) -> dict[tuple[int, int], int]:
    """Directed edge (u, v) -> index of the counter-clockwise triangle that has it."""
    return {(t[i], t[(i + 1) % 3]): k for k, t in enumerate(tris) for i in range(3)}


def _find_crossing(tris, pts, a, b):
    for t in tris:
        for i in range(3):
            u, v = t[i], t[(i + 1) % 3]
            if a in (u, v) or b in (u, v):
                continue
            if _segments_cross(pts[a], pts[b], pts[u], pts[v]):
                yield u, v


def enforce_edges(triangles: np.ndarray, points: np.ndarray, edges: list[tuple[int, int]],
                  max_flips: int = 200) -> np.ndarray:
    """Flip edges until every (a, b) in ``edges`` is an edge of the triangulation.

    Args:
        triangles: int [T, 3], counter-clockwise in ``points``.
        points: float [N, 2] the geometry the triangulation lives on.
        edges: required vertex pairs; each must not cross another required edge.
    Returns:
        int32 [T, 3] counter-clockwise triangles. Raises ValueError if an edge cannot be inserted.
    """
    tris = [list(map(int, t)) for t in triangles]
    pts = np.asarray(points, np.float64)
    flips = 0
    for a, b in edges:
        while True:
            emap = _edge_map(tris)
            if (a, b) in emap or (b, a) in emap:
                break
            flipped = False
            for u, v in _find_crossing(tris, pts, a, b):
                k1, k2 = emap.get((u, v)), emap.get((v, u))
                if k1 is None or k2 is None:
                    continue
                w1 = next(x for x in tris[k1] if x not in (u, v))
                w2 = next(x for x in tris[k2] if x not in (u, v))
                if not _segments_cross(pts[u], pts[v], pts[w1], pts[w2]):
                    continue  # quad not strictly convex: try another crossing edge
                # (u, v, w1) and (v, u, w2) -> (w1, w2, v) and (w2, w1, u), both counter-clockwise
                tris[k1], tris[k2] = [w1, u, w2], [w2, v, w1]
                flips += 1
                flipped = True
                break
            if not flipped or flips > max_flips:
                raise ValueError(f"cannot insert mesh edge {a}-{b}")
    out = np.array(tris, np.int32)
    return out
