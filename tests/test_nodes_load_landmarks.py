"""Load Face Landmarks: points a user corrected or placed elsewhere (a .npz in ComfyUI's input folder) drive the
graph as Landmark Extract's would; a file that does not fit its pictures is one clear error."""
import cv2
import numpy as np
import pytest
import torch
from _landmark_helpers import drawn_face
from skimage import data
from test_nodes_run import PACK, N, T, check

from fsth_core.cli import main
from fsth_core.landmarks.detect import LandmarkResult
from fsth_core.models.config import preset
from fsth_core.models.model import build_model

NODE = "FSTH_LoadLandmarks"


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """ComfyUI's input folder (outside ComfyUI: $FSTH_INPUT_DIR)."""
    folder = tmp_path / "input"
    folder.mkdir()
    monkeypatch.setenv("FSTH_INPUT_DIR", str(folder))
    return folder


def as_image(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).float()[None] / 255


def test_the_landmarks_commands_file_loads_as_extract_gives_it(inputs):
    """A file the landmarks command wrote: listed in the combo, its points, size and fps as written, drawn."""
    pic = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(inputs / "astronaut.png"), pic[:, :, ::-1])
    assert main(["landmarks", "--quiet", str(inputs / "astronaut.png"), "--out", str(inputs / "a.npz")]) == 0
    assert "a.npz" in PACK.NODE_CLASS_MAPPINGS[NODE].INPUT_TYPES()["required"]["landmarks_file"][0]
    lm, img = check(NODE, N[NODE].load("a.npz"))
    want = LandmarkResult.load(inputs / "a.npz")
    np.testing.assert_array_equal(lm.points, want.points)
    assert lm.image_size == (128, 128) and lm.found.all() and img.shape == (1, 128, 128, 3)
    extracted = N["FSTH_LandmarkExtract"].extract(as_image(pic), "photos", "dlib", "largest", 0.0)
    np.testing.assert_allclose(lm.points, extracted[0].points, atol=1e-3)  # the same detector, the same points
    torch.testing.assert_close(img, extracted[1])


def test_hand_placed_points_animate_a_face_no_detector_finds(inputs, tmp_path):
    """The drawn face: points fitted in a box, edited (the mouth moved 3 px down) and saved with the one-line
    np.savez of docs/landmarks.md, then loaded with the picture: the identity and the generated frames follow."""
    img, box, _ = drawn_face()
    cv2.imwrite(str(tmp_path / "drawn.png"), img[:, :, ::-1])
    assert main(["landmarks", "--quiet", str(tmp_path / "drawn.png"), "--face-box", ",".join(map(str, box)),
                 "--out", str(tmp_path / "fitted.npz")]) == 0
    pts = LandmarkResult.load(tmp_path / "fitted.npz").points[0]
    pts[48:68, 1] += 3
    np.savez(inputs / "edited.npz", points=pts)  # no image_size: the picture says the size

    with pytest.raises(ValueError, match="no 'image_size'.*give the picture"):
        N[NODE].load("edited.npz")
    lm, drawn = check(NODE, N[NODE].load("edited.npz", as_image(img)))
    np.testing.assert_array_equal(lm.points[0], pts)
    assert lm.image_size == img.shape[:2] and drawn.shape == (1, *img.shape)

    model = T.FSTHModel(build_model(preset("tiny", warp_guided=True), seed=0), "tiny", "fp32")
    ident = check("FSTH_Embedder", N["FSTH_Embedder"].embed(model, as_image(img), lm))[0]
    motion = N["FSTH_ProceduralMotion"].animate(lm, 6, 25.0, 1, 1.0)[0]
    frames, mask = check("FSTH_Generator", N["FSTH_Generator"].generate(model, ident, motion, "warp", 4,
                                                                        as_image(img)))
    assert len(frames) == 6 and float(mask.max()) > 0  # the face moves


@pytest.mark.parametrize("points, size, words", [
    (np.full((68, 2), 500.0), None, "lie outside it"),
    ("other size", None, "for a 60x50 picture, but"),
    (np.full((68, 2), 40.0), None, "span under 4 px"),
    (np.zeros((3, 68)), None, "'points' must be"),
])
def test_a_file_that_does_not_fit_its_picture_is_one_error(inputs, points, size, words):
    img = as_image(np.zeros((240, 200, 3), np.uint8))
    if isinstance(points, str):
        np.savez(inputs / "f.npz", points=np.random.default_rng(0).uniform(10, 40, (68, 2)), image_size=(50, 60))
    else:
        np.savez(inputs / "f.npz", points=points)
    with pytest.raises(ValueError, match=words):
        N[NODE].load("f.npz", img)


def test_only_files_in_the_input_folder_are_read(inputs, tmp_path):
    np.savez(tmp_path / "outside.npz", points=np.zeros((68, 2)))
    with pytest.raises(ValueError, match="'..' are refused"):
        N[NODE].load("../outside.npz")
    with pytest.raises(ValueError, match="absolute paths"):
        N[NODE].load(str(tmp_path / "outside.npz"))
    with pytest.raises(ValueError, match="missing.npz: not found in the input folders"):
        N[NODE].load("missing.npz")
    (inputs / "photo.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a landmark file"):
        N[NODE].load("photo.npz")


def test_a_track_keeps_its_frame_rate_and_size(inputs):
    """A track (the landmarks command on a clip writes image_size and fps): loaded without pictures."""
    pts = np.stack([np.random.default_rng(i).uniform(40, 120, (68, 2)) for i in range(4)]).astype(np.float32)
    np.savez(inputs / "track.npz", points=pts, image_size=(200, 180), fps=12.5)
    lm, img = check(NODE, N[NODE].load("track.npz"))
    assert len(lm) == 4 and lm.fps == 12.5 and lm.image_size == (200, 180) and img.shape == (4, 200, 180, 3)
    np.testing.assert_array_equal(lm.points, pts)
