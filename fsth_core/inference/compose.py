"""Native-resolution composition: animate a picture at its own resolution, touching only what moves.

The head box of the picture (the crop the models work in) is intersected with the picture and cut
out on whole pixels, with no resampling.  The mesh warp runs on that region at its own size (cubic
sampling), a warp-guided generator's paint (made at the model's size) is mapped onto it and blended
only where the generator paints, and the result replaces the picture's pixels through the *animated
region* mask: 1 where a pixel moves or is painted, 0 where the warp copies the source as it is.
Pixels outside that mask are the source's own bytes.

    comp = NativeCompositor(picture, box, crop_points, size=128)
    frame, mask = comp.frame(target_points)                     # the mesh warp alone
    frame, mask = comp.frame(target_points, paint=(rgb, weight)) # with a generator's paint
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import cv2
import numpy as np

from fsth_core.inference.types import Sources
from fsth_core.landmarks.crop import CropTransform
from fsth_core.warp import WarpOptions
from fsth_core.warp.mouth_transfer import MouthTransfer
from fsth_core.warp.shots import Shot, ShotWarper

NATIVE_WARP = WarpOptions(interpolation="cubic", fold_smoothing=1.0)


@dataclass(frozen=True)
class Region:
    """Whole-pixel rectangle x0, y0, x1, y1 (end exclusive) of a picture."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.y0:self.y1, self.x0:self.x1]


def native_region(box: CropTransform, image_size: tuple[int, int]) -> Region:
    """The head box rounded outwards to whole pixels and clipped to the picture (h, w)."""
    h, w = int(image_size[0]), int(image_size[1])
    x0, y0 = max(int(np.floor(box.x0)), 0), max(int(np.floor(box.y0)), 0)
    x1, y1 = min(int(np.ceil(box.x0 + box.side)), w), min(int(np.ceil(box.y0 + box.side)), h)
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise ValueError(f"the head box {box.box.round(1).tolist()} leaves less than 16x16 pixels of the "
                         f"{w}x{h} picture")
    return Region(x0, y0, x1, y1)


def region_to_crop(box: CropTransform, region: Region, size: int) -> np.ndarray:
    """float64 [2,3] affine: region pixel -> pixel of the model's ``size`` crop."""
    m = box.matrix(size).copy()
    m[:, 2] += m[:, :2] @ np.array([region.x0, region.y0], np.float64)
    return m


