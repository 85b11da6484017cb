"""Clips of a VoxCeleb2-shaped tree group into videos and speakers; the held-out split is speaker-disjoint."""
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
