"""The one dlib wrapper: imports dlib, finds its model files, loads each model once per process.

The model files come from the ``face_recognition_models`` package, found without importing it (its
``__init__`` imports pkg_resources).  Every failure is one ValueError line saying what to install.
Used by the dlib landmark backend (detect.py, face_search.py) and the face metrics (metrics/face.py).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from fsth_core.runtime.optional import package_dir

SHAPE68_FILE = "shape_predictor_68_face_landmarks.dat"     # 68-point landmarks
SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"       # 5-point alignment for the descriptor
DESCRIPTOR_FILE = "dlib_face_recognition_resnet_model_v1.dat"  # 128-d ResNet face descriptor
MMOD_FILE = "mmod_human_face_detector.dat"                 # CNN face detector


def dlib_module():
    """The ``dlib`` module (ValueError naming the package when it is not installed)."""
    try:
        import dlib  # imported when a dlib model is first needed: the node pack registers without it
    except ImportError:
        raise ValueError("dlib is not installed: pip install dlib-bin") from None
    return dlib


def models_dir() -> Path:
    """The models/ folder of the installed face_recognition_models package (ValueError if absent)."""
    folder = package_dir("face_recognition_models")
    if folder is None:
        raise ValueError("dlib models need the 'face_recognition_models' package: pip install face_recognition_models")
    return folder / "models"


def model_path(name: str, folder: str | Path | None = None) -> Path:
    """Path of model file ``name`` in ``folder`` (default: ``models_dir()``); ValueError when missing."""
    path = Path(folder) / name if folder is not None else models_dir() / name
    if not path.is_file():
        raise ValueError(f"dlib model file missing: {path} (reinstall face_recognition_models)")
    return path


def missing(*names: str) -> str | None:
    """Why dlib with model files ``names`` cannot run here (one line), or None when it can."""
    try:
        dlib_module()
        for name in names:
            model_path(name)
    except ValueError as e:
        return str(e)
    return None


@functools.cache
def _load(kind: str, path: str | None = None):
    dlib = dlib_module()
    return getattr(dlib, kind)() if path is None else getattr(dlib, kind)(path)


# Each getter checks dlib and the file on every call (cheap: a clear error even after an earlier load)
# and loads the model once per process.
def frontal_detector():
    """dlib's HOG frontal face detector."""
    dlib_module()
    return _load("get_frontal_face_detector")


def shape_predictor(name: str = SHAPE68_FILE, folder: str | Path | None = None):
    """A dlib shape predictor (68-point by default), loaded once (about a second)."""
    dlib_module()
    return _load("shape_predictor", str(model_path(name, folder)))


def face_descriptor(folder: str | Path | None = None):
    """dlib's ResNet face-recognition model (128-d descriptors)."""
    dlib_module()
    return _load("face_recognition_model_v1", str(model_path(DESCRIPTOR_FILE, folder)))


def cnn_detector():
    """dlib's MMOD CNN face detector, or None when its model file is not installed."""
    dlib_module()
    path = models_dir() / MMOD_FILE
    return _load("cnn_face_detection_model_v1", str(path)) if path.is_file() else None


def rectangle(box):
    """dlib.rectangle of a box (left, top, right, bottom), rounded to pixels, at least 1 px wide and high."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    return dlib_module().rectangle(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def shape_points(predictor, image: np.ndarray, rect) -> np.ndarray:
    """The points of a dlib shape predictor (68 or 5) for the face in ``rect`` (a dlib.rectangle) of uint8 RGB
    ``image``: float32 [n, 2] (x, y) pixels.  The one 68-point fit: the dlib landmark backend and the face
    metrics (AKD) both call it."""
    shape = predictor(image, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)
