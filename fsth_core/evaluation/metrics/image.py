"""Pixel metrics: L1, PSNR, SSIM on uint8 RGB images.

Inputs: numpy uint8 RGB, either one image [H,W,3] or a batch [N,H,W,3]; both arguments must have the same
shape. Values are computed on intensities scaled to 0..1.
Output: a Python float for one image, a float64 numpy array [N] (one value per frame) for a batch.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate1d

PSNR_CAP_DB = 100.0
"""PSNR returned for identical images (and the upper clip of every PSNR), so means stay finite."""

# Standard SSIM constants (Wang et al. 2004) for a data range of 1.
_K1, _K2 = 0.01, 0.03
_C1, _C2 = _K1 ** 2, _K2 ** 2
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as in Wang et al.'s Y channel


def check_pair(a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("a", "b")) -> bool:
    """Validate two uint8 RGB images/batches of equal shape; return True when they are batches [N,H,W,3]."""
    for arr, name in zip((a, b), names):
        if not isinstance(arr, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
        if arr.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8 RGB, got dtype {arr.dtype}")
        if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
            raise ValueError(f"{name} must have shape [H,W,3] or [N,H,W,3], got {arr.shape}")
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {a.shape} and {b.shape}")
    return a.ndim == 4


def _per_frame(fn, a: np.ndarray, b: np.ndarray):
    if check_pair(a, b):
        return np.array([fn(x, y) for x, y in zip(a, b)], dtype=np.float64)
    return float(fn(a, b))


def _to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / 255.0


def _l1_one(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(_to_float(a) - _to_float(b)).mean())


def _mse_one(a: np.ndarray, b: np.ndarray) -> float:
    return float(((_to_float(a) - _to_float(b)) ** 2).mean())


def _psnr_one(a: np.ndarray, b: np.ndarray) -> float:
    mse = _mse_one(a, b)
    if mse == 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(1.0 / mse))


def l1(a: np.ndarray, b: np.ndarray):
    """Mean absolute error in 0..1 units. a, b: uint8 [H,W,3] or [N,H,W,3] → float or [N]."""
    return _per_frame(_l1_one, a, b)


def mse(a: np.ndarray, b: np.ndarray):
    """Mean squared error in 0..1 units. a, b: uint8 [H,W,3] or [N,H,W,3] → float or [N]."""
    return _per_frame(_mse_one, a, b)


def psnr(a: np.ndarray, b: np.ndarray):
    """PSNR in dB with peak 1 (0..1 units): 10·log10(1/MSE).

    a, b: uint8 [H,W,3] or [N,H,W,3] → float or [N]. Identical images give PSNR_CAP_DB (100 dB), and
    larger values are clipped to it, so the value is always finite.
    """
    return _per_frame(_psnr_one, a, b)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """1-D Gaussian taps [size], normalized to sum 1 (the 2-D window is their outer product)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return w / w.sum()


def _filter_valid(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 2-D filter of x [H,W] keeping only the 'valid' region [H-k+1, W-k+1]."""
    r = len(taps) // 2
    y = correlate1d(x, taps, axis=0, mode="reflect")
    y = correlate1d(y, taps, axis=1, mode="reflect")
    return y[r:-r, r:-r] if r > 0 else y


def ssim_map(x: np.ndarray, y: np.ndarray, win: int = 11, sigma: float = 1.5) -> np.ndarray:
    """SSIM map of two float images [H,W] in 0..1 (valid region [H-win+1, W-win+1]).

    Wang et al. 2004: Gaussian-weighted local means, variances (population, not sample) and covariance,
    K1 = 0.01, K2 = 0.03, L = 1.
    """
    if min(x.shape) < win:
        raise ValueError(f"image {x.shape} is smaller than the {win}x{win} SSIM window")
    t = gaussian_window(win, sigma)
    mx, my = _filter_valid(x, t), _filter_valid(y, t)
    sxx = _filter_valid(x * x, t) - mx * mx
    syy = _filter_valid(y * y, t) - my * my
    sxy = _filter_valid(x * y, t) - mx * my
    num = (2 * mx * my + _C1) * (2 * sxy + _C2)
    den = (mx * mx + my * my + _C1) * (sxx + syy + _C2)
    return num / den


def _ssim_one(a: np.ndarray, b: np.ndarray, luminance: bool) -> float:
    fa, fb = _to_float(a), _to_float(b)
    if luminance:
        return float(ssim_map(fa @ _LUMA, fb @ _LUMA).mean())
    return float(np.mean([ssim_map(fa[..., c], fb[..., c]).mean() for c in range(3)]))


def ssim(a: np.ndarray, b: np.ndarray, luminance: bool = False):
    """Structural similarity (Wang et al. 2004), 11x11 Gaussian window with σ = 1.5, on 0..1 intensities.

    a, b: uint8 [H,W,3] or [N,H,W,3] (H, W ≥ 11) → float or [N]. The SSIM map is averaged over the valid
    region (no padded border). By default SSIM is computed per RGB channel and the three means are
    averaged (equal to skimage's structural_similarity with channel_axis=-1, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=1); ``luminance=True`` uses the BT.601 luma instead.
    """
    return _per_frame(lambda x, y: _ssim_one(x, y, luminance), a, b)
