"""Square head crops (hair, neck, a little of the shoulders, like VoxCeleb's) around landmarks.

A ``CropTransform`` is an axis-aligned square box in the original frame; it maps images
and points into an ``out_size`` crop and back.  Pixel centres sit at integer coordinates
(the convention of the detectors and of OpenCV).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

_BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


@dataclass(frozen=True)
class CropOptions:
    """``scale``: crop side / face size (the larger side of the landmarks' box);
    ``shift``: centre moved up by this fraction of the face size (room for hair)."""

    scale: float = 2.2
    shift: float = 0.12


@dataclass(frozen=True)
class CropTransform:
    """Square box (x0, y0, side) in a frame of ``image_size`` (h, w)."""

    x0: float
    y0: float
    side: float
    image_size: tuple[int, int] = (0, 0)

    @property
    def box(self) -> np.ndarray:
        """float32 [4]: x0, y0, x1, y1."""
        return np.array([self.x0, self.y0, self.x0 + self.side, self.y0 + self.side], np.float32)

    def matrix(self, out_size: int) -> np.ndarray:
        """float64 [2, 3] affine: original-frame pixel -> crop pixel, for an ``out_size`` crop."""
        f = out_size / self.side
        return np.array([[f, 0.0, (0.5 - self.x0) * f - 0.5], [0.0, f, (0.5 - self.y0) * f - 0.5]])

    def inverse_matrix(self, out_size: int) -> np.ndarray:
        """float64 [2, 3] affine: crop pixel -> original-frame pixel."""
        return cv2.invertAffineTransform(self.matrix(out_size))

    def points_to_crop(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """[..., 2] frame pixels -> float32 [..., 2] crop pixels."""
        return _affine(points, self.matrix(out_size))

    def points_from_crop(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """[..., 2] crop pixels -> float32 [..., 2] frame pixels."""
        return _affine(points, self.inverse_matrix(out_size))

    def apply(self, image: np.ndarray, out_size: int, border: str = "replicate") -> np.ndarray:
        """Crop uint8 [H, W, C] ``image`` -> [out_size, out_size, C]; outside the frame: ``border``."""
        mode = _BORDERS[border]
        f = out_size / self.side
        if f >= 0.75:
            return cv2.warpAffine(image, self.matrix(out_size), (out_size, out_size),
                                  flags=cv2.INTER_LINEAR, borderMode=mode)
        # strong downscale: area-average the covered region first (no aliasing), then place sub-pixel
        h, w = image.shape[:2]
        xi, yi = int(np.floor(self.x0)), int(np.floor(self.y0))
        xe, ye = int(np.ceil(self.x0 + self.side)) + 1, int(np.ceil(self.y0 + self.side)) + 1
        region = image[max(yi, 0):min(ye, h), max(xi, 0):min(xe, w)]
        if region.size == 0:
            return cv2.warpAffine(image, self.matrix(out_size), (out_size, out_size), flags=cv2.INTER_LINEAR,
                                  borderMode=mode)
        region = cv2.copyMakeBorder(region, max(0, -yi), max(0, ye - h), max(0, -xi), max(0, xe - w), mode)
        rh, rw = region.shape[:2]
        nw, nh = max(1, round(rw * f)), max(1, round(rh * f))
        small = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
        sx, sy = nw / rw, nh / rh
        m = _compose_small(self, xi, yi, sx, sy, f)
        return cv2.warpAffine(small, m, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=mode)


def _compose_small(t: CropTransform, xi: int, yi: int, sx: float, sy: float, f: float) -> np.ndarray:
    """Affine small-image pixel -> crop pixel, where small = region (origin xi, yi) resized by sx, sy."""
    # small pixel u (centre convention) covers region coordinate x_r = (u + 0.5) / sx - 0.5; frame x = x_r + xi
    # crop j = (x + 0.5 - x0) * f - 0.5
    return np.array([[f / sx, 0.0, (0.5 / sx - 0.5 + xi + 0.5 - t.x0) * f - 0.5],
                     [0.0, f / sy, (0.5 / sy - 0.5 + yi + 0.5 - t.y0) * f - 0.5]])


def _affine(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64)
    return (p @ m[:, :2].T + m[:, 2]).astype(np.float32)


def face_frame(points: np.ndarray, options: CropOptions = CropOptions()) -> np.ndarray:
    """Per-frame head square: [..., 68, 2] -> [..., 3] (centre x, centre y, side)."""
    p = np.asarray(points, np.float64)
    lo, hi = p.min(axis=-2), p.max(axis=-2)
    size = np.max(hi - lo, axis=-1)
    cx = (lo[..., 0] + hi[..., 0]) / 2
    cy = (lo[..., 1] + hi[..., 1]) / 2 - options.shift * size
    return np.stack([cx, cy, size * options.scale], axis=-1)


def _check(points) -> np.ndarray:
    p = np.asarray(points, np.float32)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1:] != (68, 2) or len(p) == 0:
        raise ValueError(f"expected landmarks [68, 2] or [T, 68, 2], got {list(np.shape(points))}")
    if not np.isfinite(p).all():
        raise ValueError("landmarks contain NaN or infinite values")
    return p


def head_crop_box(points: np.ndarray, image_size: tuple[int, int] = (0, 0),
                  options: CropOptions = CropOptions()) -> CropTransform:
    """One square head box for a face or a whole video (stable: the same box for every frame).

    Args:
        points: [68, 2] or [T, 68, 2] landmarks in frame pixels.
        image_size: (h, w) of the frame (kept in the transform; the box may extend past it).
    Returns:
        CropTransform whose box holds the head in every frame: centred on the middle of the
        head's range of motion, its side the median head size plus that range.
    """
    p = _check(points)
    fr = face_frame(p, options)
    lo, hi = fr[:, :2].min(axis=0), fr[:, :2].max(axis=0)
    centre = (lo + hi) / 2
    side = float(np.median(fr[:, 2]) + np.max(hi - lo))
    side = max(side, 2.0)
    return CropTransform(float(centre[0] - side / 2), float(centre[1] - side / 2), side,
                         (int(image_size[0]), int(image_size[1])))


def head_crop_boxes(points: np.ndarray, image_size: tuple[int, int] = (0, 0), fps: float = 25.0,
                    smooth_seconds: float = 0.5, options: CropOptions = CropOptions()) -> list[CropTransform]:
    """One head box per frame, following the head, smoothed over ``smooth_seconds`` (Gaussian sigma)."""
    p = _check(points)
    fr = face_frame(p, options)
    sigma = smooth_seconds * (fps or 25.0)
    if len(fr) > 1 and sigma > 0:
        fr = gaussian_filter1d(fr, sigma, axis=0, mode="nearest")
    size = (int(image_size[0]), int(image_size[1]))
    return [CropTransform(float(c[0] - c[2] / 2), float(c[1] - c[2] / 2), float(max(c[2], 2.0)), size) for c in fr]
