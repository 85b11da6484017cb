"""Inference stages: sources → identity → (fine-tune, see finetune.py) → generate → realism.

One short function per stage.  Images are uint8 RGB numpy arrays; landmarks float32 pixels.
Models are never modified: inference works on a folded copy.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np
import torch

from fsth_core.inference.compose import shot_regions
from fsth_core.inference.types import Identity, Progress, Sources
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.models.generator import blend
from fsth_core.models.guidance import WarpGuide, region_of
from fsth_core.models.imaging import from_network, landmark_images, to_network
from fsth_core.models.model import TalkingHeadModel, clone_model
from fsth_core.runtime.device import Execution, default_execution


def prepare_sources(images: Iterable[np.ndarray], points: Iterable[np.ndarray], size: int) -> Sources:
    """Full images uint8 [H,W,3] with their landmarks [68,2] -> head crops at ``size``."""
    crops, pts, imgs, tfs = [], [], [], []
    for img, p in zip(images, points):
        t = head_crop_box(np.asarray(p, np.float32), img.shape[:2])
        crops.append(t.apply(img, size))
        pts.append(t.points_to_crop(p, size))
        imgs.append(img)
        tfs.append(t)
    if not crops:
        raise ValueError("no source images")
    return Sources(np.stack(crops), np.stack(pts).astype(np.float32), imgs, tfs)


@torch.no_grad()


def compute_identity(model: TalkingHeadModel, sources: Sources, execution: Execution | None = None,
                     batch: int = 8) -> Identity:
    """ê = mean over the T sources of E(x, y); ψ = P·ê; w = w0 + ê.  crops [T,S,S,3]."""
    ex = execution or default_execution(model.config)
    emb = model.embedder
    s = model.config.image_size
    embs = []
    was_training = emb.training
    emb.eval()  # eval mode: spectral norm uses its stored vectors and updates nothing
    try:
        for i in range(0, len(sources.crops), batch):
            x = ex.input(to_network(sources.crops[i:i + batch])).to(next(emb.parameters()).device)
            y = ex.input(landmark_images(sources.points[i:i + batch], s)).to(x.device)
            with ex.autocast():
                embs.append(emb(x, y).float())
    finally:
        emb.train(was_training)
    e = torch.cat(embs).mean(0, keepdim=True)
    psi = model.generator.project(e.to(model.generator.projection.device))
    w = model.discriminator.w0[None] + e.to(model.discriminator.w0.device)
    return Identity(e[0].cpu(), psi[0].cpu(), w[0].cpu(), sources.crops[0].copy(), sources.points[0].copy(),
                    model.config.to_json(), 0, len(sources.crops), shot_regions(sources))


def inference_copy(model: TalkingHeadModel, execution: Execution) -> TalkingHeadModel:
    """A folded, eval-mode copy on the execution device, without W (one column per training video, never
    used for one person); the caller's model is untouched."""
    m = clone_model(model, keep_w=False).fold()
    m.requires_grad_(False)
    return execution.prepare_module(m)


