"""Pure frame planning: a timeline plus one anchor vector per keyframe → one latent (and settings) per frame.

No model, no torch, no files: the renderer resolves keyframes to anchors (seeds → z, or → w with the mapping
network *without* truncation; latent files; style mixing; direction offsets) and asks :func:`plan_frames` for the
per-frame latents, truncation, conditioning and noise settings, then applies truncation itself.

Timing:

* Frame i is at time ``i / fps``; keyframes whose time is a whole number of frames are hit exactly.
* Non-loop: before the first keyframe the first one is held; after the last, the last one is held.
* Loop: the period is ``n_frames / fps`` (the duration snapped to whole frames, equal to it whenever
  ``duration * fps`` is whole), so frame ``n_frames`` would be frame 0 again. The closing segment runs from the
  last keyframe (at ``t_last``) to the first (at ``period + t_first``); frames before ``t_first`` lie on it.
* ``interpolation``: "linear" = lerp, "slerp" = spherical (row-wise in w), "cubic" = Catmull-Rom with the keyframe
  times as knots (non-uniform, Barry-Goldman tangents), so velocity is continuous across keyframes even when
  segments differ in length. End tangents of a non-loop reflect the endpoint (tangent = first/last chord);
  a loop takes neighbours cyclically, so velocity is continuous across the seam.
* A keyframe's ``ease`` reparametrises the segment that leaves it; truncation, conditioning and the StyleGAN3
  camera (``translate`` [x, y], ``rotate`` degrees; 0 where a keyframe gives none) and ``noise_strength`` (1 where a
  keyframe gives none) are interpolated linearly over the same eased parameter, so a loop's closing segment returns
  to the first keyframe's camera without a pop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from studio.interpolate import ease, hermite, lerp, slerp, catmull_rom_tangent

if TYPE_CHECKING:  # only for type hints: the engine needs no parsing
    from studio.timeline import Timeline

NOISE_SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class FramePlan:
    """Per-frame inputs for the renderer, for frames ``start .. start + n_frames - 1`` of ``total_frames``.

    latents [n_frames, *anchor_shape] float64 in the timeline's space; truncation [n_frames] (psi per frame);
    conds [n_frames, c_dim] or None; noise_phase [n_frames] radians (2*pi*i/total_frames for noise "loop", else
    0); noise_seed [n_frames] int64 (seed*1_000_003 + i for noise "random", else the timeline seed);
    times [n_frames] seconds; translate [n_frames, 2] and rotate [n_frames] (degrees): the camera, None when no
    keyframe moves it; noise_strength [n_frames] (× the model's noise; 1 where a keyframe gives none), None when no
    keyframe sets it.
    """

    n_frames: int
    fps: float
    latents: np.ndarray
    truncation: np.ndarray
    conds: np.ndarray | None
    noise_phase: np.ndarray
    noise_seed: np.ndarray
    start: int = 0
    total_frames: int = 0
    times: np.ndarray | None = None
    translate: np.ndarray | None = None
    rotate: np.ndarray | None = None
    noise_strength: np.ndarray | None = None


def frame_time(i, fps: float):
    """Time in seconds of frame index ``i`` (int or int array) at ``fps`` frames per second: ``i / fps``."""
    return np.asarray(i, dtype=np.float64) / float(fps) if np.ndim(i) else float(i) / float(fps)


def segment_at(times, t):
    """Locate time(s) ``t`` among strictly increasing knot ``times`` (at least two).

    Returns (segment index, fraction): ints in ``[0, len(times) - 2]`` and floats in [0, 1] (t is clamped to the
    knot range), arrays shaped like t. A t exactly on a knot ``k`` gives segment k with fraction 0, except the
    last knot, which gives the last segment with fraction 1.
    """
    knots = np.asarray(times, dtype=np.float64)
    if knots.ndim != 1 or knots.size < 2:
        raise ValueError("segment_at needs at least two knot times")
    ta = np.clip(np.asarray(t, dtype=np.float64), knots[0], knots[-1])
    seg = np.clip(np.searchsorted(knots, ta, side="right") - 1, 0, knots.size - 2)
    span = knots[seg + 1] - knots[seg]
    frac = np.clip((ta - knots[seg]) / span, 0.0, 1.0)
    return seg, frac


def _lerp_rows(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per-row lerp: a, b [F, ...] and u [F]; exact at u = 0 and u = 1."""
    ux = u.reshape(u.shape + (1,) * (a.ndim - 1))
    return np.where(ux == 1.0, b, a + (b - a) * ux)


def _tangents(points: np.ndarray, times: np.ndarray, loop: bool, period: float) -> np.ndarray:
    """Velocity (per second) at each keyframe for the cubic curve."""
    k = len(points)
    v = np.empty_like(points)
    for i in range(k):
        if loop:
            tp = times[i - 1] - (period if i == 0 else 0.0)
            tn = times[(i + 1) % k] + (period if i == k - 1 else 0.0)
            v[i] = catmull_rom_tangent(points[i - 1], points[i], points[(i + 1) % k], tp, times[i], tn)
        elif i == 0:
            v[i] = (points[1] - points[0]) / (times[1] - times[0])
        elif i == k - 1:
            v[i] = (points[i] - points[i - 1]) / (times[i] - times[i - 1])
        else:
            v[i] = catmull_rom_tangent(points[i - 1], points[i], points[i + 1], times[i - 1], times[i], times[i + 1])
    return v


def plan_frames(timeline: "Timeline", anchors: Sequence[np.ndarray], conds: Sequence[np.ndarray] | None = None,
                *, start: int = 0, stop: int | None = None,
                truncations: Sequence[float] | None = None) -> FramePlan:
    """Plan frames ``start .. stop-1`` (default: all ``timeline.n_frames``) of a timeline.

    Takes the Timeline, ``anchors[i]`` = keyframe i's vector in the interpolation space (all the same shape:
    [z_dim] or [num_ws, w_dim]; un-truncated), and optionally ``conds[i]`` = keyframe i's conditioning vector
    (one-hot label or features, all [c_dim]), and ``truncations[i]`` = keyframe i's psi (default: its
    ``truncation``, else the timeline's). Returns a :class:`FramePlan`. Pure: reads only the timeline's fields.
    Raises ValueError when the anchors do not match the keyframes (a renderer bug, not bad input).
    """
    kfs = timeline.keyframes
    k = len(kfs)
    points = np.stack([np.asarray(a, dtype=np.float64) for a in anchors]) if len(anchors) else np.empty((0,))
    if points.shape[0] != k:
        raise ValueError(f"got {points.shape[0]} anchors for {k} keyframes")
    cond_arr = None
    if conds is not None:
        cond_arr = np.stack([np.asarray(c, dtype=np.float64).reshape(-1) for c in conds])
        if cond_arr.shape[0] != k:
            raise ValueError(f"got {cond_arr.shape[0]} conditioning vectors for {k} keyframes")

    fps = float(timeline.fps)
    total = int(timeline.n_frames)
    stop = total if stop is None else min(int(stop), total)
    start = max(0, int(start))
    idx = np.arange(start, max(start, stop), dtype=np.int64)
    n = idx.size
    loop = bool(timeline.loop)
    period = total / fps  # a loop's period, snapped to whole frames
    t = idx / fps

    times = np.asarray(timeline.keyframe_times, dtype=np.float64)
    if truncations is None:
        truncations = [kf.truncation if kf.truncation is not None else timeline.truncation for kf in kfs]
    psi = np.asarray(truncations, dtype=np.float64)
    if psi.shape != (k,):
        raise ValueError(f"got {psi.size} truncations for {k} keyframes")

    if k == 1:
        a_idx = np.zeros(n, dtype=np.int64)
        b_idx = a_idx
        seg = a_idx
        u = np.zeros(n)
        knots = np.array([times[0], times[0] + 1.0])
    else:
        if loop:
            knots = np.append(times, period + times[0])
            tau = np.mod(t, period)
            tau = np.where(tau < times[0], tau + period, tau)
            seg, frac = segment_at(knots, tau)
            b_idx = (seg + 1) % k
        else:
            knots = times
            seg, frac = segment_at(knots, t)
            b_idx = seg + 1
        a_idx = seg
        u = np.empty(n)
        for s in np.unique(seg):
            mask = seg == s
            u[mask] = ease(kfs[int(s)].ease, frac[mask])

    latents = np.empty((n,) + points.shape[1:], dtype=np.float64)
    if k == 1:
        latents[:] = points[0]
    else:
        mode = timeline.interpolation
        vel = _tangents(points, times, loop, period) if mode == "cubic" else None
        for s in np.unique(seg):
            mask = seg == s
            a, b = int(s), int(b_idx[mask][0])
            if mode == "linear":
                latents[mask] = lerp(points[a], points[b], u[mask])
            elif mode == "slerp":
                latents[mask] = slerp(points[a], points[b], u[mask])
            elif mode == "cubic":
                latents[mask] = hermite(points[a], points[b], vel[a], vel[b], u[mask], h=knots[a + 1] - knots[a])
            else:
                raise ValueError(f"unknown interpolation {mode!r}")

    truncation = _lerp_rows(psi[a_idx], psi[b_idx], u)
    cond_frames = _lerp_rows(cond_arr[a_idx], cond_arr[b_idx], u) if cond_arr is not None else None
    translate = rotate = None
    if any(kf.translate is not None or kf.rotate is not None for kf in kfs):
        moves = np.array([list(kf.translate or (0.0, 0.0)) + [kf.rotate or 0.0] for kf in kfs], dtype=np.float64)
        camera = _lerp_rows(moves[a_idx], moves[b_idx], u)
        translate, rotate = camera[:, :2], camera[:, 2]
    noise_strength = None
    if any(kf.noise_strength is not None for kf in kfs):
        strengths = np.array([1.0 if kf.noise_strength is None else kf.noise_strength for kf in kfs])
        noise_strength = _lerp_rows(strengths[a_idx], strengths[b_idx], u)
    if timeline.noise == "loop":
        noise_phase = 2.0 * math.pi * idx / total
    else:
        noise_phase = np.zeros(n)
    seed = int(timeline.seed)
    if timeline.noise == "random":
        noise_seed = seed * NOISE_SEED_STRIDE + idx
    else:
        noise_seed = np.full(n, seed, dtype=np.int64)
    return FramePlan(n_frames=n, fps=fps, latents=latents, truncation=truncation, conds=cond_frames,
                     noise_phase=noise_phase.astype(np.float64), noise_seed=noise_seed.astype(np.int64),
                     translate=translate, rotate=rotate, noise_strength=noise_strength,
                     start=start, total_frames=total, times=np.asarray(t, dtype=np.float64))


__all__ = ["FramePlan", "plan_frames", "frame_time", "segment_at", "NOISE_SEED_STRIDE"]
