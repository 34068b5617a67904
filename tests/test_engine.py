"""Frame planning: keyframes hit exactly, smooth (C1) cubic curves, seamless loops, easing, noise, purity."""
from __future__ import annotations

import builtins
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import studio.engine as engine
import studio.interpolate as interpolate
from studio.engine import FramePlan, frame_time, plan_frames, segment_at
from studio.timeline import parse_timeline

rng = np.random.default_rng(7)


def timeline(keyframes: str, **top) -> object:
    """Build a timeline from a keyframe list (flow YAML) and top-level fields."""
    head = "".join(f"{k}: {v}\n" for k, v in top.items())
    return parse_timeline(head + f"keyframes: {keyframes}\n")


def kf_times(times, **extra) -> str:
    parts = []
    for i, t in enumerate(times):
        more = "".join(f", {k}: {v[i]}" for k, v in extra.items() if v[i] is not None)
        parts.append(f"{{time: {t}, seed: {i}{more}}}")
    return "[" + ", ".join(parts) + "]"


def anchors(n, shape=(4, 6)):
    return [rng.standard_normal(shape) for _ in range(n)]


def frame_of(t, fps):
    return int(round(t * fps))


# --------------------------------------------------------------------------------------------- helpers
def test_frame_time_and_segment_at():
    assert frame_time(45, 30) == 1.5
    assert np.allclose(frame_time(np.arange(3), 2.0), [0, 0.5, 1.0])
    knots = [0.0, 1.0, 3.0]
    seg, frac = segment_at(knots, np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 9.0]))
    assert seg.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert np.allclose(frac, [0, 0, 0.5, 0, 0.5, 1, 1])


# --------------------------------------------------------------------------------------------- frames
@pytest.mark.parametrize("interp", ["linear", "slerp", "cubic"])
@pytest.mark.parametrize("loop", [False, True])
def test_every_keyframe_is_hit_exactly(interp, loop):
    times = [0, 0.5, 1.7, 2.0, 3.1]
    tl = timeline(kf_times(times), fps=10, interpolation=interp, loop=str(loop).lower())
    a = anchors(len(times))
    plan = plan_frames(tl, a)
    assert isinstance(plan, FramePlan) and plan.latents.shape == (tl.n_frames, 4, 6)
    assert plan.latents.dtype == np.float64
    for t, anchor in zip(times, a):
        assert np.array_equal(plan.latents[frame_of(t, 10)], anchor)


def test_frame_counts_and_times():
    tl = timeline(kf_times([0, 2]), fps=24)
    plan = plan_frames(tl, anchors(2))
    assert plan.n_frames == 49 == tl.n_frames and plan.total_frames == 49
    assert np.allclose(plan.times, np.arange(49) / 24)
    tl = timeline(kf_times([0, 2]), fps=24, loop="true")
    plan = plan_frames(tl, anchors(2))
    assert plan.n_frames == 96  # duration 4 s (closing segment as long as the average): no seam duplicate


def _velocities(x: np.ndarray, k: int, fps: float):
    """One-sided finite-difference velocities left and right of frame k."""
    flat = x.reshape(len(x), -1)
    return (flat[k] - flat[k - 1]) * fps, (flat[k + 1] - flat[k]) * fps


def test_cubic_is_c1_at_keyframes_with_uneven_spacing():
    fps = 1000.0  # the highest frame rate a timeline accepts (studio.sinks.formats.FPS_MAX)
    times = [0, 0.4, 1.5, 1.8, 3.0]
    a = anchors(len(times))
    cubic = plan_frames(timeline(kf_times(times), fps=fps, interpolation="cubic"), a).latents
    linear = plan_frames(timeline(kf_times(times), fps=fps, interpolation="linear"), a).latents
    for t in times[1:-1]:
        k = frame_of(t, fps)
        vl, vr = _velocities(cubic, k, fps)
        assert np.linalg.norm(vl - vr) < 0.01 * np.linalg.norm(vl), t
        # sanity: the same test catches the kink of piecewise-linear motion
        ll, lr = _velocities(linear, k, fps)
        assert np.linalg.norm(ll - lr) > 0.1 * np.linalg.norm(ll)


def test_cubic_two_keyframes_and_end_tangents():
    a = anchors(2)
    plan = plan_frames(timeline(kf_times([0, 1]), fps=4, interpolation="cubic"), a)
    # reflected end tangents: two keyframes move in a straight line at constant speed
    assert np.allclose(plan.latents[2], (a[0] + a[1]) / 2)


def _seam_steps(x: np.ndarray):
    flat = x.reshape(len(x), -1)
    return flat[-1] - flat[-2], flat[0] - flat[-1], flat[1] - flat[0]


