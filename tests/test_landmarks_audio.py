"""Audio-driven motion: decoding (wav through scipy, anything else through the bundled ffmpeg), the mouth
following the loudness of synthetic syllable bursts, timing locked to the sound, muxing into an mp4."""
import subprocess

import numpy as np
import pytest
from _landmark_helpers import astronaut_points

from fsth_core.landmarks.audio import audio_motion, frame_count, load_audio, mouth_curves
from fsth_core.synthetic.audio import synthetic_speech

RATE = 16000


@pytest.fixture(scope="module")
def speech():
    return synthetic_speech(3.0, RATE, seed=1)


def _wav(path, samples, rate=RATE, channels=1, dtype=np.int16):
    from scipy.io import wavfile

    x = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    wavfile.write(str(path), rate, (x * 32767).astype(dtype) if dtype == np.int16 else x.astype(dtype))
    return path


def _ffmpeg(*args):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-v", "error", *map(str, args)], check=True)


def _loudness_db(samples, fps, frames):
    hop = RATE / fps
    return np.array([20 * np.log10(np.sqrt(np.mean(samples[int(i * hop):int((i + 1) * hop)] ** 2)) + 1e-6)
                     for i in range(frames)])


def test_decoding_wav_stereo_and_mp3(speech, tmp_path):
    x, _ = speech
    mono, rate = load_audio(_wav(tmp_path / "a.wav", x))
    assert rate == RATE and mono.dtype == np.float32 and np.abs(mono - x).max() < 1e-3
    stereo, _ = load_audio(_wav(tmp_path / "s.wav", x, channels=2))
    assert stereo.shape == x.shape  # mixed down to mono
    _ffmpeg("-i", tmp_path / "a.wav", "-c:a", "libmp3lame", "-b:a", "64k", tmp_path / "a.mp3")
    mp3, rate = load_audio(tmp_path / "a.mp3")
    assert rate == RATE and abs(len(mp3) - len(x)) < 0.06 * RATE  # mp3 pads a frame or two
    with pytest.raises(ValueError, match="cannot read audio"):
        (tmp_path / "bad.mp3").write_bytes(b"not audio")
        load_audio(tmp_path / "bad.mp3")
    with pytest.raises(FileNotFoundError):
        load_audio(tmp_path / "missing.wav")


def test_mouth_opening_follows_loudness(speech):
    x, bursts = speech
    fps = 25.0
    points = audio_motion(astronaut_points(), x, RATE, fps=fps, seed=0)
    assert len(points) == frame_count(x, RATE, fps) == 75  # 3 s at 25 fps
    gap = np.linalg.norm(points[:, [61, 62, 63]] - points[:, [67, 66, 65]], axis=-1).mean(-1)
    loud = _loudness_db(x, fps, len(points))
    assert np.corrcoef(gap, loud)[0, 1] > 0.8
    t = (np.arange(len(points)) + 0.5) / fps
    inside = np.zeros(len(t), bool)
    for a, b in bursts:
        inside |= (t > a + 0.05) & (t < b - 0.05)
    quiet = np.ones(len(t), bool)
    for a, b in bursts:
        quiet &= (t < a - 0.2) | (t > b + 0.3)
    assert inside.sum() > 10 and quiet.sum() > 3
    assert gap[inside].mean() > gap[quiet].mean() + 3 * gap[quiet].std() + 1.0  # open in syllables, shut in pauses


def test_width_follows_the_vowels():
    # two steady vowels: "i" (energy above 1 kHz) stretches the lips, "u" rounds them
    from fsth_core.synthetic.audio import vowel

    rng = np.random.default_rng(0)
    half = RATE
    x = np.concatenate([vowel(half, RATE, "i", 150, rng), vowel(half, RATE, "u", 150, rng)]).astype(np.float32) * 0.5
    opening, width = mouth_curves(x, RATE, 25.0)
    assert opening[5:20].min() > 0.8 and opening[30:45].min() > 0.8
    assert width[5:20].mean() > 0.3 and width[30:45].mean() < -0.3


def test_silence_keeps_the_mouth_shut_and_timing_follows_fps():
    silent = np.zeros(RATE // 2, np.float32)
    opening, width = mouth_curves(silent, RATE, 30.0)
    assert len(opening) == 15 and not opening.any() and not width.any()
    src = astronaut_points()
    still = audio_motion(src, silent, RATE, fps=30.0, intensity=0.0)
    assert still.shape == (15, 68, 2) and np.abs(still - src).max() < 1e-3
    with pytest.raises(ValueError, match="one value per frame"):
        from fsth_core.landmarks.motion import procedural_motion
        procedural_motion(src, 10, mouth=np.zeros(9))
