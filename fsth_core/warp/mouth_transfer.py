"""A driver's own mouth interior in the animated face ("Bringing Portraits to Life", Averbuch-Elor et
al. 2017): with a driving video, its real teeth and tongue, not painted ones.

Per frame, the driver's inner mouth (between its smooth inner-lip curves) is mapped onto the target's
inner mouth by a piecewise-affine map between the two mouths (the lip curves and the line halfway between
them, point for point), colour-matched to the animated picture (Lab mean and contrast of the face's skin,
measured once on the first frame: the driver's light becomes the picture's), and blended in through the
target's smooth inner-lip contour.  A closed driver mouth gives nothing; the blend fades in as it opens.
"""
from __future__ import annotations

import cv2
import numpy as np

from fsth_core.landmarks.geometry import mouth_opening

from .animator import triangle_affines
from .mouth_mesh import N_CURVE, inner_contour, lip_curves, strip
from .shots import ColourMatch, similarity

_ROWS = np.arange(3 * N_CURVE).reshape(3, N_CURVE)  # vertex indices: upper lip, middle line, lower lip
_TRIANGLES = np.vstack([strip(_ROWS[0], _ROWS[1]), strip(_ROWS[1], _ROWS[2])])
OPEN_RAMP = (0.02, 0.06)  # the driver's inner-lip gap (inter-ocular units) over which its mouth fades in


def _vertices(points: np.ndarray) -> np.ndarray:
    up, lo = lip_curves(points)
    return np.vstack([up, (up + lo) / 2, lo]).astype(np.float32)


class MouthTransfer:
    """Puts a driver frame's mouth interior into frames of one picture (``picture`` uint8 [H,W,3] with its
    landmarks [68,2]: the colours are matched to it)."""

    def __init__(self, picture: np.ndarray, points: np.ndarray):
        self.picture, self.points = np.ascontiguousarray(picture), np.asarray(points, np.float32)
        self.colour: ColourMatch | None = None

    def __call__(self, image: np.ndarray, target: np.ndarray, donor: np.ndarray, donor_points: np.ndarray
                 ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        """Blend the donor's interior into ``image`` (uint8 [H,W,3], in place) at ``target`` [68,2] (image
        pixels); ``donor`` uint8 [h,w,3] with its landmarks [68,2].  Returns where it blended: (box x0, y0,
        x1, y1, its weights float32 [h,w]), or None."""
        dpts = np.asarray(donor_points, np.float32)
        t = float(np.clip((mouth_opening(dpts) - OPEN_RAMP[0]) / (OPEN_RAMP[1] - OPEN_RAMP[0]), 0.0, 1.0))
        strength = t * t * (3 - 2 * t)
        if strength <= 0.0:
            return None
        if self.colour is None:  # the driver's light, once: its whole face onto the picture's
            a = similarity(dpts, self.points)
            h, w = self.picture.shape[:2]
            aligned = cv2.warpAffine(np.ascontiguousarray(donor), a, (w, h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
            self.colour = ColourMatch(aligned, (dpts @ a[:, :2].T + a[:, 2]).astype(np.float32), self.picture,
                                      self.points, chroma=0.35)
        tv, dv = _vertices(target), _vertices(dpts)
        contour = inner_contour(target)
        h, w = image.shape[:2]
        x0, y0 = np.maximum(np.floor(contour.min(0)) - 2, 0).astype(int)
        x1, y1 = np.minimum(np.ceil(contour.max(0)) + 3, (w, h)).astype(int)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        A, _, _ = triangle_affines(dv, tv, _TRIANGLES)
        ids = np.zeros((y1 - y0, x1 - x0), np.uint16)
        fixed = np.round((tv - (x0, y0)) * 16).astype(np.int32)
        for k, poly in enumerate(fixed[_TRIANGLES]):
            cv2.fillConvexPoly(ids, poly, k + 1, cv2.LINE_8, 4)
        coef = np.concatenate([np.float32([[[1, 0, 0], [0, 1, 0]]]), A]).reshape(-1, 6)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        map_x = coef[:, 0][ids] * xs + coef[:, 1][ids] * ys + coef[:, 2][ids]
        map_y = coef[:, 3][ids] * xs + coef[:, 4][ids] * ys + coef[:, 5][ids]
        part = cv2.remap(np.ascontiguousarray(donor), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        part = self.colour(part).astype(np.float32)
        mask = np.zeros(ids.shape, np.uint8)
        cv2.fillPoly(mask, [np.round((contour - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        alpha = mask.astype(np.float32) / 255.0 * strength * (ids > 0)
        sub = image[y0:y1, x0:x1].astype(np.float32)
        image[y0:y1, x0:x1] = np.clip(sub + alpha[..., None] * (part - sub) + 0.5, 0, 255).astype(np.uint8)
        return (int(x0), int(y0), int(x1), int(y1)), alpha