@pytest.mark.parametrize("times,duration", [([0, 1, 2.5, 3], None), ([0, 1, 2], 4.5), ([0.5, 1.5, 2.5], None)])
def test_loop_closes_with_continuous_velocity(times, duration):
    fps = 1000
    top = dict(fps=fps, loop="true", interpolation="cubic")
    if duration:
        top["duration"] = duration
    tl = timeline(kf_times(times), **top)
    plan = plan_frames(tl, anchors(len(times)))
    before, seam, after = _seam_steps(plan.latents)
    assert np.linalg.norm(seam) > 0  # frame 0 is not repeated at the end
    assert np.linalg.norm(seam - before) < 0.03 * np.linalg.norm(seam)
    assert np.linalg.norm(seam - after) < 0.03 * np.linalg.norm(seam)
    # the seam's change of step is like the changes of step next to it (no kink, just curvature)
    flat = plan.latents.reshape(plan.n_frames, -1)
    second = lambda k: np.linalg.norm(flat[k + 1] - 2 * flat[k] + flat[k - 1])  # noqa: E731
    n = plan.n_frames
    at_seam = max(np.linalg.norm(flat[0] - 2 * flat[-1] + flat[-2]), np.linalg.norm(flat[1] - 2 * flat[0] + flat[-1]))
    nearby = max(second(k) for k in (2, 3, n - 3, n - 2))
    assert at_seam < 3 * nearby + 1e-12
    # and at every keyframe inside
    for t in times:
        k = frame_of(t, fps)
        if 0 < k < plan.n_frames - 1:
            vl, vr = _velocities(plan.latents, k, fps)
            assert np.linalg.norm(vl - vr) < 0.01 * np.linalg.norm(vl)


def test_loop_frame_n_would_be_frame_0():
    # plan a loop at double the fps: its even frames are the first plan, and the step over the seam matches
    times = [0, 1, 2]
    a = anchors(3)
    p1 = plan_frames(timeline(kf_times(times), fps=10, loop="true"), a)
    p2 = plan_frames(timeline(kf_times(times), fps=20, loop="true"), a)
    assert np.allclose(p2.latents[::2], p1.latents)
    assert p1.n_frames == 30 and np.allclose(p1.times[-1], 2.9)


def test_loop_with_odd_duration_snaps_period_to_frames():
    a = anchors(2)
    odd = plan_frames(timeline(kf_times([0, 1]), fps=10, loop="true", duration=2.04), a)
    even = plan_frames(timeline(kf_times([0, 1]), fps=10, loop="true", duration=2.0), a)
    assert odd.n_frames == 20 and np.allclose(odd.times, np.arange(20) / 10)
    assert np.array_equal(odd.latents, even.latents)


def test_loop_frames_before_first_keyframe_lie_on_closing_segment():
    times = [1.0, 2.0, 3.0]
    a = anchors(3)
    tl = timeline(kf_times(times), fps=10, loop="true", interpolation="linear")  # duration 4, closing 3 -> 5
    plan = plan_frames(tl, a)
    assert tl.total_duration == 4.0
    # t=0 is time 4 on the closing segment from keyframe 2 (t=3) to keyframe 0 (t=5): halfway
    assert np.allclose(plan.latents[0], (a[2] + a[0]) / 2)
    assert np.array_equal(plan.latents[10], a[0])


def test_non_loop_holds_before_first_and_after_last():
    a = anchors(2)
    tl = timeline(kf_times([1, 2]), fps=10, duration=3, interpolation="cubic")
    plan = plan_frames(tl, a)
    assert plan.n_frames == 31
    assert all(np.array_equal(plan.latents[i], a[0]) for i in range(0, 11))
    assert all(np.array_equal(plan.latents[i], a[1]) for i in range(20, 31))


def test_single_keyframe_is_a_still():
    a = anchors(1)
    plan = plan_frames(timeline(kf_times([0])), a)
    assert plan.n_frames == 1 and np.array_equal(plan.latents[0], a[0])
    loop = plan_frames(timeline(kf_times([0]), loop="true", duration=1, fps=8, noise="loop"), a)
    assert loop.n_frames == 8 and all(np.array_equal(x, a[0]) for x in loop.latents)
    assert np.allclose(loop.noise_phase, 2 * np.pi * np.arange(8) / 8)


def test_slerp_mode_keeps_norms_between_equal_norm_anchors():
    a = [rng.standard_normal(64) for _ in range(3)]
    a = [x / np.linalg.norm(x) * 8.0 for x in a]
    plan = plan_frames(timeline(kf_times([0, 1, 2]), fps=10, interpolation="slerp"), a)
    assert np.allclose(np.linalg.norm(plan.latents, axis=-1), 8.0)


