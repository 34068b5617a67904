"""The pure modulation maths: shaping (percentile, power, attack/release) and each react target."""
from __future__ import annotations

import numpy as np
import pytest

from studio.modulation import Control, Shaping, make_control, modulate, percentile_normalise, shape, smooth

FPS = 10


def _plan(n=20, shape_=(3, 4), seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, *shape_), np.full(n, 0.7)


def test_no_controls_changes_nothing_bit_for_bit():
    lat, psi = _plan()
    out = modulate(lat, psi, [], np.arange(20))
    assert out.latents is lat and out.truncation is psi and out.noise_strength is None


def test_percentile_normalise_and_power():
    x = np.array([0, 1, 2, 3, 4, 100.0])
    y = percentile_normalise(x, 50)
    assert y[0] == 0 and y[-1] == 1 and y[1] == pytest.approx(1 / 2.5)
    assert np.all(percentile_normalise(np.zeros(5)) == 0)
    assert shape(np.array([0, 0.5, 1.0]), FPS, Shaping(percentile=100, power=2))[1] == pytest.approx(0.25)


def test_smooth_attack_release():
    step = np.r_[np.zeros(5), np.ones(20), np.zeros(20)]
    fast = smooth(step, FPS)
    assert np.array_equal(fast, step)
    slow = smooth(step, FPS, attack=0.5, release=1.0)
    assert slow[5] == pytest.approx(1 - np.exp(-1 / 5))          # one attack step
    assert slow[24] > 0.95 and slow[24] < 1
    after = slow[25:]
    assert np.all(np.diff(after) < 0) and after[9] == pytest.approx(slow[24] * np.exp(-1.0))  # 1 s release
    assert np.array_equal(smooth(step[:30], FPS, 0.5, 1.0), slow[:30])  # causal


def test_truncation_and_noise_targets():
    lat, psi = _plan()
    feat = np.linspace(0, 1, 20)
    ctl = [make_control("truncation", 0.3, feat, FPS, Shaping(percentile=100)),
           make_control("noise", 2.0, feat, FPS, Shaping(percentile=100))]
    out = modulate(lat, psi, ctl, np.arange(20))
    assert np.allclose(out.truncation, 0.7 + 0.3 * feat)
    assert np.allclose(out.noise_strength, 1 + 2 * feat)
    assert np.array_equal(out.latents, lat)


def test_direction_and_motion():
    lat, psi = _plan()
    d = np.random.RandomState(1).randn(3, 4)
    feat = np.r_[np.zeros(10), np.ones(10)]
    ctl = make_control("direction", 2.0, feat, FPS, vector=d)
    out = modulate(lat, psi, [ctl], np.arange(20))
    assert np.allclose(out.latents[:10], lat[:10]) and np.allclose(out.latents[10:], lat[10:] + 2 * d)
    mot = make_control("motion", 1.0, feat, FPS, vector=d)
    out = modulate(lat, psi, [mot], np.arange(20))
    # speed 1 slider step per second while the feature is up: position after frame 19 is 10 frames / 10 fps
    assert np.allclose(out.latents[19] - lat[19], 1.0 * d)
    assert np.allclose(out.latents[14] - lat[14], 0.5 * d)


def test_pulse_pushes_and_decays():
    lat, psi = _plan(40)
    target = np.full((3, 4), 5.0)
    hits = np.zeros(40)
    hits[[5, 25]] = 1.0
    ctl = make_control("pulse", 1.0, hits, FPS, vector=target, decay=0.5)
    out = modulate(lat, psi, [ctl], np.arange(40))
    assert np.allclose(out.latents[5], target)                 # full push on the hit
    dist = np.linalg.norm((out.latents - lat).reshape(40, -1), axis=1)
    assert np.all(dist[:5] == 0)
    k = ctl.signal
    assert k[10] == pytest.approx(np.exp(-5 / (0.5 * FPS)))   # 0.5 s release
    assert np.all(np.diff(k[6:25]) < 0)


def test_mix_strength_follows_feature():
    lat, psi = _plan()
    delta = np.random.RandomState(2).randn(20, 3, 4)
    feat = np.r_[np.zeros(10), np.full(10, 1.0)]
    ctl = make_control("mix", 0.5, feat, FPS, Shaping(percentile=100))
    out = modulate(lat, psi, [ctl], np.arange(20), mix_delta=delta)
    assert np.allclose(out.latents[:10], lat[:10] - delta[:10])        # feature 0: no mixing
    assert np.allclose(out.latents[10:], lat[10:] - 0.5 * delta[10:])  # half strength


def test_chroma_blend_weights_twelve_latents():
    lat, psi = _plan(12)
    targets = np.random.RandomState(3).randn(12, 3, 4)
    chroma = np.eye(12)  # frame i: only pitch class i sounds
    ctl = make_control("chroma-blend", 1.0, chroma, FPS, Shaping(percentile=100), vector=targets)
    out = modulate(lat, psi, [ctl], np.arange(12))
    assert np.allclose(out.latents, targets)
    half = make_control("chroma-blend", 0.5, chroma, FPS, Shaping(percentile=100), vector=targets)
    out = modulate(lat, psi, [half], np.arange(12))
    assert np.allclose(out.latents, 0.5 * (lat + targets))


def test_any_batching_gives_the_same_frames():
    lat, psi = _plan(30)
    d = np.ones((3, 4))
    feat = np.abs(np.sin(np.arange(30)))
    ctls = [make_control("motion", 1.0, feat, FPS, Shaping(release=0.3), vector=d),
            make_control("pulse", 0.8, feat, FPS, vector=-d, decay=0.2),
            make_control("truncation", 0.2, feat, FPS)]
    whole = modulate(lat, psi, ctls, np.arange(30))
    parts = [modulate(lat[a:b], psi[a:b], ctls, np.arange(a, b)) for a, b in ((0, 7), (7, 8), (8, 30))]
    assert np.array_equal(np.concatenate([p.latents for p in parts]), whole.latents)
    assert np.array_equal(np.concatenate([p.truncation for p in parts]), whole.truncation)


def test_bad_rules_raise():
    with pytest.raises(ValueError, match="unknown react target"):
        make_control("wobble", 1.0, np.zeros(3), FPS)
    with pytest.raises(ValueError, match="needs a vector"):
        make_control("pulse", 1.0, np.zeros(3), FPS)
    with pytest.raises(ValueError, match="12-value"):
        make_control("chroma-blend", 1.0, np.zeros(3), FPS, vector=np.zeros((12, 2)))
    assert isinstance(make_control("noise", 1.0, np.zeros(3), FPS), Control)
