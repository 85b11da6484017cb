"""A face box given by hand (``--face-box X,Y,W,H``, a face mask in ComfyUI), for faces no detector finds.

Inside the box the detectors are tried first, on a copy of the region around it scaled so that the box's
longer side is BOX_FACE_PX (a face of 40 px in a small reproduction of a painting is too small for them,
at 200 px it is not).  Where they still find nothing, the neutral face template
(fsth_core/landmarks/face_template.py) is fitted into the box, its eyes and mouth moved onto the
picture's own where it shows them clearly (box_fit.py), and the landmarks say so (``TEMPLATE_BACKEND``).
A box is in pixels of the picture (of the first frame of a video): X, Y its top-left corner, W, H its size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.landmarks.box_fit import fit_template
from fsth_core.landmarks.detect import Face
from fsth_core.landmarks.face_search import cnn

BOX_FACE_PX = 200     # the box's longer side in the copy the detectors search
SEARCH_MARGIN = 0.5   # the searched region: the box grown by this share of its longer side on each side
MIN_SIDE = 8          # px: a smaller box cannot hold a face
MIN_INSIDE = 0.5      # share of the box's area that must lie inside the picture
MIN_OVERLAP = 0.25    # a detection counts as the boxed face when its IoU with the box is at least this
#: LandmarkResult.backend of landmarks that come from the box (the template), not from a detector
TEMPLATE_BACKEND = "face box"
#: the way forward when no face is found, for every "no face found" message
HINT = ("give the face's box by hand (--face-box X,Y,W,H on the command line, --driver-face-box for a driver "
        "video; a face_mask in ComfyUI)")


def box_iou(a, b) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass(frozen=True)
class FaceBox:
    """A face's box in picture pixels: top-left corner (x, y), width w and height h (both > 0)."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.x, self.y, self.w, self.h)):
            raise ValueError(f"face box {self}: every value must be a finite number")
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"face box {self} has no area: its width and height (W, H) must be > 0")

    def __str__(self) -> str:
        return ",".join(f"{v:g}" for v in (self.x, self.y, self.w, self.h))

    @classmethod
    def parse(cls, text: str) -> FaceBox:
        """``"X,Y,W,H"`` (pixels; spaces allowed) -> FaceBox; ValueError naming the expected form."""
        parts = [p.strip() for p in str(text).split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4:
            raise ValueError(f"a face box is X,Y,W,H in pixels (4 numbers: top-left corner, width, height), "
                             f"got {text!r}")
        return cls(*values)

    @classmethod
    def of_mask(cls, mask: np.ndarray, threshold: float = 0.5) -> FaceBox | None:
        """The bounding box of a mask's pixels above ``threshold`` ([H, W], 0..1), or None when it has none."""
        ys, xs = np.nonzero(np.asarray(mask) > threshold)
        if not len(xs):
            return None
        return cls(float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))

    @property
    def corners(self) -> np.ndarray:
        """float32 [4]: x0, y0, x1, y1."""
        return np.array([self.x, self.y, self.x + self.w, self.y + self.h], np.float32)

    def check(self, image_size: tuple[int, int], name: str = "the picture") -> FaceBox:
        """This box, if it can hold a face in a picture of ``image_size`` (h, w); else one clear ValueError."""
        h, w = int(image_size[0]), int(image_size[1])
        where = f"face box {self} (X,Y,W,H) for {name} ({w}x{h} px)"
        if min(self.w, self.h) < MIN_SIDE:
            raise ValueError(f"{where} is too small: W and H must be at least {MIN_SIDE} px")
        iw = max(0.0, min(self.x + self.w, w) - max(self.x, 0.0))
        ih = max(0.0, min(self.y + self.h, h) - max(self.y, 0.0))
        if iw * ih == 0:
            raise ValueError(f"{where} lies outside the picture: X,Y is its top-left corner in the picture's "
                             f"pixels (0..{w - 1}, 0..{h - 1})")
        if iw * ih < MIN_INSIDE * self.w * self.h:
            raise ValueError(f"{where} lies mostly outside the picture: at least half of it must be inside")
        return self


def _search_region(box: np.ndarray, image_size: tuple[int, int]) -> tuple[int, int, int, int, float]:
    """(x0, y0, x1, y1) of the picture around ``box`` that is searched, and the scale that makes the box
    BOX_FACE_PX on its longer side."""
    side = float(max(box[2] - box[0], box[3] - box[1]))
    m = SEARCH_MARGIN * side
    h, w = image_size
    x0, y0 = int(max(0, math.floor(box[0] - m))), int(max(0, math.floor(box[1] - m)))
    x1, y1 = int(min(w, math.ceil(box[2] + m))), int(min(h, math.ceil(box[3] + m)))
    return x0, y0, x1, y1, BOX_FACE_PX / side


