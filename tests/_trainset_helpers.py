"""A small training set laid out like a prepared VoxCeleb2 tree: clip ids ``id000__vid0__00000`` (speaker,
video, clip), each speaker one synthetic identity, each clip its own landmark sequence."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fsth_core.data.store import DatasetWriter
from fsth_core.synthetic.heads import identity_landmarks_sequence, render_sequence, synthetic_identity


def voxceleb_shaped(root, speakers: int = 3, videos: int = 2, clips: int = 2, frames: int = 4, size: int = 32,
                    seed: int = 0) -> Path:
    with DatasetWriter(root, size) as w:
        for s in range(speakers):
            idn = synthetic_identity(seed, s)
            for v in range(videos):
                for c in range(clips):
                    pts = identity_landmarks_sequence(idn, frames, np.random.default_rng([seed, s, v, c]), size)
                    w.write_video(f"id{s:03d}__vid{v}__{c:05d}", iter(render_sequence(idn, pts, size)), pts)
    return Path(root)
