"""Audio-driven talking: mouth motion from a sound track, by signal processing alone (no model, no download).

    samples, rate = load_audio("speech.wav")                      # wav, mp3, mp4, ... -> mono float32
    points = audio_motion(face, samples, rate, fps=25, seed=0)    # [T, 68, 2], T = duration x fps

Per video frame, a Hann window of two frame periods centred on the frame gives
  * the loudness (RMS, dB) -> the mouth opening: 0 at ``range_db`` below the clip's loud level (its
    95th percentile), 1 at it; opening is fast, closing a little slower (attack / release), and the
    mouth leads the sound by ``lead`` seconds, as lips do;
  * the balance of energy above ``split_hz`` (about 1 kHz) and between ``low_hz`` and it -> the mouth
    width: relative to the clip's own voiced frames, more high energy (the high second formant of "ee",
    hissed "s") stretches the lips, less (the low second formant of "oo", "o") rounds them.
Blinks and head motion come from the procedural model (motion.py).  This follows loudness, not
phonemes: the mouth opens when the voice is loud and closes in pauses; it does not shape visemes
(no "m"/"b" closures in the middle of loud speech) and claims no lip-sync accuracy beyond that.
"""
from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from scipy.io import wavfile

from fsth_core.landmarks.motion import procedural_motion

DECODE_RATE = 16000  # Hz: what ffmpeg decodes other formats to (plenty for a loudness envelope)


@dataclass(frozen=True)
class AudioOptions:
    range_db: float = 28.0    # loudness range mapped onto mouth opening 0..1
    silence_db: float = -55.0  # a clip whose loud level is below this (dBFS) is silent: the mouth stays shut
    attack: float = 0.02      # seconds for the mouth to open ...
    release: float = 0.07     # ... and to close
    lead: float = 0.03        # the mouth moves this much before the sound
    low_hz: float = 350.0     # the width feature compares the energy in low_hz..split_hz (F2 of rounded
    split_hz: float = 1000.0  # vowels) with the energy above split_hz (F2 of spread ones, hissed consonants);
                              # below low_hz (the voice's pitch and the first formant of "i"/"u") is left out


def _pcm_to_float(data: np.ndarray) -> np.ndarray:
    """PCM samples of any numpy dtype scipy.io.wavfile returns -> float32 in about -1..1."""
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    return data.astype(np.float32)


def _decode_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
           "-ar", str(DECODE_RATE), "-f", "f32le", "pipe:1"]
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0 or not r.stdout:
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode == 0:
            raise ValueError(f"{path}: its audio stream is empty (no sound to talk to)")
        if "matches no streams" in err:
            raise ValueError(f"{path}: has no audio stream (a picture, or a video without sound); give a sound "
                             "file (wav, mp3, m4a, flac) or a video with sound")
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        reason = lines[-1].rstrip(".") if lines else "ffmpeg failed"
        if "Invalid data found" in err:
            reason = "not a sound or video file ffmpeg can read"
        raise ValueError(f"{path}: cannot read audio ({reason})")
    return np.frombuffer(r.stdout, np.float32).copy(), DECODE_RATE


