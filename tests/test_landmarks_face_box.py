"""A face no detector finds: a face box by hand (detectors in it first, else the face template), the box
seeding a video's tracker, given landmark files, and one clear error for a box or a file that does not fit."""
import cv2
import numpy as np
import pytest
from _cli_helpers import assert_refused
from _landmark_helpers import astronaut, astronaut_points, drawn_face

from fsth_core import face_layout as layout
from fsth_core.cli import main
from fsth_core.landmarks.box_fit import fit_template
from fsth_core.landmarks.detect import LandmarkResult, get_detector
from fsth_core.landmarks.face_box import TEMPLATE_BACKEND, FaceBox, boxes_for, boxes_of_masks
from fsth_core.landmarks.face_template import in_box
from fsth_core.landmarks.given import given_points
from fsth_core.landmarks.track import extract_landmarks


class Run:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def cli(capsys):
    """Run ``python -m fsth_core ARGS`` in this process -> (exit status, stdout, stderr)."""
    def run(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return run


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    img, box, features = drawn_face()
    path = tmp_path_factory.mktemp("drawn") / "drawn.png"
    cv2.imwrite(str(path), img[..., ::-1])
    return path, img, box, features


def test_template_sits_in_the_box_as_a_person_places_a_face():
    pts = in_box((100, 200, 300, 500))  # a box 200 wide, 300 high
    eyes = pts[[layout.EYE_OUTER_RIGHT, layout.EYE_INNER_RIGHT, layout.EYE_INNER_LEFT, layout.EYE_OUTER_LEFT], 1]
    assert abs(eyes.mean() - (200 + 0.37 * 300)) < 0.5                      # eye line in the upper part
    assert 200 + 0.75 * 300 < pts[layout.LIPS_OUTER, 1].mean() < 200 + 0.87 * 300   # mouth in the lower third
    assert pts[layout.CHIN, 1] == pytest.approx(500)                         # chin on the bottom edge
    assert pts[layout.JAW, 0].min() == pytest.approx(100) and pts[layout.JAW, 0].max() == pytest.approx(300)
    assert pts[layout.EYE_RIGHT, 0].mean() < 200 < pts[layout.EYE_LEFT, 0].mean()  # image-left eye is the right


def test_box_values_and_placement_are_checked():
    assert FaceBox.parse(" 10, 20.5,30,40 ") == FaceBox(10, 20.5, 30, 40)
    for bad in ("10,20,30", "a,b,c,d", "1,2,3,4,5", ""):
        with pytest.raises(ValueError, match="X,Y,W,H"):
            FaceBox.parse(bad)
    for bad in ("10,20,0,40", "10,20,30,-1"):
        with pytest.raises(ValueError, match="no area"):
            FaceBox.parse(bad)
    with pytest.raises(ValueError, match="finite"):
        FaceBox.parse("nan,0,10,10")
    box = FaceBox(500, 10, 100, 100)
    with pytest.raises(ValueError, match=r"500,10,100,100 .* for pic\.png \(200x240 px\) lies outside the picture"):
        box.check((240, 200), "pic.png")
    with pytest.raises(ValueError, match="mostly outside"):
        FaceBox(160, 10, 100, 100).check((240, 200), "pic.png")
    with pytest.raises(ValueError, match="too small"):
        FaceBox(10, 10, 5, 40).check((240, 200), "pic.png")
    FaceBox(-20, -10, 100, 120).check((240, 200), "pic.png")  # a face at the border: partly outside is fine
    assert boxes_for(None, 3) == [None] * 3 and boxes_for([box], 2) == [box, box]
    with pytest.raises(ValueError, match="one per source image"):
        boxes_for([box, box], 3)


def test_masks_give_boxes_and_an_empty_mask_none():
    m = np.zeros((3, 50, 60), np.float32)
    m[0, 10:20, 5:25] = 1.0
    m[2, 30:40, 40:45] = 1.0
    assert boxes_of_masks(m[:1], (50, 60), 0, 3, True) == FaceBox(5, 10, 20, 10)
    assert boxes_of_masks(m, (50, 60), 1, 3, True) == [None, FaceBox(40, 30, 5, 10)]
    assert boxes_of_masks(m, (50, 60), 2, 3, False) == FaceBox(40, 30, 5, 10)
    assert boxes_of_masks(np.zeros((1, 64, 64)), (50, 60), 0, 3, True) is None  # Load Image's empty mask
    with pytest.raises(ValueError, match="face_mask is 60x50 but the images are 30x50"):
        boxes_of_masks(m, (50, 30), 0, 3, True)


def test_drawn_face_is_refused_without_a_box_and_animates_with_one(drawn, tmp_path, cli):
    path, img, box, features = drawn
    out = tmp_path / "o.mp4"
    r = cli("animate", "--quiet", "--method", "warp", "--source", path, "--motion", "talk", "--out", out)
    assert_refused(r, "no face found in", "drawn.png", "--face-box X,Y,W,H", "face_mask")
    assert not out.exists()

    frames = tmp_path / "frames"
    r = cli("animate", "--quiet", "--method", "warp", "--source", path, "--face-box", ",".join(map(str, box)),
             "--motion", "talk", "--seconds", "2", "--fps", "10", "--out", tmp_path / "a.mp4",
             "--frames-dir", frames)
    assert r.returncode == 0, r.stderr
    assert "come from the face box" in r.stdout and r.stdout.count("note:") == 1
    video = np.stack([cv2.imread(str(f))[..., ::-1] for f in sorted(frames.glob("*.png"))]).astype(np.int16)
    assert video.shape == (20, *img.shape)
    change = np.abs(video - img).max(axis=(0, 3))  # the most each pixel changes over the clip
    assert change[:20].max() == 0 and change[:, :20].max() == 0  # far from the face nothing moves
    mx, my = features["mouth"].astype(int)
    mouth = change[my - 10:my + 12, mx - 30:mx + 31]
    assert (mouth > 60).mean() > 0.2  # the drawn mouth opens: its pixels change strongly
    # the mouth's motion is centred on the drawn mouth (not on the template's idea of it a cheek away)
    ys, xs = np.nonzero(change[int(features["eyes"][0, 1]) + 30:] > 60)
    assert abs(xs.mean() - mx) < 8 and abs(ys.mean() + features["eyes"][0, 1] + 30 - my) < 25

    # the same landmarks given as a file (the one line of numpy the docs show) animate the same frames
    given = tmp_path / "given.npz"
    np.savez(given, points=fit_template(img, FaceBox(*box).corners)[0])
    r = cli("animate", "--quiet", "--method", "warp", "--source", path, "--landmarks", given, "--motion", "talk",
            "--seconds", "2", "--fps", "10", "--out", f"{tmp_path}/g/")
    assert r.returncode == 0, r.stderr
    assert "note:" not in r.stdout
    for a, b in zip(sorted((tmp_path / "g").glob("*.png")), sorted(frames.glob("*.png")), strict=True):
        assert np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))
    r = cli("animate", "--quiet", "--method", "warp", "--source", path, "--landmarks", given, "--face-box", "1,2,3,4",
            "--motion", "talk", "--out", f"{tmp_path}/c/")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr


