"""Mesh-warp animator on a real photo (skimage astronaut, landmarks from dlib's 68-point model)."""
import importlib.util

import cv2
import numpy as np
import pytest

from fsth_core.landmarks.geometry import close_eyes, open_mouth
from fsth_core.warp import MeshWarper, WarpOptions, animate_warp, build_mesh
from fsth_core.warp.constrain import enforce_edges
from fsth_core.warp.mesh import INNER_CONTOUR, REQUIRED_EDGES, RIG, head_similarity
from fsth_core.warp.mouth_mesh import N_RIG

dlib = pytest.importorskip("dlib")
skdata = pytest.importorskip("skimage.data")


def _crop(image, pts, size, aspect=1.0):
    """Crop around the face (side = 2 × landmark extent), resized to size × size*aspect."""
    centre = (pts.min(0) + pts.max(0)) / 2
    side = 2.0 * float((pts.max(0) - pts.min(0)).max())
    scale = size / side
    w = int(round(size * aspect))
    m = np.float32([[scale, 0, w / 2 - centre[0] * scale], [0, scale, size / 2 - centre[1] * scale]])
    crop = cv2.warpAffine(image, m, (w, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


@pytest.fixture(scope="module")
def astronaut():
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        pytest.skip("face_recognition_models is not installed")
    model = spec.submodule_search_locations[0] + "/models/shape_predictor_68_face_landmarks.dat"
    image = skdata.astronaut()
    rects = dlib.get_frontal_face_detector()(image, 1)
    rect = max(rects, key=lambda r: r.area())
    shape = dlib.shape_predictor(model)(image, rect)
    pts = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
    return image, pts


@pytest.fixture(scope="module")
def face(astronaut):
    return _crop(*astronaut, 256)


def _polygon_mask(pts, shape, erode=0):
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    if erode:
        m = cv2.erode(m, np.ones((2 * erode + 1,) * 2, np.uint8))
    return m.astype(bool)


def _luma(pixels):
    return pixels.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])


def test_identity_warp_returns_source(face):
    img, pts = face
    out, valid = MeshWarper(img, pts).warp(pts)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert valid.shape == img.shape[:2] and valid.dtype == np.float32
    assert np.abs(out.astype(np.float32) - img).mean() < 2.0
    assert valid.min() > 0.95


def test_output_has_crop_size_for_non_square_crop(astronaut):
    img, pts = _crop(*astronaut, 160, aspect=1.25)
    warper = MeshWarper(img, pts)
    out, valid = warper.warp(open_mouth(pts, 0.2))
    assert out.shape == (160, 200, 3) and valid.shape == (160, 200)
    ident, _ = warper.warp(pts)
    assert np.abs(ident.astype(np.float32) - img).mean() < 2.0


def test_mouth_opening_fills_mouth(face):
    img, pts = face
    img = np.maximum(img, 8)  # the suit is black: lift it so a black output pixel means a hole
    warper = MeshWarper(img, pts)
    plain = MeshWarper(img, pts, WarpOptions(fill_mouth=False))
    skin = np.median(_luma(img[_polygon_mask(pts[[1, 3, 31, 29]], img.shape[:2])]))
    for amount in np.linspace(0.0, 0.35, 6):
        tgt = open_mouth(pts, amount)
        out, valid = warper.warp(tgt)
        assert (out.max(-1) > 0).all(), "pure-black pixel"
        if amount < 0.2:
            continue
        inside = _polygon_mask(tgt[60:68], img.shape[:2], erode=2)
        assert inside.sum() > 100
        lum = _luma(out[inside])
        assert np.median(lum) < 0.5 * skin, "mouth interior should be dark"
        assert lum.min() > 3, "mouth interior must not be black"
        unfilled = plain.warp(tgt)[0]
        assert np.abs(out[inside].astype(np.float32) - unfilled[inside]).mean() > 20
        assert valid[inside].mean() < 0.5 < valid[~_polygon_mask(tgt[48:60], img.shape[:2])].mean()


def test_opening_mouth_folds_over_the_neck_instead_of_dragging_it(face):
    img, pts = face
    out, _ = MeshWarper(img, pts).warp(open_mouth(pts, 0.3))
    em = float(np.hypot(*(pts[48:68].mean(0) - pts[36:48].mean(0))))
    cx, cy = pts[8]
    y0 = int(cy + 0.45 * em)  # below where the chin lands
    box = (slice(y0, y0 + int(0.3 * em)), slice(int(cx - 0.5 * em), int(cx + 0.5 * em)))
    assert np.abs(out[box].astype(np.float32) - img[box]).mean() < 2.0


def test_eyes_closing_become_skin(face):
    img, pts = face
    warper = MeshWarper(img, pts)
    cheek = np.median(_luma(img[_polygon_mask(pts[[1, 3, 31, 29]], img.shape[:2])]))
    out, valid = warper.warp(close_eyes(pts, 1.0))
    for eye in (pts[36:42], pts[42:48]):
        region = _polygon_mask(eye, img.shape[:2])
        before, after = _luma(img[region]), _luma(out[region])
        # the open eye is high-contrast (white, iris, pupil); a closed lid is mostly even skin
        assert after.std() < 0.6 * before.std(), (before.std(), after.std())
        dark_before, dark_after = (before < 0.5 * cheek).mean(), (after < 0.5 * cheek).mean()
        assert dark_after < min(0.1, dark_before / 3), (dark_before, dark_after)
        assert 0.5 * cheek < np.median(after) < 1.1 * cheek
        assert valid[region].mean() < 0.7


