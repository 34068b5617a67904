"""StyleGAN3 through the studio: ``studio random``/``grid`` with --translate/--rotate (NVlabs' gen_images.py
pixels), camera keyframes on the timeline (eased like truncation, loops that close), ``stabilize``, mixing and
slider directions on StyleGAN3, and clear errors for camera fields on a StyleGAN2 model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import sg3_helpers as S
from ganlib.checkpoints import load_generator
from ganlib.errors import UserError
from ganlib.synth import generate, map_z, seeds_to_z, synthesize, truncate
from studio.cli import main
from studio.engine import plan_frames
from studio.errors import TimelineError
from studio.render import iter_frames
from studio.timeline import parse_timeline, timeline_to_yaml

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def timeline(model: Path, body: str, header: str = "") -> object:
    return parse_timeline(f"model: {model}\nfps: 4\nspace: w\ninterpolation: linear\n{header}keyframes:\n{body}",
                          source="t.yaml")


# ---------------------------------------------------------------------------------------- random and grid
@pytest.mark.parametrize("config", ["t_cond", "r"])
def test_random_translate_rotate_gives_nvlabs_pixels(sg3_pickles, sg3_expected, config, tmp_path):
    seed, psi, cls, (tx, ty), rot = S.CASES[3]
    out = tmp_path / "pngs"
    args = ["random", "--network", str(sg3_pickles[config]), "--seeds", str(seed), "--trunc", str(psi),
            "--translate", f"{tx},{ty}", "--rotate", str(rot), "--noise-mode", "const", "--out", str(out), "--quiet"]
    if config == "t_cond":
        args += ["--class", str(cls)]
    assert main(args) == 0
    png = np.asarray(Image.open(out / f"seed{seed:04d}.png")).astype(int)
    assert np.abs(png - sg3_expected[S.case_key(config, S.CASES[3])].astype(int)).max() <= 1


def test_grid_accepts_camera_moves(sg3_pickles, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["grid", "--model", str(sg3_pickles["t"]), "--seeds", "0-1", "--out", str(a)]) == 0
    assert main(["grid", "--model", str(sg3_pickles["t"]), "--seeds", "0-1", "--rotate", "45", "--translate", "0.2,0",
                 "--out", str(b)]) == 0
    sa, sb = np.asarray(Image.open(a)).astype(int), np.asarray(Image.open(b)).astype(int)
    assert sa.shape == sb.shape and np.abs(sa - sb).max() > 10


def test_camera_options_on_stylegan2_name_the_option(tiny_models, tmp_path, capsys):
    assert main(["random", "--model", "builtin:tiny", "--seeds", "0", "--rotate", "10", "--out",
                 str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--rotate" in err and "StyleGAN3" in err and "Traceback" not in err
    assert main(["grid", "--model", "builtin:tiny", "--translate", "1,x", "--out", str(tmp_path / "g.png")]) == 2
    assert "--translate" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- timeline
def test_camera_keyframes_are_eased_like_truncation(sg3_pickles):
    tl = timeline(sg3_pickles["t"], "  - {time: 0, seed: 1, truncation: 0.5, ease: in-out}\n"
                                "  - {time: 2, seed: 2, truncation: 1.0, rotate: 90, translate: [0.4, -0.2]}\n")
    G = load_generator(sg3_pickles["t"]).G
    anchors = [map_z(G, seeds_to_z([s], G.z_dim))[0].double().numpy() for s in (1, 2)]
    plan = plan_frames(tl, anchors)
    share = (plan.truncation - 0.5) / 0.5
    assert np.allclose(plan.rotate / 90, share) and np.allclose(plan.translate / [0.4, -0.2], share[:, None])
    assert 0 < share[2] < 0.5 and share[-1] == 1.0   # eased in-out, and the last keyframe is reached
    # round trip through YAML
    text = timeline_to_yaml(tl)
    assert "rotate: 90" in text and parse_timeline(text, source="t.yaml") == tl


def test_rotate_timeline_renders_and_loops(sg3_pickles):
    tl = timeline(sg3_pickles["r"], "  - {time: 0, seed: 3, rotate: 0}\n  - {time: 1, seed: 3, rotate: 180}\n",
                  header="loop: true\nduration: 2\n")
    G = load_generator(sg3_pickles["r"]).G
    anchor = map_z(G, seeds_to_z([3], G.z_dim))[0].double().numpy()
    plan = plan_frames(tl, [anchor, anchor])
    assert plan.rotate.tolist() == [0, 45, 90, 135, 180, 135, 90, 45]   # back towards the start: no pop
    frames = [f for _, f in iter_frames(tl, load_generator(sg3_pickles["r"]), batch=8)]
    assert len(frames) == 8
    first, last, middle = (frames[i].astype(int) for i in (0, 7, 4))
    assert np.abs(last - first).mean() < np.abs(middle - first).mean()
    # the frame after the last would be the first again: rendering rotate 0 reproduces frame 0
    tl0 = timeline(sg3_pickles["r"], "  - {time: 0, seed: 3}\n", header="duration: 0.25\n")
    (_, again), = list(iter_frames(tl0, load_generator(sg3_pickles["r"]), stop=1, batch=1))
    assert np.abs(again.astype(int) - first).max() <= 1


def test_stabilize_takes_the_input_transform_at_w_avg(sg3_pickles):
    G = load_generator(sg3_pickles["t"]).G
    z = seeds_to_z([1, 2], G.z_dim)
    got = generate(G, z, psi=0.8, stabilize=True)
    ws = truncate(G, map_z(G, z), 0.8)
    ws[:, 0] = G.mapping.w_avg
    assert torch.allclose(got, synthesize(G, ws), atol=1e-6)
    assert not torch.allclose(got, generate(G, z, psi=0.8), atol=1e-3)
    tl = timeline(sg3_pickles["t"], "  - {time: 0, seed: 1}\n  - {time: 0.5, seed: 2}\n", header="stabilize: true\n")
    frames = [f for _, f in iter_frames(tl, load_generator(sg3_pickles["t"]), batch=4)]
    want = generate(G, z[1:], psi=1.0, stabilize=True)
    px = (want.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy().astype(int)
    assert np.abs(frames[-1].astype(int) - px).max() <= 1


def test_mixing_and_directions_work_on_stylegan3(sg3_pickles):
    tl = timeline(sg3_pickles["t"], "  - {time: 0, seed: 1, mix: {seed: 5, layers: '8-'}, directions: {sefa0: 2}}\n"
                                "  - {time: 0.5, seed: 2, rotate: 30}\n")
    frames = [f for _, f in iter_frames(tl, load_generator(sg3_pickles["t"]), batch=4)]
    assert len(frames) == 3 and frames[0].shape == (64, 64, 3)  # 0.5 s at 4 fps, both ends
    plain = timeline(sg3_pickles["t"], "  - {time: 0, seed: 1}\n  - {time: 0.5, seed: 2, rotate: 30}\n")
    (_, f0), = list(iter_frames(plain, load_generator(sg3_pickles["t"]), stop=1, batch=1))
    assert np.abs(frames[0].astype(int) - f0.astype(int)).max() > 5


def test_camera_fields_on_stylegan2_are_a_clear_error(tiny_models):
    from studio.resolve import resolve_keyframes
    G = load_generator("builtin:tiny").G
    tl = parse_timeline("model: builtin:tiny\nkeyframes:\n  - {time: 0, seed: 1}\n"
                        "  - {time: 1, seed: 2, translate: [0.1, 0]}\n", source="t.yaml")
    with pytest.raises(TimelineError) as err:
        resolve_keyframes(tl, G)
    assert "keyframes[1].translate" in str(err.value) and "t.yaml:4" in str(err.value)
    tl = parse_timeline("model: builtin:tiny\nstabilize: true\nkeyframes:\n  - {time: 0, seed: 1}\n", source="s.yaml")
    with pytest.raises(TimelineError, match="stabilize"):
        resolve_keyframes(tl, G)
    with pytest.raises(UserError, match="rotate"):
        generate(G, seeds_to_z([0], G.z_dim), rotate=[10.0])


def test_bad_camera_values_name_the_field():
    for bad, field in (("translate: [1]", "translate"), ("rotate: .inf", "rotate"), ("translate: [0, x]", "translate")):
        with pytest.raises(TimelineError, match=field):
            parse_timeline(f"keyframes:\n  - {{time: 0, seed: 1, {bad}}}\n", source="t.yaml")


def test_ui_gallery_preview_and_sliders_on_stylegan3(sg3_pickles):
    from studio.directions import model_directions
    from studio.ui.imaging import model_summary, preview_frame, seed_gallery
    m = load_generator(sg3_pickles["t"])
    gallery = seed_gallery(m, [0, 1], truncation=0.7)
    assert [cap for _, cap in gallery] == ["seed 0", "seed 1"] and gallery[0][0].shape == (64, 64, 3)
    md = model_directions(m.G)
    assert md.directions.shape == (8, m.G.w_dim) and md.step > 0
    tl = timeline(sg3_pickles["t"], "  - {time: 0, seed: 1, directions: {sefa1: 1.5}}\n  - {time: 1, seed: 1, rotate: 60}\n")
    a, b = preview_frame(tl, m, 0), preview_frame(tl, m, 4)
    assert a.shape == b.shape == (64, 64, 3) and np.abs(a.astype(int) - b.astype(int)).max() > 10
    assert "stylegan3" in model_summary(m) and "16 layers" in model_summary(m)


def test_ui_edits_keep_the_camera_fields():
    from studio.ui.state import update_keyframe
    tl = parse_timeline("stabilize: true\nkeyframes:\n  - {time: 0, seed: 1, rotate: 30, translate: [0.1, 0.2]}\n"
                        "  - {time: 1, seed: 2}\n", source="t.yaml")
    edited, i = update_keyframe(tl, 0, seed=7, truncation=0.6)
    kf = edited.keyframes[i]
    assert (kf.seed, kf.rotate, kf.translate, edited.stabilize) == (7, 30.0, [0.1, 0.2], True)
