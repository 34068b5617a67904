"""Audio-reactive modulation maths, PURE (numpy only; no torch, no I/O): feature shaping and the per-target
change each ``react`` rule makes to the keyframed walk.

A rule's feature (one value per frame, from ``studio.audio.analysis.frame_features``) is shaped by
:func:`shape` — :func:`percentile_normalise` (divide by the ``percentile``-th percentile, clip to [0, 1]), then
``power``, then :func:`smooth` (a one-pole follower with ``attack``/``release`` times in seconds) — and made into
a :class:`Control` by :func:`make_control`. :func:`modulate` applies controls, in rule order, on top of the
engine's planned latents and truncation (``studio.engine.plan_frames``) for any range of frames:

* ``truncation``: ``psi += amount * s``;
* ``direction``: ``latent += amount * s * vector`` (a slider direction already scaled to one slider step);
* ``motion``: ``latent += amount * position * vector`` where ``position`` is the running integral of ``s`` in
  seconds: the walk drifts along the direction at a speed that follows the feature;
* ``pulse``: ``latent += min(1, amount * e) * (target - latent)``, ``e`` the feature with an instant attack and a
  ``decay``-second release: each hit pushes toward the target latent and fades;
* ``mix``: the style mixing of the keyframes (their ``mix``) is applied with strength ``min(1, amount * s)``
  instead of fully: ``latent += (strength - 1) * mix_delta`` (``mix_delta`` = planned mixed − unmixed latent);
* ``chroma-blend``: ``latent += min(1, amount) * (sum_c w_c * target_c - latent)`` with ``w`` the shaped chroma
  of each frame scaled to sum to 1 and ``target_c`` twelve latents (C .. B), as Lucid Sonic Dreams blends;
* ``noise``: noise strength ``1 + sum(amount * s)`` (1 = the model's own noise), returned for the generator.

With no controls the inputs come back unchanged (the same arrays), so a timeline without ``react`` renders bit
for bit as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGETS = ("truncation", "direction", "noise", "pulse", "motion", "mix", "chroma-blend")
VECTOR_TARGETS = ("direction", "motion", "pulse")
DEFAULT_PERCENTILE = 99.0
DEFAULT_DECAY = 0.25


@dataclass(frozen=True)
class Shaping:
    """How a raw feature becomes a 0..1 control signal: ``percentile`` normalisation (0 < q <= 100), ``power``
    (> 0), then ``attack``/``release`` smoothing times in seconds (0 = instant)."""

    percentile: float = DEFAULT_PERCENTILE
    power: float = 1.0
    attack: float = 0.0
    release: float = 0.0


def percentile_normalise(x: np.ndarray, q: float = DEFAULT_PERCENTILE) -> np.ndarray:
    """Return ``x`` divided by its ``q``-th percentile (over all values) and clipped to [0, 1]; all zeros when that
    percentile (and the maximum) is 0. Float64, shaped like ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.copy()
    ref = float(np.percentile(x, q))
    if ref <= 0:
        ref = float(x.max())
    if ref <= 0:
        return np.zeros_like(x)
    return np.clip(x / ref, 0.0, 1.0)


def smooth(x: np.ndarray, fps: float, attack: float = 0.0, release: float = 0.0) -> np.ndarray:
    """Return ``x`` [n] or [n, k] through a one-pole envelope follower along axis 0: rising values approach the
    input with time constant ``attack`` seconds, falling ones with ``release`` (0 = follow at once). Causal:
    frame i depends only on frames 0..i."""
    x = np.asarray(x, dtype=np.float64)
    if attack <= 0 and release <= 0 or x.shape[0] == 0:
        return x.copy()
    up = float(np.exp(-1.0 / (attack * fps))) if attack > 0 else 0.0
    down = float(np.exp(-1.0 / (release * fps))) if release > 0 else 0.0
    out = np.empty_like(x)
    y = x[0].copy()
    out[0] = y
    for i in range(1, x.shape[0]):
        c = np.where(x[i] > y, up, down)
        y = c * y + (1.0 - c) * x[i]
        out[i] = y
    return out


def shape(x: np.ndarray, fps: float, shaping: Shaping = Shaping()) -> np.ndarray:
    """Return feature ``x`` (one value per frame, or [n, 12] chroma) normalised, raised to ``shaping.power`` and
    smoothed: the 0..1 control signal of a rule."""
    y = percentile_normalise(x, shaping.percentile)
    if shaping.power != 1.0:
        y = y ** float(shaping.power)
    return smooth(y, fps, shaping.attack, shaping.release)


