"""`animate` end to end on a real photo, and its clear errors on bad inputs (no partial output)."""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fsth_core.cli import main
from fsth_core.media import probe

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    return out


def _animate(*args):
    return subprocess.run([sys.executable, "-m", "fsth_core", "animate", "--quiet", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_animate_real_photo_with_procedural_motion(tiny_model, tmp_path):
    out, frames = tmp_path / "out.mp4", tmp_path / "frames"
    r = _animate("--model", tiny_model, "--source", PORTRAIT, "--motion", "talk", "--seconds", "0.6",
                 "--fps", "10", "--finetune-steps", "1", "--out", out, "--frames-dir", frames,
                 "--person-out", tmp_path / "p.safetensors")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.kind == "video" and info.fps == pytest.approx(10, abs=0.01)
    assert info.frames == 6 and (info.width, info.height) == (320, 320)  # the whole picture by default
    assert len(list(frames.glob("*.png"))) == 6
    assert "6 frames at 10 fps" in r.stdout
    # the saved person animates again without fine-tuning
    again = tmp_path / "again.mp4"
    r2 = _animate("--model", tiny_model, "--source", PORTRAIT, "--person", tmp_path / "p.safetensors",
                  "--motion", "talk", "--seconds", "0.3", "--fps", "10", "--no-paste-back", "--out", again)
    assert r2.returncode == 0, r2.stderr
    info = probe(again)
    assert info.frames == 3 and (info.width, info.height) == (64, 64)  # head crops at the model's size


def test_warp_method_needs_no_model_and_pastes_back(tmp_path):
    out = tmp_path / "w.mp4"
    r = _animate("--method", "warp", "--source", PORTRAIT, "--motion", "talk", "--seconds", "0.4",
                 "--paste-back", "--out", out)
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info.width, info.height) == (320, 320) and info.frames == 10


def _assert_one_line_error(r, *needles, outputs=()):
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    for n in needles:
        assert n in err, err
    for p in outputs:
        assert not Path(p).exists()
        assert not [q for q in Path(p).parent.iterdir() if q.name.startswith("." + Path(p).stem)]


def test_source_without_a_face(tiny_model, tmp_path):
    import cv2
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    out = tmp_path / "o.mp4"
    r = _animate("--model", tiny_model, "--source", blank, "--motion", "talk", "--out", out)
    _assert_one_line_error(r, "no face found", "blank.png", outputs=[out])


def test_driver_without_a_face(tiny_model, tmp_path):
    from fsth_core.media import VideoWriter
    drv = tmp_path / "drv.mp4"
    with VideoWriter(drv, fps=10) as w:
        for i in range(5):
            w.write(np.full((64, 64, 3), 40 * i, np.uint8))
    out = tmp_path / "o.mp4"
    r = _animate("--model", tiny_model, "--source", PORTRAIT, "--driver", drv, "--no-finetune", "--out", out)
    _assert_one_line_error(r, "no face found", "drv.mp4", outputs=[out])


def test_unreadable_source_and_wrong_model(tiny_model, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    out = tmp_path / "o.mp4"
    _assert_one_line_error(_animate("--model", tiny_model, "--source", bad, "--motion", "talk", "--out", out),
                           "broken.jpg", outputs=[out])
    _assert_one_line_error(_animate("--model", tiny_model, "--source", tmp_path / "missing.jpg", "--motion",
                                    "talk", "--out", out), "missing.jpg", outputs=[out])
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    _assert_one_line_error(_animate("--model", fake, "--source", PORTRAIT, "--motion", "talk", "--out", out),
                           "model.safetensors", "pickle", outputs=[out])


def test_min_realism_holds_unrealistic_frames(tiny_model, tmp_path):
    frames = tmp_path / "f"
    r = _animate("--model", tiny_model, "--source", PORTRAIT, "--motion", "talk", "--seconds", "0.4",
                 "--no-finetune", "--min-realism", "1e9", "--out", tmp_path / "o.mp4", "--frames-dir", frames)
    assert r.returncode == 0, r.stderr
    assert "9 unrealistic frames held" in r.stdout  # nothing reaches 1e9: the first frame is held
    import cv2
    imgs = [cv2.imread(str(p)) for p in sorted(frames.glob("*.png"))]
    assert len(imgs) == 10 and all((im == imgs[0]).all() for im in imgs)
    r2 = _animate("--model", tiny_model, "--source", PORTRAIT, "--motion", "talk", "--seconds", "0.4",
                  "--no-finetune", "--min-realism=-1e9", "--out", tmp_path / "o2.mp4")
    assert "0 unrealistic frames held" in r2.stdout