class FrameGenerator:
    """Generates frames of one identity from landmark sets, in batches, with constant memory.

    Warp-guided models paint only inside the paint region (mouth, eyes, pixels the warp cannot
    explain; see guidance.py) and pass the warp through everywhere else — models trained with the
    region as an input channel by construction, older 7-channel ones by the same rule applied here.
    :meth:`paint` gives the parts (generated rgb and its weight) for native-resolution composition.
    """

    def __init__(self, model: TalkingHeadModel, identity: Identity, execution: Execution | None = None,
                 batch: int = 8):
        self.ex = execution or default_execution(model.config)
        self.model = inference_copy(model, self.ex) if not model.folded else model
        self.g = self.model.generator
        self.size = self.model.config.image_size
        self.psi = identity.psi[None].to(self.ex.device)
        self.batch = batch
        self.guide = None
        if self.model.config.warp_guided:
            self.guide = WarpGuide(identity.source, identity.source_points, region=True,
                                   extra=identity.extra_shots())

    @property
    def warp_guided(self) -> bool:
        return self.guide is not None

    @torch.inference_mode()
    def inputs(self, points: np.ndarray, guide=None) -> torch.Tensor:
        """The generator's input for [B,68,2] crop pixels: landmark images [B,3,S,S] (warp-guided models:
        with the warped source, its validity and the paint region, [B,7|8,S,S]), on the device.  The
        first half of generation (drawing and mesh warps: OpenCV/numpy), separate from :meth:`outputs`
        so the two can run in different threads.  ``guide``: a WarpGuide of another source than the
        identity's (video-to-video)."""
        y = landmark_images(points, self.size)
        if self.guide is None:
            return self.ex.input(y)
        return self.ex.input((guide or self.guide).inputs(y, points))

    @torch.inference_mode()
    def outputs(self, y: torch.Tensor):
        """The network on :meth:`inputs`' tensor -> (generated [B,3,S,S], paint weight [B,1,S,S] | None,
        warped [B,3,S,S] | None)."""
        if self.guide is None:
            with self.ex.autocast():
                return self.g(y, self.psi).float(), None, None
        with self.ex.autocast():
            rgb, m = self.g.parts(y[:, :self.g.in_channels], self.psi)
        w = (1 - m.float()) * region_of(y.float())
        return rgb.float(), torch.where(w < 1.0 / 512, torch.zeros_like(w), w), y[:, 3:6].float()

    def _forward(self, points: np.ndarray, guide=None):
        """[B,68,2] -> (generated [B,3,S,S], paint weight [B,1,S,S] | None, warped [B,3,S,S] | None)."""
        return self.outputs(self.inputs(points, guide))

    def render(self, points: np.ndarray) -> np.ndarray:
        """[B,68,2] crop pixels (at the model's size S) -> uint8 [B,S,S,3]."""
        return self._frames(self._forward(points))

    @staticmethod
    def _frames(out) -> np.ndarray:
        rgb, w, warped = out
        return from_network(rgb if w is None else blend(warped, rgb, w))

    def paint(self, points: np.ndarray, source: tuple[np.ndarray, np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Warp-guided models: [B,68,2] -> (generated rgb float32 [B,S,S,3] in 0..255, weight float32
        [B,S,S] in 0..1: how much of it each pixel takes over the warp).  ``source``: (crop uint8
        [S,S,3], its landmarks [68,2]) to warp instead of the identity's picture (a video's frame)."""
        if self.guide is None:
            raise ValueError("paint() needs a warp-guided model")
        guide = None
        if source is not None:
            guide = WarpGuide(source[0], source[1], region=True)
        return self._paints(self._forward(points, guide))

    @staticmethod
    def _paints(out) -> tuple[np.ndarray, np.ndarray]:
        rgb, w, _ = out
        rgb = ((rgb.clamp(-1, 1) + 1) * 127.5).movedim(1, -1).cpu().numpy()
        return rgb, w[:, 0].cpu().numpy()

    def batch_inputs(self, points: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """(landmark sets [B,68,2], :meth:`inputs`) for a stream of [68,2] sets, in batches of ``batch``."""
        for b in _batches(points, self.batch):
            yield b, self.inputs(b)

    def batch_outputs(self, batches: Iterable[tuple[np.ndarray, torch.Tensor]], parts: bool = False,
                      with_points: bool = False) -> Iterator:
        """The network on :meth:`batch_inputs`' batches -> a frame uint8 [S,S,3] (``parts``: a ``paint``
        pair) per landmark set; ``with_points``: (landmarks [68,2], that) pairs."""
        if parts and self.guide is None:
            raise ValueError("paint() needs a warp-guided model")
        for b, y in batches:
            out = self.outputs(y)
            out = _unbatch(self._paints(out) if parts else self._frames(out), parts)
            yield from (zip(b, out) if with_points else out)

    def stream(self, points: Iterable[np.ndarray], total: int | None = None,
               progress: Progress | None = None, parts: bool = False) -> Iterator:
        """Yield uint8 [S,S,3] frames (or, with ``parts``, ``paint`` pairs) for a stream of [68,2]
        landmark sets (any length)."""
        done = 0
        for b, y in self.batch_inputs(points):
            yield from self.batch_outputs([(b, y)], parts)
            done += len(b)
            if progress:
                progress(done, total or done)


def _batches(points: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Landmark sets [68,2] in stacks [<=size,68,2], as they come."""
    buf = []
    for p in points:
        buf.append(np.asarray(p, np.float32))
        if len(buf) == size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def _unbatch(out, parts: bool):
    return zip(*out) if parts else iter(out)


