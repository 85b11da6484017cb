"""Synthetic generator: determinism, image = f(identity, landmarks), plausible landmarks."""
import numpy as np
import pytest

from fsth_core.synthetic import template as fm
from fsth_core.synthetic.heads import (
    identity_landmarks_sequence,
    neutral_landmarks,
    random_identity,
    render_frame,
    render_sequence,
    synthetic_identity,
    synthetic_portrait,
    write_synthetic_dataset,
)

S = 64


def _seq(seed, frames=24, size=S):
    idn = synthetic_identity(seed, 0)
    return idn, identity_landmarks_sequence(idn, frames, np.random.default_rng([seed, 1]), size)


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        write_synthetic_dataset(tmp_path / name, identities=2, frames=3, size=32, seed=11, progress=False)
    for vid in ("synth_00000", "synth_00001"):
        for f in ("frames.bin", "landmarks.npy"):
            assert (tmp_path / "a/videos" / vid / f).read_bytes() == (tmp_path / "b/videos" / vid / f).read_bytes()
    write_synthetic_dataset(tmp_path / "c", identities=1, frames=3, size=32, seed=12, progress=False)
    assert (tmp_path / "c/videos/synth_00000/frames.bin").read_bytes() != \
        (tmp_path / "a/videos/synth_00000/frames.bin").read_bytes()


def test_image_is_function_of_identity_and_landmarks():
    idn, pts = _seq(0)
    first = render_frame(idn, pts[5], S)
    render_sequence(synthetic_identity(3), pts[:3], S)  # unrelated work in between
    assert np.array_equal(first, render_frame(idn, pts[5].copy(), S))
    again = synthetic_identity(0, 0)  # an equal identity re-created from its seed
    assert np.array_equal(first, render_frame(again, pts[5], S))
    moved = pts[5].copy()
    moved[48:68, 1] += 3  # move only the mouth
    diff = np.abs(render_frame(idn, moved, S).astype(int) - first.astype(int)).sum(-1)
    assert diff.sum() > 0
    ys, _ = np.nonzero(diff)
    assert ys.min() >= pts[5, 27:, 1].min() - 2  # the change stays around the lower face


def test_identities_differ():
    pts = neutral_landmarks(synthetic_identity(0, 0), S)
    imgs = [render_frame(synthetic_identity(0, i), pts, S).astype(float) for i in range(6)]
    for i in range(6):
        for j in range(i + 1, 6):
            assert np.abs(imgs[i] - imgs[j]).mean() > 8, (i, j)


def test_landmarks_plausible():
    for seed in range(8):
        idn, pts = _seq(seed, frames=40, size=128)
        assert pts.shape == (40, 68, 2) and pts.dtype == np.float32
        assert pts.min() > 0 and pts.max() < 128
        eyes_y = pts[:, 36:48, 1].mean(1)
        nose_y = pts[:, 30, 1]
        mouth_y = pts[:, 48:68, 1].mean(1)
        chin_y = pts[:, 8, 1]
        assert np.all(pts[:, 17:27, 1].mean(1) < eyes_y) and np.all(eyes_y < nose_y)
        assert np.all(nose_y < mouth_y) and np.all(mouth_y < chin_y)
        assert np.all(pts[:, 36:42, 0].mean(1) < pts[:, 42:48, 0].mean(1))  # iBUG right eye on image left
        height = (chin_y - pts[:, 17:27, 1].min(1)) / 128
        assert 0.35 < height.min() and height.max() < 0.65
        assert pts[:, 30].std(0).max() > 1.0  # the head moves


def test_expressions_move_the_right_points():
    idn = random_identity(np.random.default_rng(4))
    neutral = neutral_landmarks(idn, 128)
    blink = neutral_landmarks(idn, 128, expression=fm.Expression(blink=1.0))
    gap = lambda p: (p[[40, 41, 46, 47], 1] - p[[38, 37, 44, 43], 1]).mean()  # noqa: E731
    assert gap(blink) < 0.2 * gap(neutral)
    opened = neutral_landmarks(idn, 128, expression=fm.Expression(mouth_open=1.0))
    assert opened[66, 1] - opened[62, 1] > (neutral[66, 1] - neutral[62, 1]) + 10
    assert opened[8, 1] > neutral[8, 1] + 5
    turned = neutral_landmarks(idn, 128, pose=fm.Pose(yaw=25))
    assert turned[30, 0] - turned[27, 0] > neutral[30, 0] - neutral[27, 0] + 2
    # an open mouth shows a dark interior, a closed one does not
    img_o, img_n = render_frame(idn, opened, 128), render_frame(idn, neutral, 128)
    c = np.round((opened[62] + opened[66]) / 2).astype(int)
    assert img_o[c[1], c[0]].sum() < img_n[c[1], c[0]].sum() - 60


def test_portrait_helper_and_errors():
    img, pts, idn = synthetic_portrait(seed=2, size=48)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8 and pts.shape == (68, 2)
    img2, _, _ = synthetic_portrait(seed=2, size=48, points=pts + 2)
    assert not np.array_equal(img, img2)
    with pytest.raises(ValueError, match="68, 2"):
        render_frame(idn, pts[:10], 48)
    with pytest.raises(ValueError, match="frames"):
        identity_landmarks_sequence(idn, 0, np.random.default_rng(0))


def test_photographic_heads_are_deterministic_textured_and_keep_their_landmarks(tmp_path):
    import numpy as np

    from fsth_core.data.store import TrainingSet
    from fsth_core.synthetic.heads import (
        identity_landmarks_sequence,
        photographic_sequence,
        render_sequence,
        synthetic_identity,
        write_synthetic_dataset,
    )

    idn = synthetic_identity(5, 1)
    pts = identity_landmarks_sequence(idn, 3, np.random.default_rng(0), size=64)
    a, pa = photographic_sequence(idn, pts, 64, np.random.default_rng(9))
    b, pb = photographic_sequence(idn, pts, 64, np.random.default_rng(9))
    assert np.array_equal(a, b) and np.array_equal(pa, pb) and a.shape == (3, 64, 64, 3)
    cartoon = render_sequence(idn, pts, 64)
    # real texture: much more fine detail than the flat cartoon, and another background
    detail = lambda im: np.abs(np.diff(im.astype(np.float32), axis=1)).mean()  # noqa: E731
    assert detail(a[0]) > 1.5 * detail(cartoon[0])
    assert np.abs(a[:, :4, :4].astype(int) - cartoon[:, :4, :4]).mean() > 10
    # the zoom/shift moved the landmarks with the picture: the face stays where its points say
    assert np.abs(pa - pts).max() < 0.2 * 64 and not np.allclose(pa, pts)
    data = write_synthetic_dataset(tmp_path / "ds", identities=4, frames=2, size=64, seed=3, progress=False,
                                   photographic=1.0)
    ts = TrainingSet(data)
    assert len(ts) == 4 and all(v["source"].endswith("photographic") for v in ts.videos)
