"""Video-to-video: the face in a clip re-animated frame by frame, everything else the clip's own."""
import numpy as np
import pytest
from _landmark_helpers import moving_clip

from fsth_core.inference.pipeline import FrameGenerator, compute_identity, prepare_sources
from fsth_core.inference.video2video import reanimate_video, relative_targets
from fsth_core.landmarks.geometry import open_mouth
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.track import extract_landmarks
from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.runtime.device import Execution


@pytest.fixture(scope="module")
def clip():
    frames = list(moving_clip(6, 256))
    pts = extract_landmarks(frames, backend="dlib", progress=False).points
    return frames, pts


def test_still_motion_gives_the_clip_back(clip):
    frames, pts = clip
    still = np.repeat(pts[:1], len(frames), 0)  # a driver that never moves
    for (out, mask), f in zip(reanimate_video(frames, pts, still, size=64, fps=10), frames):
        assert np.array_equal(out, f) and mask.max() == 0


def test_motion_is_applied_relative_to_each_frame(clip):
    frames, pts = clip
    motion = np.stack([pts[0], open_mouth(pts[0], 0.3)] * 3)  # B: mouth closed, open, closed, ...
    targets = relative_targets(pts, motion)
    # odd frames: A's own landmarks of that frame (its pose: the clip pans) with the mouth opened
    gap = lambda p: float(np.linalg.norm(p[66] - p[62]))  # noqa: E731
    for t in range(len(frames)):
        if t % 2 == 0:  # B back at its reference: A's own landmarks
            np.testing.assert_allclose(targets[t], pts[t], atol=0.05)
        assert (gap(targets[t]) > gap(pts[t]) + 3) == bool(t % 2)
    outs = list(reanimate_video(frames, pts, motion, size=64, fps=10))
    for t, ((out, mask), f) in enumerate(zip(outs, frames)):
        assert out.shape == f.shape and np.array_equal(out[mask == 0], f[mask == 0])
        mouth = np.round(targets[t][62:67].mean(0)).astype(int)
        changed = np.abs(out.astype(int) - f)[mouth[1] - 3:mouth[1] + 4, mouth[0] - 3:mouth[0] + 4].mean()
        assert (changed > 10) == bool(t % 2)  # the mouth opens on A's own (moving) face


def test_neural_video_to_video_paints_from_each_frame(clip):
    frames, pts = clip
    m = build_model(preset("tiny", warp_guided=True, paint_region=True), seed=0)
    ex = Execution.resolve("cpu", "fp32")
    src = prepare_sources(frames[:1], pts[:1], 64)
    gen = FrameGenerator(m, compute_identity(m, src, ex), ex, batch=2)
    motion = procedural_motion(pts[0], len(frames), fps=10.0, seed=2, intensity=1.5)
    outs = list(reanimate_video(frames, pts, motion, size=64, fps=10, generator=gen))
    assert len(outs) == len(frames)
    for (out, mask), f in zip(outs, frames):
        assert np.array_equal(out[mask == 0], f[mask == 0]) and (mask > 0).any()


def test_cli_source_video(clip, tmp_path, capsys):
    from fsth_core.cli import main
    from fsth_core.io.media import VideoWriter, probe

    frames, _ = clip
    src = tmp_path / "a.mp4"
    with VideoWriter(src, fps=10) as w:
        for f in frames:
            w.write(f)
    out = tmp_path / "out.mp4"
    rc = main(["animate", "--method", "warp", "--source-video", str(src), "--motion", "talk", "--intensity", "2",
               "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    info = probe(out)
    assert (info.frames, info.width, info.height) == (len(frames), 256, 256) and info.fps == pytest.approx(10)
    rc = main(["animate", "--method", "warp", "--source-video", str(src), "--audio", str(src), "--out",
               str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("error:") == 1 and "--source-video" in err
