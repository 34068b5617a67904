"""Interpolation curves: lerp, slerp, Catmull-Rom and easing."""
from __future__ import annotations

import numpy as np
import pytest

from studio.interpolate import EASINGS, catmull_rom, ease, hermite, lerp, slerp

rng = np.random.default_rng(1234)


def test_lerp_shapes_and_endpoints():
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    assert lerp(a, b, 0.25).shape == (3, 5)
    out = lerp(a, b, np.array([0.0, 0.5, 1.0]))
    assert out.shape == (3, 3, 5)
    assert np.array_equal(out[0], a) and np.array_equal(out[2], b)
    assert np.allclose(out[1], (a + b) / 2)


def test_slerp_hits_endpoints_exactly_and_keeps_norms():
    a = rng.standard_normal(512)
    b = rng.standard_normal(512)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    t = np.linspace(0, 1, 101)
    out = slerp(a, b, t)
    assert np.array_equal(out[0], a) and np.array_equal(out[-1], b)
    norms = np.linalg.norm(out, axis=-1)
    assert np.allclose(norms, np.linalg.norm(a), rtol=1e-12)
    # lerp would shrink the middle
    assert np.linalg.norm(lerp(a, b, 0.5)) < 0.9 * np.linalg.norm(a)


def test_slerp_moves_at_constant_angular_speed():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    out = slerp(a, b, np.array([0.25, 0.5]))
    assert np.allclose(out[0], [np.cos(np.pi / 8), np.sin(np.pi / 8)])
    assert np.allclose(out[1], [np.sqrt(0.5), np.sqrt(0.5)])


def test_slerp_interpolates_norm_linearly():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 4.0, 0.0])
    out = slerp(a, b, 0.5)
    assert np.isclose(np.linalg.norm(out), 3.0)


def test_slerp_row_wise_for_w():
    a = rng.standard_normal((14, 64))
    b = rng.standard_normal((14, 64))
    b[3] = a[3] * 2.0   # parallel row -> lerp fallback
    b[5] = -a[5]        # antiparallel row -> lerp fallback
    a[7] = 0.0          # zero row -> lerp fallback
    out = slerp(a, b, np.array([0.0, 0.3, 1.0]))
    assert out.shape == (3, 14, 64) and np.all(np.isfinite(out))
    assert np.array_equal(out[0], a) and np.array_equal(out[2], b)
    for r in range(14):
        assert np.allclose(out[1, r], slerp(a[r], b[r], 0.3))
    assert np.allclose(out[1, 3], lerp(a[3], b[3], 0.3))
    assert np.allclose(out[1, 5], lerp(a[5], b[5], 0.3))


def test_catmull_rom_passes_through_points():
    p = rng.standard_normal((4, 7))
    out = catmull_rom(*p, np.array([0.0, 1.0]))
    assert np.array_equal(out[0], p[1]) and np.array_equal(out[1], p[2])
    # uniform tangent (p2 - p0) / 2 at p1
    h = 1e-6
    d = (catmull_rom(*p, h) - catmull_rom(*p, 0.0)) / h
    assert np.allclose(d, (p[2] - p[0]) / 2, atol=1e-4)


@pytest.mark.parametrize("knots", [None, (0.0, 1.0, 3.5, 4.0, 6.5)])
def test_catmull_rom_is_c1_across_segments(knots):
    p = rng.standard_normal((5, 3))
    k = knots or (0.0, 1.0, 2.0, 3.0, 4.0)
    h = 1e-6
    # segment p1->p2 ends at t=1, segment p2->p3 starts at t=0; compare velocities per knot unit
    seg_a = lambda t: catmull_rom(p[0], p[1], p[2], p[3], t, knots=k[:4])  # noqa: E731
    seg_b = lambda t: catmull_rom(p[1], p[2], p[3], p[4], t, knots=k[1:])  # noqa: E731
    assert np.array_equal(seg_a(1.0), seg_b(0.0))
    v_end = (seg_a(1.0) - seg_a(1.0 - h)) / h / (k[2] - k[1])
    v_start = (seg_b(h) - seg_b(0.0)) / h / (k[3] - k[2])
    assert np.allclose(v_end, v_start, atol=1e-4)


def test_hermite_endpoints():
    p1, p2, v1, v2 = rng.standard_normal((4, 6))
    out = hermite(p1, p2, v1, v2, np.array([0.0, 1.0]), h=2.5)
    assert np.array_equal(out[0], p1) and np.array_equal(out[1], p2)


@pytest.mark.parametrize("name", list(EASINGS))
def test_easing_endpoints_and_monotone(name):
    assert ease(name, 0.0) == 0.0 and ease(name, 1.0) == 1.0
    t = np.linspace(0, 1, 1001)
    y = ease(name, t)
    assert y.shape == t.shape
    assert np.all(np.diff(y) >= 0) and np.all((y >= 0) & (y <= 1))
    # smooth: no jumps between neighbouring samples
    assert np.max(np.abs(np.diff(y))) < 3e-3
    assert ease(name, -0.5) == 0.0 and ease(name, 2.0) == 1.0


def test_easing_shapes():
    t = np.array([0.1, 0.9])
    assert ease("in", 0.1) < 0.1 and ease("out", 0.1) > 0.1
    assert np.allclose(ease("in-out", 0.5), 0.5)
    assert ease("in-out", 0.1) < 0.1 and ease("in-out", 0.9) > 0.9
    assert np.allclose(ease("linear", t), t)
    with pytest.raises(ValueError, match="in-out"):
        ease("bounce", 0.5)