class RealismScorer:
    """D's realism r = v·w' + b for one identity; the discriminator is prepared once (a folded copy)."""

    def __init__(self, model: TalkingHeadModel, identity: Identity, execution: Execution | None = None,
                 batch: int = 8):
        self.ex = execution or default_execution(model.config)
        self.d = self.ex.prepare_module(clone_model(model, keep_w=False).fold().discriminator)
        self.w = identity.w.to(self.ex.device)
        self.size, self.batch = model.config.image_size, batch

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray, points: np.ndarray) -> np.ndarray:
        """frames uint8 [B,S,S,3] (model size) with landmarks [B,68,2] -> float32 [B]."""
        out = []
        for i in range(0, len(frames), self.batch):
            x = self.ex.input(to_network(frames[i:i + self.batch]))
            y = self.ex.input(landmark_images(points[i:i + self.batch], self.size))
            with self.ex.autocast():
                r, _ = self.d(x, y, w=self.w)
            out.append(r.float().cpu())
        return torch.cat(out).numpy()


def hold_unrealistic(frames: Iterable[np.ndarray], points: np.ndarray, scorer, threshold: float,
                     to_model=None) -> Iterator[tuple[np.ndarray, bool]]:
    """(frame, held) pairs: frames whose realism is below ``threshold`` are replaced by the last kept
    one (timing is kept).  Frames are scored in batches of the scorer's size as they stream by,
    after ``to_model`` (a full picture -> its head crop at the model's size) when given."""
    def small(f: np.ndarray) -> np.ndarray:
        if to_model is not None:
            return to_model(f)
        s = scorer.size
        return f if f.shape[0] == s else cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA)

    last = None
    pairs = zip(frames, points)
    while True:
        chunk = [pair for _, pair in zip(range(scorer.batch), pairs)]
        if not chunk:
            return
        scores = scorer(np.stack([small(f) for f, _ in chunk]), np.stack([p for _, p in chunk]))
        for (f, _), r in zip(chunk, scores):
            held = r < threshold and last is not None
            if not held:
                last = f
            yield last, held


def realism_scores(model: TalkingHeadModel, identity: Identity, frames: np.ndarray, points: np.ndarray,
                   execution: Execution | None = None, batch: int = 8,
                   progress: Progress | None = None) -> np.ndarray:
    """D's realism r = v·w' + b of frames uint8 [B,S,S,3] with landmarks [B,68,2] -> float32 [B].
    ``progress(done, total)`` is called after each batch (it may raise to cancel)."""
    scorer = RealismScorer(model, identity, execution, batch)
    out = []
    for i in range(0, len(frames), batch):
        out.append(scorer(frames[i:i + batch], points[i:i + batch]))
        if progress:
            progress(min(i + batch, len(frames)), len(frames))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def kept_indices(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the frames scored above ``threshold``; when none is, the single best one (so a graph or a
    job always goes on with at least one frame)."""
    keep = np.flatnonzero(np.asarray(scores) > threshold)
    return keep if len(keep) else np.array([int(np.argmax(scores))])
