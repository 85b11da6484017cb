"""The thorough face search dlib runs before it reports "no face" (the fast path is the HOG
detector on a 640 px copy, with 2x upsampling; see DlibDetector.detect_boxes):

1. larger copies of a large picture (1280 and 2560 px, HOG with and without upsampling): a small
   face in a huge photo (a 200 px face in 6000x4000 is 21 px at 640 px, too small for HOG);
2. dlib's CNN detector (MMOD, ``mmod_human_face_detector.dat`` from face_recognition_models) on a
   512 px copy: heads tilted 45 degrees, blurred or side-lit faces HOG misses.  It costs about
   2 s on a CPU, so in a stream it runs for the first ``cnn_tries`` faceless searches in a row
   (a photo; the first faceless frames of a video after a face), not on every faceless frame;
   the larger scales likewise for ``scale_tries`` (DlibDetector's arguments).

A CNN box is re-detected with HOG in a crop around it when possible (the 68-point predictor was
trained on HOG boxes).  A flat picture (a blank frame) is not searched at all.
"""
from __future__ import annotations

import cv2
import numpy as np

from fsth_core.landmarks.dlib_models import cnn_detector

HOG_SIZES = (1280, 2560)
CNN_SIZE = 512
FLAT_STD = 2.0  # grey-level standard deviation below which a picture cannot show a face


def is_flat(image: np.ndarray) -> bool:
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA) if max(image.shape[:2]) > 64 else image
    return float(small.astype(np.float32).std()) < FLAT_STD


def _scaled(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    s = size / max(h, w)
    if abs(s - 1) < 0.05:
        return image, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp), s


def _boxes(rects, scores, s: float) -> list[tuple[np.ndarray, float]]:
    return [(np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1], np.float32) / s, float(sc))
            for r, sc in zip(rects, scores)]


def larger_scales(detector, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """HOG on copies larger than the fast path's, for pictures larger than it."""
    for size in HOG_SIZES:
        if max(image.shape[:2]) <= detector.detect_size * 1.2 or size > max(image.shape[:2]) * 1.2:
            break
        small, s = _scaled(image, size)
        for upsample in (0, 1):
            rects, scores, _ = detector.hog.run(small, upsample, detector.min_score)
            if len(rects):
                return _boxes(rects, scores, s)
    return []


def cnn(detector, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MMOD CNN detection on a CNN_SIZE copy; boxes refined by HOG in a crop where it finds the face."""
    net = cnn_detector()
    if net is None:
        return []
    small, s = _scaled(image, CNN_SIZE)
    found = []
    for d in net(np.ascontiguousarray(small), 0):
        r = d.rect
        box = np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1], np.float32) / s
        refined = hog_in_crop(detector, image, box)
        found.append((box if refined is None else refined, float(d.confidence)))
    return found


def hog_in_crop(detector, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """A HOG box for the face in ``box``: HOG on a crop around it, the face scaled to ~120 px."""
    h, w = image.shape[:2]
    side = float(max(box[2] - box[0], box[3] - box[1]))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = int(max(0, cx - side * 1.2)), int(max(0, cy - side * 1.2))
    x1, y1 = int(min(w, cx + side * 1.2)), int(min(h, cy + side * 1.2))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    f = 120.0 / max(side, 1.0)
    roi = cv2.resize(image[y0:y1, x0:x1], (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))),
                     interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    for upsample in (0, 1):
        rects, _, _ = detector.hog.run(roi, upsample, detector.min_score)
        if len(rects):
            r = max(rects, key=lambda r: r.width() * r.height())
            return np.array([r.left() / f + x0, r.top() / f + y0, (r.right() + 1) / f + x0,
                             (r.bottom() + 1) / f + y0], np.float32)
    return None
