import cv2
import numpy as np
from _landmark_helpers import astronaut, moving_clip

from fsth_core.cli import main
from fsth_core.io.media import VideoWriter
from fsth_core.landmarks.detect import LandmarkResult


def test_image_to_npz_to_pngs(tmp_path, capsys):
    src = tmp_path / "astro.png"
    cv2.imwrite(str(src), astronaut()[:, :, ::-1])
    out = tmp_path / "L.npz"
    assert main(["landmarks", str(src), "--backend", "dlib", "--out", str(out), "--quiet"]) == 0
    res = LandmarkResult.load(out)
    assert res.points.shape == (1, 68, 2) and res.image_size == (512, 512)
    assert main(["render-landmarks", str(out), "--size", "128", "--out", str(tmp_path / "lm"), "--quiet"]) == 0
    files = sorted((tmp_path / "lm").glob("*.png"))
    assert len(files) == 1
    img = cv2.imread(str(files[0]))
    assert img.shape == (128, 128, 3) and 0.02 < (img.max(axis=2) > 0).mean() < 0.3
    assert main(["render-landmarks", str(out), "--size", "100", "--frame", "--out", str(tmp_path / "f")]) == 0
    assert cv2.imread(str(next((tmp_path / "f").glob("*.png")))).shape == (100, 100, 3)


def test_video_to_npz_to_mp4(tmp_path):
    video = tmp_path / "clip.mp4"
    with VideoWriter(video, fps=12) as w:
        for f in moving_clip(6):
            w.write(f)
    out = tmp_path / "clip.npz"
    assert main(["landmarks", str(video), "--out", str(out), "--smoothing", "0.5", "--quiet"]) == 0
    res = LandmarkResult.load(out)
    assert len(res) == 6 and res.fps == 12.0 and res.found.all()
    assert main(["render-landmarks", str(out), "--out", str(tmp_path / "lm.mp4"), "--quiet"]) == 0
    assert (tmp_path / "lm.mp4").stat().st_size > 0


def test_user_errors_are_one_line(tmp_path, capsys):
    assert main(["landmarks", str(tmp_path / "missing.png"), "--quiet"]) == 2
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.zeros((64, 64, 3), np.uint8))
    assert main(["landmarks", str(blank), "--backend", "dlib", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: no face found in") and "blank.png" in err[-1]
    assert main(["landmarks", str(blank), "--face", "left", "--quiet"]) == 2
