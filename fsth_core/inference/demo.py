"""The embedded demo: bundled portrait + procedural motion + bundled checkpoint -> demo.mp4, preview.png."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from fsth_core.inference.animate import AnimateOptions, animate
from fsth_core.inference.inputs import load_sources, procedural
from fsth_core.io.media import load_image
from fsth_core.io.outpaths import OutputError, check_folder_writable
from fsth_core.landmarks.render import draw_landmarks
from fsth_core.runtime.paths import PORTRAIT, find_weights, weights_dirs

DEMO_WEIGHTS = "fsth_demo_cpu128.safetensors"


def demo_checkpoint() -> Path:
    path = find_weights(DEMO_WEIGHTS)
    if path is None:
        where = ", ".join(str(d) for d in weights_dirs())
        raise FileNotFoundError(f"the demo checkpoint {DEMO_WEIGHTS} is missing (searched {where}); "
                                "it ships in the pack's weights/ folder — reinstall the pack or rebuild it "
                                "with python -m fsth_core train-demo")
    return path


def run_demo(out_dir: Path, seconds: float = 4.0, finetune_steps: int | None = None, method: str = "neural",
             seed: int = 0, progress: bool = True) -> dict:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: --out-dir is a file, not a folder; give a folder (it is made if missing)")
    check_folder_writable(out_dir, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = demo_checkpoint() if method == "neural" else None
    opt = AnimateOptions(method=method, seconds=seconds, seed=seed, finetune_steps=finetune_steps)
    video = out_dir / "demo.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        summary = animate(model, [PORTRAIT], video, options=opt, frames_dir=Path(tmp) / "frames",
                          progress=progress).as_summary()
        frames = sorted((Path(tmp) / "frames").glob("*.png"))
        mid = len(frames) // 2
        result = cv2.imread(str(frames[mid]))[:, :, ::-1]
    preview = out_dir / "preview.png"
    _write_preview(preview, result, mid, opt)
    summary.update(video=str(video), preview=str(preview))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _write_preview(path: Path, result: np.ndarray, index: int, opt: AnimateOptions, side: int = 256) -> None:
    """source | landmarks of frame ``index`` | result, each ``side`` px."""
    src = load_image(PORTRAIT)
    sources = load_sources([PORTRAIT], side, opt.backend)
    pts = procedural(sources, opt.seconds, opt.fps or 25.0, opt.seed, opt.intensity)[index]
    panels = [cv2.resize(src, (side, side), interpolation=cv2.INTER_AREA), draw_landmarks(pts, side),
              cv2.resize(result, (side, side), interpolation=cv2.INTER_AREA)]
    cv2.imwrite(str(path), np.concatenate(panels, axis=1)[:, :, ::-1])
