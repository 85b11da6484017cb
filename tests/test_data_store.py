"""Training-set store: round trip, resume after interruption, errors, split."""
import json
import os
import shutil

import numpy as np
import pytest

from fsth_core.data.store import DatasetWriter, TrainingSet, rebuild_index
from fsth_core.synthetic.heads import write_synthetic_dataset

S = 32


def _video(seed, n):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, 1, 3))
    ramp = np.linspace(0, 1, S)[None, :, None, None]
    frames = (base * (0.3 + 0.7 * ramp) * np.ones((n, S, S, 3)) + np.arange(n)[:, None, None, None] * 5) % 256
    pts = rng.uniform(0, S, (n, 68, 2)).astype(np.float32)
    return frames.astype(np.uint8), pts


def test_round_trip(tmp_path):
    vids = {"a": _video(0, 5), "b-2": _video(1, 3)}
    with DatasetWriter(tmp_path, S) as w:
        for vid, (f, p) in vids.items():
            w.write_video(vid, iter(f), p, source=f"test {vid}")
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["image_size"] == S and [v["id"] for v in index["videos"]] == ["a", "b-2"]
    ts = TrainingSet(tmp_path)
    assert len(ts) == 2 and ts.video_ids == ["a", "b-2"] and ts.num_frames(0) == 5
    for i, vid in enumerate(ts.video_ids):
        f, p = vids[vid]
        got = ts.frames(i, [2, 0, 2])
        assert got.shape == (3, S, S, 3) and got.dtype == np.uint8
        assert np.abs(got.astype(int) - f[[2, 0, 2]].astype(int)).mean() < 4
        np.testing.assert_array_equal(ts.landmarks(i), p)
    assert ts.videos[1]["source"] == "test b-2"


def test_write_errors(tmp_path):
    f, p = _video(0, 4)
    w = DatasetWriter(tmp_path, S)
    with pytest.raises(ValueError, match="landmark sets"):
        w.write_video("x", f[:3], p)
    with pytest.raises(ValueError, match="invalid video id"):
        w.write_video("../x", f, p)
    with pytest.raises(ValueError, match="frame must be"):
        w.write_video("y", f[:, :16], p)
    assert not any((tmp_path / "videos").iterdir())  # failed videos leave nothing behind
    w.write_video("z", f, p)
    w.close()
    with pytest.raises(ValueError, match="image_size"):
        DatasetWriter(tmp_path, 64)


def test_resume_after_interruption(tmp_path):
    write_synthetic_dataset(tmp_path, identities=3, frames=4, size=S, seed=5, progress=False)
    videos = tmp_path / "videos"
    mtimes = {d.name: os.stat(d / "frames.bin").st_mtime_ns for d in videos.iterdir()}
    # simulate a crash while writing video 2: its folder is only half written, no index yet
    shutil.move(videos / "synth_00002", videos / "synth_00002.partial")
    (videos / "synth_00002.partial" / "meta.json").unlink()
    (tmp_path / "index.json").unlink()
    with pytest.raises(ValueError, match="index.json"):
        TrainingSet(tmp_path)
    write_synthetic_dataset(tmp_path, identities=4, frames=4, size=S, seed=5, progress=False)
    assert sorted(d.name for d in videos.iterdir()) == [f"synth_{i:05d}" for i in range(4)]
    for vid in ("synth_00000", "synth_00001"):  # finished videos are not rewritten
        assert os.stat(videos / vid / "frames.bin").st_mtime_ns == mtimes[vid]
    ts = TrainingSet(tmp_path)
    assert len(ts) == 4 and ts.frames(2, [3]).shape == (1, S, S, 3)
    with pytest.raises(ValueError, match="other settings"):
        write_synthetic_dataset(tmp_path, identities=4, frames=6, size=S, seed=5, progress=False)


def test_rebuild_index(tmp_path):
    write_synthetic_dataset(tmp_path, identities=2, frames=3, size=S, seed=1, progress=False)
    before = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").unlink()
    assert rebuild_index(tmp_path) == 2
    assert json.loads((tmp_path / "index.json").read_text()) == before


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        TrainingSet(tmp_path / "missing")
    with pytest.raises(ValueError, match="index.json"):
        TrainingSet(tmp_path)
    write_synthetic_dataset(tmp_path, identities=2, frames=3, size=S, seed=1, progress=False)
    ts = TrainingSet(tmp_path)
    with pytest.raises(IndexError):
        ts.frames(0, [3])
    with pytest.raises(IndexError):
        ts.frames(2, [0])
    (tmp_path / "videos" / "synth_00001" / "landmarks.npy").unlink()
    with pytest.raises(ValueError, match="synth_00001.*landmarks.npy"):
        ts.landmarks(1)
    binf = tmp_path / "videos" / "synth_00000" / "frames.bin"
    data = binf.read_bytes()
    binf.write_bytes(data[:200] + bytes(len(data) - 200))
    with pytest.raises(ValueError, match="synth_00000: frame 0 is corrupt"):
        TrainingSet(tmp_path).frames(0, [0])
    shutil.rmtree(tmp_path / "videos" / "synth_00000")
    with pytest.raises(ValueError, match="synth_00000"):
        TrainingSet(tmp_path).frames(0, [0])


def test_split(tmp_path):
    write_synthetic_dataset(tmp_path, identities=6, frames=2, size=S, seed=2, progress=False)
    ts = TrainingSet(tmp_path)
    train, held = ts.split(held_out=2, seed=3)
    assert len(held) == 2 and len(train) == 4 and sorted(train + held) == list(range(6))
    assert ts.split(held_out=2, seed=3) == (train, held)
    assert any(ts.split(held_out=2, seed=s)[1] != held for s in range(4, 10))
    with pytest.raises(ValueError):
        ts.split(held_out=6)
