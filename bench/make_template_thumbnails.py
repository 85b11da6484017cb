"""Rebuild the templates' thumbnails (example_workflows/*.jpg): each shows what its template makes, from the
same inputs, made by ``animate`` with the bundled model (the templates' own job, without ComfyUI).

    python bench/make_template_thumbnails.py [--out example_workflows] [--finetune-steps N]

512x512 JPEGs, square like the cards of ComfyUI's Templates dialog:
  1  a frame of the driving video, then the portrait's face at three moments of it
  2  the portrait at four moments of its procedural motion (blinks, speech, head turns), no video
  3  the three photos of the person, then six generated frames
  4  the first words of the prompt and the sound's waveform, then the face talking to that sound (the
     bundled portrait stands in for the one Stable Diffusion paints: this script has no SD checkpoint)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cv2
import numpy as np

from fsth_core.inference.animate import AnimateOptions, animate
from fsth_core.io.media import iter_frames
from fsth_core.landmarks.audio import load_audio
from fsth_core.runtime.paths import example_inputs

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "weights" / "fsth_demo_cpu128.safetensors"
SIDE = 512
PROMPT = "studio portrait photograph of a middle-aged woman, head and shoulders, facing the camera"


def label(img: np.ndarray, text: str, corner: str = "bottom") -> np.ndarray:
    """White text on a dark strip along the bottom (or top) of a tile."""
    out = img.copy()
    h = max(18, img.shape[0] // 9)
    band = slice(img.shape[0] - h, img.shape[0]) if corner == "bottom" else slice(0, h)
    out[band] = (out[band].astype(np.float32) * 0.35).astype(np.uint8)
    scale = h / 34
    y = (img.shape[0] if corner == "bottom" else h) - int(h * 0.3)
    cv2.putText(out, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def face(img: np.ndarray) -> np.ndarray:
    """The head of a portrait framed like the bundled one (a close-up: the expression shows)."""
    h, w = img.shape[:2]
    return img[: int(h * 0.62), int(w * 0.19): int(w * 0.81)]


def tile(img: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    side = SIDE // cols
    rows = [np.concatenate([tile(t, side) for t in tiles[i:i + cols]], axis=1) for i in range(0, len(tiles), cols)]
    return tile(np.concatenate(rows, axis=0), SIDE)


def frames_of(sources, out_dir: Path, steps: int | None, **kw) -> list[np.ndarray]:
    opt = AnimateOptions(finetune_steps=steps, **{k: v for k, v in kw.items() if k in AnimateOptions.__annotations__})
    extra = {k: v for k, v in kw.items() if k not in AnimateOptions.__annotations__}
    animate(MODEL, [str(s) for s in sources], f"{out_dir}/", options=opt, progress=False, **extra)
    return list(iter_frames(out_dir))


def pick(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    return [frames[int(i)] for i in np.linspace(len(frames) * 0.1, len(frames) - 1, n)]


def text_card(side: int, samples: np.ndarray) -> np.ndarray:
    """The prompt's first words and the sound's waveform on a dark tile."""
    card = np.full((side, side, 3), 32, np.uint8)
    words, line, y = PROMPT.split(), "", 40
    for w in words:
        if len(line) + len(w) > 20:
            cv2.putText(card, line, (14, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (230, 230, 230), 1, cv2.LINE_AA)
            line, y = "", y + 28
        line = f"{line} {w}".strip()
    cv2.putText(card, line + " ...", (14, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (230, 230, 230), 1, cv2.LINE_AA)
    env = np.abs(samples[: len(samples) // side * side]).reshape(side, -1).max(axis=1)
    mid = int(side * 0.78)
    for x, a in enumerate(env):
        h = int(a / max(env.max(), 1e-6) * side * 0.15)
        cv2.line(card, (x, mid - h), (x, mid + h), (90, 200, 120), 1)
    return label(card, "a prompt and a sound", "bottom")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "example_workflows"))
    ap.add_argument("--finetune-steps", type=int, default=None, help="default: the checkpoint's recipe")
    args = ap.parse_args()
    files = example_inputs()
    portrait, steps = files["fsth_portrait.jpg"], args.finetune_steps
    thumbs = {}
    with tempfile.TemporaryDirectory(prefix="fsth_thumbs_") as tmp:
        tmp = Path(tmp)
        driver = files["fsth_driver.mp4"]
        made = frames_of([portrait], tmp / "t1", steps, driver=str(driver))
        drv = list(iter_frames(driver))
        thumbs[1] = grid([label(tile(drv[len(drv) // 2], 256), "driving video")]
                         + [label(tile(face(f), 256), "result") for f in pick(made, 3)], 2)
        made = frames_of([portrait], tmp / "t2", steps, seconds=4.0, fps=25.0, seed=0)
        thumbs[2] = grid([label(tile(f, 256), "no video needed") if i == 0 else f
                          for i, f in enumerate(pick(made, 4))], 2)
        photos = [files[f"fsth_photo_{i}.jpg"] for i in (1, 2, 3)]
        made = frames_of(photos, tmp / "t3", steps, seconds=2.0, fps=25.0, seed=0, min_realism=0.0)
        thumbs[3] = grid([label(tile(next(iter_frames(p)), 170), f"photo {i + 1}", "top")
                          for i, p in enumerate(photos)] + [label(tile(f, 170), "result") for f in pick(made, 6)], 3)
        speech = files["fsth_speech.wav"]
        made = frames_of([portrait], tmp / "t4", steps, audio=str(speech))
        samples, _ = load_audio(speech)
        thumbs[4] = grid([text_card(256, samples)] + [label(tile(face(f), 256), "talking") for f in pick(made, 3)],
                         2)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    names = {int(p.stem.split()[1].rstrip(".")): p.stem for p in (ROOT / "example_workflows").glob("FSTH *.json")}
    for i, img in thumbs.items():
        path = Path(args.out) / f"{names[i]}.jpg"
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        tmp_path = path.with_name(f".{path.name}.partial")
        tmp_path.write_bytes(data.tobytes())
        os.replace(tmp_path, path)
        print(f"wrote {path} ({len(data) // 1024} KB)")


if __name__ == "__main__":
    main()
