"""How output frames are composed: one switch, and the three compositions it chooses between.

:func:`composition` decides, for ``animate`` (the command line, a camera too), video-to-video and the nodes:

- ``NATIVE``: the mesh warp, or a warp-guided generator (which paints only its paint region), composed into
  the picture at its own resolution (:class:`NativeCompositor`).  The head box of the picture (the crop the
  models work in) is intersected with the picture and cut out on whole pixels, with no resampling; the mesh
  warp runs on that region at its own size (cubic sampling), the generator's paint (made at the model's
  size) is mapped onto it and blended only where the generator paints, and the result replaces the
  picture's pixels through the *animated region* mask: 1 where a pixel moves or is painted, 0 where the
  warp copies the source as it is.  Pixels outside that mask are the source's own bytes.
- ``FEATHERED``: the paper's plain generator's head crops, resized into the picture's head box with a
  feathered square (:func:`paste_back`).
- ``CROPS``: head crops at the working size (no paste-back).

:func:`composed_frames` makes a job's frames in stages (the generator's inputs, the network, the
composition: each a thread of its own in a fsth_core.runtime.threads.Pipeline), composed as the switch says.

    frames = composed_frames(pipe, Canvas.of_sources(sources), points, size, generator)  # (frame, mask) pairs
    comp = NativeCompositor(picture, box, crop_points, size=128)
    frame, mask = comp.frame(target_points)                      # the mesh warp alone
    frame, mask = comp.frame(target_points, paint=(rgb, weight))  # with a generator's paint
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.inference.types import Identity, Sources
from fsth_core.landmarks.crop import CropTransform
from fsth_core.runtime.threads import Pipeline, mapped
from fsth_core.warp import WarpOptions
from fsth_core.warp.mouth_transfer import MouthTransfer
from fsth_core.warp.shots import Shot, ShotWarper

NATIVE, FEATHERED, CROPS = "native", "feathered", "crops"


def composition(generator=None, paste: bool = True, feather: bool = True) -> str:
    """How frames are composed (the one place that decides; see the module docstring): ``NATIVE`` for the
    mesh warp (``generator`` None) or a warp-guided generator, ``FEATHERED`` for the paper's plain one,
    ``CROPS`` without ``paste`` (paste-back into the picture).  ``generator``: anything with ``warp_guided``
    (a FrameGenerator, a model's config).  ``feather`` False: a plain generator's frames stay head crops (the
    nodes paste them with Paste Back, a node of its own)."""
    if not paste:
        return CROPS
    if generator is None or generator.warp_guided:
        return NATIVE
    return FEATHERED if feather else CROPS


@dataclass(frozen=True)
class Canvas:
    """What a job's frames are composed into and from.

    picture: uint8 [H,W,3] the picture animated (None: head crops only) and ``box``, its head box;
    points: float32 [68,2] its landmarks in crop pixels (the working size); shots: the person's other
    pictures for native composition, (head region uint8 [h,w,3], landmarks [68,2] in its pixels) each;
    crop_shots: (image, landmarks) pairs the head-crop warp takes each region from, the first its base.
    """

    picture: np.ndarray | None
    box: CropTransform | None
    points: np.ndarray
    shots: tuple = ()
    crop_shots: tuple = ()

    @classmethod
    def of_sources(cls, sources: Sources) -> Canvas:
        """The first source picture, every other source a shot (the command line's ``animate``)."""
        return cls(sources.images[0] if sources.images else None, sources.transforms[0] if sources.transforms
                   else None, sources.points[0], shot_regions(sources)[1:],
                   tuple(zip(sources.crops, sources.points)))

    @classmethod
    def of_identity(cls, identity: Identity, picture: np.ndarray | None = None,
                    box: CropTransform | None = None) -> Canvas:
        """The identity's picture (given with its head ``box``: the nodes') and the pictures it was made from."""
        shots = identity.extra_shots()
        return cls(picture, box, identity.source_points, shots,
                   ((identity.source, identity.source_points), *shots))

    def compositor(self, size: int) -> NativeCompositor:
        return NativeCompositor(self.picture, self.box, self.points, size, shots=self.shots)

    def crop_warper(self) -> ShotWarper:
        return ShotWarper([img for img, _ in self.crop_shots], [p for _, p in self.crop_shots])


def composed_frames(pipe: Pipeline, canvas: Canvas, points: Iterable[np.ndarray], size: int, generator=None,
                    paste: bool = True, feather: bool = True, whole: bool = True, mouths=None,
                    compose_room: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """A job's frames for a stream of landmark sets [68,2] (crop pixels at ``size``), made in ``pipe``'s
    stages and composed as :func:`composition` says: (frame, mask) pairs, in order.

    NATIVE: the whole picture uint8 [H,W,3] and its animated-region mask float32 [H,W] (``whole`` False:
    the head region [h,w,3] and its mask [h,w]); FEATHERED: the picture with the head crop pasted in, mask
    None; CROPS: head crops uint8 [S,S,3] with one shared mask of ones (not to be modified).
    ``generator``: a FrameGenerator, or None for the mesh warp alone; ``mouths``: an iterator of (driver
    frame, its landmarks) whose mouth interior each frame takes (NATIVE only); ``compose_room``: how far
    the composition stage may run ahead (a consumer that takes frames in batches needs a batch).
    """
    mode = composition(generator, paste and canvas.picture is not None, feather)
    if mouths is not None and mode == FEATHERED:
        raise ValueError("--driver-mouth needs the warp method or a warp-guided model (this model's frames "
                         "are pasted back as head crops)")
    if mode == NATIVE:
        comp = canvas.compositor(size)

        def compose(p, paint=None):
            part, moved = comp.region_frame(p, paint, mouth=next(mouths, None) if mouths is not None else None)
            return comp.paste(part, moved) if whole else (part, moved)
    if generator is None:
        if mode == NATIVE:
            return pipe.stage(mapped(compose, points), "warp")
        warper = canvas.crop_warper()
        return _with_ones(pipe.stage(mapped(lambda p: warper.warp(p)[0], points), "warp"))
    inputs = pipe.stage(generator.batch_inputs(points), "inputs")
    outs = pipe.stage(generator.batch_outputs(inputs, parts=mode == NATIVE, with_points=True), "generate",
                      pipe.maxsize * generator.batch)  # a stage that works in batches is a batch ahead
    if mode == NATIVE:
        return pipe.stage(mapped(lambda pp: compose(*pp), outs), "compose", compose_room)
    if mode == FEATHERED:
        return pipe.stage(mapped(lambda pp: (paste_back(canvas.picture, pp[1], canvas.box), None), outs),
                          "compose", compose_room)
    return _with_ones(f for _, f in outs)


def _with_ones(frames) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(frame, mask of ones) pairs; one mask, shared by every head crop (not to be modified)."""
    ones = None
    for f in frames:
        if ones is None or ones.shape != f.shape[:2]:
            ones = np.ones(f.shape[:2], np.float32)
        yield f, ones


# ------------------------------------------------------------------------------ native-resolution composition

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


# -------------------------------------------------------------------------------------- the feathered paste

def feather_mask(size: int, feather: float) -> np.ndarray:
    """float32 [size, size] mask: 1 inside, smoothly falling to 0 over ``feather`` x size at the edges."""
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather must be in [0, 0.5] (a fraction of the crop size), got {feather}")
    if feather == 0:
        return np.ones((size, size), np.float32)
    d = np.minimum(np.arange(size) + 0.5, size - 0.5 - np.arange(size)) / (feather * size)
    ramp = np.clip(d, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    return np.outer(ramp, ramp).astype(np.float32)


def paste_back(frame: np.ndarray, crop: np.ndarray, transform: CropTransform, feather: float = 0.1,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Blend ``crop`` into ``frame`` where ``transform`` took it from.

    Args:
        frame: uint8 [H, W, 3] RGB, the original full frame (not modified).
        crop: uint8 [S, S, 3] RGB, e.g. a generated head crop of side S.
        transform: the CropTransform that produced the S x S crop from the frame.
        feather: edge softness as a fraction of the crop side (0: hard edge).
        mask: optional float [S, S] in [0, 1] (e.g. a face mask), multiplied with the feathered square.
    Returns:
        uint8 [H, W, 3] frame with the crop pasted back.
    """
    frame = np.asarray(frame)
    crop = np.asarray(crop)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"paste_back: frame must be uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1] or crop.dtype != np.uint8:
        raise ValueError(f"paste_back: crop must be uint8 [S, S, 3], got {crop.dtype} {list(crop.shape)}")
    s = crop.shape[0]
    m = feather_mask(s, feather)
    if mask is not None:
        mask = np.asarray(mask, np.float32)
        if mask.shape != (s, s):
            raise ValueError(f"paste_back: mask must be [{s}, {s}], got {list(mask.shape)}")
        m = m * np.clip(mask, 0.0, 1.0)
    target = int(round(transform.side))
    if 0 < target < 0.75 * s:  # the crop shrinks on the way back: area-average it first
        crop = cv2.resize(crop, (target, target), interpolation=cv2.INTER_AREA)
        m = cv2.resize(m, (target, target), interpolation=cv2.INTER_AREA)
        s = target
    h, w = frame.shape[:2]
    inv = transform.inverse_matrix(s)
    warped = cv2.warpAffine(crop, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(m, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = alpha[:, :, None]
    out = frame.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def paste_frames(picture: np.ndarray, frames: np.ndarray, box: CropTransform, feather: float = 0.1,
                 masks: np.ndarray | None = None, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Put frames back into ``picture`` (uint8 [H,W,3]) -> (uint8 [T,H,W,3], masks float32 [T,H,W]).

    Frames the size of the picture's head region (``render_frames`` with the picture) are placed as
    they are, pixel for pixel, with their animated-region ``masks`` [T,h,w]; head crops of any other
    size are resized into the box and blended with a square mask feathered by ``feather`` × side.
    """
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
