"""Public-domain portraits available offline, for the quality benchmarks.

- ``astronaut``: NASA portrait of Eileen Collins (scikit-image's ``data.astronaut()``), 512×512.
- ``hopper``: US Navy portrait of Grace Hopper (matplotlib's ``sample_data/grace_hopper.jpg``),
  512×600; skipped when matplotlib is not installed.
- ``*_painted``: the same photos turned into an old oil painting here (edge-preserving
  stylization, brush-stroke texture, yellowed varnish and a craquelure network), so the crackle
  and the brushwork a painting has are there to be kept.
- ``synthetic``: a synthetic head of the project's own generator (fsth_core.synthetic.heads), 512 px.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from fsth_core.io.media import load_image
from fsth_core.synthetic.heads import synthetic_portrait


def _hopper() -> np.ndarray | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        return None
    return load_image(path)


def painted(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """An 'old oil painting' of a photo: uint8 RGB, same size."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    base = cv2.stylization(photo, sigma_s=20, sigma_r=0.2).astype(np.float32)
    strokes = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    strokes = cv2.filter2D(strokes, -1, np.eye(7, dtype=np.float32) / 7)  # diagonal brush direction
    img = base * (1 + 0.06 * strokes[..., None] / max(float(strokes.std()), 1e-6))
    img = img * np.float32([1.0, 0.93, 0.72]) + np.float32([12, 8, 0])  # yellowed varnish
    # craquelure: the borders of a jittered Voronoi tessellation, thin and dark
    seeds = np.zeros((h, w), np.uint8)
    n = h * w // 500
    seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 1
    _, labels = cv2.distanceTransformWithLabels(1 - seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    edges = (np.diff(labels, axis=0, prepend=labels[:1]) != 0) | (np.diff(labels, axis=1, prepend=labels[:, :1]) != 0)
    cracks = cv2.GaussianBlur(edges.astype(np.float32), (0, 0), 0.5)
    img = img * (1 - 0.35 * np.clip(cracks, 0, 1)[..., None])
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def portraits(include: tuple[str, ...] = ("astronaut", "astronaut_painted", "hopper", "hopper_painted",
                                          "synthetic")) -> dict[str, np.ndarray]:
    """Name -> uint8 RGB picture, for those available here."""
    import skimage.data  # dev dependency (requirements-dev.txt): imported where a test picture is needed

    out: dict[str, np.ndarray] = {}
    photos = {"astronaut": skimage.data.astronaut(), "hopper": _hopper()}
    for name in include:
        base = name.removesuffix("_painted")
        if base in photos and photos[base] is not None:
            out[name] = photos[base] if base == name else painted(photos[base])
        elif name == "synthetic":
            out[name] = synthetic_portrait(seed=3, size=512)[0]
    return out
