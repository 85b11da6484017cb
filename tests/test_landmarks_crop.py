import numpy as np
import pytest
from _landmark_helpers import astronaut, astronaut_points

from fsth_core.inference.compose import feather_mask, paste_back
from fsth_core.landmarks.crop import CropTransform, head_crop_box, head_crop_boxes


def test_head_crop_is_square_and_holds_the_head_with_margins():
    pts = astronaut_points()
    ct = head_crop_box(pts, (512, 512))
    x0, y0, x1, y1 = ct.box
    assert x1 - x0 == pytest.approx(y1 - y0)
    face_h = np.ptp(pts[:, 1])
    assert y0 < pts[:, 1].min() - 0.4 * face_h  # room for forehead and hair
    assert y1 > pts[:, 1].max() + 0.3 * face_h  # neck
    assert x0 < pts[:, 0].min() and x1 > pts[:, 0].max()
    assert ct.image_size == (512, 512)


def test_points_round_trip_and_match_the_pixels():
    ct = head_crop_box(astronaut_points(), (512, 512))
    for out in (256, 64):
        q = ct.points_to_crop(astronaut_points(), out)
        assert np.abs(ct.points_from_crop(q, out) - astronaut_points()).max() < 1e-3
    # a linear ramp image: each crop pixel must hold the ramp's value at its source position
    yy, xx = np.mgrid[0:300, 0:400].astype(np.float32)
    ramp = np.dstack([xx * 0.5, yy * 0.25, xx * 0 + 1])
    box = CropTransform(100.3, 40.7, 180.0, (300, 400))
    for out in (256, 60):  # upsampled (warp) and strongly downsampled (area first) paths
        crop = box.apply(ramp, out)
        jj, ii = np.mgrid[2:out - 2, 2:out - 2]
        src = box.points_from_crop(np.stack([ii, jj], -1).astype(np.float32), out)
        assert np.abs(crop[2:-2, 2:-2, 0] - src[..., 0] * 0.5).max() < 0.05
        assert np.abs(crop[2:-2, 2:-2, 1] - src[..., 1] * 0.25).max() < 0.05


def test_crop_outside_the_frame_is_padded():
    ct = CropTransform(-50.0, -50.0, 100.0, (40, 40))
    img = np.full((40, 40, 3), 200, np.uint8)
    assert (ct.apply(img, 32, border="constant")[0, 0] == 0).all()
    assert (ct.apply(img, 32)[0, 0] == 200).all()
    assert ct.apply(astronaut(), 16).shape == (16, 16, 3)


def test_video_box_is_stable_and_covers_every_frame():
    rng = np.random.default_rng(0)
    shifts = np.cumsum(rng.normal(0, 3, (40, 1, 2)), axis=0).astype(np.float32)
    seq = astronaut_points()[None] + shifts
    one = head_crop_box(seq, (512, 512))
    for p in seq:
        frame_box = head_crop_box(p, (512, 512)).box
        assert (one.box[:2] <= frame_box[:2] + 1e-3).all() and (one.box[2:] >= frame_box[2:] - 1e-3).all()
    follow = head_crop_boxes(seq + rng.normal(0, 2, seq.shape).astype(np.float32), (512, 512), fps=25)
    raw = [head_crop_box(p + rng.normal(0, 2, p.shape).astype(np.float32), (512, 512)).box for p in seq]
    jitter = lambda b: np.abs(np.diff(np.array(b), axis=0)).mean()  # noqa: E731
    assert len(follow) == 40 and jitter([c.box for c in follow]) < 0.5 * jitter(raw)
    with pytest.raises(ValueError):
        head_crop_box(np.zeros((5, 2)))


def test_paste_back_round_trip_and_feathering():
    img = astronaut().copy()
    ct = head_crop_box(astronaut_points(), (512, 512))
    crop = ct.apply(img, 256)
    back = paste_back(img, crop, ct)
    assert np.abs(back.astype(int) - img).mean() < 1.5
    white = np.full((256, 256, 3), 255, np.uint8)
    out = paste_back(img, white, ct, feather=0.1)
    x0, y0, x1, y1 = ct.box.astype(int)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    assert (out[cy, cx] == 255).all()
    assert np.array_equal(out[:, : max(0, x0 - 2)], img[:, : max(0, x0 - 2)])  # outside untouched
    edge = out[cy, x0 + 2].astype(int)
    assert (edge > img[cy, x0 + 2]).any() and (edge < 255).any()  # feathered, not a hard edge
    small = paste_back(img, white, CropTransform(10.0, 10.0, 40.0, (512, 512)))  # crop shrinks a lot
    assert (small[30, 30] == 255).all() and np.array_equal(small[100:], img[100:])
    m = feather_mask(64, 0.25)
    assert m[32, 32] == 1.0 and m[0, 0] < 0.01 and 0 < m[32, 8] < 1
    with pytest.raises(ValueError):
        paste_back(img, white[:, :100], ct)
    with pytest.raises(ValueError):
        paste_back(img, white, ct, feather=0.9)