def test_easing_shapes_the_segment_leaving_the_keyframe():
    a = [np.zeros(3), np.ones(3), np.full(3, 2.0)]
    tl = timeline(kf_times([0, 1, 2], ease=["in-out", None, None]), fps=100, interpolation="linear")
    x = plan_frames(tl, a).latents[:, 0]
    assert x[0] == 0 and x[100] == 1 and x[200] == 2
    assert np.all(np.diff(x) >= 0)
    assert x[1] - x[0] < 0.001 and x[100] - x[99] < 0.001          # eased at both ends of segment 0
    assert np.isclose(x[50], 0.5)
    assert np.isclose(x[101] - x[100], 0.01)                       # segment 1 is linear


def test_truncation_and_conds_interpolate_linearly_over_eased_t():
    tl = timeline(kf_times([0, 1, 2], truncation=[0.5, None, 1.5], ease=[None, "in", None]), fps=10, truncation=1.0)
    conds = [np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, 1.0])]
    plan = plan_frames(tl, anchors(3), conds)
    assert plan.truncation.shape == (21,) and plan.conds.shape == (21, 3)
    assert plan.truncation[0] == 0.5 and plan.truncation[10] == 1.0 and plan.truncation[20] == 1.5
    assert np.isclose(plan.truncation[5], 0.75)
    assert np.isclose(plan.truncation[15], 1.0 + 0.5 * 0.25)       # ease in: u = 0.5^2
    assert np.allclose(plan.conds[5], [0.5, 0.5, 0])
    assert np.allclose(plan.conds.sum(axis=1), 1.0)
    assert plan_frames(tl, anchors(3)).conds is None
    # the resolver's per-keyframe psi (a w latent file renders as stored: 1.0) replaces the keyframes' own
    given = plan_frames(tl, anchors(3), truncations=[1.0, 0.5, 1.5])
    assert given.truncation[0] == 1.0 and given.truncation[10] == 0.5 and np.isclose(given.truncation[5], 0.75)
    with pytest.raises(ValueError, match="truncations"):
        plan_frames(tl, anchors(3), truncations=[1.0])


@pytest.mark.parametrize("noise", ["fixed", "random", "loop"])
def test_noise_plans(noise):
    tl = timeline(kf_times([0, 1]), fps=10, noise=noise, seed=5)
    plan = plan_frames(tl, anchors(2))
    assert plan.noise_seed.dtype == np.int64 and plan.noise_phase.shape == (11,)
    if noise == "random":
        assert plan.noise_seed.tolist() == [5 * 1_000_003 + i for i in range(11)]
    else:
        assert np.all(plan.noise_seed == 5)
    if noise == "loop":
        assert np.allclose(plan.noise_phase, 2 * math.pi * np.arange(11) / 11)
    else:
        assert np.all(plan.noise_phase == 0)


def test_chunks_equal_the_whole_plan():
    tl = timeline(kf_times([0, 0.7, 2]), fps=30, loop="true", noise="random")
    a = anchors(3, (16,))
    whole = plan_frames(tl, a)
    parts = [plan_frames(tl, a, start=s, stop=s + 17) for s in range(0, whole.n_frames, 17)]
    assert parts[1].start == 17 and parts[1].total_frames == whole.n_frames
    assert np.array_equal(np.concatenate([p.latents for p in parts]), whole.latents)
    assert np.array_equal(np.concatenate([p.noise_seed for p in parts]), whole.noise_seed)


def test_z_space_vectors_and_frame_keyframes():
    tl = parse_timeline("space: z\nfps: 10\nkeyframes: [{frame: 0, seed: 1}, {frame: 15, seed: 2}]\n")
    a = anchors(2, (512,))
    plan = plan_frames(tl, a)
    assert plan.latents.shape == (16, 512) and np.array_equal(plan.latents[15], a[1])


def test_mismatched_anchors_are_a_programming_error():
    with pytest.raises(ValueError):
        plan_frames(timeline(kf_times([0, 1])), anchors(3))


# --------------------------------------------------------------------------------------------- purity
@pytest.mark.parametrize("module", [engine, interpolate])
def test_pure_modules_import_no_torch_or_io(module):
    src = Path(module.__file__).read_text()
    for bad in ("import torch", "import os", "from os", "open(", "pathlib", "import io", "np.load", "np.save"):
        assert bad not in src, (module.__name__, bad)


def test_engine_import_pulls_in_no_torch():
    code = "import sys, studio.engine; assert 'torch' not in sys.modules; assert 'studio.timeline' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_planning_does_no_file_io(monkeypatch):
    tl = timeline(kf_times([0, 1, 2]), fps=10, loop="true", noise="random")
    a = anchors(3)

    def refuse(*args, **kwargs):
        raise AssertionError("the engine touched a file")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.setattr(os, "stat", refuse)
    plan = plan_frames(tl, a)
    assert plan.n_frames == 30
