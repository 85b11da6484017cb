import numpy as np
import pytest
from _landmark_helpers import astronaut_points

from fsth_core.face_layout import MAX_MOUTH_OPENING, MOUTH_OPENING_KNEE
from fsth_core.landmarks.geometry import mouth_opening
from fsth_core.landmarks.retarget import fit_similarity, retarget


def _sim(points, scale, angle_deg, shift):
    a = np.radians(angle_deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
    return (points @ r.T + np.asarray(shift)).astype(np.float32)


def test_driver_identical_to_source_gives_source():
    src = astronaut_points()
    out = retarget(src, np.stack([src] * 4))
    assert out.shape == (4, 68, 2) and out.dtype == np.float32
    assert np.abs(out - src).max() < 1e-3


def test_driver_that_is_the_source_moved_gives_source():
    src = astronaut_points()
    drv = np.stack([_sim(src, 1.7, 25.0, (-300, 40))] * 3)
    out = retarget(src, drv)
    assert np.abs(out - src).max() < 1e-3


def test_driver_head_motion_is_applied_relative_to_its_reference():
    src = astronaut_points()
    moves = [(1.0, 0.0, (0, 0)), (1.1, 5.0, (10, -4)), (0.9, -8.0, (-6, 12))]
    drv = np.stack([_sim(src, *m) for m in moves])
    out = retarget(src, drv)
    assert np.abs(out - drv).max() < 1e-2  # reference pose = source pose: the result follows the driver


def test_expression_moves_transfer_scaled_but_face_shape_does_not():
    src = astronaut_points()
    other = src.copy()
    other[36:48, 0] += np.where(other[36:48, 0] > other[:, 0].mean(), 6.0, -6.0)  # wider-set eyes
    other[0:17, 0] = (other[0:17, 0] - other[:, 0].mean()) * 1.15 + other[:, 0].mean()  # wider jaw
    open_mouth = other.copy()
    open_mouth[[56, 57, 58, 65, 66, 67], 1] += 8.0
    drv = _sim(np.stack([other, open_mouth]), 2.0, 10.0, (50, 50))
    rel = retarget(src, drv, "relative")
    assert np.abs(rel[0] - src).max() < 1e-3  # the driver's face shape does not leak
    assert np.abs(rel[1, 17:48] - src[17:48]).max() < 0.5
    assert (rel[1, [66, 57], 1] - src[[66, 57], 1] > 5.0).all()  # the mouth opens
    absolute = retarget(src, drv, "absolute")
    assert np.array_equal(absolute, drv)
    # same face shape: the expression change arrives exactly, scaled to the source's size (an opening
    # within the range of real speech; see test_openings_stay_within_real_speech)
    opened = src.copy()
    opened[[56, 57, 58, 65, 66, 67], 1] += 3.0
    assert mouth_opening(opened) < MOUTH_OPENING_KNEE
    rel = retarget(src, _sim(np.stack([src, opened]), 2.0, 10.0, (50, 50)))
    assert np.abs(rel[1] - opened).max() < 1e-2


def test_openings_stay_within_real_speech():
    """A driver's opening added to an open smile would go past what people reach when they talk: the
    total stays under MAX_MOUTH_OPENING, and a wide-open picture is not closed by a still driver."""
    src = astronaut_points().copy()  # an open smile: the inner lips already apart
    iod = np.hypot(*(src[42:48].mean(0) - src[36:42].mean(0)))
    wide = src.copy()
    wide[[56, 57, 58, 65, 66, 67], 1] += 0.45 * iod  # the driver opens by 0.45 inter-ocular distances
    rel = retarget(src, np.stack([src, wide]))
    assert mouth_opening(wide) > MAX_MOUTH_OPENING
    assert MOUTH_OPENING_KNEE < mouth_opening(rel[1]) <= MAX_MOUTH_OPENING
    screaming = src.copy()
    screaming[[56, 57, 58, 65, 66, 67], 1] += 0.6 * iod
    still = retarget(screaming, np.stack([src, src]))
    assert abs(mouth_opening(still[1]) - mouth_opening(screaming)) < 1e-3


def test_lips_do_not_cross_when_a_closing_driver_meets_an_open_source():
    src = astronaut_points().copy()
    src[[65, 66, 67], 1] += 6.0  # source mouth slightly open
    closed = src.copy()
    closed[[65, 66, 67], 1] = closed[[63, 62, 61], 1]
    closing = closed.copy()
    drv = np.stack([src + 0, closing])
    drv[1, [65, 66, 67], 1] -= 10.0  # the driver closes by more than the source's opening
    out = retarget(src, drv)
    eye_line = src[45] - src[36]
    down = np.array([-eye_line[1], eye_line[0]]) / np.linalg.norm(eye_line)  # face-upright "down"
    gap = (out[1, [67, 66, 65]] - out[1, [61, 62, 63]]) @ down
    assert (gap >= -1e-3).all()


def test_similarity_fit_and_errors():
    src = astronaut_points()
    a, b = fit_similarity(src, _sim(src, 2.0, 30.0, (5, 6)))
    assert abs(abs(a) - 2.0) < 1e-6 and abs(np.degrees(np.angle(a)) - 30.0) < 1e-4
    with pytest.raises(ValueError, match="mode"):
        retarget(src, src[None], "sideways")
    with pytest.raises(ValueError, match="driver"):
        retarget(src, np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match="reference"):
        retarget(src, src[None], reference=3)
