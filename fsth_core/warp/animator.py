"""Training-free animation by piecewise-affine mesh warping of one source crop.

Backward mapping: the target mesh is rasterized into a triangle-id map, every triangle's affine
map target -> source gives per-pixel source coordinates, and cv2.remap samples the source. Then the
mouth interior and closing eyes are painted (see fill.py). A validity mask (1 = pixel copied from
the source without much stretch) comes with every frame, for warp-guided generation.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from fsth_core.landmarks.geometry import as_points, eye_opening, inter_ocular

from .fill import fill_eye, sample_colours, smoothstep
from .mesh import LAYER_MOUTH_LOWER, LAYER_MOUTH_UPPER, RIG, Mesh, MeshOptions, build_mesh
from .mouth_mesh import rig_indices, teeth_split
from .mouth_paint import mouth_palette, paint_mouth

_CURVES = rig_indices(RIG)  # the target's lip curves and teeth lines, as mesh vertex indices


@dataclass(frozen=True)
class WarpOptions:
    """Run-time options of the mesh-warp animator."""
    mesh: MeshOptions = MeshOptions()
    fill_mouth: bool = True
    fill_eyes: bool = True
    eye_ramp: tuple[float, float] = (0.35, 0.85)    # eye closure relative to the source: fill 0 -> 1
    stretch_tolerance: float = 1.25                 # magnification up to this keeps validity 1
    validity_blur: float = 1.0 / 64                 # box blur of the validity mask, × crop side
    interpolation: str = "linear"                   # "linear" or "cubic" (sharper; for native-size warps)
    fold_smoothing: float = 0.0                     # Gaussian sigma (px) of the displacement field: softens
                                                    # the pixel-hard edges where the mesh folds (0: off)


_INTERP = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def triangle_affines(src_v: np.ndarray, dst_v: np.ndarray, tris: np.ndarray):
    """Per-triangle affine maps target -> source.

    Returns (A float32 [T,2,3], det float32 [T] of the target->source linear part, degenerate bool [T]).
    Degenerate and folded-over target triangles get a pure translation (centroid to centroid); a folded
    one's det is -1.
    """
    s0, s1, s2 = (src_v[tris[:, i]].astype(np.float64) for i in range(3))
    t0, t1, t2 = (dst_v[tris[:, i]].astype(np.float64) for i in range(3))
    ta, tb = t1 - t0, t2 - t0
    sa, sb = s1 - s0, s2 - s0
    det_t = ta[:, 0] * tb[:, 1] - tb[:, 0] * ta[:, 1]
    degenerate = np.abs(det_t) < 1e-3
    safe = np.where(degenerate, 1.0, det_t)
    # inverse of the target edge matrix [[ta_x, tb_x], [ta_y, tb_y]]
    i00, i01 = tb[:, 1] / safe, -tb[:, 0] / safe
    i10, i11 = -ta[:, 1] / safe, ta[:, 0] / safe
    m00 = sa[:, 0] * i00 + sb[:, 0] * i10
    m01 = sa[:, 0] * i01 + sb[:, 0] * i11
    m10 = sa[:, 1] * i00 + sb[:, 1] * i10
    m11 = sa[:, 1] * i01 + sb[:, 1] * i11
    det = m00 * m11 - m01 * m10
    # a triangle folded over (its orientation flipped) lies under the face that folded over it; mapped
    # affinely it would stretch a contour (a jaw line) into a streak along the fold: translate it instead
    det_s = sa[:, 0] * sb[:, 1] - sb[:, 0] * sa[:, 1]
    flipped = (det < 0) & ~degenerate & (np.abs(det_s) > 1e-3)
    shifted = degenerate | flipped
    m00[shifted], m11[shifted], m01[shifted], m10[shifted] = 1.0, 1.0, 0.0, 0.0
    c_t, c_s = (t0 + t1 + t2) / 3.0, (s0 + s1 + s2) / 3.0
    o_t = np.where(shifted[:, None], c_t, t0)
    o_s = np.where(shifted[:, None], c_s, s0)
    b0 = o_s[:, 0] - m00 * o_t[:, 0] - m01 * o_t[:, 1]
    b1 = o_s[:, 1] - m10 * o_t[:, 0] - m11 * o_t[:, 1]
    A = np.stack([np.stack([m00, m01, b0], 1), np.stack([m10, m11, b1], 1)], 1).astype(np.float32)
    det = np.where(flipped, -1.0, m00 * m11 - m01 * m10).astype(np.float32)  # the sign keeps the draw order
    return A, det, degenerate


def _area2(tv: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangles [T,3,2]."""
    a, b, c = tv[:, 0], tv[:, 1], tv[:, 2]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _triangle_validity(A: np.ndarray, det: np.ndarray, degenerate: np.ndarray, tolerance: float) -> np.ndarray:
    """Validity [T] in 0..1 from how much each triangle magnifies the source (1/σ_min of target->source)."""
    a, b, c, d = A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1]
    q = np.hypot((a + d) / 2, (c - b) / 2)
    r = np.hypot((a - d) / 2, (c + b) / 2)
    sigma_min = np.abs(q - r)
    magnification = 1.0 / np.maximum(sigma_min, 1e-6)
    v = 1.0 / (1.0 + np.maximum(magnification - tolerance, 0.0) ** 2)
    v[(det <= 0) | degenerate] = 0.0
    return v.astype(np.float32)


