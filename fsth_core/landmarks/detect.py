"""68-point landmark detectors behind one interface (:class:`Detector`), and the table of backends.

Backends (:data:`BACKEND_TABLE`; what each is and needs: ``DETECTOR_NOTES`` in fsth_core/options.py, which the
CLI's help and the nodes' tooltips are built from):
  ``dlib``            HOG face detector + the 68-point shape predictor shipped in the
                      ``face_recognition_models`` package: fully offline.
  ``face_alignment``  S3FD + FAN (the tracker the paper used).  Optional package; its
                      weights are downloaded once into torch's hub cache.
  ``auto``            the first of ``AUTO_BACKENDS`` that can run here: face_alignment when it is
                      installed *and* its weights are cached, else dlib.

A new backend: a class with the :class:`Detector` methods, its entry in :data:`BACKEND_TABLE`, its note in
``options.DETECTOR_NOTES`` (and, to be tried by ``auto``, a place in ``options.AUTO_BACKENDS``).
Images are numpy uint8 [H, W, 3] RGB.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fsth_core.io.media import as_rgb_uint8
from fsth_core.io.outpaths import atomic_file
from fsth_core.landmarks import dlib_models, face_search
from fsth_core.options import AUTO_BACKENDS, BACKENDS
from fsth_core.runtime.device import pick_device
from fsth_core.runtime.optional import files_missing, hub_checkpoints_dir, package_missing

_FA_URL = "https://www.adrianbulat.com/downloads/python-fan/"
_FA_FILES = ("s3fd-619a316812.pth", "2DFAN4-cd938726ad.zip")


@dataclass(frozen=True)
class Face:
    """One detected face: points float32 [68, 2] (x, y pixels), score, box float32 [4] x0, y0, x1, y1."""

    points: np.ndarray
    score: float
    box: np.ndarray


@dataclass
class LandmarkResult:
    """Landmarks of a sequence of T frames.

    points float32 [T, 68, 2] pixels; found bool [T] (a face was detected or tracked);
    score float32 [T]; boxes float32 [T, 4] (x0, y0, x1, y1); interpolated bool [T]
    (frames without a face, filled from their neighbours); image_size (h, w); fps or None.
    """

    points: np.ndarray
    found: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    interpolated: np.ndarray
    image_size: tuple[int, int] = (0, 0)
    fps: float | None = None
    backend: str = field(default="")
    # the first detection: how many faces it found and the chosen one's place from the left (0-based);
    # not stored in the file
    faces: int = 0
    face_rank: int = 0

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def save(self, path: str | os.PathLike) -> None:
        """Write the ``.npz`` landmark file (atomically: a temporary file renamed into place)."""
        with atomic_file(path) as f:
            self._write(f)

    def _write(self, f) -> None:
        np.savez_compressed(
            f, points=self.points.astype(np.float32), found=self.found.astype(bool),
            score=self.score.astype(np.float32), boxes=self.boxes.astype(np.float32),
            interpolated=self.interpolated.astype(bool),
            image_size=np.asarray(self.image_size, np.int64),
            fps=np.float64(self.fps if self.fps else 0.0), backend=np.str_(self.backend))

    @classmethod
    def load(cls, path: str | os.PathLike) -> LandmarkResult:
        """Read a ``.npz`` landmark file (no pickle)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"landmark file not found: {path}")
        with open(path, "rb") as f:
            magic = f.read(6)
        if not magic.startswith((b"PK\x03\x04", b"\x93NUMPY")):  # neither npz (zip) nor npy: say what is taken
            raise ValueError(f"{path}: not a landmark file; give the .npz the 'landmarks' command (or the Landmark "
                             "Extract node) writes")
        try:
            z = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001  (never numpy's advice to unpickle)
            raise ValueError(f"{path}: not a landmark .npz file ({str(exc).split('.')[0]})") from None
        with z:
            if "points" not in z.files:
                raise ValueError(f"{path}: not a landmark .npz file (no 'points' array)")
            pts = np.asarray(z["points"], np.float32)
            if pts.ndim == 2:
                pts = pts[None]
            if pts.ndim != 3 or pts.shape[1:] != (68, 2):
                raise ValueError(f"{path}: 'points' must be [T, 68, 2], got {list(pts.shape)}")
            t = pts.shape[0]

            def get(key, default):
                return np.asarray(z[key]) if key in z.files else default

            fps = float(get("fps", 0.0))
            size = tuple(int(v) for v in get("image_size", np.zeros(2)))
            return cls(pts, get("found", np.ones(t, bool)).astype(bool),
                       get("score", np.ones(t, np.float32)).astype(np.float32),
                       get("boxes", boxes_from_points(pts)).astype(np.float32),
                       get("interpolated", np.zeros(t, bool)).astype(bool),
                       (size[0], size[1]) if len(size) == 2 else (0, 0), fps or None,
                       str(get("backend", "")))


def boxes_from_points(points: np.ndarray) -> np.ndarray:
    """Tight boxes of landmarks: [..., 68, 2] -> [..., 4] (x0, y0, x1, y1)."""
    p = np.asarray(points, np.float32)
    return np.concatenate([p.min(axis=-2), p.max(axis=-2)], axis=-1)


class Detector(Protocol):
    """What a landmark backend gives.  Images uint8 RGB [H, W, 3]; boxes float32 [4] x0, y0, x1, y1."""

    name: str          # its name in options.BACKENDS
    fit_scores: bool   # fit() gives a confidence (False: its score is always 1)

    def detect_boxes(self, image: np.ndarray, detect_size: int | None = -1) -> list[tuple[np.ndarray, float]]:
        """Face boxes with their scores; ``detect_size``: the longer side detection runs at (None: the image's
        own, -1: the detector's default)."""

    def fit(self, image: np.ndarray, box) -> tuple[np.ndarray, float]:
        """The 68 landmarks float32 [68, 2] of the face inside ``box`` (tracking), and a score."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """Every face of ``image``."""


class DlibDetector:
    """HOG detector + 68-point shape predictor (dlib, CPU, offline)."""

    name = "dlib"
    fit_scores = False  # the shape predictor gives no confidence

    def __init__(self, detect_size: int = 640, max_upscale: float = 4.0, min_score: float = 0.25,
                 cnn_tries: int = 2, scale_tries: int = 25):
        self._predictor = dlib_models.shape_predictor(dlib_models.SHAPE68_FILE)
        self.hog = dlib_models.frontal_detector()  # HOG face detector (face_search.py uses it too)
        self.detect_size = int(detect_size)
        self.max_upscale = float(max_upscale)
        self.min_score = float(min_score)  # HOG scores of real faces are ~0.5-2, false hits mostly < 0.2
        # a thorough search after this many faceless searches in a row skips the CNN / larger scales
        self.cnn_tries, self.scale_tries, self._misses = int(cnn_tries), int(scale_tries), 0

    def fit(self, image: np.ndarray, box) -> tuple[np.ndarray, float]:
        """Landmarks inside ``box`` (x0, y0, x1, y1): float32 [68, 2], score (always 1: dlib gives none)."""
        return dlib_models.shape_points(self._predictor, image, dlib_models.rectangle(box)), 1.0

    def detect_boxes(self, image: np.ndarray, detect_size: int | None = -1) -> list[tuple[np.ndarray, float]]:
        """Face boxes [(box [4], score)] of uint8 RGB ``image``.

        Detection runs on a copy whose longer side is ``detect_size`` (default: the
        detector's; None: as is) and is retried upsampled 2x when it finds nothing.
        """
        h, w = image.shape[:2]
        size = self.detect_size if detect_size == -1 else detect_size
        s = 1.0 if size is None else min(size / max(h, w), self.max_upscale)
        small = image
        if abs(s - 1.0) > 0.05:
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)
        else:
            s = 1.0
        sy, sx = small.shape[0] / h, small.shape[1] / w
        for upsample in (0, 1):
            rects, scores, _ = self.hog.run(small, upsample, self.min_score)
            if len(rects):
                break
        out = []
        for r, sc in zip(rects, scores):
            box = np.array([r.left() / sx, r.top() / sy, (r.right() + 1) / sx, (r.bottom() + 1) / sy], np.float32)
            out.append((box, float(sc)))
        return out

    def search_boxes(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """:meth:`detect_boxes`, then before giving up the thorough search of
        fsth_core.landmarks.face_search (larger scales, the CNN detector)."""
        if face_search.is_flat(image):
            return []
        found = self.detect_boxes(image)
        if not found and self._misses < self.scale_tries:
            found = face_search.larger_scales(self, image)
        if not found and self._misses < self.cnn_tries:
            found = face_search.cnn(self, image)
        self._misses = 0 if found else self._misses + 1
        return found

    def detect(self, image: np.ndarray) -> list[Face]:
        """All faces of uint8 RGB [H, W, 3] ``image``."""
        image = as_rgb_uint8(image)
        faces = []
        for box, sc in self.search_boxes(image):
            pts, _ = self.fit(image, box)
            faces.append(Face(pts, sc, box))
        return faces


def face_alignment_missing() -> str | None:
    """None when face_alignment and its weights are available, else a one-line reason."""
    if package_missing("face_alignment"):
        return "face_alignment backend needs the package: pip install face-alignment (or use --backend dlib)"
    folder = hub_checkpoints_dir()
    missing = files_missing(folder, _FA_FILES)
    if missing:
        return (f"face_alignment weights not found: place {' and '.join(missing)} (from {_FA_URL}) in {folder}, "
                "or run once with internet access (or use --backend dlib)")
    return None


class FaceAlignmentDetector:
    """S3FD + 2D-FAN from the ``face_alignment`` package, on ``device``."""

    name = "face_alignment"
    fit_scores = True

    def __init__(self, device: str = "auto"):
        reason = face_alignment_missing()
        if reason:
            raise ValueError(reason)
        import face_alignment  # optional dependency (checked just above)

        self.device = pick_device(device)
        types = face_alignment.LandmarksType
        kind = getattr(types, "TWO_D", None) or types._2D
        try:
            self._fa = face_alignment.FaceAlignment(kind, device=str(self.device), flip_input=False)
        except Exception as exc:
            raise ValueError(f"face_alignment could not load its models ({exc}); "
                             f"place {' and '.join(_FA_FILES)} from {_FA_URL} in {hub_checkpoints_dir()}") from exc

    def _run(self, image, boxes=None):
        kw = {"return_bboxes": True, "return_landmark_score": True}
        if boxes is not None:
            kw["detected_faces"] = [np.append(np.asarray(b, np.float32), 1.0) for b in boxes]
        res = self._fa.get_landmarks_from_image(image, **kw)
        lms, scores, bbs = res if isinstance(res, tuple) else (res, None, None)
        if lms is None:
            return []
        out = []
        for i, lm in enumerate(lms):
            pts = np.asarray(lm, np.float32)[:, :2]
            sc = float(np.mean(scores[i])) if scores is not None and scores[i] is not None else 1.0
            bb = np.asarray(bbs[i], np.float32)[:4] if bbs is not None else boxes_from_points(pts)
            out.append(Face(pts, sc, bb))
        return out

    def detect_boxes(self, image: np.ndarray, detect_size=None) -> list[tuple[np.ndarray, float]]:
        """Face boxes [(box [4], score)] from S3FD."""
        dets = self._fa.face_detector.detect_from_image(np.ascontiguousarray(image))
        return [(np.asarray(d[:4], np.float32), float(d[4])) for d in dets]

    def fit(self, image: np.ndarray, box) -> tuple[np.ndarray, float]:
        faces = self._run(image, [box])
        if not faces:
            return np.zeros((68, 2), np.float32), 0.0
        return faces[0].points, faces[0].score

    def detect(self, image: np.ndarray) -> list[Face]:
        return self._run(as_rgb_uint8(image))


@dataclass(frozen=True)
class Backend:
    """One landmark backend: its detector on a device, and why it cannot run here (None: it can)."""

    make: Callable[[str], Detector]
    missing: Callable[[], str | None]


#: name (options.BACKENDS) -> backend; "auto" tries options.AUTO_BACKENDS in order
BACKEND_TABLE: dict[str, Backend] = {
    "dlib": Backend(lambda device: DlibDetector(), lambda: dlib_models.missing(dlib_models.SHAPE68_FILE)),
    "face_alignment": Backend(lambda device: FaceAlignmentDetector(device), lambda: face_alignment_missing()),
}


def get_detector(backend: str = "auto", device: str = "auto") -> Detector:
    """A detector for ``backend`` (a name of options.BACKENDS).

    ``auto``: the first of options.AUTO_BACKENDS that can run here (face_alignment only when it is installed
    and its weights are cached), else the last (dlib).  Asking for a backend explicitly when it cannot run
    raises a one-line ValueError.  ``device`` (see ``fsth_core.runtime.device.pick_device``) matters for
    the backends that run on one (face_alignment).
    """
    if backend not in BACKENDS:
        raise ValueError(f"landmark backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = next((n for n in AUTO_BACKENDS[:-1] if BACKEND_TABLE[n].missing() is None), AUTO_BACKENDS[-1])
    return BACKEND_TABLE[backend].make(device)


#: faces whose box area is at least this fraction of the largest count as "the same size"
SAME_SIZE = 0.8


def choose_face(faces: list[Face], rule: str | int = "largest",
                image_size: tuple[int, int] | None = None) -> Face | None:
    """Pick one face: ``"largest"`` or an int n: the n-th from the left (0-based).

    "largest": the largest box; among faces of about its size (area within SAME_SIZE of it) the
    one nearest the centre of the picture (``image_size`` (h, w)), then the best score; so the same
    face is picked in a photo and in every frame of a video.
    """
    if not faces:
        return None
    if rule == "largest":
        area = [float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])) for f in faces]
        big = [f for f, a in zip(faces, area) if a >= SAME_SIZE * max(area)]
        if image_size is None or len(big) == 1:
            return max(big, key=lambda f: (round(float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))), f.score))
        cy, cx = image_size[0] / 2, image_size[1] / 2
        return min(big, key=lambda f: (round(float(np.hypot((f.box[0] + f.box[2]) / 2 - cx,
                                                            (f.box[1] + f.box[3]) / 2 - cy)), 1), -f.score))
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        ordered = sorted(faces, key=lambda f: float(f.box[0] + f.box[2]))
        return ordered[int(rule)] if 0 <= int(rule) < len(ordered) else None
    raise ValueError(f"face rule must be 'largest' or a face index (0 = leftmost), got {rule!r}")
