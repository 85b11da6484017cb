import gc
import weakref

import numpy as np
import pytest
from _landmark_helpers import dlib_detector, moving_clip

from fsth_core.landmarks.smooth import smooth_landmarks
from fsth_core.landmarks.track import FaceTracker, extract_landmarks

N = 12


@pytest.fixture(scope="module")
def per_frame():
    return extract_landmarks(moving_clip(N), backend=dlib_detector(), track=False, progress=False)


def test_tracking_stays_close_to_per_frame_detection(per_frame):
    tracker = FaceTracker(dlib_detector())
    tracked = np.stack([tracker.step(f).points for f in moving_clip(N)])
    assert tracker.detections == 1  # detected once, tracked afterwards
    err = np.linalg.norm(tracked - per_frame.points, axis=-1)
    assert err.mean() < 1.5 and err.max() < 6.0
    assert per_frame.found.all()


def test_tracking_follows_the_motion(per_frame):
    res = extract_landmarks(moving_clip(N), backend=dlib_detector(), progress=False)
    centre = res.points.mean(axis=1)
    # the clip pans down by 0.006 * 256 px a frame and zooms in by 1 % a frame
    assert centre[-1, 1] - centre[0, 1] > 10
    assert np.abs(res.points - per_frame.points).mean() < 1.5


def test_frames_are_streamed_not_held():
    refs = []

    def frames():
        for i, f in enumerate(moving_clip(6)):
            if i >= 2:
                gc.collect()
                assert refs[i - 2]() is None, "a previous frame is still referenced"
            refs.append(weakref.ref(f))
            yield f
            del f

    extract_landmarks(frames(), backend=dlib_detector(), progress=False)


def test_frames_without_a_face_are_interpolated_and_marked():
    frames = list(moving_clip(5))
    frames[2] = np.zeros_like(frames[2])
    res = extract_landmarks(frames, backend=dlib_detector(), progress=False)
    assert res.found.tolist() == [True, True, False, True, True]
    assert res.interpolated.tolist() == [False, False, True, False, False]
    assert np.allclose(res.points[2], (res.points[1] + res.points[3]) / 2, atol=1e-3)
    assert np.isfinite(res.boxes).all()
    frames[4] = np.zeros_like(frames[4])  # at the end: held from the last face
    res = extract_landmarks(frames, backend=dlib_detector(), progress=False)
    assert np.array_equal(res.points[4], res.points[3])


def test_no_face_anywhere_names_the_input():
    with pytest.raises(ValueError, match="no face found in clip.mp4"):
        extract_landmarks([np.zeros((64, 64, 3), np.uint8)] * 3, backend=dlib_detector(), progress=False,
                          name="clip.mp4")


def test_smoothing_off_is_off_and_on_reduces_jitter(per_frame):
    raw = extract_landmarks(moving_clip(N), backend=dlib_detector(), progress=False)
    off = extract_landmarks(moving_clip(N), backend=dlib_detector(), progress=False, smoothing=0.0)
    assert np.array_equal(raw.points, off.points)
    rng = np.random.default_rng(0)
    base = np.repeat(per_frame.points[:1], 60, axis=0)
    noisy = base + rng.normal(0, 1.5, base.shape).astype(np.float32)
    jitter = lambda p: np.abs(np.diff(p, axis=0)).mean()  # noqa: E731
    s_low, s_high = smooth_landmarks(noisy, 0.3), smooth_landmarks(noisy, 1.0)
    assert jitter(s_high) < jitter(s_low) < 0.7 * jitter(noisy)
    assert np.abs(s_high - base).mean() < np.abs(noisy - base).mean()
    assert np.array_equal(smooth_landmarks(noisy, 0.0), noisy)
    with pytest.raises(ValueError):
        smooth_landmarks(noisy, 1.5)
