"""Few-shot composition: every picture of the person used where it fits the frame best.

With T sources, each output frame is the base source (the first) warped to the target landmarks, and then
each region (the rest of the face, each eye, the mouth) is taken from the source whose shape and pose are
nearest to the target's in that region, warped there and blended in:

- **nearest**: every source's landmarks are brought onto the target's by the similarity fitted on the
  points that barely move with expression (nose, eye corners, jaw ends); what is left is the expression
  and pose difference, measured in inter-ocular distances over the region's points, plus the pose
  difference (the residual on those stable points);
- **stable**: a region changes source only when another is clearly nearer (``switch_margin``), and the
  change is a short cross-fade (``fade_frames``), so the face does not flicker;
- **seamless**: each region's pixels are colour-matched to the base source (Lab mean and contrast of the
  skin around the region, measured once per source), and blended through a mask feathered by a fraction
  of the inter-ocular distance, whose edge lies on skin both sources show.

Each source keeps its own mesh warp, in its own pixels: a region is warped straight from it into the base's
frame (one resample, whatever the sources' sizes), so the other sources can be prepared once and reused
when the base changes every frame (video-to-video).  With one source this is exactly the base source's
mesh warp.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.face_layout import BROW_LEFT, BROW_RIGHT, EYE_LEFT, EYE_RIGHT, JAW, LIPS_INNER, MOUTH, NOSE, STABLE
from fsth_core.landmarks.geometry import as_points, inter_ocular
from fsth_core.warp.animator import MeshWarper, WarpOptions

_STABLE = np.array(STABLE)
_IDX = {
    "face": np.r_[JAW, NOSE, BROW_RIGHT, BROW_LEFT],
    "eye_right": np.r_[EYE_RIGHT, EYE_RIGHT, BROW_RIGHT],  # the lids count twice: an eye is chosen by them
    "eye_left": np.r_[EYE_LEFT, EYE_LEFT, BROW_LEFT],
    "mouth": np.r_[MOUTH, LIPS_INNER, LIPS_INNER],  # the inner lips count thrice: they shape the interior
}
REGIONS = tuple(_IDX)  # composition order: the face first, then the eyes and the mouth on top


@dataclass(frozen=True)
class ShotOptions:
    """How sources are chosen per region and blended."""

    pose_weight: float = 0.5       # weight of the pose difference in a region's distance
    switch_margin: float = 0.25    # another source takes a region over when its distance is this much lower
    min_gain: float = 0.01         # ... and lower by at least this (inter-ocular units)
    fade_frames: int = 4           # frames of the cross-fade when a region changes source
    regions: tuple[str, ...] = REGIONS
    feather: float = 0.05          # Gaussian sigma of the region masks' edges, × inter-ocular distance


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """float64 [2,3] least-squares similarity mapping src [K,2] onto dst [K,2]."""
    s, d = src.astype(np.float64), dst.astype(np.float64)
    cs, cd = s.mean(0), d.mean(0)
    zs, zd = (s - cs) @ (1, 1j), (d - cd) @ (1, 1j)
    den = float((np.abs(zs) ** 2).sum())
    z = (np.conj(zs) * zd).sum() / den if den > 1e-12 else 1.0 + 0j
    m = np.array([[z.real, -z.imag], [z.imag, z.real]])
    return np.hstack([m, (cd - cs @ m.T)[:, None]])


def distances(sources: np.ndarray, target: np.ndarray, pose_weight: float = 1.0) -> dict[str, np.ndarray]:
    """Per region, each source's distance to the target: {region: float64 [T]} (inter-ocular units).

    sources [T,68,2] and target [68,2] in any frames: each source is first brought onto the target by
    the similarity fitted on the stable points."""
    iod = max(inter_ocular(target), 1e-6)
    out = {r: np.empty(len(sources)) for r in _IDX}
    for k, pts in enumerate(sources):
        a = similarity(pts[_STABLE], target[_STABLE])
        res = np.hypot(*((pts @ a[:, :2].T + a[:, 2]) - target).T) / iod  # [68]
        pose = float(np.sqrt((res[_STABLE] ** 2).mean()))
        for r, idx in _IDX.items():
            out[r][k] = float(np.sqrt((res[idx] ** 2).mean())) + pose_weight * pose
    return out


class RegionChooser:
    """Which source a region takes, frame by frame: the nearest, kept until another is clearly nearer,
    changed by a cross-fade.  ``step(distances [T]) -> [(source, weight), ...]`` (weights sum to 1)."""

    def __init__(self, options: ShotOptions = ShotOptions()):
        self.options = options
        self.current: int | None = None
        self.previous: int | None = None
        self.fade = 0  # frames of the cross-fade done (0: none running)

    def step(self, dist: np.ndarray) -> list[tuple[int, float]]:
        o = self.options
        best = int(np.argmin(dist))
        if self.current is None:
            self.current = best
        elif self.fade == 0 and best != self.current:
            cur = float(dist[self.current])
            if float(dist[best]) < min((1.0 - o.switch_margin) * cur, cur - o.min_gain):
                self.previous, self.current, self.fade = self.current, best, 1
        if self.fade == 0 or o.fade_frames <= 1:
            self.fade = 0
            return [(self.current, 1.0)]
        s = self.fade / float(o.fade_frames)
        self.fade = self.fade + 1 if self.fade + 1 < o.fade_frames else 0
        return [(self.previous, 1.0 - s), (self.current, s)]


def _region_polygon(region: str, pts: np.ndarray) -> tuple[np.ndarray, float]:
    """(polygon [K,2], dilation in inter-ocular units) of a region's mask for landmarks [68,2]."""
    if region == "mouth":
        return pts[48:60], 0.14
    if region in ("eye_right", "eye_left"):
        eye = EYE_RIGHT if region == "eye_right" else EYE_LEFT
        return pts[eye], 0.12
    hull = cv2.convexHull(pts[np.r_[JAW, BROW_RIGHT, BROW_LEFT]].astype(np.float32)).reshape(-1, 2)
    return hull, -0.12