class NativeCompositor:
    """Animates one picture at its own resolution (see the module docstring).

    Args:
        image: uint8 [H, W, 3] RGB picture (not modified).
        box: the head box the model's crops come from.
        points: float32 [68, 2] the picture's landmarks in crop pixels of a ``size`` crop.
        size: the model's crop side S.
        shots: more pictures of the person, (uint8 [h,w,3], landmarks [68,2] in its pixels) each or
            prepared ``Shot`` objects: every region of a frame comes from the nearest (fsth_core.warp.shots).
        choosers: the shots' region choosers to go on with (a compositor made per frame keeps its choices).
    """

    def __init__(self, image: np.ndarray, box: CropTransform, points: np.ndarray, size: int,
                 options: WarpOptions = NATIVE_WARP, shots=(), choosers: dict | None = None):
        self.image = np.asarray(image)
        self.box, self.size = box, int(size)
        self.region = native_region(box, self.image.shape[:2])
        self._to_crop = region_to_crop(box, self.region, self.size)
        self._from_crop = cv2.invertAffineTransform(self._to_crop)
        self.source = np.ascontiguousarray(self.region.cut(self.image))
        ready = [s for s in shots if isinstance(s, Shot)]
        pairs = [s for s in shots if not isinstance(s, Shot)]
        self.warper = ShotWarper([self.source, *(img for img, _ in pairs)],
                                 [self.to_region(points), *(p for _, p in pairs)], options, extra=ready,
                                 choosers=choosers)
        self._mouth: MouthTransfer | None = None

    def to_region(self, crop_points: np.ndarray) -> np.ndarray:
        """[..., 2] crop pixels (size S) -> float32 region pixels."""
        p = np.asarray(crop_points, np.float64)
        return (p @ self._from_crop[:, :2].T + self._from_crop[:, 2]).astype(np.float32)

    def _up(self, a: np.ndarray) -> np.ndarray:
        h, w = self.region.shape
        return cv2.warpAffine(a, self._to_crop, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)

    def region_frame(self, target_points: np.ndarray, paint: tuple[np.ndarray, np.ndarray] | None = None,
                     mouth: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The animated region: (uint8 [h, w, 3], animated-region mask float32 [h, w] in 0..1).

        target_points [68, 2] in crop pixels; ``paint`` (rgb float32 [S, S, 3] 0..255, weight
        float32 [S, S] 0..1) from a warp-guided generator, blended where weight > 0; ``mouth``: a
        driver's frame (uint8 [h', w', 3]) and its landmarks [68, 2] in its pixels, whose mouth interior
        replaces this frame's.
        """
        warped, _, moved = self.warper.warp_with_motion(self.to_region(target_points))
        if mouth is not None:  # a driver's own mouth interior (fsth_core.warp.mouth_transfer)
            if self._mouth is None:
                self._mouth = MouthTransfer(self.source, self.warper.points[0])
            done = self._mouth(warped, self.to_region(target_points), *mouth)
            if done is not None:
                (x0, y0, x1, y1), alpha = done
                np.maximum(moved[y0:y1, x0:x1], np.minimum(alpha * 64.0, 1.0), out=moved[y0:y1, x0:x1])
        out = warped.astype(np.float32)
        if paint is not None:
            rgb, weight = paint
            wu = np.clip(self._up(np.ascontiguousarray(weight, np.float32)), 0.0, 1.0)
            wu[wu < 1.0 / 512] = 0.0  # exact zeros where the generator does not paint
            out += wu[..., None] * (self._up(np.ascontiguousarray(rgb, np.float32)) - out)
            moved = np.maximum(moved, np.minimum(wu * 64.0, 1.0))
        src = self.source.astype(np.float32)
        res = src + moved[..., None] * (out - src)
        return np.clip(np.round(res), 0, 255).astype(np.uint8), moved

    def frame(self, target_points: np.ndarray, paint: tuple[np.ndarray, np.ndarray] | None = None,
              mouth: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The whole picture with the region animated: (uint8 [H, W, 3], mask float32 [H, W])."""
        part, moved = self.region_frame(target_points, paint, mouth)
        return self.paste(part, moved)

    def paste(self, part: np.ndarray, moved: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Put a region-sized frame (and its mask) into a copy of the picture."""
        r = self.region
        full = self.image.copy()
        full[r.y0:r.y1, r.x0:r.x1] = part
        mask = np.zeros(self.image.shape[:2], np.float32)
        if moved is not None:
            mask[r.y0:r.y1, r.x0:r.x1] = moved
        return full, mask


def shot_regions(sources: Sources) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Each source picture's head region at its own resolution with its landmarks in the region's
    pixels: (uint8 [h,w,3], float32 [68,2]) per source (the crops themselves when there are no pictures)."""
    size = sources.crops.shape[1]
    if not sources.images:
        return tuple((c, p) for c, p in zip(sources.crops, sources.points))
    out = []
    for img, tf, pts in zip(sources.images, sources.transforms, sources.points):
        r = native_region(tf, img.shape[:2])
        full = tf.points_from_crop(pts, size)
        out.append((np.ascontiguousarray(r.cut(img)), (full - np.float32([r.x0, r.y0])).astype(np.float32)))
    return tuple(out)


def composed_frames(comp: NativeCompositor, points: Iterable[np.ndarray], generator=None,
                    progress=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(region frame uint8 [h,w,3], animated-region mask float32 [h,w]) per landmark set [68,2] (crop
    pixels): the mesh warp alone, or with the paint of ``generator`` (a warp-guided FrameGenerator)."""
    if generator is None:
        total = len(points) if hasattr(points, "__len__") else None
        for i, p in enumerate(points):
            yield comp.region_frame(p)
            if progress:
                progress(i + 1, total or i + 1)
        return
    points = list(points) if not hasattr(points, "__len__") else points
    for p, paint in zip(points, generator.stream(points, total=len(points), progress=progress, parts=True)):
        yield comp.region_frame(p, paint)


def paste_frames(picture: np.ndarray, frames: np.ndarray, box: CropTransform, feather: float = 0.1,
                 masks: np.ndarray | None = None, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Put frames back into ``picture`` (uint8 [H,W,3]) -> (uint8 [T,H,W,3], masks float32 [T,H,W]).

    Frames the size of the picture's head region (``render_frames`` with the picture) are placed as
    they are, pixel for pixel, with their animated-region ``masks`` [T,h,w]; head crops of any other
    size are resized into the box and blended with a square mask feathered by ``feather`` × side.
    """
    from fsth_core.landmarks.paste import paste_back

    region = native_region(box, picture.shape[:2])
    out = np.empty((len(frames),) + picture.shape, np.uint8)
    full = np.zeros((len(frames),) + picture.shape[:2], np.float32)
    native = tuple(frames.shape[1:3]) == region.shape
    if not native:  # the same feathered square for every frame
        white = np.full(frames.shape[1:], 255, np.uint8)
        square = paste_back(np.zeros_like(picture), white, box, feather)[..., 0] / np.float32(255.0)
    for i, f in enumerate(frames):
        if native:
            out[i] = picture
            out[i, region.y0:region.y1, region.x0:region.x1] = f
            full[i, region.y0:region.y1, region.x0:region.x1] = 1.0 if masks is None else masks[i]
        else:
            out[i] = paste_back(picture, f, box, feather)
            full[i] = square
        if progress:
            progress(i + 1, len(frames))
    return out, full
