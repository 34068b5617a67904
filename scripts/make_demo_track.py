"""Synthesise the demo music track shipped as presets/audio/demo_groove.flac (deterministic; no samples, no
downloads): 24 s at 112 BPM — kick on every beat, snare on 2 and 4, hi-hats on eighths, a bass line and a pad
playing Am - F - C - G, one chord per bar. Run: python scripts/make_demo_track.py [OUT.flac]."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from studio.audio.decode import ffmpeg_exe

RATE = 44100
BPM = 112.0
BARS = 11
CHORDS = [("A", [57, 60, 64]), ("F", [53, 57, 60]), ("C", [48, 52, 55]), ("G", [55, 59, 62])]  # MIDI notes


def midi_hz(note: float) -> float:
    """Frequency in Hz of MIDI note number ``note`` (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _add(y: np.ndarray, start: float, sound: np.ndarray) -> None:
    s = int(start * RATE)
    e = min(y.size, s + sound.size)
    if s < y.size:
        y[s:e] += sound[: e - s]


def track(seed: int = 112) -> np.ndarray:
    """Return the demo track as mono float32 samples at RATE Hz."""
    rng = np.random.RandomState(seed)
    beat = 60.0 / BPM
    seconds = BARS * 4 * beat + 1.0
    y = np.zeros(int(seconds * RATE), np.float32)
    t = np.arange(int(0.5 * RATE)) / RATE
    kick = np.sin(2 * np.pi * (45 + 90 * np.exp(-t * 35)) * t) * np.exp(-t * 9)
    snare = (rng.randn(t.size) * 0.5 + np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 22)
    hat_t = t[: int(0.06 * RATE)]
    hat = np.diff(rng.randn(hat_t.size + 1)) * np.exp(-hat_t * 70)
    for b in range(BARS * 4):
        at = b * beat
        _add(y, at, 0.9 * kick)
        if b % 4 in (1, 3):
            _add(y, at, 0.35 * snare)
        _add(y, at, 0.12 * hat)
        _add(y, at + beat / 2, 0.08 * hat)
    bar = 4 * beat
    for k in range(BARS):
        _, notes = CHORDS[k % 4]
        n = int(bar * RATE)
        tt = np.arange(n) / RATE
        env = np.minimum(1.0, tt / 0.08) * np.minimum(1.0, (bar - tt) / 0.1)
        pad = sum(np.sin(2 * np.pi * midi_hz(m) * tt) + 0.3 * np.sin(4 * np.pi * midi_hz(m) * tt) for m in notes)
        _add(y, k * bar, (0.05 * env * pad).astype(np.float32))
        for q in range(8):  # bass on eighths, the root an octave down
            nt = np.arange(int(beat / 2 * RATE)) / RATE
            f = midi_hz(notes[0] - 24 + (7 if q % 4 == 3 else 0))
            _add(y, k * bar + q * beat / 2, 0.25 * np.sin(2 * np.pi * f * nt) * np.exp(-nt * 5))
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def main(out: str = "presets/audio/demo_groove.flac") -> None:
    """Write the track to ``out`` (FLAC through the bundled ffmpeg)."""
    pcm = (track() * 32767).astype("<i2")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "track.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-c:a", "flac", str(out)], check=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
