"""Rebuild the example workflows' input files in example_workflows/inputs/ (see its README.md).

    python bench/make_example_inputs.py [--out example_workflows/inputs]

* fsth_speech.wav: 3 s of synthetic speech-like sound (fsth_core/synthetic/audio.py, seed 0).
* fsth_driver.mp4: the demo's own output: the bundled portrait (NASA, public domain) animated by the
  bundled checkpoint, talking to fsth_speech.wav (so the clip carries that sound), cut to the head.
* fsth_photo_1..3.jpg: three frames of that animation (different expressions), the same size.
The portrait itself is not copied here: the pack installs fsth_core/assets/portrait.jpg as fsth_portrait.jpg.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from scipy.io import wavfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from fsth_core.inference.animate import AnimateOptions, animate
from fsth_core.inference.demo import demo_checkpoint
from fsth_core.runtime.paths import EXAMPLE_INPUTS, PORTRAIT
from fsth_core.synthetic.audio import synthetic_speech

CROP = (44, 10, 176, 176)  # x, y, w, h of the head in the 320x320 portrait (even sizes for H.264)
PHOTO_FRAMES = (0, 20, 45)
QUALITY = 28  # H.264 crf of the driver clip (small file; it only has to give landmarks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=EXAMPLE_INPUTS)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    speech = args.out / "fsth_speech.wav"
    x, _ = synthetic_speech(3.0, 16000, seed=0)
    wavfile.write(str(speech), 16000, np.round(x * 32767).astype(np.int16))
    x0, y0, w, h = CROP
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        animate(demo_checkpoint(), [PORTRAIT], tmp / "talk.mp4", options=AnimateOptions(seed=0),
                frames_dir=tmp / "frames", audio=speech)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-i", str(tmp / "talk.mp4"),
                        "-vf", f"crop={w}:{h}:{x0}:{y0}", "-c:v", "libx264", "-crf", str(QUALITY),
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart",
                        str(args.out / "fsth_driver.mp4")], check=True)
        frames = sorted((tmp / "frames").glob("*.png"))
        for k, i in enumerate(PHOTO_FRAMES, 1):
            cv2.imwrite(str(args.out / f"fsth_photo_{k}.jpg"), cv2.imread(str(frames[i])),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
    for p in sorted(args.out.iterdir()):
        print(f"{p.name:24s} {p.stat().st_size / 1024:7.1f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
