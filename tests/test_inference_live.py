"""Real-time animate: the pipelined stages give the sequential frames, a camera (a fake capture here)
animates live until it ends or Ctrl-C, and every way of stopping leaves either a whole video or nothing.
(The stage pipeline itself: test_runtime_threads.py.)"""
import os
import signal
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from _cli_helpers import assert_refused, run_cli
from _landmark_helpers import astronaut_points, dlib_detector, moving_clip

from fsth_core.cli import main
from fsth_core.inference.animate import AnimateOptions, animate
from fsth_core.inference.live import LiveMotion, camera_index, gui_support, open_camera
from fsth_core.io.media import iter_frames, probe

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"
BUNDLED = ROOT / "weights" / "fsth_demo_cpu128.safetensors"  # warp-guided, pasted back at 320x320


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):  # the paper's plain generator: pasted back resized
    out = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    return out


def _stage_threads():
    return [t for t in threading.enumerate() if t.name.startswith("fsth-") and t.is_alive()]


def _pngs(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.png"))]


def _no_leftovers(folder: Path, keep=()):
    assert sorted(p.name for p in folder.iterdir()) == sorted(keep)


# --------------------------------------------------------- pipelined frames are the sequential frames

@pytest.fixture(scope="module")
def tiny_sources():
    from fsth_core.inference.inputs import load_sources

    return load_sources([PORTRAIT], 64)  # the tiny preset's size


@pytest.mark.parametrize("model, native", [("guided", True), ("plain", False), (None, True), (None, False)])
def test_the_nodes_frame_stream_pipelined_equals_sequential(model, native, tiny_sources):
    """The Generator node's path (frame_stream): the stages in threads give the frames one after the other
    gives, composed at the picture's resolution (warp-guided model, the warp) or head crops.  Both at one torch
    thread: a float sum split over 2 threads rounds differently (frames 1 level apart), not the stages' doing."""
    from fsth_core.inference.frames import frame_stream
    from fsth_core.inference.pipeline import FrameGenerator, compute_identity
    from fsth_core.landmarks.motion import procedural_motion
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model

    m = build_model(preset("tiny", warp_guided=model != "plain"), seed=0)
    size, src = m.config.image_size, tiny_sources
    assert src.crops.shape[1] == size
    ident = compute_identity(m, src)
    pts = procedural_motion(src.points[0], 5, fps=25, seed=3)
    kw = dict(picture=src.images[0], box=src.transforms[0]) if native else {}
    runs = {}
    for pipelined in (False, True):
        gen = FrameGenerator(m, ident, batch=3) if model else None
        seen = []
        runs[pipelined] = list(frame_stream(ident, pts, size, gen, progress=lambda d, t, seen=seen: seen.append((d, t)),
                                            pipelined=pipelined, threads=1, **kw))
        assert seen == [(i, 5) for i in range(1, 6)]
    (a, b) = runs[True][0]
    assert len(runs[True]) == 5 and a.dtype == np.uint8 and b.dtype == np.float32 and a.shape[:2] == b.shape
    assert all(np.array_equal(f, g) and np.array_equal(p, q) for (f, p), (g, q) in zip(runs[False], runs[True]))
    if native:  # the picture's head region at its own resolution, masks of what moved
        assert a.shape[0] > size and 0 < b.mean() < 1
    else:
        assert a.shape == (size, size, 3) and b.min() == 1
    assert not _stage_threads()


@pytest.mark.parametrize("model, kw", [
    ("bundled", {}),                                   # warp-guided, composed at the picture's resolution
    ("tiny", {}),                                      # plain generator, pasted back resized
    ("tiny", {"paste_back": False}),                   # head crops
    ("tiny", {"min_realism": 0.0}),                    # the realism stage too
    (None, {"method": "warp"}),                        # the mesh warp alone
])
def test_pipelined_frames_equal_the_sequential_ones(model, kw, tiny_model, tmp_path):
    path = {"bundled": BUNDLED, "tiny": tiny_model, None: None}[model]
    outs = {}
    for pipelined in (False, True):
        out = tmp_path / f"p{int(pipelined)}"
        opt = AnimateOptions(pipeline=pipelined, threads=1, seconds=0.44, fps=25, finetune_steps=0, batch=4, **kw)
        r = animate(path, [PORTRAIT], f"{out}/", options=opt, progress=False)
        assert r.written == 11 and r.frames_per_s > 0 and r.setup_s >= 0
        outs[pipelined] = _pngs(out)
    assert len(outs[True]) == 11 and outs[True] == outs[False]  # byte for byte
    assert not _stage_threads()


def test_an_error_in_a_stage_ends_the_job_with_that_error_and_no_output(tmp_path, monkeypatch):
    from fsth_core.inference.compose import NativeCompositor

    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise ValueError("composition failed")
        return real(self, *args, **kwargs)

    real = NativeCompositor.region_frame
    monkeypatch.setattr(NativeCompositor, "region_frame", failing)
    out = tmp_path / "o.mp4"
    with pytest.raises(ValueError, match="composition failed"):
        animate(BUNDLED, [PORTRAIT], out, options=AnimateOptions(seconds=0.6), progress=False)
    _no_leftovers(tmp_path)
    assert not _stage_threads()


class StopAt:
    """A preview window that raises KeyboardInterrupt (Ctrl-C) when the n-th frame is shown."""

    def __init__(self, n):
        self.n, self.shown = n, 0

    def show(self, frame):
        self.shown += 1
        if self.shown == self.n:
            raise KeyboardInterrupt
        return True


def test_ctrl_c_while_generating_leaves_no_partial_file(tmp_path):
    out, frames = tmp_path / "o.mp4", tmp_path / "f"
    with pytest.raises(KeyboardInterrupt):
        animate(BUNDLED, [PORTRAIT], out, options=AnimateOptions(seconds=2), frames_dir=frames,
                progress=False, preview=StopAt(6))
    _no_leftovers(tmp_path)  # neither the video nor its PNG frames, nor the folder made for them
    time.sleep(0.3)
    assert not _stage_threads()


class Window:
    """A preview window that records what it shows; returns False (q/Esc) at frame ``stop_at``."""

    def __init__(self, stop_at=None):
        self.frames, self.stop_at = [], stop_at

    def show(self, frame):
        self.frames.append(frame)
        return len(self.frames) != self.stop_at


def test_preview_shows_every_frame_and_q_ends_with_a_whole_video(tmp_path):
    win = Window()
    r = animate(BUNDLED, [PORTRAIT], tmp_path / "a.mp4", options=AnimateOptions(seconds=0.4), progress=False,
                preview=win)
    assert len(win.frames) == 10 == r.written and win.frames[0].shape == (320, 320, 3) and not r.stopped
    win = Window(stop_at=4)
    r = animate(BUNDLED, [PORTRAIT], tmp_path / "b.mp4", options=AnimateOptions(seconds=2), progress=False,
                preview=win)
    assert r.stopped and r.written == 4 and probe(tmp_path / "b.mp4").frames in (3, 4, 5)
    assert len(list(iter_frames(tmp_path / "b.mp4"))) == 4
    _no_leftovers(tmp_path, ["a.mp4", "b.mp4"])


# ------------------------------------------------------------------------------------------- the camera

class FakeCapture:
    """Reads like cv2.VideoCapture: BGR frames of the astronaut clip, ``delay`` seconds apart; ``on_read``
    is called with the count after each read (from the capture's thread)."""

    def __init__(self, n=24, delay=0.0, on_read=None):
        self.frames = [f[..., ::-1].copy() for f in moving_clip(n)]
        self.reads, self.delay, self.on_read, self.released = 0, delay, on_read, False

    def read(self):
        if self.reads >= len(self.frames):
            return False, None
        time.sleep(self.delay)
        f = self.frames[self.reads]
        self.reads += 1
        if self.on_read:
            self.on_read(self.reads)
        return True, f

    def get(self, prop):
        return 20.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def test_camera_animates_live_and_keeps_its_timing(tmp_path):
    cap = FakeCapture(24)  # faster than the pipeline: frames are skipped, their time held
    win = Window()
    r = animate(BUNDLED, [PORTRAIT], tmp_path / "live.mp4", driver=cap, progress=False, preview=win)
    assert r.camera and r.fps == 20.0 and not r.stopped
    assert r.written == cap.reads == 24  # every camera frame is in the video: made, or the previous one held
    assert r.frames == len(win.frames) == 24 - r.skipped and r.frames >= 2
    info = probe(tmp_path / "live.mp4")
    assert info.fps == pytest.approx(20.0) and (info.width, info.height) == (320, 320)
    _no_leftovers(tmp_path, ["live.mp4"])
    assert not _stage_threads()


def test_live_motion_is_the_file_drivers_motion_without_its_offline_smoothing():
    from fsth_core.inference.inputs import load_sources
    from fsth_core.landmarks.crop import head_crop_box
    from fsth_core.landmarks.retarget import retarget
    from fsth_core.landmarks.track import extract_landmarks

    frames = list(moving_clip(10))
    src = load_sources([PORTRAIT], 128)
    live = LiveMotion(src.points[0], 128, dlib_detector(), smoothing=0.0)
    online = np.stack([live(f) for f in frames])
    res = extract_landmarks(frames, backend=dlib_detector(), progress=False)
    box = head_crop_box(res.points, res.image_size)  # the file's box over all frames; the live one: frame 0's
    offline = retarget(src.points[0], box.points_to_crop(res.points, 128))
    assert np.abs(online - offline).max() < 1e-3  # relative retargeting does not depend on the head box


def test_streaming_one_euro_is_the_forward_pass_of_the_offline_filter():
    from fsth_core.landmarks.smooth import OneEuroStream, face_scale, one_euro, one_euro_params

    rng = np.random.default_rng(0)
    face = astronaut_points()  # a real face (~150 px), drifting 1 px a frame, with 1 px of detector noise
    pts = (face + rng.normal(0, 1.0, (30, 68, 2)) + np.linspace(0, 30, 30)[:, None, None]).astype(np.float32)
    f = OneEuroStream(0.5, fps=30)
    online = np.stack([f(p) for p in pts])
    scale, origin = face_scale(pts[:1]), pts[0].mean(axis=0)
    fwd = one_euro((pts - origin) / scale, 30, *one_euro_params(0.5)) * scale + origin
    assert np.abs(online - fwd).max() < 1e-3
    assert np.abs(np.diff(online, 2, axis=0)).mean() < np.abs(np.diff(pts, 2, axis=0)).mean() / 2  # less jitter


def test_ctrl_c_ends_a_live_recording_with_a_whole_video(tmp_path):
    def ctrl_c(n):
        if n == 6:
            os.kill(os.getpid(), signal.SIGINT)

    cap = FakeCapture(60, delay=0.02, on_read=ctrl_c)
    r = animate(BUNDLED, [PORTRAIT], tmp_path / "rec.mp4", driver=cap, progress=False)
    assert r.stopped and 6 <= cap.reads < 60 and r.written == cap.reads
    assert len(list(iter_frames(tmp_path / "rec.mp4"))) == r.written
    _no_leftovers(tmp_path, ["rec.mp4"])


def test_a_second_ctrl_c_aborts_a_live_recording_and_leaves_nothing(tmp_path):
    class TwiceCtrlC(Window):
        def show(self, frame):
            if len(self.frames) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # ends the recording ...
                time.sleep(0.05)
                os.kill(os.getpid(), signal.SIGINT)  # ... and this one aborts it
                time.sleep(0.5)
            return super().show(frame)

    with pytest.raises(KeyboardInterrupt):
        animate(BUNDLED, [PORTRAIT], tmp_path / "rec.mp4", driver=FakeCapture(60, delay=0.02), progress=False,
                preview=TwiceCtrlC())
    _no_leftovers(tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are restored


def test_a_camera_that_shows_no_face_is_one_clear_error(tmp_path):
    class Blank(FakeCapture):
        def read(self):
            ok, f = super().read()
            return ok, (np.zeros_like(f) if ok else f)

    with pytest.raises(ValueError, match="no face was seen"):
        animate(BUNDLED, [PORTRAIT], tmp_path / "o.mp4", driver=Blank(5), progress=False)
    _no_leftovers(tmp_path)


# ----------------------------------------------------------------------------- the command line's errors

def _animate_cli(*args):
    return run_cli("animate", "--quiet", *args)


def test_camera_index_and_no_camera_is_one_error_line(tmp_path):
    assert camera_index("0") == 0 and camera_index(2) == 2 and camera_index("clip.mp4") is None
    assert camera_index(True) is None
    (tmp_path / "7").write_bytes(b"")
    assert camera_index(str(tmp_path / "7")) is None
    with pytest.raises(ValueError, match="camera 99: cannot be opened"):
        open_camera(99)
    out = tmp_path / "o.mp4"
    r = _animate_cli("--model", BUNDLED, "--source", PORTRAIT, "--driver", "99", "--out", out)
    assert_refused(r, "camera 99: cannot be opened")
    assert not out.exists()


def test_preview_without_a_display_is_one_error_line_before_any_work(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = tmp_path / "o.mp4"
    t = time.perf_counter()
    r = _animate_cli("--model", BUNDLED, "--source", PORTRAIT, "--motion", "talk", "--preview", "--out", out)
    assert_refused(r, "--preview needs")
    assert not out.exists() and time.perf_counter() - t < 60
    # each reason on its own: OpenCV without window support, and no display
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:     NONE\n")
    assert "window support" in gui_support()
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:     GTK3\n")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert "needs a display" in gui_support()
    monkeypatch.setenv("DISPLAY", ":0")
    assert gui_support() is None


def test_adain_in_bf16_inference_is_the_fp32_round_trip_up_to_one_ulp():
    import torch
    import torch.nn.functional as F

    from fsth_core.models.layers import AdaIN

    torch.manual_seed(0)
    norm = AdaIN(16)
    x = (torch.randn(4, 16, 32, 32) * 3 + 1).to(torch.bfloat16)
    psi = torch.randn(1, 32) * 0.3
    with torch.inference_mode():
        fast = norm(x, psi)  # the bf16 kernel, fp32 statistics
    ref = F.instance_norm(x.float(), weight=1 + psi[0, :16], bias=psi[0, 16:], eps=1e-5)
    assert fast.dtype == torch.bfloat16
    rounded = ref.to(torch.bfloat16).float()
    big = torch.maximum(fast.float().abs(), rounded.abs()).clamp_min(1e-30)
    ulp = 2.0 ** (torch.floor(torch.log2(big)) - 7)  # bf16: 8 significant bits
    assert ((fast.float() - rounded).abs() <= ulp).all()
    assert torch.equal(norm(x, psi), ref.to(torch.bfloat16))  # with gradients: the fp32 round trip, as before
