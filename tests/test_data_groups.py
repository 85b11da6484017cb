"""Clips of a VoxCeleb2-shaped tree group into videos and speakers; the held-out split is speaker-disjoint."""
import numpy as np
import pytest

from fsth_core.data.groups import clip_group, group_clips, speaker_split

CLIPS = [f"id{s:03d}__vid{v}__{c:05d}" for s in range(6) for v in "AB" for c in range(3)]


def test_voxceleb2_clips_group_by_video_and_speaker():
    video_of, names, speakers = group_clips(CLIPS)
    assert len(names) == 12 and len(set(video_of)) == 12
    assert names[video_of[CLIPS.index("id002__vidB__00001")]] == "id002__vidB"
    assert speakers[video_of[CLIPS.index("id002__vidB__00001")]] == "id002"
    assert video_of[CLIPS.index("id002__vidB__00000")] == video_of[CLIPS.index("id002__vidB__00002")]


def test_other_levels_and_flat_clips():
    assert clip_group("actor__take__clip__part", level=3) == ("actor__take__clip", "actor")
    assert clip_group("actor__clip", level=2) == ("actor", "actor")
    assert clip_group("single") == ("single", "single")
    with pytest.raises(ValueError):
        clip_group("a__b", level=0)


def test_speaker_split_is_disjoint_seeded_and_whole():
    _, _, speakers = group_clips(CLIPS)
    train, held = speaker_split(speakers, 2, seed=3)
    assert sorted(train + held) == list(range(12))
    assert not {speakers[i] for i in train} & {speakers[i] for i in held}
    assert len({speakers[i] for i in held}) == 2 and len(held) == 4
    assert speaker_split(speakers, 2, seed=3) == (train, held)
    with pytest.raises(ValueError):
        speaker_split(speakers, 6)


def test_split_videos_groups_holds_out_speakers_and_falls_back_with_a_warning():
    from fsth_core.data.groups import split_videos

    split = split_videos(CLIPS, held_out=2, seed=3)
    assert len(split.train) == 8 and len(split.held) == 4 and split.held_out_by == "speaker" and not split.warning
    assert all(len(v) == 3 for v in split.train)  # a video's three clips share one W column
    assert sorted(split.train_clips + split.held_clips) == list(range(len(CLIPS)))
    assert split.record(CLIPS) == split_videos(CLIPS, 2, seed=3).record(CLIPS)
    assert split.record(CLIPS)["digest"] != split_videos(CLIPS, 2, seed=4).record(CLIPS)["digest"]
    with pytest.raises(ValueError, match="6 speakers"):
        split_videos(CLIPS, held_out=6)
    one = [c for c in CLIPS if c.startswith("id000")]
    by_video = split_videos(one, held_out=1)
    assert by_video.held_out_by == "video" and len(by_video.held) == 1 and "not speaker-disjoint" in by_video.warning
    by_clip = split_videos(one[:3], held_out=1)
    assert by_clip.held_out_by == "clip" and by_clip.train == [[c for c in range(3) if c not in by_clip.held_clips]]
    flat = split_videos([f"synth_{i:05d}" for i in range(5)], held_out=2, seed=1)
    assert len(flat.train) == 3  # each flat clip is its own video and speaker, and the split is TrainingSet.split's
    assert flat.held_clips == sorted(np.random.default_rng(1).permutation(5)[:2].tolist())
