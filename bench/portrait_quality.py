"""What a user sees on real portraits: sharpness, untouched pixels, paint where nothing moved.

    python bench/portrait_quality.py [--model weights/fsth_demo_cpu128.safetensors] [--frames 50 --every 5]
                                     [--out-dir out/portrait_quality] [--json F]

Per portrait (bench/_portraits.py: photos, paintings made from them, a synthetic head) and method,
animated with procedural talking motion at the picture's own resolution (lossless frames):

- ``detail``: band-pass detail (variance of a difference of Gaussians) in the head region, away
  from mouth and eyes, output / source.  The baseline ``crop256`` is the previous composition (the
  warp at a 256 px crop, resized and pasted back); copying the source scores 1.
- ``changed_outside``: pixels that differ from the source where the animated-region mask is 0.
- ``paint_away_%`` (neural): % of the picture, away from the dilated mouth and eyes, where the
  neural frame differs from the warp's by more than 40/255.

Writes, per portrait, ``<name>.png``: source | warp | neural, a 1:1 crop of the head at the frame
with the widest mouth, and lossless frames under ``<name>_<method>/``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cv2
import numpy as np

from bench._common import add_json_arg, emit
from bench._portraits import portraits
from fsth_core.inference.compose import NativeCompositor, paste_back
from fsth_core.inference.pipeline import FrameGenerator, compute_identity, prepare_sources
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.track import extract_landmarks
from fsth_core.models.weights import load_model
from fsth_core.warp import MeshWarper


def band_pass(img: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.GaussianBlur(g, (0, 0), 0.7) - cv2.GaussianBlur(g, (0, 0), 1.6)


def features_mask(points: np.ndarray, shape: tuple[int, int], dilate: float) -> np.ndarray:
    """bool [H,W]: mouth and eyes of ``points`` (full-picture pixels), dilated by ``dilate`` × eye distance."""
    m = np.zeros(shape, np.uint8)
    for idx in (slice(48, 60), slice(36, 42), slice(42, 48)):
        cv2.fillConvexPoly(m, np.round(cv2.convexHull(points[idx])).astype(np.int32).reshape(-1, 2), 1)
    d = float(np.hypot(*(points[42:48].mean(0) - points[36:42].mean(0))))
    k = max(1, int(round(dilate * d)))
    return cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))) > 0


def crop256_frame(image, sources, warper, p):
    """The previous composition: warp a 256 px crop, resize it into the picture."""
    crop = warper.warp(p * 256 / sources.crops.shape[1])[0]
    return paste_back(image, crop, sources.transforms[0])


def run_portrait(name, image, model, args, out_dir: Path) -> list[dict]:
    pts = extract_landmarks([image], progress=False, name=name).points[0]
    size = model.config.image_size if model is not None else 256
    src = prepare_sources([image], [pts], size)
    motion = procedural_motion(src.points[0], args.frames, fps=25.0, seed=args.seed)[::args.every]
    comp = NativeCompositor(image, src.transforms[0], src.points[0], size)
    src256 = prepare_sources([image], [pts], 256)
    legacy = MeshWarper(src256.crops[0], src256.points[0])
    tf = src.transforms[0]
    r = comp.region
    gen = None
    if model is not None:
        gen = FrameGenerator(model, compute_identity(model, src), batch=8)
        paints = []
        for i in range(0, len(motion), 8):
            rgb, w = gen.paint(motion[i:i + 8])
            paints += list(zip(rgb, w))
    base_bp = band_pass(image)
    rows, frames = {}, {"warp": [], "neural": [], "crop256": []}
    for i, p in enumerate(motion):
        full_pts = tf.points_from_crop(p, size)
        away = np.zeros(image.shape[:2], bool)
        away[r.y0:r.y1, r.x0:r.x1] = True
        away &= ~features_mask(full_pts, image.shape[:2], 0.6) & ~features_mask(pts, image.shape[:2], 0.6)
        outs = {"warp": comp.frame(p), "crop256": (crop256_frame(image, src, legacy, p), None)}
        if gen is not None:
            outs["neural"] = comp.frame(p, paints[i])
        for method, (f, mask) in outs.items():
            frames[method].append(f)
            st = rows.setdefault(method, {"detail": [], "changed": 0, "paint": []})
            st["detail"].append(float(band_pass(f)[away].var() / max(base_bp[away].var(), 1e-6)))
            if mask is not None:
                st["changed"] += int(((f != image).any(2) & (mask == 0)).sum())
            if method == "neural":
                far = ~features_mask(full_pts, image.shape[:2], 0.6)
                diff = np.abs(f.astype(np.int16) - outs["warp"][0]).max(2) > 40
                st["paint"].append(100.0 * float((diff & far).sum()) / diff.size)
    _save(name, image, frames, motion, r, out_dir)
    return [{"portrait": name, "size": f"{image.shape[1]}x{image.shape[0]}", "method": m,
             "detail": round(float(np.mean(st["detail"])), 3), "detail_min": round(float(np.min(st["detail"])), 3),
             "changed_outside": st["changed"] if m != "crop256" else "-",
             "paint_away_%": round(float(np.max(st["paint"])), 4) if st["paint"] else "-"}
            for m, st in rows.items()]


def _save(name, image, frames, motion, r, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for method, fs in frames.items():
        d = out_dir / f"{name}_{method}"
        d.mkdir(exist_ok=True)
        for i, f in enumerate(fs):
            cv2.imwrite(str(d / f"{i:04d}.png"), f[:, :, ::-1])
    k = int(np.argmax([np.hypot(*(p[66] - p[62])) for p in motion]))
    panels = [image] + [frames[m][k] for m in ("warp", "neural") if frames[m]]
    strip = np.concatenate([r.cut(p) for p in panels], axis=1)
    cv2.imwrite(str(out_dir / f"{name}.png"), strip[:, :, ::-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="weights/fsth_demo_cpu128.safetensors", help="'' for the warp only")
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", default="out/portrait_quality")
    add_json_arg(ap)
    args = ap.parse_args()
    model = None
    if args.model:
        model = load_model(args.model)
    rows = []
    for name, image in portraits().items():
        rows += run_portrait(name, image, model, args, Path(args.out_dir))
    emit(rows, ["portrait", "size", "method", "detail", "detail_min", "changed_outside", "paint_away_%"], args,
         meta={"model": args.model or "none", "frames": args.frames, "every": args.every})


if __name__ == "__main__":
    main()