class MeshWarper:
    """Warps one source crop to target landmark sets.

    Args:
        source: uint8 [H, W, 3] RGB crop.
        source_points: float [68, 2] landmarks of the source, in crop pixels.
        options: WarpOptions.
    """

    def __init__(self, source: np.ndarray, source_points: np.ndarray, options: WarpOptions = WarpOptions()):
        src = np.asarray(source)
        if src.ndim != 3 or src.shape[2] != 3 or src.dtype != np.uint8:
            raise ValueError(f"source: expected uint8 [H, W, 3], got {src.dtype} {list(src.shape)}")
        if min(src.shape[:2]) < 16:
            raise ValueError(f"source: crop of {src.shape[1]}x{src.shape[0]} is too small (min 16 px)")
        pts = as_points(source_points, "source_points")
        if inter_ocular(pts) < 2.0:
            raise ValueError("source_points: degenerate face (eyes less than 2 px apart)")
        self.source = np.ascontiguousarray(src)
        self.source_points = pts
        self.options = options
        h, w = src.shape[:2]
        self.mesh: Mesh = build_mesh(pts, h, w, options.mesh, teeth_split(src, pts))
        self._xy: tuple[np.ndarray, np.ndarray] | None = None  # the frame's pixel grid, made on first use
        self._colours = sample_colours(self.source, pts)
        self._palette = mouth_palette(self.source, pts)
        self._eye_open = (eye_opening(pts, False), eye_opening(pts, True))
        self._idmap = np.empty((h, w), np.uint16)
        self._mouth_tri = np.isin(self.mesh.tri_layer, (LAYER_MOUTH_LOWER, LAYER_MOUTH_UPPER))
        tri_v = self.mesh.vertices[self.mesh.triangles]  # [T, 3, 2]: each triangle's source box, 2 px wider
        lo = np.concatenate([np.float32([[-1e9, -1e9]]), tri_v.min(1) - 2.0]).T.copy()
        hi = np.concatenate([np.float32([[1e9, 1e9]]), tri_v.max(1) + 2.0]).T.copy()
        self._reach = (lo.astype(np.float32), hi.astype(np.float32))
        k = max(1, int(round(min(h, w) * options.validity_blur)))
        self._blur = (2 * (k // 2) + 1,) * 2

    def warp(self, target_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Warp the source to one landmark set.

        Args:
            target_points: float [68, 2] in crop pixels (points outside the crop are allowed).
        Returns:
            (image uint8 [H, W, 3] RGB, validity float32 [H, W] in 0..1).
        """
        image, valid, _ = self.warp_with_motion(target_points)
        return image, valid

    def warp_with_motion(self, target_points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like :meth:`warp`, plus where the picture changed: float32 [H, W] in 0..1 (1 where a pixel
        moves by 0.5 px or more or a feature is painted, 0 where the source pixel is copied as is)."""
        h, w = self.source.shape[:2]
        return self.warp_box(target_points, (0, 0, w, h))

    def warp_box(self, target_points: np.ndarray, box: tuple[int, int, int, int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`warp_with_motion` on the output pixels x0 <= x < x1, y0 <= y < y1 only (``box``, whole
        pixels inside the source's frame): (image uint8 [h,w,3], validity [h,w], motion [h,w])."""
        tgt = as_points(target_points, "target_points")
        x0, y0, x1, y1 = (int(v) for v in box)
        full = (x0, y0, x1, y1) == (0, 0) + self.source.shape[1::-1]
        mesh = self.mesh
        dst_v = mesh.target_vertices(tgt)
        A, det, degenerate = triangle_affines(mesh.vertices, dst_v, mesh.triangles)
        tri_valid = _triangle_validity(A, det, degenerate, self.options.stretch_tolerance)
        ids = self._rasterize(dst_v, det, (x0, y0, x1, y1))
        # id 0 = pixels no triangle reached (should not happen): identity map, validity 0
        coef = np.concatenate([np.float32([[[1, 0, 0], [0, 1, 0]]]), A]).reshape(-1, 6)
        xs, ys = self._grid(x0, y0, x1, y1)
        map_x = coef[:, 0][ids] * xs + coef[:, 1][ids] * ys + coef[:, 2][ids]
        map_y = coef[:, 3][ids] * xs + coef[:, 4][ids] * ys + coef[:, 5][ids]
        # a pixel samples near its own triangle's source: the rasterizer also covers pixels just outside
        # a sliver triangle, where the sliver's affine map (it shrinks the source a lot) would extrapolate
        # far across the picture
        sliver = np.concatenate([[False], np.abs(det) > 4.0])
        if sliver.any():
            at = sliver[ids]
            if at.any():
                k, (lo, hi) = ids[at], self._reach
                map_x[at] = np.clip(map_x[at], lo[0][k], hi[0][k])
                map_y[at] = np.clip(map_y[at], lo[1][k], hi[1][k])
        if self.options.fold_smoothing > 0:  # blur the displacement, not the map: still fields stay exact
            sigma, border = self.options.fold_smoothing, cv2.BORDER_CONSTANT if full else cv2.BORDER_REPLICATE
            map_x = xs + cv2.GaussianBlur(map_x - xs, (0, 0), sigma, borderType=border)
            map_y = ys + cv2.GaussianBlur(map_y - ys, (0, 0), sigma, borderType=border)
        image = cv2.remap(self.source, map_x, map_y, _INTERP[self.options.interpolation],
                          borderMode=cv2.BORDER_REPLICATE)
        valid = np.concatenate([np.float32([0.0]), tri_valid])[ids]
        h, w = self.source.shape[:2]
        outside = (map_x < -0.5) | (map_x > w - 0.5) | (map_y < -0.5) | (map_y > h - 0.5)
        valid[outside] *= 0.5
        before = valid.copy()
        offset = np.float32([x0, y0])
        self._paint_features(image, valid, tgt - offset, dst_v - offset)
        # displacements under 1/64 px cannot change a pixel (remap samples on a 1/32 px grid): 0 there
        motion = (np.hypot(map_x - xs, map_y - ys) - 1.0 / 64) * 2.0
        painted = before - valid  # the mouth and eye painters lower the validity where they paint
        motion = np.clip(np.maximum(motion, painted * 16.0), 0.0, 1.0)
        valid = cv2.blur(valid, self._blur)
        return image, np.clip(valid, 0.0, 1.0), motion

    def triangle_ids(self, target_points: np.ndarray) -> np.ndarray:
        """Which mesh triangle each output pixel samples: int32 [H, W], -1 where none (a hole)."""
        tgt = as_points(target_points, "target_points")
        dst_v = self.mesh.target_vertices(tgt)
        _, det, _ = triangle_affines(self.mesh.vertices, dst_v, self.mesh.triangles)
        h, w = self.source.shape[:2]
        return self._rasterize(dst_v, det, (0, 0, w, h)).astype(np.int32) - 1

    def _grid(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (xs, ys) float32 [h, w] of a box; the whole frame's are made once."""
        if (x0, y0) == (0, 0) and (x1, y1) == self.source.shape[1::-1]:
            if self._xy is None:
                ys, xs = np.mgrid[0:y1, 0:x1]
                self._xy = (xs.astype(np.float32), ys.astype(np.float32))
            return self._xy
        ys, xs = np.mgrid[y0:y1, x0:x1]
        return xs.astype(np.float32), ys.astype(np.float32)

    def _rasterize(self, dst_v: np.ndarray, det: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Triangle-id map uint16 [h, w] of the output box (id = triangle index + 1), drawn background
        layers first and, within a layer, folded-over triangles first, so the face and unfolded triangles
        end on top.  Triangles that miss the box are skipped."""
        mesh = self.mesh
        x0, y0, x1, y1 = box
        tv = dst_v[mesh.triangles]
        hits = (tv[..., 0].max(1) >= x0 - 1) & (tv[..., 0].min(1) <= x1) & \
               (tv[..., 1].max(1) >= y0 - 1) & (tv[..., 1].min(1) <= y1)
        # the mouth's own triangles collapse to lines when the source's interior is closed: the lips' edges
        # already cover those pixels
        hits &= ~(self._mouth_tri & (np.abs(_area2(tv)) < 0.5))
        order = np.lexsort(((det > 0).astype(np.int8), mesh.tri_layer))
        order = order[hits[order]]
        fixed = np.round((dst_v - np.float32([x0, y0])) * 16.0)
        fixed = np.clip(fixed, -(1 << 26), 1 << 26).astype(np.int32)
        if (x0, y0, x1, y1) == (0, 0) + self.source.shape[1::-1]:
            idmap = self._idmap
            idmap.fill(0)
        else:
            idmap = np.zeros((y1 - y0, x1 - x0), np.uint16)
        for k, poly in zip((order + 1).tolist(), fixed[mesh.triangles[order]]):
            cv2.fillConvexPoly(idmap, poly, k, cv2.LINE_8, 4)
        return idmap

    def _paint_features(self, image: np.ndarray, valid: np.ndarray, tgt: np.ndarray, dst_v: np.ndarray) -> None:
        opts = self.options
        if opts.fill_mouth:
            paint_mouth(image, valid, tgt, {k: dst_v[ix] for k, ix in _CURVES.items()}, self._palette)
        if opts.fill_eyes:
            for left in (False, True):
                src_open = self._eye_open[int(left)]
                if src_open < 0.08:
                    continue  # the source eye is closed already: the warp keeps it closed
                closure = 1.0 - eye_opening(tgt, left) / src_open
                fill_eye(image, valid, tgt, self._colours, left, smoothstep(closure, *opts.eye_ramp))


def animate_warp(source: np.ndarray, source_points: np.ndarray, target_points_seq: Iterable[np.ndarray],
                 progress: bool = True, options: WarpOptions = WarpOptions()) -> Iterator[np.ndarray]:
    """Stream frames: warp the source crop to each landmark set of a sequence.

    Args:
        source: uint8 [H, W, 3] RGB crop; source_points: float [68, 2].
        target_points_seq: float [T, 68, 2] array or any iterable of [68, 2] sets.
        progress: show a tqdm bar.
    Yields:
        uint8 [H, W, 3] RGB frames.
    """
    warper = MeshWarper(source, source_points, options)
    seq = target_points_seq
    total = len(seq) if hasattr(seq, "__len__") else None
    if progress:
        seq = tqdm(seq, total=total, desc="warp", unit="frame")
    for pts in seq:
        yield warper.warp(pts)[0]
