"""Face metrics: CSIM (identity similarity, dlib ResNet descriptors) and AKD (landmark distance).

Images: numpy uint8 RGB [H,W,3], or batches [N,H,W,3]. Landmarks: float32 [68,2] (x, y) pixels, iBUG 300-W.
The dlib models come from the face_recognition_models wheel (found without importing it: its __init__
imports pkg_resources). Nothing is downloaded.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fsth_core.face_layout import EYE_OUTER_LEFT, EYE_OUTER_RIGHT
from fsth_core.landmarks import dlib_models
from fsth_core.landmarks.dlib_models import DESCRIPTOR_FILE, SHAPE5_FILE, SHAPE68_FILE

from .result import MetricResult


def face_models_dir() -> str:
    """The models/ folder of the installed face_recognition_models package (ValueError if absent)."""
    return str(dlib_models.models_dir())


def _as_box(box) -> tuple[int, int, int, int]:
    left, top, right, bottom = (int(round(float(v))) for v in box)
    if right <= left or bottom <= top:
        raise ValueError(f"face box must be (left, top, right, bottom) with right>left, bottom>top, got {box}")
    return left, top, right, bottom


class FaceEmbedder:
    """dlib face detector + 5-point aligner + ResNet 128-d face descriptor, loaded lazily, once.

    Detection rule: when a box is given it is used as is; otherwise the HOG detector runs and the largest
    face is used. If no face is found the frame has no embedding (None → CSIM NaN, counted as missing),
    unless ``whole_image_fallback=True``, which uses the whole image as the face box instead (meant for
    frames already cropped and aligned around one face).

    This rule is the metrics' own, on purpose, not the landmark backend's (fsth_core.landmarks.detect): CSIM
    and AKD compare real and generated frames with one fixed detector at the frames' own scale, so their
    numbers do not move with ``--backend``, the backend's thresholds, its rescaling to 640 px or its
    thorough face search.  The 68-point fit inside the face box is the backend's own
    (``dlib_models.shape_points``).
    """

    def __init__(self, models_dir: str | None = None, upsample: int = 0, whole_image_fallback: bool = False):
        self.models_dir = models_dir
        self.upsample = int(upsample)
        self.whole_image_fallback = bool(whole_image_fallback)
        self._detector = self._shape5 = self._shape68 = self._rec = None

    def _load(self) -> None:
        if self._rec is None:
            self._detector = dlib_models.frontal_detector()
            self._shape5 = dlib_models.shape_predictor(SHAPE5_FILE, self.models_dir)
            self._rec = dlib_models.face_descriptor(self.models_dir)

    def face_box(self, image: np.ndarray, box=None):
        """dlib.rectangle of the face to use in image [H,W,3] uint8, or None when none is found."""
        self._load()
        if box is not None:
            return dlib_models.rectangle(_as_box(box))
        dets = list(self._detector(image, self.upsample))
        if dets:
            return max(dets, key=lambda r: r.width() * r.height())
        if self.whole_image_fallback:
            h, w = image.shape[:2]
            return dlib_models.rectangle((0, 0, w - 1, h - 1))
        return None

    def embed(self, image: np.ndarray, box=None) -> np.ndarray | None:
        """128-d float64 face descriptor of image [H,W,3] uint8 RGB, or None when no face is found."""
        _check_image(image, "image")
        image = np.ascontiguousarray(image)
        rect = self.face_box(image, box)
        if rect is None:
            return None
        shape = self._shape5(image, rect)
        return np.asarray(self._rec.compute_face_descriptor(image, shape), dtype=np.float64)

    def landmarks68(self, image: np.ndarray, box=None) -> np.ndarray | None:
        """68 landmarks float32 [68,2] (x, y) of image [H,W,3] uint8 RGB, or None when no face is found."""
        _check_image(image, "image")
        image = np.ascontiguousarray(image)
        rect = self.face_box(image, box)
        if rect is None:
            return None
        if self._shape68 is None:
            self._shape68 = dlib_models.shape_predictor(SHAPE68_FILE, self.models_dir)
        return dlib_models.shape_points(self._shape68, image, rect)


_DEFAULT: FaceEmbedder | None = None


def default_embedder() -> FaceEmbedder:
    """A shared FaceEmbedder with the default (no fallback) rule, so the models load once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = FaceEmbedder()
    return _DEFAULT


def _check_image(image: np.ndarray, name: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        got = image.shape if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{name} must be a uint8 RGB array [H,W,3], got {got}")


def _as_batch(x: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim not in (3, 4) or x.shape[-1] != 3:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"{name} must be uint8 RGB [H,W,3] or [N,H,W,3], got {got}")
    return x[None] if x.ndim == 3 else x


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))


def csim(real: np.ndarray, fake: np.ndarray, boxes: Sequence | None = None,
         embedder: FaceEmbedder | None = None) -> MetricResult:
    """CSIM: cosine similarity of face descriptors of real and generated frames.

    real, fake: uint8 RGB [H,W,3] or [N,H,W,3] (same N). boxes: None (detect in each frame) or one
    (left, top, right, bottom) box per frame, used for both real and fake. A frame where either image has
    no face gets NaN and is counted in ``missing``; ``value`` is the mean over the other frames.
    """
    real, fake = _as_batch(real, "real"), _as_batch(fake, "fake")
    if len(real) != len(fake):
        raise ValueError(f"real and fake must have the same number of frames, got {len(real)} and {len(fake)}")
    if boxes is not None and len(boxes) != len(real):
        raise ValueError(f"boxes must have one box per frame ({len(real)}), got {len(boxes)}")
    emb = embedder or default_embedder()
    values = []
    for i, (r, f) in enumerate(zip(real, fake)):
        box = None if boxes is None else boxes[i]
        er = emb.embed(r, box)
        ef = emb.embed(f, box) if er is not None else None
        values.append(float("nan") if er is None or ef is None else cosine(er, ef))
    return MetricResult.from_frames("csim", values)


