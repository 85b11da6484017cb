import numpy as np
import pytest
from _landmark_helpers import astronaut_points

from fsth_core.face_layout import MAX_MOUTH_OPENING
from fsth_core.landmarks.geometry import mouth_opening
from fsth_core.landmarks.motion import procedural_motion


def _eye_open(p):
    return np.linalg.norm(p[..., [37, 38, 43, 44], :] - p[..., [41, 40, 47, 46], :], axis=-1).mean(-1)


def _mouth_open(p):
    return np.linalg.norm(p[..., [61, 62, 63], :] - p[..., [67, 66, 65], :], axis=-1).mean(-1)


def test_shape_determinism_and_seeds():
    src = astronaut_points()
    a = procedural_motion(src, 50, fps=25, seed=3)
    assert a.shape == (50, 68, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, procedural_motion(src, 50, fps=25, seed=3))
    assert not np.allclose(a, procedural_motion(src, 50, fps=25, seed=4))


def test_intensity_zero_is_still():
    src = astronaut_points()
    out = procedural_motion(src, 30, intensity=0.0)
    assert np.abs(out - src).max() < 1e-3


def test_blinks_speech_and_gentle_head_motion():
    src = astronaut_points()
    out = procedural_motion(src, 250, fps=25.0, seed=0)  # 10 s
    eye = _eye_open(out) / _eye_open(src)
    assert eye.min() < 0.4  # at least one blink
    assert (eye > 0.8).mean() > 0.8  # eyes open most of the time
    mouth = _mouth_open(out) - _mouth_open(src)
    size = np.ptp(src[:, 1])
    assert mouth.max() > 0.08 * size  # opens ...
    assert (mouth < 0.02 * size).mean() > 0.15  # ... and closes again
    # head motion: the nose tip moves, but gently
    nose = out[:, 30] - src[30]
    assert np.abs(nose).max() > 0.02 * size
    assert np.abs(out - src).max() < 0.4 * size
    assert np.abs(np.diff(out, axis=0)).max() < 0.1 * size  # smooth: no jumps between frames


def test_bad_arguments():
    src = astronaut_points()
    for kw in ({"frames": 0}, {"frames": 5, "fps": 0}, {"frames": 5, "intensity": -1}):
        with pytest.raises(ValueError):
            procedural_motion(src, **kw)
    with pytest.raises(ValueError):
        procedural_motion(np.zeros((10, 2)), 5)


@pytest.mark.parametrize("intensity", [1.0, 3.0])
def test_openings_a_person_makes(intensity):
    """The total opening (the picture's own open smile included) stays within real speech, and the lips
    change width as they open: syllables spread or round them, not one fixed-width "O"."""
    src = astronaut_points()  # already smiling with the lips apart
    out = procedural_motion(src, 250, fps=25.0, seed=0, intensity=intensity)
    opening = np.array([mouth_opening(p) for p in out])
    assert opening.max() <= MAX_MOUTH_OPENING + 1e-6
    assert opening.max() > mouth_opening(src) + 0.08  # and it still talks
    width = np.hypot(*(out[:, 54] - out[:, 48]).T) / np.hypot(*(src[54] - src[48]))
    talking = opening > mouth_opening(src) + 0.05
    assert width[talking].std() > 0.02  # spread and rounded syllables
    assert width[talking].min() < 0.98 < 1.02 < width[talking].max()
