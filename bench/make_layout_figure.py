"""Draw docs/landmarks_68.png: the 68-point layout (iBUG 300-W) with every point's index, on the face
template placed in a face box as ``--face-box`` places it (the box dashed, the eye line at BOX_EYES;
the mouth drawn open so the inner lips can be told apart).

    python bench/make_layout_figure.py [--out docs/landmarks_68.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fsth_core import face_layout as layout  # noqa: E402
from fsth_core.landmarks.edit import ExpressionEdit, edit_landmarks  # noqa: E402
from fsth_core.landmarks.face_template import BOX_EYES, in_box  # noqa: E402
from fsth_core.landmarks.render import COLOURS  # noqa: E402

W, H = 720, 900
BOX = (110, 90, 610, 800)  # x0, y0, x1, y1


def _dashed(img, p, q, colour, dash=10):
    p, q = np.asarray(p, float), np.asarray(q, float)
    n = max(1, int(np.linalg.norm(q - p) / dash))
    for i in range(0, n, 2):
        a, b = p + (q - p) * i / n, p + (q - p) * min(n, i + 1) / n
        cv2.line(img, tuple(int(v) for v in a), tuple(int(v) for v in b), colour, 1, cv2.LINE_AA)


def _label_direction(pts: np.ndarray, i: int, mouth: np.ndarray) -> np.ndarray:
    """Where point i's number goes, relative to the point: away from its part (into the mouth for the
    inner lips), right of the nose bridge, above the brows."""
    def away(centre, dist):
        d = pts[i] - centre
        return d / (np.linalg.norm(d) + 1e-6) * dist

    if i in range(70)[layout.LIPS_INNER]:
        return away(mouth, -12)
    if i in range(70)[layout.LIPS_OUTER]:
        return away(mouth, 16)
    for eye in (layout.EYE_RIGHT, layout.EYE_LEFT):
        if i in range(70)[eye]:
            return away(pts[eye].mean(0), 16)
    if i in range(70)[layout.NOSE_BRIDGE]:
        return np.array([16.0, 0.0])
    if i in range(70)[layout.NOSTRILS]:
        return np.array([0.0, 16.0])
    if i in range(70)[layout.BROWS]:
        return np.array([0.0, -14.0])
    return away(pts.mean(0), 18)


def draw() -> np.ndarray:
    img = np.full((H, W, 3), 255, np.uint8)
    x0, y0, x1, y1 = BOX
    grey = (150, 150, 150)
    for p, q in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        _dashed(img, p, q, grey)
    ey = y0 + BOX_EYES * (y1 - y0)
    _dashed(img, (x0, ey), (x1, ey), grey, 6)
    cv2.putText(img, f"face box: eye line at {BOX_EYES:.0%} of its height, chin on its bottom edge",
                (x0 - 60, y0 - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (90, 90, 90), 1, cv2.LINE_AA)
    pts = edit_landmarks(in_box(BOX), ExpressionEdit(mouth=0.25))  # the mouth open: inner lips apart
    for name, group, closed in layout.PARTS:
        colour = tuple(int(c * 0.8) for c in COLOURS[name])
        cv2.polylines(img, [np.round(pts[group]).astype(np.int32).reshape(-1, 1, 2)], closed, colour[::-1], 2,
                      cv2.LINE_AA)
    mouth = pts[layout.LIPS_OUTER].mean(0)
    for i, (x, y) in enumerate(pts):
        cv2.circle(img, (int(round(x)), int(round(y))), 3, (0, 0, 0), -1, cv2.LINE_AA)
        d = _label_direction(pts, i, mouth)
        off = np.array([x, y]) + d - np.array([7, -5])
        cv2.putText(img, str(i), (int(off[0]), int(off[1])), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.putText(img, "image left = the face's right; drawn with the mouth open", (20, H - 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (90, 90, 90), 1, cv2.LINE_AA)
    return img


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "landmarks_68.png"))
    args = ap.parse_args()
    # 32 colours: the figure is line art, a palette PNG is a sixth of the size
    Image.fromarray(draw()[..., ::-1]).quantize(32).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