def detect_landmarks(frames: np.ndarray, embedder: FaceEmbedder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """dlib 68-point landmarks of frames uint8 [N,H,W,3] → (points float32 [N,68,2], found bool [N]).

    Frames without a face get NaN points and found=False. Use the same detector for real and fake frames.
    """
    frames = _as_batch(frames, "frames")
    emb = embedder or default_embedder()
    pts = np.full((len(frames), 68, 2), np.nan, dtype=np.float32)
    found = np.zeros(len(frames), dtype=bool)
    for i, f in enumerate(frames):
        p = emb.landmarks68(f)
        if p is not None:
            pts[i], found[i] = p, True
    return pts, found


def akd(real_points: np.ndarray, fake_points: np.ndarray,
        real_found: np.ndarray | None = None, fake_found: np.ndarray | None = None) -> MetricResult:
    """AKD: mean landmark distance divided by the real inter-ocular distance (points 36 and 45).

    real_points, fake_points: float [N,68,2] or [68,2] pixels. real_found, fake_found: bool [N] detection
    masks (default: all found). A frame is excluded (NaN, counted in ``missing``) when either detection
    failed, its points are not finite, or the real eye corners coincide.
    """
    r = np.asarray(real_points, dtype=np.float64)
    f = np.asarray(fake_points, dtype=np.float64)
    if r.ndim == 2:
        r, f = r[None], f[None] if f.ndim == 2 else f
    if r.ndim != 3 or r.shape[1:] != (68, 2):
        raise ValueError(f"real_points must have shape [N,68,2] or [68,2], got {np.shape(real_points)}")
    if f.shape != r.shape:
        raise ValueError(f"fake_points must match real_points {r.shape}, got {np.shape(fake_points)}")
    n = len(r)
    ok = np.ones(n, dtype=bool)
    for mask, name in ((real_found, "real_found"), (fake_found, "fake_found")):
        if mask is not None:
            mask = np.asarray(mask, dtype=bool).reshape(-1)
            if mask.shape != (n,):
                raise ValueError(f"{name} must have one flag per frame ({n}), got {mask.shape}")
            ok &= mask
    with np.errstate(invalid="ignore", divide="ignore"):
        iod = np.linalg.norm(r[:, EYE_OUTER_RIGHT] - r[:, EYE_OUTER_LEFT], axis=-1)
        dist = np.linalg.norm(r - f, axis=-1).mean(axis=-1) / iod
    ok &= np.isfinite(dist) & (iod > 1e-6)
    return MetricResult.from_frames("akd", np.where(ok, dist, np.nan))


SAME_PERSON_DISTANCE = 0.6  # dlib's rule: descriptors of one person are closer than this (99.4 % on LFW)


def people(descriptors: Sequence[np.ndarray], threshold: float = SAME_PERSON_DISTANCE) -> list[list[int]]:
    """Group pictures by person: the connected groups of descriptors that chain within ``threshold`` (so a
    few far pairs of one person, a profile and a smile say, still join through the others)."""
    d = np.asarray(descriptors, np.float64)
    near = np.linalg.norm(d[:, None] - d[None], axis=-1) < threshold
    groups, seen = [], set()
    for i in range(len(d)):
        if i in seen:
            continue
        group, todo = [], [i]
        seen.add(i)
        while todo:
            j = todo.pop()
            group.append(j)
            for k in np.flatnonzero(near[j]):
                if int(k) not in seen:
                    seen.add(int(k))
                    todo.append(int(k))
        groups.append(sorted(group))
    return groups


def check_one_person(images: Sequence[np.ndarray], points: np.ndarray, embedder: FaceEmbedder | None = None,
                     threshold: float = SAME_PERSON_DISTANCE) -> None:
    """ValueError when ``images`` (uint8 [H,W,3] each, with their landmarks [N,68,2]) show more than one
    person, judged by dlib face descriptors computed in each picture's landmark box.  Nothing to check for a
    single picture, or without dlib and its models (both are dependencies; then the check is skipped)."""
    if len(images) < 2 or dlib_models.missing(SHAPE5_FILE, DESCRIPTOR_FILE):
        return
    emb = embedder or default_embedder()
    desc = [emb.embed(np.ascontiguousarray(im), (*p.min(0), *p.max(0))) for im, p in zip(images, points)]
    groups = people(desc, threshold)
    if len(groups) > 1:
        a, b = groups[0], groups[1]
        gap = min(float(np.linalg.norm(desc[i] - desc[j])) for i in a for j in b)
        names = "; ".join("pictures " + ", ".join(str(i + 1) for i in g) for g in groups)
        raise ValueError(f"these {len(images)} pictures show {len(groups)} different people ({names}: face "
                         f"descriptors {gap:.2f} apart, one person is under {threshold:g}). An identity is one "
                         "person: give pictures of one person, or use one Embedder per person.")
