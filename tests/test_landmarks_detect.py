import cv2
import numpy as np
import pytest
from _landmark_helpers import astronaut, astronaut_points, dlib_detector

from fsth_core.landmarks.detect import Face, LandmarkResult, choose_face, face_alignment_missing, get_detector
from fsth_core.landmarks.track import extract_landmarks


def test_astronaut_has_68_points_in_anatomical_order():
    faces = dlib_detector().detect(astronaut())
    assert len(faces) == 1
    f = faces[0]
    assert f.points.shape == (68, 2) and f.points.dtype == np.float32 and f.score > 0
    eyes_y = f.points[36:48, 1].mean()
    nose_y = f.points[30, 1]
    mouth_y = f.points[48:68, 1].mean()
    assert eyes_y < nose_y < mouth_y
    assert f.points[36:42, 0].mean() < f.points[42:48, 0].mean()  # image-left eye first
    x0, y0, x1, y1 = f.box
    inside = ((f.points[:, 0] > x0 - 20) & (f.points[:, 0] < x1 + 20) & (f.points[:, 1] > y0 - 20)
              & (f.points[:, 1] < y1 + 40))
    assert inside.all()


def test_the_backend_table_is_what_the_options_and_the_help_name():
    """Every backend of the table has its note (the CLI's help, the nodes' tooltip) and a detector with the
    Detector methods; auto tries AUTO_BACKENDS in order and falls back to the last."""
    from fsth_core import options
    from fsth_core.landmarks.detect import BACKEND_TABLE, DlibDetector, FaceAlignmentDetector

    assert set(BACKEND_TABLE) == set(options.DETECTOR_NOTES) == set(options.BACKENDS) - {"auto"}
    assert set(options.AUTO_BACKENDS) <= set(BACKEND_TABLE)
    assert all(name in options.BACKEND_HELP for name in options.BACKENDS)
    for cls in (DlibDetector, FaceAlignmentDetector):
        assert cls.name in BACKEND_TABLE and isinstance(cls.fit_scores, bool)
        assert all(callable(getattr(cls, m)) for m in ("detect_boxes", "fit", "detect"))
    assert BACKEND_TABLE["dlib"].missing() is None  # a dependency: always here


def test_auto_takes_the_first_backend_that_can_run(monkeypatch):
    from fsth_core.landmarks import detect

    made = []
    table = {name: detect.Backend(lambda device, n=name: made.append((n, device)) or n, lambda: "not here")
             for name in detect.BACKEND_TABLE}
    table[detect.AUTO_BACKENDS[-1]] = detect.Backend(table[detect.AUTO_BACKENDS[-1]].make, lambda: None)
    monkeypatch.setattr(detect, "BACKEND_TABLE", table)
    assert get_detector("auto", "cpu") == detect.AUTO_BACKENDS[-1]  # none of the others can run: the last
    table[detect.AUTO_BACKENDS[0]] = detect.Backend(table[detect.AUTO_BACKENDS[0]].make, lambda: None)
    assert get_detector("auto", "cuda") == detect.AUTO_BACKENDS[0]
    assert made[-1] == (detect.AUTO_BACKENDS[0], "cuda")


def test_backend_choice():
    with pytest.raises(ValueError, match="backend"):
        get_detector("nope")
    reason = face_alignment_missing()
    if reason is not None:  # not installed or no cached weights: auto falls back, explicit explains
        assert get_detector("auto").name == "dlib"
        with pytest.raises(ValueError) as e:
            get_detector("face_alignment")
        assert str(e.value) == reason and "\n" not in reason
        assert "pip install" in reason or "place" in reason
    else:
        assert get_detector("auto").name == "face_alignment"


def _face(x0, w, score=1.0):
    return Face(np.zeros((68, 2), np.float32), score, np.array([x0, 0, x0 + w, w], np.float32))


def test_choose_face_rules():
    faces = [_face(300, 50), _face(10, 80), _face(150, 60)]
    assert choose_face(faces, "largest") is faces[1]
    assert choose_face(faces, 0) is faces[1]
    assert choose_face(faces, 1) is faces[2]
    assert choose_face(faces, 2) is faces[0]
    assert choose_face(faces, 3) is None
    assert choose_face([], "largest") is None
    with pytest.raises(ValueError):
        choose_face(faces, "smallest")