def _misplacement(p, features, height):
    """How far the template's eye centres and mouth centre lie from the drawn ones, in box heights."""
    eyes = np.stack([p[layout.EYE_RIGHT].mean(0), p[layout.EYE_LEFT].mean(0)])
    return (float(np.abs(eyes - features["eyes"]).max()) / height,
            float(np.abs(p[layout.LIPS_OUTER].mean(0) - features["mouth"]).max()) / height)


@pytest.mark.parametrize("eye_y,mouth_y,eye_size", [(-5, 30, 1.0), (-45, 62, 1.0), (-5, 62, 1.6)])
def test_the_template_moves_its_eyes_and_mouth_onto_the_drawn_ones(eye_y, mouth_y, eye_size):
    """Eyes set low or high, a mouth near the nose or the chin: placed by proportion the template misses
    them by a tenth of the face or more; fitted to the picture it lands on them."""
    img, (x, y, w, h), features = drawn_face(eye_y=eye_y, mouth_y=mouth_y, eye_size=eye_size)
    box = (x, y, x + w, y + h)
    pts, fitted = fit_template(img, box)
    assert fitted
    eyes, mouth = _misplacement(pts, features, h)
    assert eyes < 0.06 and mouth < 0.03
    assert max(_misplacement(in_box(box), features, h)) > 0.1
    assert (pts[layout.EYE_RIGHT, 0].mean() < x + w / 2 < pts[layout.EYE_LEFT, 0].mean()
            and pts[layout.EYES, 1].mean() < pts[layout.NOSE_TIP, 1] < pts[layout.MOUTH, 1].mean())  # still a face


