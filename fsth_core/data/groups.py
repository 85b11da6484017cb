"""Clip -> video -> speaker grouping of a training set, and a speaker-disjoint held-out split.

``prepare`` names each clip by its relative path joined with ``__`` (``id001/vidA/00001.mp4`` ->
``id001__vidA__00001``).  In a VoxCeleb2 layout the first part is the speaker and the first two the
video; for other layouts ``level`` says how many leading folders name the video (the speaker is
always the first part).  A clip whose path has no folder above it is its own video and speaker.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

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


@dataclass(frozen=True)
class VideoSplit:
    """The training and held-out videos of a training set, each video as the clip indices it groups.

    ``train[j]`` are the clips of training video ``j`` (the discriminator's column ``j``); ``held_out_by``
    says what was held out whole (``speaker``, or ``video``/``clip`` when the data cannot give a
    speaker-disjoint split, in which case ``warning`` says so in one line); None without held-out data.
    """

    level: int
    train: list[list[int]]
    train_names: list[str]
    held: list[list[int]]
    held_names: list[str]
    held_out_by: str | None = None
    warning: str | None = None

    @property
    def train_clips(self) -> list[int]:
        return sorted(c for v in self.train for c in v)

    @property
    def held_clips(self) -> list[int]:
        return sorted(c for v in self.held for c in v)

    def record(self, clip_ids: list[str]) -> dict:
        """What a checkpoint stores about its W columns: the grouping level, the counts, and a digest of
        the column -> clip ids mapping (a resume on other data, or other grouping, is refused by it)."""
        h = hashlib.sha256()
        for name, clips in zip(self.train_names, self.train):
            h.update(json.dumps([name, [clip_ids[c] for c in clips]]).encode())
        return {"level": self.level, "videos": len(self.train), "clips": sum(map(len, self.train)),
                "digest": h.hexdigest()[:16]}


def split_videos(clip_ids: list[str], held_out: int = 0, seed: int = 0, level: int = 2) -> VideoSplit:
    """Group a training set's clips (``clip_ids`` in index order) into videos and hold out ``held_out``
    whole *speakers* (seeded, :func:`speaker_split`).

    When every clip has one speaker the split cannot be speaker-disjoint: ``held_out`` whole videos are
    held out instead (whole clips when there is a single video), with a one-line ``warning``.
    """
    video_of, names, speakers = group_clips(clip_ids, level)
    clips: list[list[int]] = [[] for _ in names]
    for c, v in enumerate(video_of):
        clips[v].append(c)
    if held_out < 0:
        raise ValueError(f"held_out must be >= 0, got {held_out}")
    if held_out == 0:
        return VideoSplit(level, clips, names, [], [])
    n_spk = len(set(speakers))
    if n_spk > 1:
        if held_out >= n_spk:
            raise ValueError(f"--held-out {held_out}: the data have {n_spk} speakers (held out whole); "
                             f"give 1..{n_spk - 1}")
        train, held = speaker_split(speakers, held_out, seed)
        return VideoSplit(level, [clips[v] for v in train], [names[v] for v in train],
                          [clips[v] for v in held], [names[v] for v in held], "speaker")
    if len(names) > 1:
        if held_out >= len(names):
            raise ValueError(f"--held-out {held_out}: the data have one speaker and {len(names)} videos; "
                             f"give 1..{len(names) - 1}")
        train, held = speaker_split(names, held_out, seed)
        warning = (f"held-out split is not speaker-disjoint: all {len(names)} videos have one speaker "
                   f"({speakers[0]}), so {held_out} of its videos are held out instead")
        return VideoSplit(level, [clips[v] for v in train], [names[v] for v in train],
                          [clips[v] for v in held], [names[v] for v in held], "video", warning)
    if held_out >= len(clip_ids):
        raise ValueError(f"--held-out {held_out}: the data are one video of {len(clip_ids)} clips; "
                         f"give 1..{len(clip_ids) - 1}")
    train, held = speaker_split(list(clip_ids), held_out, seed)
    warning = (f"held-out split is not speaker-disjoint: the data are one video ({names[0]}), so {held_out} "
               "of its clips are held out instead")
    return VideoSplit(level, [train], names, [[c] for c in held], [clip_ids[c] for c in held], "clip", warning)