def load_audio(path) -> tuple[np.ndarray, int]:
    """Mono float32 samples (about -1..1) and their rate: .wav through scipy, anything else (mp3, m4a,
    flac, the sound of an mp4, a wav scipy cannot read) through imageio-ffmpeg's bundled ffmpeg."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio not found: {path}")
    if path.suffix.lower() == ".wav":
        try:
            rate, data = wavfile.read(str(path))
        except ValueError:
            return _decode_ffmpeg(path)
        x = _pcm_to_float(np.asarray(data))
        return (x.mean(axis=1) if x.ndim == 2 else x).astype(np.float32), int(rate)
    return _decode_ffmpeg(path)


def frame_count(samples: np.ndarray, rate: int, fps: float) -> int:
    """Video frames that cover the sound: its duration × fps, rounded (at least 1)."""
    return max(1, int(round(len(samples) / float(rate) * fps)))


def _windows(samples: np.ndarray, rate: int, fps: float, frames: int, lead: float) -> np.ndarray:
    """[frames, n] Hann-windowed slices of two frame periods, centred on each frame (+ ``lead`` s)."""
    hop = rate / fps
    n = max(16, int(round(2 * hop)))
    centres = ((np.arange(frames) + 0.5) * hop + lead * rate).astype(np.int64)
    idx = centres[:, None] + np.arange(n)[None, :] - n // 2
    padded = np.concatenate([np.zeros(n, np.float32), samples.astype(np.float32), np.zeros(n, np.float32)])
    return padded[np.clip(idx + n, 0, len(padded) - 1)] * np.hanning(n).astype(np.float32)


def _attack_release(x: np.ndarray, fps: float, attack: float, release: float) -> np.ndarray:
    up, down = (1.0 - np.exp(-1.0 / max(fps * s, 1e-6)) for s in (attack, release))
    out, y = np.empty_like(x), 0.0
    for i, v in enumerate(x):
        y += (up if v > y else down) * (v - y)
        out[i] = y
    return out


def mouth_curves(samples: np.ndarray, rate: int, fps: float, frames: int | None = None,
                 options: AudioOptions = AudioOptions()) -> tuple[np.ndarray, np.ndarray]:
    """(opening [T] in 0..1, width [T] in -1..1) for mono ``samples`` at ``rate``; T = ``frames`` or
    ``frame_count``."""
    x = np.asarray(samples, np.float32).reshape(-1)
    if rate <= 0 or fps <= 0 or not len(x):
        raise ValueError(f"mouth_curves: need samples, rate > 0 and fps > 0 (got {len(x)}, {rate}, {fps})")
    t = frames or frame_count(x, rate, fps)
    w = _windows(x, rate, fps, t, options.lead)
    rms = np.sqrt((w ** 2).mean(axis=1) / 0.375)  # / mean of hann^2: a sine of amplitude a gives a / sqrt 2
    db = 20 * np.log10(rms + 1e-9)
    loud = float(np.percentile(db, 95))
    if loud < options.silence_db:
        return np.zeros(t, np.float32), np.zeros(t, np.float32)
    opening = np.clip((db - (loud - options.range_db)) / options.range_db, 0.0, 1.0)
    opening = _attack_release(opening, fps, options.attack, options.release)
    spec = np.abs(np.fft.rfft(w, axis=1)) ** 2
    freqs = np.fft.rfftfreq(w.shape[1], 1.0 / rate)
    high = freqs >= options.split_hz
    low = (freqs >= options.low_hz) & ~high
    tilt = 10 * np.log10((spec[:, high].sum(1) + 1e-12) / (spec[:, low].sum(1) + 1e-12))
    voiced = opening > 0.3
    ref = tilt[voiced] if voiced.sum() >= 3 else tilt
    spread = 1.5 * max(float(ref.std()), 3.0)  # dB: no over-reaction to a clip of one vowel
    width = np.clip((tilt - float(ref.mean())) / spread, -1.0, 1.0) * np.minimum(1.0, 2 * opening)
    return opening.astype(np.float32), width.astype(np.float32)


def check_sound(samples: np.ndarray, rate, name: str = "audio") -> None:
    """ValueError naming ``name`` unless ``samples`` are some finite samples at a positive ``rate``."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not math.isfinite(rate) or rate <= 0 or int(rate) != rate:
        raise ValueError(f"{name}: the sample rate must be a positive whole number of Hz, got {rate!r}")
    samples = np.asarray(samples)
    if samples.size == 0:
        raise ValueError(f"{name}: the sound is empty (no samples)")
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise ValueError(f"{name}: {bad} of its {samples.size} samples are not numbers (NaN or infinite)")


def audio_motion(points: np.ndarray, samples: np.ndarray, rate: int, fps: float = 25.0, seed: int = 0,
                 intensity: float = 1.0, options: AudioOptions = AudioOptions()) -> np.ndarray:
    """Landmarks of one face [68, 2] talking to ``samples``: float32 [T, 68, 2], T = duration × fps.
    Mouth from the sound (``mouth_curves``), blinks and head motion from ``procedural_motion``."""
    check_sound(samples, rate)
    opening, width = mouth_curves(samples, rate, fps, options=options)
    return procedural_motion(points, len(opening), fps=fps, seed=seed, intensity=intensity,
                             mouth=opening, width=width)
