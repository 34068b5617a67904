"""Interpolation curves for latents: lerp, slerp, Catmull-Rom (cubic Hermite) and easing. Pure numpy.

Conventions shared by every function here: ``a``, ``b``, ``p0``..``p3`` are points of one shape ``S`` (e.g.
``[z_dim]`` or ``[num_ws, w_dim]``); ``t`` is a scalar or an array of any shape ``T`` (e.g. the parameters of many
frames); the result has shape ``T + S`` (just ``S`` for a scalar ``t``), dtype float64.
"""
from __future__ import annotations

from typing import Callable

import numpy as np



def _prep(t, *points):
    """Return (t as float64 array, t expanded with trailing axes for the point shape, points as float64)."""
    pts = [np.asarray(p, dtype=np.float64) for p in points]
    shape = pts[0].shape
    for p in pts[1:]:
        if p.shape != shape:
            raise ValueError(f"points must have the same shape, got {shape} and {p.shape}")
    ta = np.asarray(t, dtype=np.float64)
    return ta, ta.reshape(ta.shape + (1,) * len(shape)), pts


def lerp(a, b, t):
    """Linear interpolation ``a + (b - a) * t``.

    Takes two points of shape S and parameter(s) t; returns shape ``t.shape + S``; exactly ``a`` at t=0 and
    exactly ``b`` at t=1.
    """
    ta, tx, (a, b) = _prep(t, a, b)
    out = a + (b - a) * tx
    return np.where(tx == 1.0, b, out)


def slerp(a, b, t, eps: float = 1e-7):
    """Spherical interpolation along the last axis (row-wise for [num_ws, D] points).

    Takes two points of shape S and parameter(s) t; returns shape ``t.shape + S``. Directions move along the great
    circle while the norm is interpolated linearly, so the endpoints are hit exactly and the norm stays constant
    when |a| = |b|. Rows whose directions are (anti)parallel within ``eps``, or that are zero, use lerp.
    """
    ta, tx, (a, b) = _prep(t, a, b)
    if a.ndim == 0:
        return lerp(a, b, t)
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    safe = (na > 0) & (nb > 0)
    ua = np.where(safe, a / np.where(safe, na, 1.0), 0.0)
    ub = np.where(safe, b / np.where(safe, nb, 1.0), 0.0)
    dot = np.clip(np.sum(ua * ub, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(dot)
    so = np.sin(omega)
    use_slerp = safe & (so > eps)
    so_safe = np.where(use_slerp, so, 1.0)
    w0 = np.sin((1.0 - tx) * omega) / so_safe
    w1 = np.sin(tx * omega) / so_safe
    direction = w0 * ua + w1 * ub
    norm = (1.0 - tx) * na + tx * nb
    out = np.where(use_slerp, direction * norm, a + (b - a) * tx)
    out = np.where(tx == 0.0, a, out)
    return np.where(tx == 1.0, b, out)


def catmull_rom_tangent(p0, p1, p2, t0: float = 0.0, t1: float = 1.0, t2: float = 2.0):
    """Catmull-Rom velocity at ``p1`` for knots (t0, t1, t2), per unit of the knot parameter.

    Uses the non-uniform (Barry-Goldman) form ``(p1-p0)/(t1-t0) - (p2-p0)/(t2-t0) + (p2-p1)/(t2-t1)``, which is
    ``(p2 - p0) / 2`` for uniform knots. Returns an array of the points' shape.
    """
    p0, p1, p2 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (p1 - p0) / (t1 - t0) - (p2 - p0) / (t2 - t0) + (p2 - p1) / (t2 - t1)


def hermite(p1, p2, v1, v2, t, h: float = 1.0):
    """Cubic Hermite segment from ``p1`` (velocity ``v1``) to ``p2`` (velocity ``v2``) over a span of length h.

    ``t`` in [0, 1] is the fraction of the span; velocities are per unit of the span's parameter (e.g. per
    second when ``h`` is in seconds). Returns shape ``t.shape + S``; exactly p1 at t=0 and exactly p2 at t=1.
    """
    ta, tx, (p1, p2, v1, v2) = _prep(t, p1, p2, v1, v2)
    t2 = tx * tx
    t3 = t2 * tx
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + tx
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    out = h00 * p1 + h10 * (h * v1) + h01 * p2 + h11 * (h * v2)
    out = np.where(tx == 0.0, p1, out)
    return np.where(tx == 1.0, p2, out)


def catmull_rom(p0, p1, p2, p3, t, knots: tuple[float, float, float, float] | None = None):
    """Catmull-Rom spline segment between ``p1`` (t=0) and ``p2`` (t=1), with neighbours ``p0`` and ``p3``.

    Uniform by default; with ``knots`` = (t0, t1, t2, t3) (e.g. keyframe times) it is the non-uniform
    (Barry-Goldman) Catmull-Rom, whose velocity is continuous in knot units across segments even when their
    lengths differ. Passes through p1 at t=0 and p2 at t=1 exactly; consecutive segments are C1.
    Returns shape ``t.shape + S``.
    """
    k0, k1, k2, k3 = knots if knots is not None else (0.0, 1.0, 2.0, 3.0)
    if not (k0 < k1 < k2 < k3):
        raise ValueError(f"knots must strictly increase, got {(k0, k1, k2, k3)}")
    v1 = catmull_rom_tangent(p0, p1, p2, k0, k1, k2)
    v2 = catmull_rom_tangent(p1, p2, p3, k1, k2, k3)
    return hermite(p1, p2, v1, v2, t, h=k2 - k1)


def _ease_linear(t: np.ndarray) -> np.ndarray:
    return t


def _ease_in(t: np.ndarray) -> np.ndarray:
    return t * t


def _ease_out(t: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - t) * (1.0 - t)


def _ease_in_out(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


EASINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": _ease_linear,   # t
    "in": _ease_in,           # t^2: starts at rest
    "out": _ease_out,         # 1 - (1-t)^2: arrives at rest
    "in-out": _ease_in_out,   # smoothstep 3t^2 - 2t^3: rest at both ends
}


def ease(name: str, t):
    """Apply easing curve ``name`` ("linear", "in", "out", "in-out") to t (scalar or array, clipped to [0, 1]).

    Returns float64 of t's shape (a float for scalar t); every curve is smooth, monotone, with f(0)=0, f(1)=1.
    """
    try:
        fn = EASINGS[name]
    except KeyError:
        raise ValueError(f"unknown easing {name!r}; use one of {', '.join(EASINGS)}") from None
    ta = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    out = fn(ta)
    return float(out) if out.ndim == 0 else out


__all__ = ["lerp", "slerp", "hermite", "catmull_rom", "catmull_rom_tangent", "ease", "EASINGS"]
