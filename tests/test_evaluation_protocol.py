"""Evaluation protocol: frame selection, held-out videos, face boxes (fast, no model runs)."""
import numpy as np
import pytest

from fsth_core.data.store import TrainingSet
from fsth_core.evaluation.protocol import EvalOptions, face_box
from fsth_core.evaluation.videos import open_videos, select_frames, trainingset_videos
from fsth_core.synthetic.heads import write_synthetic_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("ev") / "ds", identities=5, frames=6, size=32,
                                   seed=3, progress=False)


def test_targets_fixed_across_t_and_disjoint_from_sources():
    usable = np.ones(60, bool)
    sources, targets = select_frames(usable, (1, 8, 32), 16)
    assert len(targets) == 16 and len(set(targets)) == 16
    assert targets.min() >= 32  # after the source pool of max(T) frames
    for t, src in sources.items():
        assert len(src) == t and len(set(src)) == t
        assert not set(src) & set(targets)
    assert sources[1].tolist() == [0]


def test_large_t_skipped_and_unusable_frames_avoided():
    usable = np.ones(12, bool)
    usable[[0, 5]] = False
    sources, targets = select_frames(usable, (1, 4, 32), 4)
    assert sources[32] is None  # 10 usable frames: 6 in the pool, too few for T=32
    assert len(sources[4]) == 4 and len(targets) == 4
    used = set(targets.tolist()) | set(sources[4].tolist()) | set(sources[1].tolist())
    assert not used & {0, 5}
    assert select_frames(np.ones(1, bool), (1,), 4)[1].size == 0  # one frame: nothing to compare


def test_held_out_split_matches_training(dataset):
    ts = TrainingSet(dataset)
    expect = [ts.video_ids[i] for i in ts.split(2, seed=7)[1]]
    vs = trainingset_videos(dataset, 64, held_out=2, seed=7)
    assert vs.description["ids"] == expect and vs.count == 2
    # from the model's training recipe when not given
    vs = open_videos(dataset, 64, model_training={"held_out": 2, "seed": 7})
    assert vs.description["ids"] == expect
    video = next(vs.videos())
    assert video.frames([0, 3]).shape == (2, 64, 64, 3)  # resized from 32 px
    assert np.allclose(video.points, ts.landmarks(ts.video_ids.index(video.id)) * 2)
    assert trainingset_videos(dataset, 32, use_all=True, limit=3).count == 3


def test_held_out_required_or_valid(dataset):
    with pytest.raises(ValueError, match="held-out"):
        trainingset_videos(dataset, 32)
    with pytest.raises(ValueError, match="held-out"):
        trainingset_videos(dataset, 32, held_out=5)


def test_face_box_and_options():
    pts = np.stack([np.linspace(10, 50, 68), np.linspace(20, 40, 68)], 1).astype(np.float32)
    left, t, r, b = face_box(pts, 64)
    assert left <= 10 and r >= 50 and t <= 20 and b >= 40 and 0 <= left < r <= 63 and 0 <= t < b <= 63
    with pytest.raises(ValueError, match="method"):
        EvalOptions(method="gan")
    with pytest.raises(ValueError, match="shots"):
        EvalOptions(shots=(0,))


def test_inference_copy_leaves_the_model_usable():
    """Evaluation folds copies of a model many times (per video and T): the original must keep working."""
    import torch

    from fsth_core.inference.pipeline import inference_copy
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.runtime.device import Execution

    model = build_model(preset("tiny"), seed=0).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = model.embedder(x, x)
        folded = inference_copy(model, Execution.resolve("cpu", "fp32", channels_last=False))
        assert folded.folded and not model.folded
        assert torch.allclose(model.embedder(x, x), before)
        assert torch.allclose(folded.embedder(x, x), before, atol=1e-5)


def test_eval_holds_out_the_speakers_training_held_out(tmp_path, caplog):
    """Evaluation on a VoxCeleb2-shaped set sees only clips of speakers the model never trained on."""
    import logging

    from _trainset_helpers import voxceleb_shaped

    from fsth_core.training.meta import TrainOptions
    from fsth_core.training.sampling import training_split

    root = voxceleb_shaped(tmp_path / "vox", speakers=4, videos=2, clips=2, frames=3, size=32)
    ts, split = training_split(TrainOptions(data=str(root), out="unused", held_out=2, seed=3))
    trained = {ts.video_ids[c].split("__")[0] for c in split.train_clips}
    with caplog.at_level(logging.WARNING, logger="fsth"):
        vs = open_videos(root, 32, model_training={"held_out": 2, "seed": 3, "video_level": 2,
                                                   "held_out_by": "speaker"})
    assert not caplog.records
    held = {i.split("__")[0] for i in vs.description["ids"]}
    assert len(held) == 2 and not held & trained and vs.count == 8  # 2 speakers x 2 videos x 2 clips
    assert vs.description["held_out_by"] == "speaker" and vs.description["split_warning"] is None
    assert vs.description["ids"] == [ts.video_ids[c] for c in split.held_clips]
    # a model from before speaker-level splits (no held_out_by): its clip-level split, with a warning
    with caplog.at_level(logging.WARNING, logger="fsth"):
        old = open_videos(root, 32, model_training={"held_out": 2, "seed": 3})
    assert old.description["ids"] == [ts.video_ids[i] for i in ts.split(2, 3)[1]]
    assert len(caplog.records) == 1 and "not speaker-disjoint" in caplog.records[0].getMessage()


def test_a_single_speaker_cannot_be_held_out_disjointly_and_says_so(tmp_path, caplog):
    import logging

    from _trainset_helpers import voxceleb_shaped

    root = voxceleb_shaped(tmp_path / "one", speakers=1, videos=3, clips=2, frames=3, size=32)
    with caplog.at_level(logging.WARNING, logger="fsth"):
        vs = trainingset_videos(root, 32, held_out=1, seed=0)
    assert vs.count == 2 and len({i.rsplit("__", 1)[0] for i in vs.description["ids"]}) == 1  # one whole video
    assert vs.description["held_out_by"] == "video"
    assert len(caplog.records) == 1 and "not speaker-disjoint" in caplog.records[0].getMessage()
    assert "\n" not in caplog.records[0].getMessage()
