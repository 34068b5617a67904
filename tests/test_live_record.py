"""The live control model: controls change the frames, and the recording renders offline to the frames played."""
from __future__ import annotations

import numpy as np
import pytest

import sg3_helpers as S
from studio.live.controls import ControlError, parse_control
from studio.live.directions import load_user_directions, parse_direction_specs
from studio.live.frames import LiveFrames
from studio.live.recording import latents_folder, write_recording
from studio.render import get_model, iter_frames
from studio.timeline import load_timeline, parse_timeline

TIMELINE = """
model: builtin:tiny
fps: 10
interpolation: {interp}
truncation: 0.8
loop: true
noise: {noise}
keyframes:
  - {{time: 0, seed: 1}}
  - {{time: 0.5, seed: 2, ease: in-out}}
  - {{time: 1.0, seed: 3, truncation: 0.6}}
"""


def user_direction(G, tmp_path) -> dict[str, np.ndarray]:
    """A user direction file 'mine' (a random [w_dim] vector) loaded for ``G``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "mine.npy"
    np.save(path, np.random.RandomState(0).randn(G.w_dim))
    return load_user_directions(G, {"mine": str(path)})


def play(tl, events: dict[int, list[tuple]], n: int, tmp_path, model=None) -> tuple[LiveFrames, list[np.ndarray]]:
    """Play frames 0..n-1, applying events[m] (address, args) at frame m; return the source and the frames."""
    model = model or get_model(tl.model)
    lf = LiveFrames(tl, model, transition=0.3, workdir=tmp_path / "work",
                    directions=user_direction(model.G, tmp_path))
    frames = []
    for m in range(n):
        for address, args in events.get(m, []):
            lf.perf.apply(m, parse_control(address, args))
        frames.append(lf.frame(m))
    return lf, frames


EVENTS = [
    {3: [("/studio/truncation", [0.5])], 4: [("/studio/noise", [0.2])], 5: [("/studio/seed", [77])],
     6: [("/studio/direction/sefa0", [2.0]), ("/studio/direction/mine", [1.5])], 8: [("/studio/speed", [2.0])], 9: [("/studio/pause", [1])],
     11: [("/studio/pause", [0]), ("/studio/keyframe", [1])],
     13: [("/studio/transition", [0.0]), ("/studio/seed", [5])]},
    {2: [("/studio/keyframe", [2])], 4: [("/studio/speed", [3.0])], 6: [("/studio/speed", [0.5])],
     7: [("/studio/direction/mine", [-2.0])], 8: [("/studio/pause", [1])], 10: [("/studio/pause", [0])],
     11: [("/studio/noise", [3.0])], 12: [("/studio/truncation", [0.9])],
     13: [("/studio/direction/sefa2", [-1.0]), ("/studio/speed", [4.0])]},
]


@pytest.mark.parametrize("interp,noise,events", [("cubic", "loop", 0), ("linear", "random", 0),
                                                 ("slerp", "fixed", 1)])
def test_recording_renders_to_the_frames_played(tiny_models, tmp_path, one_torch_thread, interp, noise, events):
    tl = parse_timeline(TIMELINE.format(interp=interp, noise=noise))
    events = EVENTS[events]
    lf, played = play(tl, events, 17, tmp_path)
    out = write_recording(lf.perf.close(16), tmp_path / "rec" / "take.yaml", ["frame 3: /studio/truncation 0.5"])
    lf.close()
    assert latents_folder(out).is_dir()
    rec = load_timeline(out)
    assert rec.n_frames == 17 and rec.loop is False
    model = get_model(rec.model)
    offline = [f for _, f in iter_frames(rec, model, batch=1)]
    assert len(offline) == len(played)
    for i, (a, b) in enumerate(zip(played, offline)):
        assert np.array_equal(a, b), f"frame {i} differs"


def test_controls_change_the_frames(tiny_models, tmp_path, one_torch_thread):
    tl = parse_timeline(TIMELINE.format(interp="linear", noise="fixed"))
    _, base = play(tl, {}, 4, tmp_path / "a")
    for address, args in [("/studio/truncation", [0.1]), ("/studio/direction/sefa1", [4.0]),
                          ("/studio/seed", [99]), ("/studio/noise", [0.0]), ("/studio/direction/mine", [3.0])]:
        _, frames = play(tl, {2: [(address, args)]}, 4, tmp_path / address.replace("/", "_"))
        assert np.array_equal(frames[1], base[1]), address          # frames before the control stay
        assert not np.array_equal(frames[3], base[3]), address      # the control shows


def test_bad_controls_leave_the_performance_alone(tiny_models, tmp_path):
    tl = parse_timeline(TIMELINE.format(interp="linear", noise="fixed"))
    lf = LiveFrames(tl, get_model(tl.model), workdir=tmp_path)
    lf.perf.ensure(4)
    before = list(lf.perf.keys)
    for address, args in [("/studio/keyframe", [9]), ("/studio/rotate", [3.0]), ("/studio/translate", [0.1, 0.0]),
                          ("/studio/direction/bogus", [1.0])]:
        with pytest.raises(ControlError):
            lf.perf.apply(2, parse_control(address, args))
    assert [t for t, _ in lf.perf.keys[:len(before)]] == [t for t, _ in before][:len(lf.perf.keys)]
    for address, args in [("/nope", [1]), ("/studio/seed", ["x"]), ("/studio/seed", [1.5]),
                          ("/studio/truncation", []), ("/studio/truncation", [float("nan")]),
                          ("/studio/truncation", [5.0])]:
        with pytest.raises(ControlError):
            parse_control(address, args)


def test_stylegan3_camera_controls_record_exactly(tmp_path, one_torch_thread):
    from types import SimpleNamespace

    from ganlib.networks.stylegan3 import Generator
    kw = {**S.NV_CONFIGS["t"], "img_resolution": 16}  # a 16 px StyleGAN3 like the fixtures, built in memory
    G = Generator(**S.ganlib_kwargs(kw)).eval().requires_grad_(False)
    G.load_state_dict(S.random_sg3_state(kw, S.WEIGHT_SEEDS["t"]))
    model = SimpleNamespace(G=G)
    tl = parse_timeline("model: sg3.pkl\nfps: 10\nsize: 32\ninterpolation: linear\nkeyframes:\n"
                        "  - {time: 0, seed: 1, rotate: 0}\n  - {time: 0.5, seed: 2, rotate: 20}\n")
    events = {1: [("/studio/translate", [0.2, -0.1])], 2: [("/studio/rotate", [45.0])]}
    lf, played = play(tl, events, 4, tmp_path, model)
    assert not np.array_equal(played[1], played[0])
    out = write_recording(lf.perf.close(3), tmp_path / "take.yaml", [])
    lf.close()
    rec = load_timeline(out)
    assert rec.keyframes[-1].rotate == 45.0 and rec.keyframes[-1].translate == [0.2, -0.1]
    offline = [f for _, f in iter_frames(rec, model, batch=1)]
    assert all(np.array_equal(a, b) for a, b in zip(played, offline)) and len(offline) == 4


def test_noise_strength_keyframes_scale_the_noise(tiny_models):
    def first(extra: str) -> np.ndarray:
        tl = parse_timeline(f"model: builtin:tiny\nfps: 10\nnoise: random\nkeyframes:\n  - {{time: 0, seed: 1{extra}}}\n"
                            f"  - {{time: 1, seed: 2{extra}}}\n")
        return [f for _, f in iter_frames(tl, get_model(tl.model), stop=3, batch=4)]
    plain, one, none = first(""), first(", noise_strength: 1"), first(", noise_strength: 0")
    assert all(np.array_equal(a, b) for a, b in zip(plain, one))
    assert not np.array_equal(plain[1], none[1])
    with pytest.raises(Exception, match="noise_strength"):
        parse_timeline("keyframes:\n  - {time: 0, seed: 1, noise_strength: 11}\n")


def test_user_direction_files_are_checked(tiny_models, tmp_path):
    from ganlib.errors import UserError
    G = get_model("builtin:tiny").G
    two = tmp_path / "two.npy"
    np.save(two, np.random.RandomState(1).randn(2, G.w_dim))
    dirs = load_user_directions(G, parse_direction_specs([f"pair={two}"]))
    assert sorted(dirs) == ["pair0", "pair1"]
    np.save(tmp_path / "bad.npy", np.ones(G.w_dim + 1))
    np.save(tmp_path / "zero.npy", np.zeros(G.w_dim))
    for spec, msg in [("nofile", "NAME=FILE"), ("sefa0=x.npy", "SeFa"), (f"b={tmp_path / 'bad.npy'}", "shape"),
                      (f"z={tmp_path / 'zero.npy'}", "all zeros"), (f"m={tmp_path / 'missing.npy'}", "not found")]:
        with pytest.raises(UserError, match=msg):
            load_user_directions(G, parse_direction_specs([spec]))
