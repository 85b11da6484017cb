"""Input checks shared by nodes: one clear ValueError instead of silently wrong frames."""
from __future__ import annotations

import numpy as np

#: mean absolute difference (0..255) above which a picture's head crop is "another picture"
MAX_CROP_DIFFERENCE = 24.0


def check_source_picture(picture: np.ndarray, identity, landmarks, name: str = "source_picture") -> None:
    """``picture`` uint8 [H,W,3] must be the picture the identity was made from: the size the
    motion's head box (``landmarks.crop``) belongs to (as Paste Back checks its background), and
    its head crop must look like the identity's own source crop."""
    box = landmarks.crop
    if box is None:
        return
    if tuple(picture.shape[:2]) != tuple(box.image_size):
        raise ValueError(f"{name} is {picture.shape[1]}x{picture.shape[0]} but the identity and its motion "
                         f"belong to a {box.image_size[1]}x{box.image_size[0]} picture; connect the picture "
                         "the identity was made from")
    own = identity.source
    crop = box.apply(picture, own.shape[0])
    diff = float(np.abs(crop.astype(np.float32) - own.astype(np.float32)).mean())
    if diff > MAX_CROP_DIFFERENCE:
        raise ValueError(f"{name} is not the picture the identity was made from (its head crop differs from "
                         f"the identity's by {diff:.0f}/255 on average); connect that picture")