@dataclass(frozen=True)
class Control:
    """One prepared react rule: ``target`` (one of TARGETS), ``amount``, ``signal`` for every frame of the render
    ([total_frames]; [total_frames, 12] chroma weights for chroma-blend) and ``vector`` (a direction or target
    latent shaped like one planned latent, or [12, ...] targets for chroma-blend; None for truncation, noise, mix)."""

    target: str
    amount: float
    signal: np.ndarray
    vector: np.ndarray | None = None


def make_control(target: str, amount: float, feature: np.ndarray, fps: float, shaping: Shaping = Shaping(), *,
                 vector: np.ndarray | None = None, decay: float | None = None) -> Control:
    """Return the :class:`Control` of a rule from its ``feature`` values for every frame of the render ([n] or
    chroma [n, 12]). ``vector``: the direction (direction, motion), the target latent (pulse) or twelve latents
    (chroma-blend); ``decay``: the pulse's release in seconds (default 0.25). Raises ValueError for a target the
    module does not know or a missing vector (the schema refuses those first, with the timeline's line)."""
    if target not in TARGETS:
        raise ValueError(f"unknown react target {target!r}; allowed: {', '.join(TARGETS)}")
    needs_vector = target in VECTOR_TARGETS or target == "chroma-blend"
    if needs_vector and vector is None:
        raise ValueError(f"react target {target!r} needs a vector")
    s = shape(feature, fps, shaping)
    if target == "pulse":
        s = smooth(s, fps, 0.0, DEFAULT_DECAY if decay is None else float(decay))
    elif target == "motion":
        s = np.cumsum(s, axis=0) / float(fps)
    elif target == "chroma-blend":
        if s.ndim != 2 or s.shape[1] != 12:
            raise ValueError("chroma-blend needs the 12-value chroma feature")
        total = s.sum(axis=1, keepdims=True)
        s = np.where(total > 0, s / np.where(total > 0, total, 1.0), 1.0 / 12.0)
    vec = None if vector is None else np.asarray(vector, dtype=np.float64)
    return Control(target=target, amount=float(amount), signal=s, vector=vec)


@dataclass
class Modulated:
    """Modulated per-frame inputs: ``latents`` [B, ...], ``truncation`` [B], ``noise_strength`` [B] or None (no
    noise rule: the generator's noise is used as is)."""

    latents: np.ndarray
    truncation: np.ndarray
    noise_strength: np.ndarray | None = None


def _per_frame(values: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape per-frame values [B] to broadcast against per-frame latents of ``ndim`` dimensions."""
    return values.reshape(values.shape[:1] + (1,) * (ndim - 1))


def modulate(latents: np.ndarray, truncation: np.ndarray, controls: list[Control], frames: np.ndarray,
             mix_delta: np.ndarray | None = None) -> Modulated:
    """Apply ``controls`` in order to the planned ``latents`` [B, ...] and ``truncation`` [B] of absolute frame
    indices ``frames`` [B] (signals are indexed by them, so any range of frames, in any batches, gets the same
    values). ``mix_delta`` [B, ...]: planned mixed − unmixed latents (needed by ``mix`` controls). Returns a
    :class:`Modulated`; with no controls, the very input arrays."""
    if not controls:
        return Modulated(latents=latents, truncation=truncation, noise_strength=None)
    frames = np.asarray(frames, dtype=np.int64)
    lat = np.array(latents, dtype=np.float64, copy=True)
    psi = np.array(truncation, dtype=np.float64, copy=True)
    noise = None
    for c in controls:
        s = c.signal[frames]
        if c.target == "truncation":
            psi = psi + c.amount * s
        elif c.target == "noise":
            noise = (np.ones(len(frames)) if noise is None else noise) + c.amount * s
        elif c.target in ("direction", "motion"):
            lat = lat + _per_frame(c.amount * s, lat.ndim) * c.vector
        elif c.target == "pulse":
            k = _per_frame(np.minimum(1.0, c.amount * s), lat.ndim)
            lat = lat + k * (c.vector - lat)
        elif c.target == "mix":
            if mix_delta is None:
                raise ValueError("a mix control needs mix_delta")
            strength = np.clip(c.amount * s, 0.0, 1.0)
            lat = lat + _per_frame(strength - 1.0, lat.ndim) * np.asarray(mix_delta, dtype=np.float64)
        elif c.target == "chroma-blend":
            target = np.tensordot(s, c.vector, axes=(1, 0))
            lat = lat + min(1.0, c.amount) * (target - lat)
    return Modulated(latents=lat, truncation=psi, noise_strength=noise)
