"""Every shot of the person used: each region from the nearest source, without flicker or seams; the mouth's
own rig (real teeth stay with their lips) and the painted interior where nothing real exists."""
import cv2
import numpy as np
import pytest
from _landmark_helpers import astronaut, astronaut_points

from fsth_core.face_layout import MOUTH_OPENING_KNEE
from fsth_core.landmarks.geometry import close_eyes, inter_ocular, mouth_opening, open_mouth
from fsth_core.warp import MeshWarper, WarpOptions
from fsth_core.warp.mouth_mesh import inner_contour, lip_curves
from fsth_core.warp.mouth_transfer import MouthTransfer
from fsth_core.warp.shots import RegionChooser, ShotOptions, ShotWarper, distances, region_mask


def _crop():
    """The astronaut's head, 256 px: uint8 [256,256,3] and its landmarks [68,2]."""
    img, pts = astronaut(), astronaut_points()
    c = (pts.min(0) + pts.max(0)) / 2
    s = 256 / (2.0 * float((pts.max(0) - pts.min(0)).max()))
    m = np.float32([[s, 0, 128 - c[0] * s], [0, s, 128 - c[1] * s]])
    crop = cv2.warpAffine(np.ascontiguousarray(img), m, (256, 256), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _along(curve, n=80):
    """n points evenly spaced (by index) along a polyline [K,2], ends trimmed by a fifth."""
    t = np.linspace(0.2, 0.8, n) * (len(curve) - 1)
    return np.stack([np.interp(t, np.arange(len(curve)), curve[:, i]) for i in (0, 1)], 1)


def _mask(poly, shape):
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    return m.astype(bool)


@pytest.fixture(scope="module")
def face():
    return _crop()


@pytest.fixture(scope="module")
def open_shot(face):
    """A second shot of the person with the mouth open, its interior marked green (what only it shows)."""
    img, pts = face
    opened = open_mouth(pts, 0.25)
    shot = MeshWarper(img, pts).warp(opened)[0].copy()
    shot[_mask(inner_contour(opened), shot.shape[:2])] = (40, 200, 60)
    return shot, opened


def test_one_shot_is_the_mesh_warp_exactly(face):
    img, pts = face
    target = close_eyes(open_mouth(pts, 0.2), 0.5)
    a, va = MeshWarper(img, pts).warp(target)
    b, vb = ShotWarper([img], [pts]).warp(target)
    assert np.array_equal(a, b) and np.array_equal(va, vb)


def test_each_region_comes_from_the_nearest_shot(face, open_shot):
    img, pts = face
    shot, opened = open_shot
    warper = ShotWarper([img, shot], [pts, opened])
    inside = _mask(inner_contour(opened), img.shape[:2])
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    out = warper.warp(opened)[0]
    green = (out[..., 1].astype(int) - out[..., 0] > 100) & (out[..., 1].astype(int) - out[..., 2] > 100)
    assert green[inside].mean() > 0.9  # the open mouth is the open shot's
    warper.reset()
    out = warper.warp(open_mouth(pts, 0.02))[0]  # nearly closed: the base's own mouth, nothing green
    assert not ((out[..., 1].astype(int) - out[..., 0] > 100) & (out[..., 1].astype(int) - out[..., 2] > 100)).any()


def test_regions_follow_their_own_distance(face, open_shot):
    img, pts = face
    _, opened = open_shot
    d = distances(np.stack([pts, opened]), open_mouth(pts, 0.24))
    assert d["mouth"][1] < d["mouth"][0]          # the open shot is nearer for the mouth ...
    assert abs(d["eye_right"][1] - d["eye_right"][0]) < 0.02  # ... and no nearer for the eyes


def test_a_region_does_not_flicker_between_two_near_shots():
    chooser = RegionChooser(ShotOptions(fade_frames=4))
    picks = [chooser.step(np.array([0.10, 0.10 + (0.004 if i % 2 else -0.004)])) for i in range(20)]
    assert all(len(p) == 1 and p[0][0] == picks[0][0][0] for p in picks)  # a near tie never switches
    chooser = RegionChooser(ShotOptions(fade_frames=4))
    chooser.step(np.array([0.05, 0.3]))
    fade = [chooser.step(np.array([0.3, 0.05])) for _ in range(5)]
    weights = [dict(p).get(1, 0.0) for p in fade]
    assert weights[:3] == pytest.approx([0.25, 0.5, 0.75]) and weights[3:] == [1.0, 1.0]  # a cross-fade


def test_a_shot_in_other_light_is_matched_to_the_base(face, open_shot):
    img, pts = face
    shot, opened = open_shot
    darker = np.clip(shot.astype(np.float32) * np.float32([0.7, 0.75, 0.9]), 0, 255).astype(np.uint8)
    target = open_mouth(pts, 0.25)
    out = ShotWarper([img, darker], [pts, opened]).warp(target)[0]
    base = MeshWarper(img, pts).warp(target)[0]
    # around the mouth (inside the blended region, outside the lips) the skin keeps the base's colour
    ring = _mask(cv2.convexHull(target[48:60]).reshape(-1, 2), img.shape[:2])
    ring = cv2.dilate(ring.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~ring
    diff = np.abs(out[ring].astype(np.float32).mean(0) - base[ring].astype(np.float32).mean(0))
    raw = np.abs(darker[ring].astype(np.float32).mean(0) - img[ring].astype(np.float32).mean(0))
    assert diff.max() < 0.25 * raw.max()


def test_region_masks_are_feathered_not_cut(face):
    _, pts = face
    m = region_mask("mouth", pts, (0, 0, 256, 256), 0.05)
    edge = (m > 0.02) & (m < 0.98)
    assert edge.sum() > 4 * np.hypot(*(pts[54] - pts[48]))  # a soft band all round, not a hard polygon
    assert np.abs(np.diff(m, axis=0)).max() < 0.35 and np.abs(np.diff(m, axis=1)).max() < 0.35


def test_real_teeth_stay_with_the_upper_lip(face):
    """The astronaut smiles with her upper teeth showing: as the mouth opens they move with the upper lip
    (still bright right under it), and what opens below them is dark, not a painted band over them."""
    img, pts = face
    target = open_mouth(pts, 0.2)
    out = MeshWarper(img, pts).warp(target)[0]
    up, lo = lip_curves(target)
    up_s, lo_s = lip_curves(pts)
    luma = out.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    src_luma = img.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    row_src = np.array([src_luma[int(round(y)), int(round(x))] for x, y in _along(up_s * 0.6 + lo_s * 0.4)])
    row = np.array([luma[int(round(y)), int(round(x))] for x, y in _along(up + (lo_s - up_s) * 0.4)])
    opened = np.mean([luma[int(round(y)), int(round(x))] for x, y in _along(lo - (lo - up) * 0.15)])
    assert row.mean() > 0.85 * row_src.mean()        # the teeth, moved down with the lip ...
    assert np.corrcoef(row, row_src)[0, 1] > 0.6     # ... the same teeth (their gaps where they were)
    assert opened < 0.6 * row.mean()                 # the new opening is the mouth's dark inside


def test_a_closed_mouth_opens_onto_teeth_and_a_dark_cavity_with_soft_edges(face):
    img, pts = face
    closed = pts.copy()
    closed[[65, 66, 67]] = closed[[63, 62, 61]]  # lips together: nothing real inside
    warper = MeshWarper(img, closed)
    target = open_mouth(closed, 0.3)
    out = warper.warp(target)[0]
    up, lo = lip_curves(target)
    luma = out.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    teeth = [luma[int(round(y)), int(round(x))] for x, y in _along(up + (lo - up) * 0.12)]
    cavity = [luma[int(round(y)), int(round(x))] for x, y in _along(up + (lo - up) * 0.55)]
    assert np.median(teeth) > 1.8 * np.median(cavity) > 0
    assert np.std(teeth) > 3.0  # separate teeth, not one flat band
    # the inner lips are a smooth curve: between the landmarks the contour bends, it is no octagon
    up_s = lip_curves(target)[0]
    step = len(up_s) // 4  # the landmarks 60..64 are every step-th point
    mids = up_s[1:-1][[i for i in range(len(up_s) - 2) if (i + 1) % step]]
    lm = up_s[::step]
    chords = np.concatenate([np.linspace(lm[k], lm[k + 1], step + 1)[1:-1] for k in range(4)])
    assert np.abs(mids - chords).max() > 0.05


def test_openings_in_the_warp_are_what_the_landmarks_say(face):
    """The warp opens the mouth as far as the target landmarks ask (motion keeps those within real
    speech; see test_landmarks_motion), with no extra procedural opening on top."""
    img, pts = face
    target = open_mouth(pts, 0.1)
    assert mouth_opening(target) < MOUTH_OPENING_KNEE
    up, lo = lip_curves(target)
    out = MeshWarper(img, pts).warp(target)[0]
    luma = out.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    below = [luma[int(round(y + 0.08 * inter_ocular(target))), int(round(x))] for x, y in _along(lo)]
    skin = np.median(luma[_mask(target[[1, 3, 31, 29]], luma.shape)])
    assert np.median(below) > 0.6 * skin  # under the lower lip is the lip and chin, not mouth


def test_a_drivers_mouth_interior_goes_into_the_frame(face, open_shot):
    img, pts = face
    shot, opened = open_shot
    frame = MeshWarper(img, pts, WarpOptions()).warp(opened)[0].copy()
    done = MouthTransfer(img, pts)(frame, opened, shot, opened)
    assert done is not None
    inside = cv2.erode(_mask(inner_contour(opened), img.shape[:2]).astype(np.uint8), np.ones((5, 5))).astype(bool)
    g = frame[inside].astype(np.float32)
    assert (g[:, 1] - g[:, 0]).mean() > 60  # the driver's (green-marked) interior, colour-matched but its own
    assert MouthTransfer(img, pts)(frame.copy(), opened, img, pts) is None or mouth_opening(pts) > 0.02
