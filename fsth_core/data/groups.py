"""Clip -> video -> speaker grouping of a training set, and a speaker-disjoint held-out split.

``prepare`` names each clip by its relative path joined with ``__`` (``id001/vidA/00001.mp4`` ->
``id001__vidA__00001``).  In a VoxCeleb2 layout the first part is the speaker and the first two the
video; for other layouts ``level`` says how many leading folders name the video (the speaker is
always the first part).  A clip whose path has no folder above it is its own video and speaker.
"""
from __future__ import annotations

import numpy as np

SEP = "__"


def clip_group(clip_id: str, level: int = 2) -> tuple[str, str]:
    """(video, speaker) of a clip id; ``level`` leading parts name the video (VoxCeleb2: 2)."""
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    parts = clip_id.split(SEP)
    if len(parts) == 1:
        return clip_id, clip_id
    video = SEP.join(parts[:min(level, len(parts) - 1)])
    return video, parts[0]


def group_clips(clip_ids: list[str], level: int = 2) -> tuple[list[int], list[str], list[str]]:
    """Per clip, the index of its video; the video names (first-seen order); each video's speaker."""
    video_of, names, speakers = [], [], []
    index: dict[str, int] = {}
    for cid in clip_ids:
        video, speaker = clip_group(cid, level)
        if video not in index:
            index[video] = len(names)
            names.append(video)
            speakers.append(speaker)
        video_of.append(index[video])
    return video_of, names, speakers


def speaker_split(speakers: list[str], held_out: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train, held_out) item indices, holding out ``held_out`` seeded-random *speakers* whole."""
    unique = sorted(set(speakers))
    if not 0 <= held_out < len(unique):
        raise ValueError(f"held_out must be in 0..{len(unique) - 1} speakers for {len(unique)} speakers, "
                         f"got {held_out}")
    perm = np.random.default_rng(seed).permutation(len(unique))
    out = {unique[i] for i in perm[:held_out]}
    train = [i for i, s in enumerate(speakers) if s not in out]
    held = [i for i, s in enumerate(speakers) if s in out]
    return train, held