def test_a_flat_box_keeps_the_placement_by_proportion():
    img = np.full((200, 160, 3), 128, np.uint8)
    pts, fitted = fit_template(img, (20, 20, 140, 180))
    assert not fitted
    np.testing.assert_array_equal(pts, in_box((20, 20, 140, 180)))


def test_a_face_too_small_for_the_whole_picture_is_found_in_its_box():
    """A 30 px face in a 1000x750 photo: the whole-picture search (HOG at every scale, the CNN) misses it;
    in its box, scaled to 200 px, HOG finds it and fits its landmarks."""
    from skimage import data

    f = 30 / 110  # the astronaut's face is about 110 px wide in her 512 px portrait
    small = cv2.resize(astronaut(), (round(512 * f), round(512 * f)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(data.coffee(), (1000, 750))
    big[100:100 + small.shape[0], 300:300 + small.shape[1]] = small
    truth = (astronaut_points() + 0.5) * small.shape[0] / 512 - 0.5 + np.float32([300, 100])
    det = get_detector("dlib")
    assert det.detect(big) == []
    box = FaceBox(300 + 165 * f, 100 + 60 * f, 125 * f, 150 * f)
    res = extract_landmarks([big], backend=det, progress=False, face_box=box)
    assert res.backend == "dlib"
    assert np.sqrt(((res.points[0] - truth) ** 2).sum(1)).mean() < 1.5  # px, on a 30 px face


def test_a_box_picks_its_face_not_the_largest():
    """With a box round the astronaut's face in a picture where a larger face is beside it, her face is taken."""
    img = astronaut()
    twice = np.concatenate([cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA), np.zeros((256, 256, 3),
                            np.uint8)], axis=0)
    canvas = np.concatenate([twice, cv2.resize(img, (512, 512))[:, :, :]], axis=1)  # small left, large right
    x0, y0, x1, y1 = (astronaut_points().min(0).tolist() + astronaut_points().max(0).tolist())
    box = FaceBox(x0 / 2, y0 / 2 - 10, (x1 - x0) / 2, (y1 - y0) / 2 + 10)
    res = extract_landmarks([canvas], backend="dlib", progress=False, face_box=box)
    assert res.backend == "dlib"
    assert np.abs(res.points[0] - astronaut_points() / 2).mean() < 2.0


def test_video_box_seeds_the_tracker_and_a_drawn_face_is_followed(capsys):
    """A drawn face that turns, zooms and moves: the template fitted in the first frame's box follows it."""
    img, box, _ = drawn_face(360, 360)
    moves = []
    for i in range(12):
        m = cv2.getRotationMatrix2D((180, 180), 8 * np.sin(i / 3), 1 + 0.012 * i)
        m[:, 2] += (2.5 * i, 3 * np.sin(i / 2))
        moves.append(m)
    frames = [cv2.warpAffine(img, m, (360, 360), borderMode=cv2.BORDER_REPLICATE) for m in moves]
    res = extract_landmarks(frames, backend="dlib", progress=False, name="clip", face_box=FaceBox(*box))
    assert res.backend == TEMPLATE_BACKEND and res.found.all() and not res.interpolated.any()
    assert "12 of 12 frames" in capsys.readouterr().out
    inv = cv2.invertAffineTransform(moves[0])
    for m, p in zip(moves, res.points):
        a = m[:, :2] @ inv[:, :2]
        want = res.points[0] @ a.T + (m[:, :2] @ inv[:, 2] + m[:, 2])
        assert np.abs(p - want).max() < 1.0  # px


def test_landmarks_cli_with_a_box_and_its_errors(drawn, tmp_path, cli):
    """No detector finds the drawn face in its box either: its landmarks are the template fitted into the box,
    on the drawn eyes and mouth, and one line says where they come from."""
    path, img, box, features = drawn
    out = tmp_path / "l.npz"
    r = cli("landmarks", path, "--out", out, "--face-box", ",".join(map(str, box)))
    assert r.returncode == 0, r.stderr
    assert "landmarks of" in r.stdout and "come from the face box" in r.stdout and r.stdout.count("note:") == 1
    assert "backend face box" in r.stdout
    res = LandmarkResult.load(out)
    assert res.backend == TEMPLATE_BACKEND and res.found.all()
    np.testing.assert_allclose(res.points[0], fit_template(img, FaceBox(*box).corners)[0], atol=1e-4)
    eyes, mouth = _misplacement(res.points[0], features, box[3])
    assert eyes < 0.07 and mouth < 0.05  # of the box's height: on the drawn eyes (28 high) and mouth (12)
    for bad, needle in (("300,38,124,164", "lies outside the picture"), ("38,38,0,164", "has no area")):
        r = cli("landmarks", path, "--out", tmp_path / "x.npz", "--face-box", bad)
        assert_refused(r, needle)
        assert not (tmp_path / "x.npz").exists()


def test_given_landmarks_must_fit_their_pictures(tmp_path):
    pts = in_box((40, 40, 160, 200))
    one = tmp_path / "one.npz"
    np.savez(one, points=pts)  # the one line of numpy the docs show
    np.testing.assert_array_equal(given_points(one, [(240, 200)], ["a.png"])[0], pts)
    with pytest.raises(ValueError, match=r"holds 1 set\(s\) of landmarks for 2 picture"):
        given_points(one, [(240, 200)] * 2, ["a.png", "b.png"])
    off = tmp_path / "off.npz"
    np.savez(off, points=pts + 1000)
    with pytest.raises(ValueError, match="lie outside it"):
        given_points(off, [(240, 200)], ["a.png"])
    sized = tmp_path / "sized.npz"
    np.savez(sized, points=pts[None], image_size=np.array([480, 640]))
    with pytest.raises(ValueError, match="for a 640x480 picture, but a.png is 200x240"):
        given_points(sized, [(240, 200)], ["a.png"])
    bad = tmp_path / "bad.npz"
    np.savez(bad, points=np.zeros((68, 3)))
    with pytest.raises(ValueError, match=r"'points' must be \[T, 68, 2\]"):
        given_points(bad, [(240, 200)], ["a.png"])


def test_source_video_and_driver_take_their_boxes(tmp_path, cli):
    """--source-video and --driver, each a clip of a drawn face no detector finds: their first frames' boxes
    seed the tracking of both; landmarks of another clip length are refused."""
    from fsth_core.io.media import VideoWriter

    img, box, _ = drawn_face()
    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, fps=10) as w:
        for i in range(6):
            w.write(cv2.warpAffine(img, np.float32([[1, 0, i], [0, 1, 0]]), img.shape[1::-1],
                                   borderMode=cv2.BORDER_REPLICATE))
    text = ",".join(map(str, box))
    r = cli("animate", "--quiet", "--method", "warp", "--source-video", clip, "--face-box", text, "--driver", clip,
            "--driver-face-box", text, "--out", tmp_path / "o.mp4")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("come from the face box") == 2 and "6 of 6 frames" in r.stdout
    assert "wrote" in r.stdout and ": 6 frames" in r.stdout
    one = tmp_path / "one.npz"
    np.savez(one, points=in_box(FaceBox(*box).corners))
    r = cli("animate", "--quiet", "--method", "warp", "--source-video", clip, "--landmarks", one, "--motion", "talk",
            "--out", tmp_path / "p.mp4")
    assert_refused(r, "holds 1 frames of landmarks", "has about 6")
