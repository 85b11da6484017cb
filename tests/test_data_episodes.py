"""Episode dataset and sampler: shapes, ranges, determinism, sharding."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from fsth_core.data.episodes import EpisodeDataset, EpisodeSampler
from fsth_core.data.store import TrainingSet
from fsth_core.landmarks.render import draw_landmarks
from fsth_core.synthetic.heads import write_synthetic_dataset

S, K = 32, 3


@pytest.fixture(scope="module")
def train_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("episodes")
    write_synthetic_dataset(root, identities=5, frames=6, size=S, seed=7, progress=False)
    return TrainingSet(root)


def test_item_shapes_and_ranges(train_set):
    ds = EpisodeDataset(train_set, k=K, seed=1)
    assert len(ds) == 5
    item = ds[2]
    assert item["frames"].shape == (K, 3, S, S) and item["landmark_images"].shape == (K, 3, S, S)
    assert item["target"].shape == (3, S, S) and item["target_landmark_image"].shape == (3, S, S)
    assert item["video_index"] == 2 and item["frame_indices"].shape == (K + 1,)
    assert len(set(item["frame_indices"].tolist())) == K + 1  # distinct frames when the video is long enough
    for key in ("frames", "landmark_images", "target", "target_landmark_image"):
        t = item[key]
        assert t.dtype == torch.float32 and t.min() >= -1 and t.max() <= 1
    assert item["frames"].std() > 0.1
    # the target really is the last chosen frame with its landmark drawing
    fi = item["frame_indices"].tolist()
    raw = train_set.frames(2, [fi[-1]])[0]
    np.testing.assert_allclose(item["target"].permute(1, 2, 0).numpy(), raw / 127.5 - 1, atol=1e-6)
    lm = draw_landmarks(train_set.landmarks(2)[fi[-1]], S)
    np.testing.assert_allclose(item["target_landmark_image"].permute(1, 2, 0).numpy(), lm / 127.5 - 1, atol=1e-6)


def test_determinism(train_set):
    a, b = EpisodeDataset(train_set, k=K, seed=1), EpisodeDataset(train_set.root, k=K, seed=1)
    for i in range(len(a)):
        assert torch.equal(a[i]["frames"], b[i]["frames"]) and torch.equal(a[i]["target"], b[i]["target"])
    choices = lambda ds, e: [ds.choose_frames(e, i).tolist() for i in range(len(ds))]  # noqa: E731
    assert choices(a, 0) != choices(a, 1)
    assert choices(a, 0) != choices(EpisodeDataset(train_set, k=K, seed=2), 0)
    a.set_epoch(4)
    assert torch.equal(a[3]["frames"], b[(4, 3)]["frames"])


def test_subset_resize_and_short_videos(train_set):
    ds = EpisodeDataset(train_set, k=8, video_indices=[4, 1], image_size=16, episodes_per_video=3)
    assert len(ds) == 6
    item = ds[3]  # video 1 again, as position 1
    assert item["video_index"] == 1 and item["frames"].shape == (8, 3, 16, 16)
    assert item["frame_indices"].max() < 6  # 6-frame videos sampled with replacement
    with pytest.raises(ValueError, match="video_indices"):
        EpisodeDataset(train_set, video_indices=[7])
    with pytest.raises(IndexError):
        ds[6]


def test_sampler_sharding_and_dataloader(train_set):
    ds = EpisodeDataset(train_set, k=K, episodes_per_video=2)
    shards = [list(EpisodeSampler(len(ds), seed=3, rank=r, world_size=3)) for r in range(3)]
    assert all(len(s) == 4 for s in shards)
    items = [i for s in shards for _, i in s]
    assert set(items) == set(range(10))
    halves = [{i for _, i in EpisodeSampler(len(ds), seed=3, rank=r, world_size=2)} for r in range(2)]
    assert len(halves[0]) == 5 and not halves[0] & halves[1]  # ranks get different episodes
    sampler = EpisodeSampler(len(ds), seed=3)
    sampler.set_epoch(1)
    assert [e for e, _ in sampler] == [1] * 10 and list(sampler) != list(EpisodeSampler(len(ds), seed=3))
    batch = next(iter(DataLoader(ds, batch_size=4, sampler=sampler)))
    assert batch["frames"].shape == (4, K, 3, S, S) and batch["video_index"].shape == (4,)
    # torch's DistributedSampler (ints) works too, each rank its own videos
    seen = [set(DistributedSampler(ds, num_replicas=2, rank=r, shuffle=True, seed=0)) for r in range(2)]
    assert not seen[0] & seen[1]
    b2 = next(iter(DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=1))))
    assert b2["target"].shape == (2, 3, S, S)


def test_an_episode_draws_frames_from_across_the_clips_of_its_video(tmp_path):
    from _trainset_helpers import voxceleb_shaped

    from fsth_core.data.groups import split_videos

    ts = TrainingSet(voxceleb_shaped(tmp_path / "vox", speakers=2, videos=2, clips=2, frames=4, size=S))
    split = split_videos(ts.video_ids)
    assert len(split.train) == 4 and all(len(v) == 2 for v in split.train)
    ds = EpisodeDataset(ts, k=K, videos=split.train, seed=0, episodes_per_video=8)
    assert ds.num_videos == 4 and len(ds) == 32
    seen = set()
    for i in range(len(ds)):
        item = ds[i]
        clips, frames = item["clip_indices"].tolist(), item["frame_indices"].tolist()
        assert set(clips) <= set(split.train[item["video_index"]])
        assert len(set(zip(clips, frames))) == K + 1  # 8 frames in the video: no repeats
        seen.update(clips)
        raw = ts.frames(clips[-1], [frames[-1]])[0]
        np.testing.assert_allclose(item["target"].permute(1, 2, 0).numpy(), raw / 127.5 - 1, atol=1e-6)
    assert seen == set(range(len(ts)))  # every clip of every video was drawn from
    with pytest.raises(ValueError, match="not both"):
        EpisodeDataset(ts, video_indices=[0], videos=[[0]])
