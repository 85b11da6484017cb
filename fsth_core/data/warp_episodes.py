"""Episodes for warp-guided generators: adds ``gen_input`` (landmarks ⊕ warped source ⊕ validity)."""
from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from fsth_core.data.episodes import EpisodeDataset
from fsth_core.models.guidance import WarpGuide
from fsth_core.models.imaging import from_network


class WarpGuidedEpisodes(Dataset):
    """Wraps an :class:`EpisodeDataset`; the first of the K frames is warped to the target."""

    def __init__(self, base: EpisodeDataset, region: bool = False):
        self.base = base
        self.region = region  # add the paint region channel (models with ``paint_region``)

    def __len__(self) -> int:
        return len(self.base)

    def __getattr__(self, name):  # num_videos, videos, image_size, train_set ...
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __getitem__(self, index) -> dict:
        item = self.base[index]
        b = self.base
        scale = b.image_size / b.train_set.image_size
        points = np.stack([b.train_set.landmarks(c)[f] for c, f in
                           zip(item["clip_indices"].tolist(), item["frame_indices"].tolist())]) * scale
        guide = WarpGuide(from_network(item["frames"][0]), points[0], region=self.region)
        item["gen_input"] = guide.inputs(item["target_landmark_image"][None], points[-1][None])[0]
        return item
