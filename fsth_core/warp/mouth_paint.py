"""The inside of a mouth that no source shows: teeth, gums, tongue and cavity, painted into the gap.

The gap is what opens between the source's own interior (hanging from the upper lip) and the part
hanging from the lower lip (mouth_mesh.py); for a closed source it is the whole interior.  Everything
is laid out in the mouth's frame and in inter-ocular units, so it scales with the face:

- upper teeth hang from the upper lip's inner edge: individual teeth on a dental arch (centrals,
  laterals, canines, premolars, projected so they narrow towards the corners), each with its own
  rounded shading, dark gaps between them, a scalloped gum line under the lip, a translucent edge;
  how far they show grows with the opening up to a tooth's length;
- lower teeth stand on the lower lip's inner edge, smaller and in shadow, showing only as the mouth
  opens wide;
- a dark cavity, darkest at the corners and the back, with the tongue's rounded top rising from the
  floor of the mouth;
- colours follow the picture: teeth are as bright as its skin allows, the cavity and tongue take the
  lips' hue, a monochrome picture (a drawing, a grey photo) gets a monochrome mouth.

Every edge is a smooth ramp about a pixel wide, so nothing is pixel-hard at 1:1.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.face_layout import MOUTH_CORNERS
from fsth_core.landmarks.geometry import inter_ocular

from .fill import curve_in_frame, polygon_median

# the dental arch in inter-ocular units (about 62 mm): tooth widths from the midline outwards (central
# incisor, lateral, canine, two premolars, a molar) and the arch radius; lower teeth are narrower
_UPPER_WIDTHS = np.array([0.137, 0.105, 0.121, 0.113, 0.105, 0.16])
_LOWER_WIDTHS = np.array([0.086, 0.095, 0.11, 0.113, 0.11, 0.17])
_UPPER_LENGTH = np.array([1.0, 0.86, 0.92, 0.7, 0.62, 0.55])  # visible length relative to a central
_ARCH_RADIUS = 0.42
_SMILE_ARC = 0.25  # the teeth's edges rise towards the sides by this × (distance from the middle)², inter-ocular units
_TOOTH = np.float32([232, 222, 200])
# per-tooth brightness and length (fixed, so a tooth never flickers): no two teeth are alike
_VARY = np.array([0.0, 0.05, -0.04, 0.03, -0.06, 0.02])


@dataclass(frozen=True)
class MouthPalette:
    """Colours (float32 RGB 0..255) of the painted interior, sampled once from the source.  ``ink`` and
    ``paper``: the two tones of a line drawing (None for a photo or a painting), in which the interior is
    drawn in those two tones only: dark mouth, light teeth."""

    teeth: np.ndarray
    gum: np.ndarray
    tongue: np.ndarray
    cavity: np.ndarray
    ink: np.ndarray | None = None
    paper: np.ndarray | None = None


def mouth_palette(image: np.ndarray, pts: np.ndarray) -> MouthPalette:
    """Palette from the source picture uint8 [H,W,3] and its landmarks [68,2]."""
    lips = polygon_median(image, [pts[48:55], np.vstack([pts[54:60], pts[48:49]])])
    skin = polygon_median(image, [pts[[1, 2, 3, 31, 29]], pts[[15, 14, 13, 35, 29]]])
    luma = np.float32([0.299, 0.587, 0.114])
    skin_l, lips_l = float(skin @ luma), float(lips @ luma)
    # how colourful the picture is: a drawing or a grey photo gets a grey mouth in its own tint
    chroma = float(np.clip((np.ptp(skin) + np.ptp(lips)) / 2 / 40.0, 0.0, 1.0))
    hue = lips / max(lips_l, 1.0)                                  # the lips' colour at luminance 1
    red = 1.0 + chroma * (np.clip(hue, 0.5, 1.8) * np.float32([1.15, 0.85, 0.85]) - 1.0)
    tint = skin / max(skin_l, 1.0)
    gain = float(np.clip(skin_l / 190.0, 0.4, 1.0))              # teeth as bright as the light allows
    light = 1.0 + (0.5 + 0.3 * (1.0 - chroma)) * (tint - 1.0)     # ... in the colour of the face's light
    teeth = np.clip(_TOOTH * gain * light, 0, 255)
    dark = max(min(skin_l, lips_l) * 0.26, 8.0)
    ink, paper = _line_art_tones(image, pts)
    return MouthPalette(teeth=teeth.astype(np.float32),
                        gum=np.clip(red * lips_l * 0.95, 0, 255).astype(np.float32),
                        tongue=np.clip(red * lips_l * 0.62, 0, 255).astype(np.float32),
                        cavity=np.clip(red * dark, 0, 255).astype(np.float32), ink=ink, paper=paper)


def _line_art_tones(image: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(ink, paper) RGB when the face is drawn in two tones (nearly all its pixels near one of them), else
    (None, None)."""
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int), 0)
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 1
    face = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
    if len(face) < 64:
        return None, None
    lum = face @ np.float32([0.299, 0.587, 0.114])
    lo, hi = np.percentile(lum, [5, 95])
    if hi - lo < 80:
        return None, None
    near = (np.abs(lum - lo) < 0.2 * (hi - lo)) | (np.abs(lum - hi) < 0.2 * (hi - lo))
    if near.mean() < 0.85:
        return None, None
    mid = (lo + hi) / 2
    return face[lum < mid].mean(0).astype(np.float32), face[lum >= mid].mean(0).astype(np.float32)


