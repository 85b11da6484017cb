"""Paste a generated head crop back into its original full frame with a feathered mask."""
from __future__ import annotations

import cv2
import numpy as np

from fsth_core.landmarks.crop import CropTransform


def feather_mask(size: int, feather: float) -> np.ndarray:
    """float32 [size, size] mask: 1 inside, smoothly falling to 0 over ``feather`` x size at the edges."""
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather must be in [0, 0.5] (a fraction of the crop size), got {feather}")
    if feather == 0:
        return np.ones((size, size), np.float32)
    d = np.minimum(np.arange(size) + 0.5, size - 0.5 - np.arange(size)) / (feather * size)
    ramp = np.clip(d, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    return np.outer(ramp, ramp).astype(np.float32)


def paste_back(frame: np.ndarray, crop: np.ndarray, transform: CropTransform, feather: float = 0.1,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Blend ``crop`` into ``frame`` where ``transform`` took it from.

    Args:
        frame: uint8 [H, W, 3] RGB, the original full frame (not modified).
        crop: uint8 [S, S, 3] RGB, e.g. a generated head crop of side S.
        transform: the CropTransform that produced the S x S crop from the frame.
        feather: edge softness as a fraction of the crop side (0: hard edge).
        mask: optional float [S, S] in [0, 1] (e.g. a face mask), multiplied with the feathered square.
    Returns:
        uint8 [H, W, 3] frame with the crop pasted back.
    """
    frame = np.asarray(frame)
    crop = np.asarray(crop)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"paste_back: frame must be uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1] or crop.dtype != np.uint8:
        raise ValueError(f"paste_back: crop must be uint8 [S, S, 3], got {crop.dtype} {list(crop.shape)}")
    s = crop.shape[0]
    m = feather_mask(s, feather)
    if mask is not None:
        mask = np.asarray(mask, np.float32)
        if mask.shape != (s, s):
            raise ValueError(f"paste_back: mask must be [{s}, {s}], got {list(mask.shape)}")
        m = m * np.clip(mask, 0.0, 1.0)
    target = int(round(transform.side))
    if 0 < target < 0.75 * s:  # the crop shrinks on the way back: area-average it first
        crop = cv2.resize(crop, (target, target), interpolation=cv2.INTER_AREA)
        m = cv2.resize(m, (target, target), interpolation=cv2.INTER_AREA)
        s = target
    h, w = frame.shape[:2]
    inv = transform.inverse_matrix(s)
    warped = cv2.warpAffine(crop, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(m, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = alpha[:, :, None]
    out = frame.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
