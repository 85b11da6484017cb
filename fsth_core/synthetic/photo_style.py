"""Photographic synthetic heads: cartoon heads given the texture and defects of real photographs.

A cartoon frame (render.py) is drawn twice, on black and on white, which gives its colour
and its exact alpha.  The foreground then gets the fine luminance texture of a real photograph
(attached to the face, so it moves with the head as skin and hair texture do), and is composited
over a real photograph as background (static, as behind a real speaker).  The whole frame gets the
defects of a camera and its file: colour cast and gamma, slight blur, grain, JPEG compression, and
a random zoom and shift.  Each video has one fixed :class:`PhotoStyle` (grain is drawn per frame).

Texture sources are the public-domain photographs that ship with scikit-image (a fixed list, so a
data set depends only on its seed): photos of objects, animals, materials and sky — never the
portraits used to evaluate (astronaut, the cameraman; Grace Hopper comes from matplotlib).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from fsth_core.io.media import load_image
from fsth_core.runtime.optional import package_dir

# scikit-image's sample photographs that show no face (the portraits are kept for evaluation)
SKIMAGE_TEXTURES = ("coffee.png", "chelsea.png", "rocket.jpg", "brick.png", "grass.png", "gravel.png",
                    "hubble_deep_field.jpg", "moon.png", "coins.png", "motorcycle_left.png", "retina.jpg",
                    "ihc.png", "page.png", "color.png")


@lru_cache(maxsize=1)
def texture_photos() -> tuple[np.ndarray, ...]:
    """The texture photographs as uint8 RGB arrays (at least 128 px); ValueError when none is installed."""
    sk = package_dir("skimage")
    files = [sk / "data" / f for f in SKIMAGE_TEXTURES] if sk is not None else []
    if not files or not all(f.is_file() for f in files):
        raise ValueError("photographic synthetic data needs the sample photos of scikit-image: "
                         "pip install scikit-image")
    return tuple(load_image(f) for f in files)


@dataclass(frozen=True)
class PhotoStyle:
    """One video's photographic look (see the module docstring)."""

    background: int            # index into texture_photos()
    bg_box: tuple[float, float, float]  # x, y, side of the background crop, fractions of the photo
    texture: int               # index into texture_photos() of the foreground texture
    texture_scale: float       # texture pixels per face unit (inter-ocular distance / 2)
    texture_amount: float      # strength of the luminance modulation
    gains: tuple[float, float, float]
    gamma: float
    saturation: float
    blur: float                # Gaussian sigma, pixels of the output
    grain: float               # noise sigma, 0..255 levels
    jpeg: int                  # JPEG quality (100: none)
    zoom: float
    shift: tuple[float, float]  # fractions of the frame

    @classmethod
    def random(cls, rng: np.random.Generator) -> PhotoStyle:
        n = len(texture_photos())
        side = float(rng.uniform(0.35, 1.0))
        return cls(background=int(rng.integers(n)),
                   bg_box=(float(rng.uniform(0, 1 - side)), float(rng.uniform(0, 1 - side)), side),
                   texture=int(rng.integers(n)), texture_scale=float(rng.uniform(20, 90)),
                   texture_amount=float(rng.uniform(0.03, 0.12)),
                   gains=tuple(float(g) for g in rng.uniform(0.88, 1.12, 3)), gamma=float(rng.uniform(0.8, 1.25)),
                   saturation=float(rng.uniform(0.65, 1.2)), blur=float(rng.choice([0.0, rng.uniform(0.3, 1.0)])),
                   grain=float(rng.uniform(0.0, 5.0)), jpeg=int(rng.choice([100, int(rng.integers(45, 95))])),
                   zoom=float(rng.uniform(0.92, 1.12)), shift=(float(rng.uniform(-0.04, 0.04)),
                                                               float(rng.uniform(-0.04, 0.04))))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _background(style: PhotoStyle, size: int) -> np.ndarray:
    photo = texture_photos()[style.background]
    h, w = photo.shape[:2]
    s = min(h, w) * style.bg_box[2]
    x0, y0 = style.bg_box[0] * (w - s) / max(1e-6, 1 - style.bg_box[2]), \
        style.bg_box[1] * (h - s) / max(1e-6, 1 - style.bg_box[2])
    crop = photo[int(y0):int(y0 + s), int(x0):int(x0 + s)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)


@lru_cache(maxsize=64)
def _detail(index: int) -> np.ndarray:
    """High-pass luminance of a texture photo, float32 [H, W], unit standard deviation."""
    g = cv2.cvtColor(texture_photos()[index], cv2.COLOR_RGB2GRAY).astype(np.float32)
    d = g - cv2.GaussianBlur(g, (0, 0), 6.0)
    return d / max(float(d.std()), 1e-3)


def _face_texture(style: PhotoStyle, points: np.ndarray, size: int) -> np.ndarray:
    """The texture photo's detail mapped onto the face (a similarity attached to the eyes)."""
    det = _detail(style.texture)
    left, right = points[36:42].mean(0), points[42:48].mean(0)
    axis = right - left
    unit = max(float(np.hypot(*axis)) / 2, 1.0)
    c, s = axis / (2 * unit)
    k = style.texture_scale / unit  # texture pixels per output pixel
    centre = (left + right) / 2
    th, tw = det.shape
    # output pixel q -> texture pixel: k * R^T (q - centre) + texture centre
    m = np.array([[k * c, k * s, 0.0], [-k * s, k * c, 0.0]])
    m[:, 2] = np.array([tw / 2, th / 2]) - m[:, :2] @ centre
    return cv2.warpAffine(det, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


def photographic(on_black: np.ndarray, on_white: np.ndarray, points: np.ndarray, style: PhotoStyle,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One photographic frame from a cartoon frame drawn on black and on white.

    on_black, on_white uint8 [S,S,3]; points [68,2] its landmarks -> (uint8 [S,S,3], points [68,2]
    after the zoom and shift).
    """
    size = on_black.shape[0]
    b, wt = on_black.astype(np.float32), on_white.astype(np.float32)
    alpha = np.clip(1.0 - (wt - b).mean(axis=2, keepdims=True) / 255.0, 0.0, 1.0)
    tex = _face_texture(style, points, size)[..., None]
    img = b * (1.0 + style.texture_amount * tex) + (1.0 - alpha) * _background(style, size)
    img = _camera(np.clip(img, 0, 255), style, rng)
    m = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), 0.0, style.zoom)
    m[:, 2] += np.array(style.shift) * size
    img = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    pts = (np.asarray(points, np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
    if style.jpeg < 100:
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, style.jpeg])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img), pts


def _camera(img: np.ndarray, style: PhotoStyle, rng: np.random.Generator) -> np.ndarray:
    """Colour cast, gamma, saturation, blur and grain: float32 0..255 -> uint8."""
    x = img / 255.0 * np.asarray(style.gains, np.float32)
    x = np.clip(x, 0, 1) ** style.gamma
    grey = x.mean(axis=2, keepdims=True)
    x = grey + style.saturation * (x - grey)
    if style.blur > 0.25:
        x = cv2.GaussianBlur(x, (0, 0), style.blur)
    x = x * 255.0 + rng.normal(0.0, style.grain, x.shape[:2])[..., None]
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