def _ramp(x: np.ndarray, width: float) -> np.ndarray:
    """0 -> 1 around x = 0 over ``width`` (a pixel-wide antialiased edge)."""
    return np.clip(x / max(width, 1e-6) + 0.5, 0.0, 1.0)


def _teeth_row(x: np.ndarray, widths: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For positions x (inter-ocular units from the midline): (tooth index, position across it 0..1,
    darkness of the gap between teeth 0..1) on an arch projected to the front."""
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    s = _ARCH_RADIUS * np.arcsin(np.clip(np.abs(x) / _ARCH_RADIUS, 0.0, 0.999))  # back onto the arch
    k = np.clip(np.searchsorted(edges, s) - 1, 0, len(widths) - 1)
    across = (s - edges[k]) / widths[k]
    # the projected width of the gap line shrinks with the arch's slope; at least ~0.7 px wide
    slope = np.sqrt(np.clip(1.0 - (x / _ARCH_RADIUS) ** 2, 0.05, 1.0))
    d_edge = np.minimum(across, 1.0 - across) * widths[k] * slope
    gap = np.exp(-0.5 * (d_edge / max(0.004, 0.5 * px)) ** 2)
    return k, across, gap


def paint_mouth(image: np.ndarray, valid: np.ndarray, pts: np.ndarray, curves: dict[str, np.ndarray],
                palette: MouthPalette) -> None:
    """Paint the interior into the gap, in place.

    image uint8 [H,W,3], valid float32 [H,W] (lowered where painted), pts float32 [68,2] the target
    landmarks, curves: target polylines corner to corner float [K,2]: ``upper``/``lower`` (the lips'
    smooth inner edges), ``line_up``/``line_lo`` (the source interior's edge on each lip: the gap lies
    between them).
    """
    up, lo, gap_top, gap_bot = (np.asarray(curves[k], np.float64)
                                for k in ("upper", "lower", "line_up", "line_lo"))
    a, b = up[0], up[-1]
    width = float(np.hypot(*(b - a)))
    iod = max(inter_ocular(pts), 1.0)
    if width < 2.0:
        return
    ax = (b - a) / width
    nrm = np.array([-ax[1], ax[0]])
    down = pts[list(MOUTH_CORNERS)].mean(0) - pts[36:48].mean(0)
    if down @ nrm < 0:  # v must point down the face
        nrm = -nrm
        ax = -ax
        a, b = b, a
    # the gap: the teeth line on the lower lip never above the one on the upper lip
    thick = (gap_bot - gap_top) @ nrm
    gap_bot = np.where((thick < 0)[:, None], gap_top, gap_bot)
    if float(((gap_bot - gap_top) @ nrm).max()) < 0.25:
        return
    h, w = valid.shape
    allp = np.vstack([gap_top, gap_bot])  # the gap's box: only there is anything painted
    x0, y0 = np.maximum(np.floor(allp.min(0)) - 2, 0).astype(int)
    x1, y1 = np.minimum(np.ceil(allp.max(0)) + 3, (w, h)).astype(int)
    if x1 <= x0 or y1 <= y0:
        return
    shape = (y1 - y0, x1 - x0)
    alpha = np.minimum(_poly_mask(np.vstack([up, lo[::-1]]), x0, y0, shape),
                       _poly_mask(np.vstack([gap_top, gap_bot[::-1]]), x0, y0, shape))
    if alpha.max() <= 0.0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = (xs - a[0]) * ax[0] + (ys - a[1]) * ax[1]
    v = (xs - a[0]) * nrm[0] + (ys - a[1]) * nrm[1]
    axis = (float(ax[0]), float(ax[1]))
    patch = _interior(u, curve_in_frame(up, a, axis, u), curve_in_frame(lo, a, axis, u), v, width, iod, palette)
    if palette.ink is not None:  # a line drawing: the interior in its two tones, edges a pixel soft
        lum = patch @ np.float32([0.299, 0.587, 0.114])
        mid = float((palette.ink + palette.paper) @ np.float32([0.299, 0.587, 0.114])) / 2
        t = np.clip((lum - mid) / 12.0 + 0.5, 0.0, 1.0)[..., None]
        patch = palette.ink + t * (palette.paper - palette.ink)
    region = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(region + alpha[..., None] * (patch - region) + 0.5, 0, 255).astype(np.uint8)
    valid[y0:y1, x0:x1] *= 1.0 - 0.9 * alpha


def _poly_mask(poly: np.ndarray, x0: int, y0: int, shape: tuple[int, int]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round((poly - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return m.astype(np.float32) / 255.0


def _lit(pal: MouthPalette, light: np.ndarray) -> np.ndarray:
    """Teeth colour under ``light`` (0..1+): shadowed teeth take the cavity's warm dark, not grey."""
    t = np.clip(light, 0.0, 1.2)[..., None]
    return pal.cavity[None, None, :] + t * (pal.teeth[None, None, :] - pal.cavity[None, None, :])


def _interior(u, v_up, v_lo, v, width: float, iod: float, pal: MouthPalette) -> np.ndarray:
    """float32 [h,w,3] RGB interior for pixel coordinates (u along the mouth, v down) in the ROI."""
    px = 1.0 / iod                                   # one pixel in inter-ocular units
    gap = np.maximum(v_lo - v_up, 0.0) / iod         # local opening, inter-ocular units
    x = (u - 0.5 * width) / iod                      # from the mouth's middle
    half = 0.5 * width / iod
    depth = (v - v_up) / iod                         # below the upper lip's edge
    height = (v_lo - v) / iod                        # above the lower lip's edge
    corner = np.clip(np.abs(x) / max(half, 1e-3), 0.0, 1.0)
    # cavity: dark, darker towards the corners and the back of the mouth, lighter near the teeth
    back = np.clip(depth / np.maximum(gap, 1e-3), 0.0, 1.0)
    shade = (0.9 + 0.25 * np.exp(-depth / 0.04)) * (1.0 - 0.45 * corner ** 2) * (1.0 - 0.15 * np.sin(np.pi * back))
    out = pal.cavity[None, None, :] * shade[..., None]
    # tongue: a rounded hump rising from the floor, under the lower teeth
    g = np.maximum(gap, 1e-6)
    t_top = np.minimum(0.45 * g, 0.11) * np.clip(1.0 - (x / 0.33) ** 2, 0.0, 1.0) - 0.01
    t_in = _ramp((t_top - height) / px, 1.2) * (g > 0.06)
    lit = np.clip(0.75 + 0.35 * (1.0 - np.clip((t_top - height) / 0.06, 0.0, 1.0)) - 0.3 * corner, 0.4, 1.1)
    out = out + t_in[..., None] * (pal.tongue[None, None, :] * lit[..., None] - out)
    # the teeth are rigid rows on a dental arch: their edges lie on a smile arc fixed at the mouth's middle
    # (the side teeth's edges a little higher), not along the lips, which only hide what is behind them
    mid = np.unravel_index(int(np.argmin(np.abs(x))), x.shape)
    gap_mid, up_mid, lo_mid = float(gap[mid]), float(v_up[mid]) / iod, float(v_lo[mid]) / iod
    vv = v / iod
    # lower teeth: a small row above the lower lip's edge, in shadow, mostly hidden, showing as the mouth opens wide
    lo_len = float(np.clip((gap_mid - 0.18) * 0.3, 0.0, 0.035))
    k, across, seam = _teeth_row(x, _LOWER_WIDTHS, px)
    tip = lo_len * (1.0 - 0.1 * k + 0.5 * _VARY[k]) * (1.0 - 0.5 * (2 * across - 1) ** 4) - 0.3 * x ** 2
    lo_in = _ramp((vv - (lo_mid - tip)) / px, 1.2) * (tip > 0) * _ramp((0.7 * half - np.abs(x)) / px, 2.0)
    lo_shade = (0.62 - 0.04 * k) * (1.0 - 0.05 * (2 * across - 1) ** 2) * (1.0 - 0.1 * seam) * (1 - 0.6 * corner)
    out = out + lo_in[..., None] * (_lit(pal, lo_shade) - out)
    # upper teeth: from under the upper lip down to their edges, each tooth shaded on its own
    k, across, seam = _teeth_row(x, _UPPER_WIDTHS, px)
    reach = min(0.8 * gap_mid + 0.004, 0.1)                  # how far the centrals show below the lip
    tip = reach * _UPPER_LENGTH[k] * (1.0 + _VARY[k]) * (1.0 - 0.35 * (2 * across - 1) ** 6) \
        - _SMILE_ARC * x ** 2                                # each tooth's edge below the lip's middle
    below = tip - (vv - up_mid)                              # > 0 above a tooth's edge
    up_in = _ramp(below / px, 1.2) * _ramp((0.9 * half - np.abs(x)) / px, 2.0)  # dark corners
    round_ = 1.0 - 0.08 * (2 * across - 1) ** 2
    under_lip = 0.8 + 0.2 * np.clip(depth / 0.03, 0.0, 1.0)        # the lip's shadow on the teeth
    edge = 1.0 - 0.18 * np.clip((0.02 - below) / 0.02, 0.0, 1.0)    # translucent incisal edge
    up_shade = round_ * under_lip * edge * (1.0 - 0.2 * seam) * (1.0 - 0.75 * corner ** 2) * (1.0 - 0.06 * k) \
        * (1.0 + 0.6 * _VARY[k])
    teeth = _lit(pal, up_shade)
    # gum line: pink papillae between the teeth just under the lip
    gum = np.clip(1.0 - depth / (0.018 + 0.02 * seam), 0.0, 1.0) * (0.35 + 0.65 * seam) * up_in
    teeth = teeth + gum[..., None] * (pal.gum[None, None, :] - teeth)
    out = out + up_in[..., None] * (teeth - out)
    return out.astype(np.float32)