def region_mask(region: str, pts: np.ndarray, box: tuple[int, int, int, int], feather: float) -> np.ndarray:
    """Soft mask float32 [h,w] in 0..1 of a region of landmarks ``pts`` [68,2] inside ``box``."""
    x0, y0, x1, y1 = box
    iod = max(inter_ocular(pts), 1.0)
    poly, grow = _region_polygon(region, pts)
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(m, [np.round((poly - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    k = int(round(abs(grow) * iod))
    if k >= 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        m = cv2.dilate(m, kernel) if grow > 0 else cv2.erode(m, kernel)
    out = m.astype(np.float32) / 255.0
    sigma = feather * iod
    return cv2.GaussianBlur(out, (0, 0), sigma) if sigma > 0.3 else out


def region_box(region: str, pts: np.ndarray, shape: tuple[int, int], feather: float) -> tuple[int, int, int, int]:
    """Whole-pixel box (x0, y0, x1, y1) holding a region's soft mask, clipped to a frame of ``shape``."""
    iod = max(inter_ocular(pts), 1.0)
    poly, grow = _region_polygon(region, pts)
    pad = max(grow, 0.0) * iod + 3.0 * feather * iod + 2.0
    lo, hi = poly.min(0) - pad, poly.max(0) + pad
    h, w = shape
    return (int(max(np.floor(lo[0]), 0)), int(max(np.floor(lo[1]), 0)),
            int(min(np.ceil(hi[0]) + 1, w)), int(min(np.ceil(hi[1]) + 1, h)))


class ColourMatch:
    """Per-channel Lab gain and offset that make one picture's skin look like the base's.

    Measured once per pair: mean and standard deviation of L, a, b over the face's skin (inside the jaw
    and brows, away from the mouth and eyes), whose colour an expression does not change.  Pictures shot in
    the same light (frames of one clip) get the identity.  ``chroma`` < 1 moves the colour (a, b) only part
    of the way (another person's skin says little about their teeth)."""

    def __init__(self, source: np.ndarray, source_pts: np.ndarray, base: np.ndarray, base_pts: np.ndarray,
                 chroma: float = 1.0):
        self._set(skin_stats(source, source_pts), skin_stats(base, base_pts), chroma)

    @classmethod
    def from_stats(cls, source: tuple[np.ndarray, np.ndarray], base: tuple[np.ndarray, np.ndarray],
                   chroma: float = 1.0) -> ColourMatch:
        """From :func:`skin_stats` of the two pictures."""
        out = cls.__new__(cls)
        out._set(source, base, chroma)
        return out

    def _set(self, s, b, chroma: float) -> None:
        gain = np.clip(b[1] / np.maximum(s[1], 1e-3), 0.75, 1.33)
        mean = b[0].copy()
        gain[1:] = 1.0 + chroma * (gain[1:] - 1.0)  # chroma < 1: the colours move only part of the way
        mean[1:] = s[0][1:] + chroma * (b[0][1:] - s[0][1:])
        offset = mean - gain * s[0]
        self.identity = bool(np.all(np.abs(gain - 1) < 0.05) and np.all(np.abs(b[0] - s[0]) < 3.0))
        self.gain, self.offset = gain.astype(np.float32), offset.astype(np.float32)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 [h,w,3] -> uint8 [h,w,3] matched."""
        if self.identity:
            return rgb
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32) * self.gain + self.offset
        return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def skin_stats(image: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std + 1) of Lab over the face's skin of ``image`` with landmarks ``pts`` [68,2]."""
    box = region_box("face", pts, image.shape[:2], 0.0)
    x0, y0, x1, y1 = box
    skin = region_mask("face", pts, box, 0.0) > 0.5
    for r in ("mouth", "eye_right", "eye_left"):
        skin &= region_mask(r, pts, box, 0.0) <= 0.0
    lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float32)[skin]
    if len(lab) < 16:
        return np.zeros(3, np.float32), np.ones(3, np.float32)
    return lab.mean(0), lab.std(0) + 1.0


class Shot:
    """One more picture of the person, ready to be warped into any base picture's frame: its own mesh warp
    (a region is warped straight from its pixels, no resampling in between) and its skin's colour."""

    def __init__(self, image: np.ndarray, points: np.ndarray, options: WarpOptions = WarpOptions()):
        self.warper = MeshWarper(np.asarray(image), as_points(points, "source_points"), options)
        self.points = self.warper.source_points
        self.skin = skin_stats(self.warper.source, self.points)


class ShotWarper:
    """The mesh warp of T pictures of one person, region by region (see the module docstring).

    Args:
        images: uint8 [H_k, W_k, 3] RGB pictures; the first is the base, whose frame the output has.
        points: float [68, 2] landmarks of each, in its own pixels.
        options: the mesh warp's options (each picture gets its own MeshWarper).
        shots: how regions are chosen and blended.
        extra: more pictures already prepared (:class:`Shot`; reused when the base changes every frame).
        choosers: the regions' choosers to go on with (a dict this warper fills and advances), so the
            choices stay stable across warpers made frame by frame; None: its own.
    """

    def __init__(self, images: Sequence[np.ndarray], points: Sequence[np.ndarray],
                 options: WarpOptions = WarpOptions(), shots: ShotOptions = ShotOptions(),
                 extra: Sequence[Shot] = (), choosers: dict | None = None):
        if len(images) != len(points) or not len(images):
            raise ValueError(f"ShotWarper: {len(images)} images and {len(points)} landmark sets")
        base, base_pts = np.asarray(images[0]), as_points(points[0], "source_points")
        self.base = MeshWarper(base, base_pts, options)
        self.shots = shots
        others = list(extra) + [Shot(img, pts, options) for img, pts in zip(images[1:], points[1:])]
        self.warpers = [self.base] + [o.warper for o in others]
        self.points = [base_pts] + [o.points for o in others]
        base_skin = skin_stats(self.base.source, base_pts) if others else None
        self.colours = [None] + [ColourMatch.from_stats(o.skin, base_skin) for o in others]
        # a picture whose face is smaller than the base's is enlarged by the warp: softer, so a little farther
        iod = inter_ocular(base_pts)
        self.penalty = [0.0] + [0.02 * max(0.0, float(np.log2(iod / max(inter_ocular(o.points), 1e-6))))
                                for o in others]
        self._stack = np.stack(self.points)
        self.choosers = {} if choosers is None else choosers
        for r in shots.regions:
            self.choosers.setdefault(r, RegionChooser(shots))

    def __len__(self) -> int:
        return len(self.warpers)

    def reset(self) -> None:
        """Forget the choices so far: the next frame takes the nearest source for every region (no fade)."""
        for r in self.shots.regions:
            self.choosers[r] = RegionChooser(self.shots)

    def warp(self, target_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 [H,W,3], validity float32 [H,W]) in the base's frame."""
        image, valid, _ = self.warp_with_motion(target_points)
        return image, valid

    def choose(self, target_points: np.ndarray) -> dict[str, list[tuple[int, float]]]:
        """Advance the choosers by one frame: {region: [(source, weight), ...]}."""
        dist = distances(self._stack, target_points, self.shots.pose_weight)
        pen = np.asarray(self.penalty)
        return {r: c.step(dist[r] + pen) for r, c in self.choosers.items()}

    def warp_with_motion(self, target_points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like MeshWarper.warp_with_motion: (image, validity, where the picture changed)."""
        image, valid, motion = self.base.warp_with_motion(target_points)
        if len(self.warpers) == 1:
            return image, valid, motion
        tgt = as_points(target_points, "target_points")
        for region, picks in self.choose(tgt).items():
            if all(k == 0 for k, _ in picks):
                continue
            box = region_box(region, tgt, image.shape[:2], self.shots.feather)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            self._blend(image, valid, motion, region, picks, tgt, box)
        return image, valid, motion

    def _blend(self, image, valid, motion, region: str, picks, tgt, box) -> None:
        """Blend the region's chosen sources (cross-fading) into the frame's box, in place."""
        x0, y0, x1, y1 = box
        acc = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        acc_v = np.zeros((y1 - y0, x1 - x0), np.float32)
        for k, wgt in picks:
            if k == 0:
                part, v = image[y0:y1, x0:x1], valid[y0:y1, x0:x1]
            else:
                part, v, _ = self.warpers[k].warp_box(tgt, box)
                part = self.colours[k](part)
            acc += wgt * part.astype(np.float32)
            acc_v += wgt * v
        alpha = region_mask(region, tgt, box, self.shots.feather)
        sub = image[y0:y1, x0:x1].astype(np.float32)
        image[y0:y1, x0:x1] = np.clip(sub + alpha[..., None] * (acc - sub) + 0.5, 0, 255).astype(np.uint8)
        valid[y0:y1, x0:x1] += alpha * (acc_v - valid[y0:y1, x0:x1])
        np.maximum(motion[y0:y1, x0:x1], np.minimum(alpha * 64.0, 1.0), out=motion[y0:y1, x0:x1])
