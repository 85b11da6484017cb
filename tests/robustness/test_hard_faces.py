"""Faces that are hard to find or to choose: small, tilted, only the CNN sees it, several in the picture.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from _cli_helpers import WARP, assert_refused, cli
from skimage import data

from fsth_core.landmarks import face_search
from fsth_core.landmarks.detect import Face, LandmarkResult, choose_face, get_detector


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, non-flat background (no face in it)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, (max(2, h // 200), max(2, w // 200), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_small_face_in_a_large_photo_is_found(work, capsys):
    big = _textured(2000, 3000)
    head = cv2.resize(data.astronaut()[30:260, 150:380], (190, 190), interpolation=cv2.INTER_AREA)
    big[1200:1390, 700:890] = head  # the face is ~100 px wide: 21 px in the 640 px detection copy
    photo = work / "group.png"
    cv2.imwrite(str(photo), big[:, :, ::-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", photo, "--out", work / "g.npz")
    assert rc == 0, err

    pts = LandmarkResult.load(work / "g.npz").points[0]
    assert (pts[:, 0] > 700).all() and (pts[:, 0] < 890).all() and (pts[:, 1] > 1200).all() and (pts[:, 1] < 1390).all()


def test_tilted_face_is_found_by_the_cnn_and_faceless_input_keeps_its_message(work, capsys):
    tilted = cv2.warpAffine(data.astronaut(), cv2.getRotationMatrix2D((280, 150), 45, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REFLECT)  # HOG misses a head tilted 45 degrees
    cv2.imwrite(str(work / "tilted.png"), tilted[:, :, ::-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", work / "tilted.png", "--out", work / "t.npz")
    assert rc == 0, err

    pts = LandmarkResult.load(work / "t.npz").points[0]
    assert 150 < pts[:, 0].mean() < 400 and 30 < pts[:, 1].mean() < 300  # on the head
    cv2.imwrite(str(work / "wall.png"), _textured(400, 600)[:, :, ::-1])
    for name in ("wall.png", "flat.png"):
        if name == "flat.png":
            cv2.imwrite(str(work / name), np.full((300, 300, 3), 128, np.uint8))
        assert_refused(cli(capsys, "landmarks", "--quiet", work / name, "--out", work / "x.npz"),
                       f"no face found in {work / name}")


def test_the_same_face_is_picked_largest_then_most_central():
    def face(x0, y0, side, score=1.0):
        return Face(np.zeros((68, 2), np.float32), score, np.array([x0, y0, x0 + side, y0 + side], np.float32))

    edge, centre, small = face(10, 10, 100, 2.0), face(460, 330, 95), face(470, 340, 40, 3.0)
    assert choose_face([edge, centre, small], "largest", (800, 1000)) is centre  # same size: the central one
    assert choose_face([edge, small], "largest", (800, 1000)) is edge  # clearly larger wins
    assert choose_face([centre, edge], "largest", (800, 1000)) is centre  # order does not matter


def _only_the_cnn_finds(path: Path) -> np.ndarray:
    """The astronaut, blurred so the HOG detector misses her face at every scale it tries and the CNN
    finds it; HOG then finds it in the crop around the CNN's box (the refinement that crashed)."""
    img = cv2.GaussianBlur(data.astronaut(), (0, 0), 10 / 3)
    cv2.imwrite(str(path), img[:, :, ::-1])
    return img


def test_a_face_only_the_cnn_finds_gets_landmarks(work, capsys, monkeypatch):
    """Issue 22.2: the CNN fallback refined by HOG in a crop crashed ('truth value of an array')."""
    folder = work / "frames"
    folder.mkdir()
    img = _only_the_cnn_finds(folder / "f0.png")
    det = get_detector("dlib")
    assert not det.detect_boxes(img) and not face_search.larger_scales(det, img)  # the fast path misses it
    refined = []
    real = face_search.hog_in_crop
    monkeypatch.setattr(face_search, "hog_in_crop", lambda *a: refined.append(real(*a)) or refined[-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", "--backend", "dlib", folder, "--out", work / "L.npz")
    assert rc == 0, err
    assert refined and refined[0] is not None  # the refinement ran and found the face: the path that crashed
    sharp = get_detector("dlib").detect(data.astronaut())[0].points
    res = LandmarkResult.load(work / "L.npz")
    assert res.found.all() and np.abs(res.points[0] - sharp).mean() < 3  # the same face as in the sharp photo


def test_face_index_beyond_the_faces_found_says_how_many(work, capsys):
    """Issue 22.14: 'no face found' where one face was found."""
    line = assert_refused(cli(capsys, "landmarks", "--quiet", work / "portrait.jpg", "--face", "1", "--out",
                              work / "L.npz"), "portrait.jpg", "face 1", "1 face was found", "give 0 or 'largest'")
    assert "no face found" not in line and not (work / "L.npz").exists()


def test_a_source_with_two_faces_says_which_is_animated(work, capsys):
    """Issue 22.18: one line names the face animated, and --face picks another."""
    head = data.astronaut()[40:240, 120:330]
    canvas = np.zeros((220, 420, 3), np.uint8)
    canvas[:143, :150] = cv2.resize(head, (150, 143), interpolation=cv2.INTER_AREA)  # smaller, on the left
    canvas[10:210, 200:410] = head
    cv2.imwrite(str(work / "two.png"), canvas[:, :, ::-1])
    outs = {}
    for face, words in ((None, "animating the largest, face 1 from the left"), ("0", "as asked, face 0 from")):
        out = work / f"o{face}.mp4"
        rc, stdout, err = cli(capsys, *WARP, "--source", work / "two.png", "--out", out,
                              *(["--face", face] if face else []))
        assert rc == 0, err
        notes = [ln for ln in stdout.splitlines() if ln.startswith("note:")]
        assert len(notes) == 1 and "two.png: 2 faces" in notes[0] and words in notes[0], stdout
        outs[face] = out.read_bytes()
    assert outs[None] != outs["0"]
    assert_refused(cli(capsys, *WARP, "--source", work / "two.png", "--face", "2", "--out", work / "x.mp4"),
                   "two.png", "2 faces were found", "give 0..1")
