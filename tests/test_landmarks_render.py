import numpy as np
import pytest
from _landmark_helpers import astronaut_points

from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.render import PARTS, draw_landmarks, draw_landmarks_batch


def _crop_points(size):
    return head_crop_box(astronaut_points(), (512, 512)).points_to_crop(astronaut_points(), size)


def _nearest_part(pixel):
    colours = np.array([c for *_, c in PARTS], np.float32)
    return int(np.argmin(np.linalg.norm(colours - pixel.astype(np.float32), axis=1)))


def test_each_part_has_its_colour_where_its_points_are():
    pts = _crop_points(256)
    img = draw_landmarks(pts, 256)
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8
    for k, (a, b, _closed, colour) in enumerate(PARTS):
        hits = 0
        for x, y in np.round(pts[a:b + 1]).astype(int):
            if _nearest_part(img[y, x]) == k or tuple(img[y, x]) == colour:
                hits += 1
        assert hits >= 0.7 * (b - a + 1), f"part {a}-{b}: only {hits} points have its colour"


def test_black_background_and_closed_eyes_and_lips():
    pts = _crop_points(256)
    img = draw_landmarks(pts, 256)
    assert (img.max(axis=2) == 0).mean() > 0.8
    for a, b in ((36, 41), (42, 47), (48, 59), (60, 67)):  # closing segment: last point back to first
        mid = np.round((pts[a] + pts[b]) / 2).astype(int)
        assert img[mid[1], mid[0]].max() > 60, f"part {a}-{b} is not closed"


def test_line_width_scales_and_lines_are_antialiased():
    small = draw_landmarks(_crop_points(256), 256)
    big = draw_landmarks(_crop_points(512), 512)
    ratio = (big.max(axis=2) > 0).sum() / (small.max(axis=2) > 0).sum()
    assert 2.5 < ratio < 6.0  # twice the lengths, twice the width
    levels = np.unique(small[..., 1])
    assert len(levels) > 10  # intermediate values along edges


def test_batch_and_errors():
    pts = np.stack([_crop_points(128)] * 3)
    out = draw_landmarks_batch(pts, 128)
    assert out.shape == (3, 128, 128, 3) and np.array_equal(out[0], out[2])
    assert draw_landmarks_batch(pts, (64, 96)).shape == (3, 64, 96, 3)
    with pytest.raises(ValueError):
        draw_landmarks(np.zeros((5, 2)), 64)
    with pytest.raises(ValueError):
        draw_landmarks(np.full((68, 2), np.nan), 64)
    far = draw_landmarks(np.full((68, 2), 1e9, np.float32), 32)  # off-image points draw nothing, no crash
    assert far.max() == 0
