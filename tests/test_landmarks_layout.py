"""The 68-point layout: one partition of the points, pairs and weights that the edits rely on."""
import numpy as np

from fsth_core import face_layout as layout
from fsth_core.landmarks.face_template import template
from fsth_core.landmarks.geometry import close_eyes, eye_opening
from fsth_core.synthetic import template as fm


def test_parts_cover_every_point_once_in_order():
    covered = [i for _, group, _ in layout.PARTS for i in range(layout.N_POINTS)[group]]
    assert covered == list(range(layout.N_POINTS))


def test_pairs_are_upper_over_lower_on_the_template():
    pts = template()
    for up, lo in layout.EYELID_PAIRS + layout.INNER_LIP_PAIRS:
        assert pts[up, 1] < pts[lo, 1], (up, lo)  # y grows downwards
    assert pts[layout.CHIN, 1] == pts[layout.JAW, 1].max()


def test_closing_the_eyes_meets_at_the_upper_lid_share():
    pts = fm.project(template(), fm.Pose(), 256)
    shut = close_eyes(pts, 1.0)
    for up, lo in layout.EYELID_PAIRS:
        meet = pts[up] + layout.UPPER_LID_SHARE * (pts[lo] - pts[up])
        np.testing.assert_allclose(shut[up], meet, atol=1e-4)
        np.testing.assert_allclose(shut[lo], meet, atol=1e-4)
    assert eye_opening(shut, left=True) < 1e-4 and eye_opening(shut, left=False) < 1e-4
