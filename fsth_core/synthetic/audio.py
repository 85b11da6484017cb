"""A synthetic speech-like sound: voiced syllables (a buzzing source through vowel formants) in phrases
with pauses, and a few hissed consonants.  No words; it exercises audio-driven motion in tests and is the
pack's example sound (example_workflows/inputs/fsth_speech.wav).

    samples, bursts = synthetic_speech(3.0, rate=16000, seed=0)   # float32 [N] in -1..1, [(start, end)] s
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

# vowel -> formant frequencies (Hz) and bandwidths: "a" open, "i" spread (high F2), "u" rounded (low F2)
VOWELS = {"a": ((730, 1090, 2440), (90, 110, 170)), "i": ((270, 2290, 3010), (60, 100, 170)),
          "u": ((300, 870, 2240), (60, 90, 170))}


def _resonate(x: np.ndarray, freq: float, bw: float, rate: int) -> np.ndarray:
    """Two-pole resonator (one formant), gain 1 at its centre frequency."""
    r = np.exp(-np.pi * bw / rate)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / rate), r * r]
    z = np.exp(-1j * 2 * np.pi * freq / rate)
    return lfilter([abs(a[0] + a[1] * z + a[2] * z * z)], a, x)


def vowel(n: int, rate: int, name: str, f0: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples at ``rate`` of the vowel ``name`` (a key of VOWELS) sung at ``f0`` Hz with a slight
    vibrato: a sawtooth through its formant resonators, peaking at 1."""
    t = np.arange(n) / rate
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6.3)))
    phase = np.cumsum(pitch) / rate
    source = 2 * (phase % 1.0) - 1.0  # sawtooth: all harmonics
    freqs, bws = VOWELS[name]
    out = sum(g * _resonate(source, f, b, rate) for g, f, b in zip((1.0, 0.8, 0.5), freqs, bws))
    return out / (np.abs(out).max() + 1e-9)


def synthetic_speech(seconds: float = 3.0, rate: int = 16000, seed: int = 0
                     ) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """(float32 samples [N] peaking at 0.7, voiced syllables as (start, end) seconds)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    out = np.zeros(n)
    bursts = []
    t = 0.25
    while t < seconds - 0.4:
        stop = min(t + rng.uniform(0.8, 1.6), seconds - 0.3)  # one phrase
        while t < stop:
            d = rng.uniform(0.14, 0.28)
            i0, i1 = int(t * rate), min(int((t + d) * rate), n)
            env = np.sin(np.linspace(0, np.pi, i1 - i0)) ** 0.7
            voice = vowel(i1 - i0, rate, str(rng.choice(list(VOWELS))), rng.uniform(110, 190), rng)
            out[i0:i1] += rng.uniform(0.5, 1.0) * env * voice
            bursts.append((t, t + d))
            if rng.random() < 0.3:  # a hissed consonant ("s") after the syllable
                j0, j1 = i1, min(i1 + int(0.06 * rate), n)
                noise = np.diff(rng.normal(size=j1 - j0 + 1))  # high-passed noise
                out[j0:j1] += 0.08 * noise * np.hanning(j1 - j0)
            t += d + rng.uniform(0.03, 0.12)
        t += rng.uniform(0.35, 0.7)  # pause between phrases
    out += 0.002 * rng.normal(size=n)  # room noise
    return (0.7 * out / (np.abs(out).max() + 1e-9)).astype(np.float32), bursts
