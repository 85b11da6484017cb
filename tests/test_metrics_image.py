"""Pixel metrics: L1, PSNR, SSIM."""
import math

import numpy as np
import pytest
from skimage import data
from skimage.metrics import structural_similarity

from fsth_core.evaluation.metrics import PSNR_CAP_DB, l1, mse, psnr, ssim


@pytest.fixture(scope="module")
def img():
    return np.ascontiguousarray(data.astronaut()[:256:2, 128:384:2])  # 128x128 RGB, includes the face


def _noisy(img, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float64) + rng.normal(0, sigma, img.shape), 0, 255).round().astype(np.uint8)


def test_identical_images(img):
    assert l1(img, img) == 0.0
    assert mse(img, img) == 0.0
    assert psnr(img, img) == PSNR_CAP_DB
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert ssim(img, img, luminance=True) == pytest.approx(1.0, abs=1e-12)


def test_known_offset_gives_exact_l1_and_psnr():
    rng = np.random.default_rng(1)
    a = rng.integers(20, 236, size=(32, 40, 3), dtype=np.uint8)
    sign = rng.choice([-5, 5], size=a.shape)
    b = (a.astype(int) + sign).astype(np.uint8)  # |a-b| = 5 everywhere, no clipping
    assert l1(a, b) == pytest.approx(5 / 255)
    assert psnr(a, b) == pytest.approx(20 * math.log10(255 / 5))


def test_gaussian_noise_psnr_matches_sigma():
    a = np.full((64, 64, 3), 128, np.uint8)
    sigma = 8.0
    b = _noisy(a, sigma)
    expected = 10 * math.log10(255 ** 2 / (sigma ** 2 + 1 / 12))  # + rounding noise
    assert psnr(a, b) == pytest.approx(expected, abs=0.15)
    assert psnr(a, _noisy(a, 2 * sigma)) < psnr(a, b) - 5.0  # doubling σ costs ~6 dB


def test_psnr_is_symmetric_and_finite(img):
    b = _noisy(img, 3)
    assert psnr(img, b) == pytest.approx(psnr(b, img))
    assert math.isfinite(psnr(img, b))


@pytest.mark.parametrize("sigma", [2.0, 10.0, 40.0])
def test_ssim_agrees_with_skimage(img, sigma):
    b = _noisy(img, sigma, seed=int(sigma))
    ref = structural_similarity(img / 255.0, b / 255.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0)
    assert ssim(img, b) == pytest.approx(ref, abs=1e-3)


def test_ssim_luminance_agrees_with_skimage_on_gray(img):
    gray = np.repeat(img[..., :1], 3, axis=-1)  # R=G=B: luma equals the channel
    b = np.repeat(_noisy(img, 12)[..., :1], 3, axis=-1)
    ref = structural_similarity(gray[..., 0] / 255.0, b[..., 0] / 255.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0)
    assert ssim(gray, b, luminance=True) == pytest.approx(ref, abs=1e-3)


def test_ssim_decreases_with_noise(img):
    values = [ssim(img, _noisy(img, s)) for s in (2, 10, 40)]
    assert values[0] > values[1] > values[2]


def test_batches_give_per_frame_values(img):
    b = _noisy(img, 10)
    batch_a, batch_b = np.stack([img, img]), np.stack([img, b])
    for fn in (l1, psnr, ssim):
        out = fn(batch_a, batch_b)
        assert isinstance(out, np.ndarray) and out.shape == (2,)
        assert out[0] == pytest.approx(fn(img, img)) and out[1] == pytest.approx(fn(img, b))


@pytest.mark.parametrize("a,b,msg", [
    (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32), "uint8"),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "shape"),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8), "same shape"),
])
def test_bad_inputs_raise_value_error(a, b, msg):
    with pytest.raises(ValueError, match=msg):
        l1(a, b)


def test_ssim_too_small_image_raises():
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="smaller than"):
        ssim(a, a)
