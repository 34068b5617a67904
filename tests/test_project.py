"""Projection (ganlib.projection) and ``studio project``: recovery, determinism, outputs and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import make_tiny_stylegan2, run_cli
from ganlib import synth
from ganlib.projection import fit_to_model, make_config, project, psnr
from ganlib.projection.optimize import w_statistics

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_stylegan2(0)[0]


def _save(path, arr):
    Image.fromarray(arr).save(path)
    return path


def test_generated_target_is_recovered(tiny):
    target = synth.seed_batch(tiny, [3])[0]
    w_avg, _ = w_statistics(tiny, None, 2000)
    start = synth.to_uint8(synth.generate(tiny, w_avg.repeat(1, tiny.num_ws, 1).double().numpy(), space="w"))[0]
    p = project(tiny, target, make_config("pixel+ms", steps=40), progress=False)
    assert p.latent.shape == (1, tiny.num_ws, tiny.w_dim) and p.key == "w"
    # a random-weight 32 px network: 12 dB at w_avg, 16.5 after 40 steps (the default model: 28+ dB, benchmarks)
    assert p.losses["psnr"] > 15 and p.losses["psnr"] > psnr(start, target) + 4
    assert p.losses["psnr"] == pytest.approx(psnr(p.image, target))
    assert len(p.history) == 40 and p.history[-1] < p.history[0]


def test_same_seed_same_projection(tiny):
    target = synth.seed_batch(tiny, [7])[0]
    cfg = make_config("pixel", steps=6, noise="optimise", space="w", seed=11)
    a, b = (project(tiny, target, cfg, progress=False) for _ in range(2))
    assert np.array_equal(a.latent, b.latent) and np.array_equal(a.image, b.image) and a.history == b.history
    c = project(tiny, target, make_config("pixel", steps=6, noise="optimise", space="w", seed=12), progress=False)
    assert not np.array_equal(a.latent, c.latent)  # the seed drives the w jitter
    assert a.latent.shape == (1, tiny.num_ws, tiny.w_dim) and np.ptp(a.latent[0], axis=0).max() == 0  # one w


def test_inception_term_and_frames(tiny):
    from ganlib.metrics.inception import inception_available
    if not inception_available():
        pytest.skip("no Inception network installed")
    target = synth.seed_batch(tiny, [2])[0]
    frames = []
    p = project(tiny, target, make_config("inception+pixel", steps=4, frame_every=2), progress=False,
                on_frame=lambda step, loss, f: frames.append((step, f)))
    assert "perceptual" in p.losses and p.losses["perceptual"] > 0
    assert [s for s, _ in frames] == [0, 2, 4] and np.array_equal(frames[-1][1], p.image)


def test_fit_to_model_crops_centre_and_converts():
    img = np.zeros((40, 100, 3), np.uint8)
    img[:, 30:70] = 255  # the centre 40x40 square is white
    out, note = fit_to_model(img, 16, 1)
    assert out.shape == (16, 16, 1) and out.min() == 255
    assert "centre-cropped 100x40 to 40x40" in note and "resized 40x40 to 16x16" in note


def test_cli_outputs_render_through_a_timeline(tiny_models, tmp_path):
    from studio.engine import plan_frames
    from studio.render import get_model
    from studio.resolve import resolve_keyframes
    from studio.timeline import load_timeline
    G = get_model("builtin:tiny").G
    a = _save(tmp_path / "a.png", synth.seed_batch(G, [1])[0])
    b = _save(tmp_path / "b.jpg", np.asarray(Image.fromarray(synth.seed_batch(G, [2])[0]).resize((48, 30))))
    out, tl_path = tmp_path / "out", tmp_path / "t.yaml"
    code, stdout, err = run_cli("project", str(a), str(b), "--model", "builtin:tiny", "--out", str(out),
                                "--steps", "4", "--timeline", str(tl_path), "--seconds", "2", "--loop", "--quiet")
    assert code == 0, err
    assert "centre-cropped 48x30 to 30x30" in stdout and "resized 30x30 to 32x32" in stdout
    for stem in ("a", "b"):
        assert (out / f"{stem}.mp4").stat().st_size > 0
        with np.load(out / f"{stem}.npz", allow_pickle=False) as z:
            assert z["w"].shape == (1, G.num_ws, G.w_dim) and z["w"].dtype == np.float32
            assert "psnr" in str(z["losses"]) and '"steps": 4' in str(z["settings"])
    tl = load_timeline(tl_path)
    assert tl.loop and tl.keyframe_times == [0.0, 2.0] and tl.space == "w"
    resolved = resolve_keyframes(tl, G)
    plan = plan_frames(tl, resolved.anchors, resolved.conds, stop=int(2 * tl.fps) + 1,
                       truncations=resolved.truncations)
    for stem, frame in (("a", 0), ("b", int(2 * tl.fps))):
        rendered = synth.to_uint8(synth.generate(G, plan.latents[frame:frame + 1], space="w",
                                                 psi=plan.truncation[frame:frame + 1]))[0]
        png = np.asarray(Image.open(out / f"{stem}.png"))
        assert png.shape == (32, 64, 3)
        assert np.array_equal(png[:, 32:], rendered)  # the keyframe renders what the PNG shows


def _tiny_dcgan(path):
    from ganlib.checkpoints import save_generator
    from ganlib.networks.dcgan import DCGANGenerator
    kw = dict(z_dim=8, img_resolution=16, ngf=4)
    save_generator(path, DCGANGenerator(**kw).eval(), "dcgan", kw, {"trained_by": "tests"})
    return path


def test_z_only_model_optimises_z(tmp_path):
    model = _tiny_dcgan(tmp_path / "dc.safetensors")
    img = _save(tmp_path / "x.png", np.full((20, 20, 3), 90, np.uint8))
    code, stdout, err = run_cli("project", str(img), "--model", str(model), "--out", str(tmp_path / "o"),
                                "--steps", "3", "--quiet", "--no-video")
    assert code == 0, err
    assert "no w space: optimising z" in stdout
    with np.load(tmp_path / "o" / "x.npz", allow_pickle=False) as z:
        assert z["z"].shape == (1, 8) and "w" not in z.files


@pytest.mark.parametrize("case", ["not-an-image", "w+-on-z-model", "empty-folder", "nothing", "missing"])
def test_bad_input_is_one_line_and_exit_2(case, tiny_models, tmp_path):
    model = "builtin:tiny"
    if case == "not-an-image":
        bad = tmp_path / "notes.png"
        bad.write_text("hello")
        args = [str(bad)]
    elif case == "w+-on-z-model":
        model = str(_tiny_dcgan(tmp_path / "dc.safetensors"))
        args = [str(_save(tmp_path / "x.png", np.zeros((16, 16, 3), np.uint8))), "--space", "w+"]
    elif case == "empty-folder":
        (tmp_path / "empty").mkdir()
        args = [str(tmp_path / "empty")]
    elif case == "missing":
        args = [str(tmp_path / "nope.jpg")]
    else:
        args = []
    code, stdout, err = run_cli("project", *args, "--model", model, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    expected = {"not-an-image": "notes.png: not an image", "w+-on-z-model": "no w space",
                "empty-folder": "has no images", "nothing": "no images given", "missing": "nope.jpg: image not found"}
    assert expected[case] in lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
