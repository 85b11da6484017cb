"""Frames of one identity for a landmark track, as arrays (the ComfyUI nodes' entry point).

    frames, masks = render_frames(identity, points, size, generator)                       # head crops
    frames, masks = render_frames(identity, points, size, generator, picture=img, box=box)  # native
"""
from __future__ import annotations

import numpy as np

from fsth_core.inference.pipeline import FrameGenerator

from fsth_core.inference.types import Identity, Progress
from fsth_core.landmarks.crop import CropTransform


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


def render_frames(identity: Identity, points: np.ndarray, size: int, generator: FrameGenerator | None = None,
                  picture: np.ndarray | None = None, box: CropTransform | None = None,
                  progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames and animated-region masks for landmark sets [T,68,2] in crop pixels (model size ``size``).

    ``generator`` None: the mesh warp; else its frames (a warp-guided one paints only in its paint
    region).  With ``picture`` (uint8 [H,W,3], the identity's picture) and its head ``box``, warp-based
    frames are the head region of the picture at its own resolution (uint8 [T,h,w,3], masks [T,h,w]:
    1 where the picture changes); otherwise head crops (uint8 [T,S,S,3], masks of ones).
    """
    from fsth_core.inference.compose import NativeCompositor, composed_frames
    from fsth_core.warp import animate_warp

    if picture is not None and (generator is None or generator.warp_guided):
        if box is None:
            raise ValueError("render_frames: a picture needs its head box")
        check_picture(picture, box, identity)
        comp = NativeCompositor(picture, box, identity.source_points, size)
        parts = list(composed_frames(comp, points, generator, progress))
        return np.stack([f for f, _ in parts]), np.stack([m for _, m in parts])
    if generator is not None:
        frames = np.stack(list(generator.stream(points, total=len(points), progress=progress)))
    else:
        frames = []
        for i, f in enumerate(animate_warp(identity.source, identity.source_points, points, progress=False)):
            frames.append(f)
            if progress:
                progress(i + 1, len(points))
        frames = np.stack(frames)
    return frames, np.ones(frames.shape[:3], np.float32)