def detect_in_box(detector, image: np.ndarray, box: FaceBox) -> Face | None:
    """The face a detector finds in ``box`` of uint8 RGB ``image`` (landmarks fitted at the search scale),
    or None.  The detection that overlaps the box most (IoU >= MIN_OVERLAP) is taken."""
    corners = box.corners
    x0, y0, x1, y1, f = _search_region(corners, image.shape[:2])
    region = image[y0:y1, x0:x1]
    size = (max(1, round(region.shape[1] * f)), max(1, round(region.shape[0] * f)))
    roi = np.ascontiguousarray(cv2.resize(region, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC))
    fx, fy = size[0] / region.shape[1], size[1] / region.shape[0]

    def to_image(xy: np.ndarray) -> np.ndarray:  # roi pixel -> picture pixel (pixel centres at integers)
        return np.stack([(xy[..., 0] + 0.5) / fx - 0.5 + x0, (xy[..., 1] + 0.5) / fy - 0.5 + y0], -1)

    found = detector.detect_boxes(roi, detect_size=None)
    if not found and getattr(detector, "name", "") == "dlib":
        found = cnn(detector, roi)  # the CNN finds drawn and painted faces HOG misses
    best = None
    for b, score in found:
        full = to_image(np.asarray(b, np.float64).reshape(2, 2)).reshape(4).astype(np.float32)
        iou = box_iou(full, corners)
        if iou >= MIN_OVERLAP and (best is None or iou > best[0]):
            best = (iou, b, full, score)
    if best is None:
        return None
    pts, _ = detector.fit(roi, best[1])
    return Face(to_image(np.asarray(pts, np.float64)).astype(np.float32), float(best[3]), best[2])


def face_in_box(detector, image: np.ndarray, box: FaceBox, name: str = "the picture") -> tuple[Face, bool]:
    """The face in ``box`` -> (Face, True when its landmarks are the template fitted into the box because no
    detector found it).  ValueError when the box cannot hold a face in this picture (see FaceBox.check)."""
    box.check(image.shape[:2], name)
    face = detect_in_box(detector, image, box)
    if face is not None:
        return face, False
    return Face(fit_template(image, box.corners)[0], 0.0, box.corners), True


def boxes_for(face_boxes, n: int, what: str = "source image") -> list[FaceBox | None]:
    """One face box (or None) per picture from None, one FaceBox (for every picture) or a sequence of one
    or ``n`` of them; ValueError when the count fits neither."""
    if face_boxes is None or isinstance(face_boxes, FaceBox):
        return [face_boxes] * n
    boxes = list(face_boxes)
    if len(boxes) == 1:
        return boxes * n
    if len(boxes) != n:
        raise ValueError(f"give one face box for all {what}s, or one per {what} ({n}), got {len(boxes)}")
    return boxes


def boxes_of_masks(masks: np.ndarray, image_size: tuple[int, int], start: int, stop: int,
                   each: bool) -> FaceBox | list[FaceBox | None] | None:
    """Face boxes from masks float [B, H, W] painted over the face (ComfyUI's MASK, 1 = painted) for images
    ``start:stop`` of a batch of pictures of ``image_size`` (h, w).  One mask holds for every image; B masks
    (one per image of the batch) give each image its own box, or (``each`` False: a video, tracked) the
    first used image's box, which seeds the track.  None when nothing is painted (ComfyUI's Load Image gives
    an empty 64x64 mask for a picture without one)."""
    masks = np.asarray(masks)
    if masks.ndim != 3 or not (masks > 0.5).any():
        return None
    if masks.shape[1:] != tuple(image_size):
        raise ValueError(f"face_mask is {masks.shape[2]}x{masks.shape[1]} but the images are "
                         f"{image_size[1]}x{image_size[0]}: paint the mask on the same picture")
    if len(masks) == 1:
        return FaceBox.of_mask(masks[0])
    if len(masks) < stop:
        raise ValueError(f"face_mask holds {len(masks)} masks for images up to {stop}: give one mask, or one "
                         "per image")
    if not each:
        return FaceBox.of_mask(masks[start])
    return [FaceBox.of_mask(m) for m in masks[start:stop]]
