"""Audio the tests make themselves (no downloads): clicks, tone bursts, chords, click tracks, as WAV files."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22050


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    """Return ``seconds`` of silence (float32)."""
    return np.zeros(int(round(seconds * rate)), dtype=np.float32)


def clicks(times, seconds: float, rate: int = RATE, amp: float = 0.9) -> np.ndarray:
    """Return ``seconds`` of silence with a 1.5 ms click starting at each of ``times`` (seconds)."""
    y = silence(seconds, rate)
    n = max(8, int(0.0015 * rate))
    for t in times:
        s = int(round(t * rate))
        e = min(y.size, s + n)
        y[s:e] += amp * np.hanning(n)[: e - s].astype(np.float32)
    return y


def click_track(bpm: float, seconds: float, rate: int = RATE) -> np.ndarray:
    """Return a metronome: a click on every beat at ``bpm`` from time 0."""
    return clicks(np.arange(0.0, seconds - 0.05, 60.0 / bpm), seconds, rate)


def tone(freqs, start: float, stop: float, seconds: float, rate: int = RATE, amp: float = 0.3) -> np.ndarray:
    """Return ``seconds`` of audio with a sum of sines at ``freqs`` (Hz) sounding from ``start`` to ``stop``."""
    y = silence(seconds, rate)
    s, e = int(start * rate), int(stop * rate)
    t = np.arange(e - s) / rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)  # 5 ms fades: no click at the edges
    for f in np.atleast_1d(freqs):
        y[s:e] += (amp * np.sin(2 * np.pi * f * t) * fade).astype(np.float32)
    return y


def write_wav(path: str | Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write mono float ``samples`` in [-1, 1] as a 16-bit WAV file; return the path."""
    path = Path(path)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


# One rule per target (mix needs a keyframe with ``mix``): the YAML of a timeline's ``react:`` block.
REACT_RULES = """react:
  - {feature: onsets, band: high, target: pulse, seed: 9, amount: 0.7, decay: 0.2}
  - {feature: rms, band: low, target: direction, direction: sefa1, amount: 2.0, smooth: {attack: 0.05, release: 0.3}}
  - {feature: flux, target: motion, direction: sefa0, amount: 1.0}
  - {feature: onsets, target: truncation, amount: -0.3, power: 2}
  - {feature: beat, target: noise, amount: 3.0, smooth: 0.1}
  - {feature: chroma, target: chroma-blend, seeds: [1,2,3,4,5,6,7,8,9,10,11,12], amount: 0.3}
  - {feature: rms, target: mix, amount: 1.0}
"""
