"""Frames of one identity for a landmark track (the ComfyUI nodes' entry point).

    for frame, mask in frame_stream(identity, points, size, generator, picture=img, box=box): ...
    frames, masks = render_frames(identity, points, size, generator)                       # head crops
    frames, masks = render_frames(identity, points, size, generator, picture=img, box=box)  # native

:func:`frame_stream` runs the stages ``animate`` runs (fsth_core.inference.compose.composed_frames): the
generator's inputs (landmark images, the mesh warp at the model's size, the paint region), the network in
batches, and the composition at the picture's resolution each in a thread of its own, with torch's threads
at all CPUs but one; the frames are the same as one stage after the other.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fsth_core.inference.compose import NATIVE, Canvas, composed_frames, composition
from fsth_core.inference.pipeline import FrameGenerator
from fsth_core.inference.types import Identity, Progress
from fsth_core.landmarks.crop import CropTransform
from fsth_core.runtime.threads import Pipeline, generation_threads, torch_threads

#: mean absolute difference (0..255) above which a picture's head crop is "another picture"
MAX_CROP_DIFFERENCE = 24.0


def check_picture(picture: np.ndarray, box: CropTransform, identity: Identity, name: str = "source_picture",
                  hint: str = "connect that picture") -> None:
    """ValueError unless ``picture`` is the picture the identity was made from: the size ``box`` belongs
    to, and a head crop that looks like the identity's own source crop (another photo or a resized copy
    would give garbage frames).  ``hint``: what to do instead (the node's words by default)."""
    if tuple(picture.shape[:2]) != tuple(box.image_size):
        raise ValueError(f"{name} is {picture.shape[1]}x{picture.shape[0]} but the identity and its motion "
                         f"belong to a {box.image_size[1]}x{box.image_size[0]} picture; {hint}")
    own = identity.source
    diff = float(np.abs(box.apply(picture, own.shape[0]).astype(np.float32) - own.astype(np.float32)).mean())
    if diff > MAX_CROP_DIFFERENCE:
        raise ValueError(f"{name} is not the picture the identity was made from (its head crop differs from "
                         f"the identity's by {diff:.0f}/255 on average); {hint}")


def frame_stream(identity: Identity, points: np.ndarray, size: int, generator: FrameGenerator | None = None,
                 picture: np.ndarray | None = None, box: CropTransform | None = None,
                 progress: Progress | None = None, pipelined: bool = True,
                 threads: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(frame, animated-region mask) for each landmark set of [T,68,2] (crop pixels, model size ``size``),
    in order, made as they are consumed (constant memory).

    ``generator`` None: the mesh warp; else its frames (a warp-guided one paints only in its paint region).
    With ``picture`` (uint8 [H,W,3], the identity's picture) and its head ``box``, warp-based frames are the
    head region of the picture at its own resolution (uint8 [h,w,3], mask float32 [h,w]: 1 where the picture
    changes); otherwise head crops (uint8 [S,S,3], one shared mask of ones): fsth_core.inference.compose
    decides, and Paste Back puts a plain generator's crops into the picture.  ``pipelined``: the stages in
    threads (see the module docstring); ``threads``: torch's threads meanwhile (None: all CPUs but one when
    pipelined, torch's own setting otherwise).  Closing the generator early stops the stages.
    """
    if picture is not None and composition(generator, feather=False) == NATIVE:
        if box is None:
            raise ValueError("frame_stream: a picture needs its head box")
        check_picture(picture, box, identity)
    total = len(points)
    with torch_threads(threads or generation_threads(pipelined)), Pipeline(pipelined) as pipe:
        frames = composed_frames(pipe, Canvas.of_identity(identity, picture, box), points, size, generator,
                                 feather=False, whole=False)
        for i, pair in enumerate(frames):
            yield pair
            if progress:
                progress(i + 1, total)


def render_frames(identity: Identity, points: np.ndarray, size: int, generator: FrameGenerator | None = None,
                  picture: np.ndarray | None = None, box: CropTransform | None = None,
                  progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`frame_stream`'s frames and masks as arrays: uint8 [T,h,w,3] and float32 [T,h,w]."""
    out = masks = None
    for i, (f, m) in enumerate(frame_stream(identity, points, size, generator, picture, box, progress)):
        if out is None:
            out = np.empty((len(points),) + f.shape, np.uint8)
            masks = np.empty((len(points),) + m.shape, np.float32)
        out[i], masks[i] = f, m
    return out, masks