def test_small_landmark_changes_give_small_image_changes(face):
    img, pts = face
    warper = MeshWarper(img, pts)
    frames = [warper.warp(close_eyes(open_mouth(pts, a), 2 * a))[0].astype(np.float32)
              for a in np.linspace(0.0, 0.4, 41)]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert max(steps) < 1.0, max(steps)


@pytest.mark.parametrize("kind", ["collapsed", "outside", "huge", "mirrored", "rotated", "jitter"])
def test_extreme_targets_cover_every_pixel(face, kind):
    img, pts = face
    src = np.maximum(img, 12)  # any black pixel in the output would be a hole
    warper = MeshWarper(src, pts)
    c = pts.mean(0)
    th = np.deg2rad(70)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], np.float32)
    rng = np.random.default_rng(0)
    tgt = {"collapsed": np.repeat(c[None], 68, 0),
           "outside": pts + np.float32([400, -300]),
           "huge": (pts - c) * 8 + c,
           "mirrored": pts * np.float32([-1, 1]) + np.float32([256, 0]),
           "rotated": (pts - c) @ rot.T + c,
           "jitter": pts + rng.normal(0, 15, pts.shape).astype(np.float32)}[kind]
    out, valid = warper.warp(tgt)
    assert out.shape == img.shape and np.isfinite(valid).all()
    assert (out.max(-1) > 0).all()
    assert (warper.triangle_ids(tgt) >= 0).all()


def test_bad_inputs_raise_clear_errors(face):
    img, pts = face
    warper = MeshWarper(img, pts)
    bad = pts.copy()
    bad[10, 0] = np.nan
    with pytest.raises(ValueError, match="target_points"):
        warper.warp(bad)
    with pytest.raises(ValueError, match="target_points"):
        warper.warp(pts[:60])
    with pytest.raises(ValueError, match="source"):
        MeshWarper(img.astype(np.float32), pts)
    with pytest.raises(ValueError, match="source_points"):
        MeshWarper(img, np.zeros((68, 2), np.float32))


def test_animate_warp_streams_frames(face):
    img, pts = face
    seq = np.stack([open_mouth(pts, a) for a in (0.0, 0.1, 0.2)])
    frames = animate_warp(img, pts, seq, progress=False)
    assert not isinstance(frames, (list, tuple))
    frames = list(frames)
    assert len(frames) == 3 and all(f.shape == img.shape and f.dtype == np.uint8 for f in frames)
    assert np.abs(frames[0].astype(np.float32) - img).mean() < 2.0


def test_mesh_keeps_lip_and_eye_contours_and_tiles_the_frame(face):
    img, pts = face
    mesh = build_mesh(pts, 256, 256)
    edges = {tuple(sorted((int(t[i]), int(t[(i + 1) % 3])))) for t in mesh.triangles for i in range(3)}
    for a, b in REQUIRED_EDGES:
        assert tuple(sorted((a, b))) in edges, (a, b)
    # inside the smooth inner-lip contour there are only the mouth's own triangles (its two parts and the gap)
    rig = np.isin(mesh.triangles, np.arange(RIG, RIG + N_RIG)).any(1)
    centroids = mesh.vertices[mesh.triangles].mean(1)
    contour = mesh.vertices[INNER_CONTOUR].astype(np.float32)
    inside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in centroids])
    assert inside.any() and not (inside & ~rig).any()
    v = mesh.vertices
    a, b, c = (v[mesh.triangles[:, i]] for i in range(3))
    area = 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    x0, y0 = v.min(0)
    x1, y1 = v.max(0)
    assert abs(np.abs(area).sum() - (x1 - x0) * (y1 - y0)) < 1e-2 * (x1 - x0) * (y1 - y0)
    # the same target always gives the same vertices (fixed topology, deterministic motion)
    t = open_mouth(pts, 0.2)
    np.testing.assert_array_equal(mesh.target_vertices(t), mesh.target_vertices(t))


def test_head_similarity_recovers_motion():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (12, 2))
    th = 0.3
    m = 1.4 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    dst = src @ m.T + [5.0, -7.0]
    got_m, got_t = head_similarity(src, dst, 2.0)
    np.testing.assert_allclose(got_m, m, atol=1e-9)
    np.testing.assert_allclose(got_t, [5.0, -7.0], atol=1e-7)
    clamped, _ = head_similarity(src, src * 10, 2.0)
    assert abs(np.linalg.det(clamped) - 4.0) < 1e-9


def test_enforce_edges_flips_a_diagonal():
    pts = np.float64([[0, 0], [1, 0], [1, 1], [0, 1]])
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    out = enforce_edges(tris, pts, [(1, 3)])
    edges = {tuple(sorted((int(t[i]), int(t[(i + 1) % 3])))) for t in out for i in range(3)}
    assert (1, 3) in edges and (0, 2) not in edges
    a, b, c = (pts[out[:, i]] for i in range(3))
    assert ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0] > 0).all()
