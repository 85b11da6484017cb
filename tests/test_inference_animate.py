"""`animate` end to end on a real photo, and its clear errors on bad inputs (no partial output)."""
import pickle
from pathlib import Path

import numpy as np
import pytest
from _cli_helpers import assert_refused, run_cli

from fsth_core.cli import main
from fsth_core.io.media import probe

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    return out


def _animate(*args):
    return run_cli("animate", "--quiet", *args)


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
    """One ``error:`` line (``assert_refused``) and none of ``outputs`` written, not even a temporary file."""
    assert_refused(r, *needles)
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
    from fsth_core.io.media import VideoWriter
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


def test_audio_drives_the_motion_and_is_muxed_into_the_video(tmp_path):
    from scipy.io import wavfile

    from fsth_core.io.media import stream_durations
    from fsth_core.landmarks.audio import load_audio
    from fsth_core.synthetic.audio import synthetic_speech

    x, _ = synthetic_speech(1.2, 16000, seed=2)
    wav = tmp_path / "speech.wav"
    wavfile.write(str(wav), 16000, (x * 32767).astype(np.int16))
    out = tmp_path / "talk.mp4"
    r = _animate("--method", "warp", "--source", PORTRAIT, "--audio", wav, "--fps", "10", "--edit", "smile=0.5",
                 "--out", out)
    assert r.returncode == 0, r.stderr
    assert "12 frames at 10 fps" in r.stdout and "with sound" in r.stdout  # as long as the sound
    d = stream_durations(out)
    assert d["audio"] == pytest.approx(1.2, abs=0.05) and d["video"] == pytest.approx(1.2, abs=0.11)
    sound, rate = load_audio(out)  # the sound of the mp4 decodes again
    assert len(sound) / rate == pytest.approx(1.2, abs=0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav", "talk.mp4"]  # no temporary files left


def test_still_motion_with_an_edit_poses_the_portrait(tmp_path):
    import cv2

    frames = tmp_path / "f"
    r = _animate("--method", "warp", "--source", PORTRAIT, "--motion", "still", "--edit", "mouth=0.3,eyes=1",
                 "--seconds", "0.2", "--fps", "10", "--out", tmp_path / "o.mp4", "--frames-dir", frames)
    assert r.returncode == 0, r.stderr
    imgs = [cv2.imread(str(p)) for p in sorted(frames.glob("*.png"))]
    src = cv2.imread(str(PORTRAIT))
    assert len(imgs) == 2 and (imgs[0] == imgs[1]).all()  # still: the same pose in every frame
    diff = np.abs(imgs[0].astype(int) - src).max(axis=2) > 40
    assert diff.sum() > 100 and not diff[:, :80].any()  # the face changed, the picture's left edge did not
    _assert_one_line_error(_animate("--method", "warp", "--source", PORTRAIT, "--motion", "still", "--edit",
                                    "yaw=90", "--out", tmp_path / "x.mp4"), "yaw=90 is outside",
                           outputs=[tmp_path / "x.mp4"])
