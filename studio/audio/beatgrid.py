"""Keyframe times from beats and bars (pure): beat N is the N-th tracked beat counted from 0 at the audio offset;
fractions fall between beats, and beats past the last tracked one continue at the track's tempo."""
from __future__ import annotations

import math

import numpy as np


def beat_time(beat_times: np.ndarray, tempo: float, beat: float) -> float:
    """Return the time in seconds of beat number ``beat`` (>= 0, may be fractional) given the tracked
    ``beat_times`` (seconds, increasing) and ``tempo`` (BPM). Raises ValueError when no beat was tracked."""
    beats = np.asarray(beat_times, dtype=np.float64)
    if beats.size == 0 or not tempo > 0:
        raise ValueError("no beats were detected in the audio")
    period = 60.0 / float(tempo)
    k = int(math.floor(beat))
    frac = float(beat) - k
    if k >= beats.size - 1:
        return float(beats[-1] + (float(beat) - (beats.size - 1)) * period)
    return float(beats[k] + frac * (beats[k + 1] - beats[k]))


def bar_time(beat_times: np.ndarray, tempo: float, bar: float, beats_per_bar: int) -> float:
    """Return the time in seconds of bar number ``bar`` (bar 0 starts on beat 0): beat ``bar * beats_per_bar``."""
    return beat_time(beat_times, tempo, float(bar) * int(beats_per_bar))
