"""Expression editing: each slider moves the right points the right way, on a pose and on a track, and an
edited still pose renders with the mesh warp."""
from dataclasses import fields

import numpy as np
import pytest
from _landmark_helpers import astronaut, astronaut_points

from fsth_core.face_layout import MAX_MOUTH_OPENING
from fsth_core.landmarks.edit import ExpressionEdit, edit_landmarks
from fsth_core.landmarks.geometry import eye_opening, mouth_opening
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.pose import turn_head
from fsth_core.options import SLIDERS


def _iod(p):
    return float(np.hypot(*(p[42:48].mean(0) - p[36:42].mean(0))))


def _edit(p, text):
    return edit_landmarks(p, ExpressionEdit.parse(text))


def test_sliders_are_the_dataclass_fields_in_order():
    assert list(SLIDERS) == [f.name for f in fields(ExpressionEdit)]
    for lo, hi, step, tip in SLIDERS.values():
        assert lo < 0 < hi and 0 < step < hi and tip


def test_zero_edit_is_the_identity_and_the_input_is_kept():
    src = astronaut_points()
    keep = src.copy()
    out = edit_landmarks(src, ExpressionEdit())
    assert np.array_equal(out, src) and out is not src
    _edit(src, "mouth=0.3,smile=1,eyes=1,brows=1,yaw=20,pitch=10,roll=10")
    assert np.array_equal(src, keep)


def test_each_slider_moves_its_part_of_the_face():
    p = astronaut_points()  # upright face: image y is the face's "down"
    iod = _iod(p)
    assert mouth_opening(_edit(p, "mouth=0.3")) > mouth_opening(p) + 0.2
    assert eye_opening(_edit(p, "eyes=1"), True) < 0.1 < eye_opening(p, True)
    s = _edit(p, "smile=1")
    assert s[54, 0] - s[48, 0] > p[54, 0] - p[48, 0] + 0.1 * iod          # wider ...
    assert s[[48, 54], 1].mean() < p[[48, 54], 1].mean() - 0.05 * iod      # ... corners up
    assert np.array_equal(s[:17], p[:17]) and np.array_equal(s[17:48], p[17:48])  # only the mouth
    f = _edit(p, "smile=-1")
    assert f[[48, 54], 1].mean() > p[[48, 54], 1].mean() + 0.05 * iod      # a frown: corners down
    b = _edit(p, "brows=1")
    assert np.allclose(b[17:27, 0], p[17:27, 0], atol=0.02 * iod) and (b[17:27, 1] < p[17:27, 1] - 0.1 * iod).all()
    assert np.array_equal(b[27:], p[27:])
    # head turns: the nose tip moves more than the jaw's edge (parallax); positive = right / up / clockwise
    y = _edit(p, "yaw=20")
    assert y[30, 0] - p[30, 0] > 0.2 * iod and y[30, 0] - p[30, 0] > abs(y[0, 0] - p[0, 0])
    assert _edit(p, "pitch=15")[30, 1] < p[30, 1] - 0.1 * iod
    r = _edit(p, "roll=15")
    eye_line = r[42:48].mean(0) - r[36:42].mean(0)
    assert np.degrees(np.arctan2(eye_line[1], eye_line[0])) == pytest.approx(
        np.degrees(np.arctan2(*(p[42:48].mean(0) - p[36:42].mean(0))[::-1])) + 15, abs=0.5)
    np.testing.assert_allclose(turn_head(p, 20), y, atol=1e-4)


def test_edits_follow_the_face_at_any_rotation_and_scale():
    p = astronaut_points()
    c = p.mean(0)
    a = np.radians(40)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    q = (p - c) @ rot.T * 1.7 + c  # the same face, turned 40 degrees on screen and larger
    e = ExpressionEdit(mouth=0.2, smile=0.5, brows=0.5, yaw=10)
    np.testing.assert_allclose(edit_landmarks(q, e), (edit_landmarks(p, e) - c) @ rot.T * 1.7 + c, atol=1e-2)


def test_a_track_gets_the_same_edit_in_every_frame():
    p = astronaut_points()
    track = procedural_motion(p, 6, seed=1)
    e = ExpressionEdit(smile=0.5, yaw=-10)
    out = edit_landmarks(track, e)
    assert out.shape == track.shape and out.dtype == np.float32
    for i in (0, 5):
        np.testing.assert_allclose(out[i], edit_landmarks(track[i], e), atol=1e-5)


def test_bad_edits_say_what_is_wrong():
    with pytest.raises(ValueError, match="gaze=.*one of mouth"):
        ExpressionEdit.parse("gaze=0.2")
    with pytest.raises(ValueError, match="'big' is not a number"):
        ExpressionEdit.parse("smile=big")
    with pytest.raises(ValueError, match="yaw=90 is outside -30..30"):
        ExpressionEdit.parse("yaw=90")
    assert ExpressionEdit.parse(" mouth=0.25, yaw=5 ,") == ExpressionEdit(mouth=0.25, yaw=5.0)
    with pytest.raises(ValueError, match=r"\[T, 68, 2\]"):
        edit_landmarks(np.zeros((5, 2)), ExpressionEdit(mouth=0.1))


def test_an_edited_still_pose_renders_with_the_warp():
    from fsth_core.inference.compose import NativeCompositor
    from fsth_core.landmarks.crop import head_crop_box

    img, p = astronaut(), astronaut_points()
    box = head_crop_box(p, img.shape[:2])
    comp = NativeCompositor(img, box, box.points_to_crop(p, 128), 128)
    still, still_mask = comp.frame(box.points_to_crop(p, 128))
    posed, mask = comp.frame(box.points_to_crop(_edit(p, "mouth=0.3,eyes=1"), 128))
    assert not still_mask.any() and np.array_equal(still, img)  # no edit: the picture itself
    changed = np.abs(posed.astype(int) - img).max(axis=2) > 20
    mouth = np.zeros_like(changed)
    x0, y0 = p[48:68].min(0).astype(int)
    x1, y1 = p[48:68].max(0).astype(int)
    mouth[y0:y1 + int(0.3 * (x1 - x0)), x0:x1] = True
    assert changed[mouth].mean() > 0.2  # the mouth opened
    assert not changed[mask == 0].any() and mask.max() == 1.0  # only the animated region changed


def test_the_mouth_slider_opens_as_a_person_does():
    """The widest slider on a picture that already smiles with the lips apart stays within real speech,
    and the corners come in as the jaw drops."""
    p = astronaut_points()
    out = edit_landmarks(p, ExpressionEdit(mouth=SLIDERS["mouth"][1]))
    assert mouth_opening(p) + 0.1 < mouth_opening(out) <= MAX_MOUTH_OPENING + 1e-6
    assert np.hypot(*(out[54] - out[48])) < 0.99 * np.hypot(*(p[54] - p[48]))
