"""Tempo and beat tracking from an onset-strength envelope: pure numpy, no I/O.

The method is the dynamic-programming beat tracker of D. P. W. Ellis, "Beat Tracking by Dynamic Programming"
(J. New Music Research, 2007), written here from the paper:

* tempo: the autocorrelation of the onset envelope (unbiased, per lag), weighted by a log-normal prior around
  ``start_bpm`` (``std_octaves`` wide) so that octave errors (double or half tempo) lose; the best lag is refined
  to a fraction of a frame by fitting a parabola through its neighbours;
* beats: ``C(t) = O(t) + max_{tau} [C(tau) - tightness * log((t - tau) / P)^2]`` over predecessors ``tau`` between
  ``P/2`` and ``2P`` frames back, where ``O`` is the onset envelope smoothed by a Gaussian of width ``P/32`` and
  ``P`` the beat period; the last beat is the last strong local maximum of ``C``, earlier beats follow the
  back-pointers; weak beats at the very start and end (silence) are dropped.
"""
from __future__ import annotations

import numpy as np


def estimate_period(envelope: np.ndarray, rate: float, *, start_bpm: float = 120.0, std_octaves: float = 1.0,
                    min_bpm: float = 30.0, max_bpm: float = 300.0) -> float:
    """Return the beat period in envelope frames (a float) of onset ``envelope`` [T] sampled at ``rate`` Hz.

    Returns 0.0 when the envelope is too short or flat to show any periodicity.
    """
    env = np.asarray(envelope, dtype=np.float64)
    env = env - env.mean()
    n = env.size
    lo = max(1, int(np.floor(60.0 * rate / max_bpm)))
    hi = min(n - 2, int(np.ceil(60.0 * rate / min_bpm)))
    if hi <= lo + 2 or not np.any(env):
        return 0.0
    spec = np.fft.rfft(env, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: hi + 2]
    ac = ac / (n - np.arange(ac.size))  # unbiased: long lags are not penalised by fewer overlapping samples
    lags = np.arange(lo, hi + 1)
    bpm = 60.0 * rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / start_bpm) / std_octaves) ** 2)
    score = ac[lags] * prior
    best = int(lags[np.argmax(score)])
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(best + np.clip(shift, -0.5, 0.5))


def _smoothed(envelope: np.ndarray, period: float) -> np.ndarray:
    """The onset envelope over its standard deviation, smoothed by a Gaussian of width period/32."""
    env = np.asarray(envelope, dtype=np.float64)
    std = env.std()
    env = env / std if std > 0 else env
    half = int(np.ceil(period))
    k = np.arange(-half, half + 1, dtype=np.float64)
    window = np.exp(-0.5 * (k * 32.0 / period) ** 2)
    return np.convolve(env, window, mode="same")


def track_beats(envelope: np.ndarray, period: float, *, tightness: float = 100.0) -> np.ndarray:
    """Return beat positions (int64 envelope frame indices, increasing) for onset ``envelope`` [T] with beat
    ``period`` frames (from :func:`estimate_period`); an empty array when there is no periodicity."""
    env = np.asarray(envelope, dtype=np.float64)
    n = env.size
    if period <= 1 or n < 2 or not np.any(env > 0):
        return np.zeros(0, dtype=np.int64)
    local = _smoothed(env, period)
    back_far, back_near = int(round(2 * period)), max(1, int(round(period / 2)))
    offsets = np.arange(-back_far, -back_near + 1)
    penalty = -tightness * np.log(-offsets / period) ** 2
    cum = np.empty(n)
    back = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        first = max(0, -(t + offsets[0]))  # skip predecessors before the start
        if t + offsets[-1] < 0:
            cum[t] = local[t]
            continue
        cand = cum[t + offsets[first:]] + penalty[first:]
        j = int(np.argmax(cand))
        if cand[j] > 0:
            cum[t] = local[t] + cand[j]
            back[t] = t + offsets[first + j]
        else:
            cum[t] = local[t]
    peaks = np.flatnonzero((cum[1:-1] >= cum[:-2]) & (cum[1:-1] > cum[2:])) + 1
    if peaks.size == 0:
        return np.zeros(0, dtype=np.int64)
    strong = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    beats = [int(strong[-1])]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.asarray(beats[::-1], dtype=np.int64)
    return _trim_weak(beats, local)


def _trim_weak(beats: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Drop beats at the start and end whose smoothed onset strength is under half the beats' RMS strength."""
    if beats.size == 0:
        return beats
    strength = local[beats]
    threshold = 0.5 * np.sqrt(np.mean(strength ** 2))
    keep = np.flatnonzero(strength >= threshold)
    if keep.size == 0:
        return beats[:0]
    return beats[keep[0]: keep[-1] + 1]


def tempo_bpm(period: float, rate: float) -> float:
    """Return the tempo in beats per minute for a beat ``period`` in frames at ``rate`` Hz (0.0 for no period)."""
    return 60.0 * rate / period if period > 0 else 0.0
