"""More shots, better pictures, wherever a person is animated: clips picked by landmarks, identities and
person files that carry every shot, the nodes, the command line, and the mouth metrics that measure it."""
from pathlib import Path

import numpy as np
import pytest
from _cli_helpers import assert_refused, run_cli
from _landmark_helpers import astronaut, astronaut_points

from fsth_core.evaluation.metrics.mouth import MOUTH_METRICS, mouth_metrics, mouth_scores
from fsth_core.inference.clip_shots import select_shots
from fsth_core.inference.person import load_person, save_person
from fsth_core.inference.pipeline import compute_identity, prepare_sources
from fsth_core.io.media import VideoWriter
from fsth_core.landmarks.diverse import diverse_frames
from fsth_core.landmarks.geometry import close_eyes, open_mouth
from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.warp import MeshWarper

ROOT = Path(__file__).resolve().parent.parent


def _shifted(pts, dx, dy, angle=0.0, scale=1.0):
    c = pts.mean(0)
    a = np.radians(angle)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
    return ((pts - c) @ r.T + c + (dx, dy)).astype(np.float32)


def test_diverse_frames_start_typical_and_cover_every_expression():
    p = astronaut_points()
    track = [_shifted(p, i % 5, -(i % 3)) for i in range(30)]  # the same face, moving a little
    track[7] = _shifted(open_mouth(p, 0.3), 1, 0)              # one open mouth
    track[19] = close_eyes(track[19], 1.0)                      # one blink
    track[25] = _shifted(open_mouth(p, 0.3), 0, 0, angle=8.0, scale=1.2)  # the open mouth again, posed
    pick = diverse_frames(np.stack(track), 3)
    assert pick[0] not in (7, 19, 25)              # the base is a typical frame
    assert set(pick[1:]) == {7, 19} or set(pick[1:]) == {25, 19}  # then the different expressions
    usable = np.ones(30, bool)
    usable[[7, 25]] = False
    assert not set(diverse_frames(np.stack(track), 5, usable)) & {7, 25}  # frames without a face never


def test_select_shots_keeps_few_pictures_and_picks_from_many():
    p = astronaut_points()
    imgs = [np.full((8, 8, 3), i, np.uint8) for i in range(40)]
    pts = np.stack([_shifted(open_mouth(p, 0.01 * (i % 20)), i % 3, 0) for i in range(40)])
    few, few_pts = select_shots(imgs[:5], pts[:5], 32)
    assert len(few) == 5 and np.array_equal(few_pts, pts[:5])
    many, many_pts = select_shots(imgs, pts, 6)
    assert len(many) == 6 and len({int(m[0, 0, 0]) for m in many}) == 6
    openings = sorted(float(np.linalg.norm(q[66] - q[62])) for q in many_pts)
    assert openings[-1] - openings[0] > 0.5 * float(np.ptp([np.linalg.norm(q[66] - q[62]) for q in pts]))


def test_mouth_metrics_compare_mouths_in_their_own_frame():
    img, p = astronaut(), astronaut_points()
    opened = open_mouth(p, 0.2)
    real = MeshWarper(np.ascontiguousarray(img), p).warp(opened)[0]
    same = mouth_scores(real, real, opened)
    assert same["mouth_l1"] == 0 and same["inner_mouth_l1"] == 0 and same["mouth_ssim"] == pytest.approx(1.0)
    closed = mouth_scores(real, real, open_mouth(p, -0.2))
    assert all(np.isnan(v) for v in closed.values())  # no interior: not measured
    worse = mouth_scores(real, np.ascontiguousarray(img), opened)
    assert worse["inner_mouth_l1"] > 0.05 and worse["mouth_ssim"] < 0.9
    batch = mouth_metrics(np.stack([real, real]), np.stack([real, img]), np.stack([opened, opened]))
    assert set(batch) == set(MOUTH_METRICS) and batch["mouth_l1"][0] == 0 < batch["mouth_l1"][1]


def test_identity_and_person_file_carry_every_shot(tmp_path):
    img, p = np.ascontiguousarray(astronaut()), astronaut_points()
    second = np.ascontiguousarray(np.flip(img, 1))
    p2 = p.copy()
    p2[:, 0] = img.shape[1] - 1 - p2[:, 0]
    model = build_model(preset("tiny"), seed=0)
    ident = compute_identity(model, prepare_sources([img, second], [p, p2[list(range(68))]], 64))
    assert len(ident.pictures) == 2 and len(ident.extra_shots()) == 1
    region, pts = ident.pictures[0]
    assert region.shape[0] > 64 and pts.shape == (68, 2)  # the picture's own resolution, not the crop's
    path = save_person(tmp_path / "p.safetensors", ident)
    _, back = load_person(path, model)
    assert len(back.pictures) == 2
    assert all(np.array_equal(a, b) and np.allclose(pa, pb)
               for (a, pa), (b, pb) in zip(ident.pictures, back.pictures))


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory):
    """A clip of the astronaut talking (the mesh warp of her photo), 24 frames."""
    img, p = np.ascontiguousarray(astronaut()), astronaut_points()
    warper = MeshWarper(img, p)
    frames = [warper.warp(open_mouth(p, 0.15 * abs(np.sin(i / 3))))[0] for i in range(24)]
    path = tmp_path_factory.mktemp("clip") / "talk.mp4"
    with VideoWriter(path, fps=12, quality=12) as w:
        for f in frames:
            w.write(f)
    return path


def test_animate_from_a_source_clip(talking_clip, tmp_path):
    out = tmp_path / "out"
    r = run_cli("animate", "--method", "warp", "--quiet", "--source-clip", talking_clip, "--shots", "4", "--motion",
                "talk", "--seconds", "0.4", "--fps", "10", "--out", f"{out}/")
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.png"))) == 4
    assert_refused(run_cli("animate", "--method", "warp", "--quiet", "--source-clip", talking_clip, "--shots", "40",
                           "--motion", "talk", "--out", tmp_path / "x.mp4"), "--shots")


def test_animate_with_the_drivers_own_mouth(talking_clip, tmp_path):
    out = tmp_path / "dm"
    run = ["animate", "--method", "warp", "--quiet", "--source", ROOT / "fsth_core" / "assets" / "portrait.jpg"]
    r = run_cli(*run, "--driver", talking_clip, "--driver-mouth", "--out", f"{out}/")
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.png"))) == 24
    assert_refused(run_cli(*run, "--motion", "talk", "--driver-mouth", "--out", tmp_path / "x.mp4"), "--driver")
    assert not (tmp_path / "x.mp4").exists()