def test_two_real_faces_largest_and_nth_from_left():
    head = astronaut()[40:240, 120:330]
    small = cv2.resize(head, (150, 143), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((220, 420, 3), np.uint8)
    canvas[:143, :150] = small           # smaller face on the left
    canvas[10:210, 200:410] = head       # larger face on the right
    largest = extract_landmarks([canvas], backend=dlib_detector(), face="largest", progress=False)
    left = extract_landmarks([canvas], backend=dlib_detector(), face=0, progress=False)
    assert largest.points[0, :, 0].mean() > 200
    assert left.points[0, :, 0].mean() < 150
    with pytest.raises(ValueError, match="two_faces: face 5 .* but 2 faces were found; give 0..1 or 'largest'"):
        extract_landmarks([canvas], backend=dlib_detector(), face=5, progress=False, name="two_faces")


@pytest.mark.parametrize("kind", ["gray", "rgba", "uint16", "float"])
def test_other_image_formats_give_the_same_face(kind):
    img = astronaut()
    if kind == "gray":
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif kind == "rgba":
        img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    elif kind == "uint16":
        img = img.astype(np.uint16) * 257
    else:
        img = img.astype(np.float32) / 255
    res = extract_landmarks(img, backend=dlib_detector(), progress=False)
    tol = 6.0 if kind == "gray" else 0.5
    assert np.abs(res.points[0] - astronaut_points()).mean() < tol


@pytest.mark.parametrize("img", [np.zeros((1, 1, 3), np.uint8), np.zeros((64, 64, 3), np.uint8),
                                 np.full((300, 200), 200, np.uint8)])
def test_tiny_and_blank_inputs_say_no_face(img):
    with pytest.raises(ValueError, match="no face found in blank.png"):
        extract_landmarks(img, backend=dlib_detector(), progress=False, name="blank.png")


def test_result_npz_round_trip(tmp_path):
    res = extract_landmarks(astronaut(), backend=dlib_detector(), progress=False, fps=30.0)
    res.save(tmp_path / "l.npz")
    back = LandmarkResult.load(tmp_path / "l.npz")
    assert np.array_equal(back.points, res.points) and back.fps == 30.0 and back.image_size == (512, 512)
    assert back.backend == "dlib" and back.found.all() and not back.interpolated.any()
    np.savez(tmp_path / "bad.npz", other=np.zeros(3))
    with pytest.raises(ValueError, match="bad.npz"):
        LandmarkResult.load(tmp_path / "bad.npz")


def test_face_alignment_backend_wiring_with_a_stand_in_package(monkeypatch):
    """The optional backend's glue (output parsing, boxes, scores, tracking with fits) on a fake package."""
    import sys
    import types

    from fsth_core.landmarks import detect

    pts = astronaut_points()

    class FakeFA:
        def __init__(self, kind, device="cpu", flip_input=False):
            self.calls = []
            self.face_detector = types.SimpleNamespace(
                detect_from_image=lambda img: [np.array([170.0, 70.0, 280.0, 180.0, 0.99])])

        def get_landmarks_from_image(self, image, detected_faces=None, return_bboxes=False,
                                     return_landmark_score=False):
            self.calls.append(detected_faces is not None)
            boxes = detected_faces if detected_faces is not None else self.face_detector.detect_from_image(image)
            return [pts.copy()], [np.full(68, 0.8, np.float32)], boxes

    fake = types.SimpleNamespace(FaceAlignment=FakeFA, LandmarksType=types.SimpleNamespace(TWO_D=1))
    monkeypatch.setitem(sys.modules, "face_alignment", fake)
    monkeypatch.setattr(detect, "face_alignment_missing", lambda: None)
    det = get_detector("auto", device="cpu")
    assert det.name == "face_alignment"
    faces = det.detect(astronaut())
    assert len(faces) == 1 and faces[0].score == pytest.approx(0.8) and faces[0].box.tolist() == [170, 70, 280, 180]
    det._fa.calls.clear()
    res = extract_landmarks([astronaut()] * 3, backend=det, progress=False)
    assert res.found.all() and np.allclose(res.points, pts) and np.allclose(res.score, 0.8)
    assert det._fa.calls == [False, True, True]  # detected once, then fitted in the tracked box
