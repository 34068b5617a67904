"""ganlib.synth, the one generation path: NVlabs fidelity (seed → z, truncation, style mixing, pixels), the
Generator protocol, conditioning, noise, precision as a per-call argument (thread-safe on a shared model), the model
cache, and 1-/4-channel generators in every command."""
from __future__ import annotations

import threading
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib import synth
from ganlib.checkpoints import load_generator, save_generator
from ganlib.networks.precision import block_precisions
from ganlib.networks.stylegan2 import Generator
from tests.conftest import make_tiny_stylegan2, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(**synthesis_kwargs):
    torch.manual_seed(0)
    G = Generator(z_dim=16, w_dim=16, img_resolution=32, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=256, channel_max=16, **synthesis_kwargs)).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
            if ".torgb." in name and name.endswith("weight") and "affine" not in name:
                p.mul_(0.2)
    return G


def _flags(G):
    return [(b.use_fp16, b.channels_last,
             [layer.conv_clamp for layer in (getattr(b, "conv0", None), b.conv1, b.torgb) if layer is not None])
            for b in G.synthesis.blocks()]


# ------------------------------------------------------------------------------------------ NVlabs fidelity
def test_seed_to_z_is_nvlabs_randomstate():
    for seed in (0, 3, 2 ** 32 - 1):
        assert np.array_equal(synth.seed_to_z(seed, 7), np.random.RandomState(seed).randn(1, 7)[0])
    assert np.array_equal(synth.seeds_to_z([4, 5], 3), np.concatenate([np.random.RandomState(s).randn(1, 3)
                                                                         for s in (4, 5)]))


def test_random_matches_nvlabs_seed_convention(tiny_models, tmp_path):
    out = tmp_path / "imgs"
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "0,3,10-11", "--truncation", "0.7",
                           "--out", str(out), "--quiet")
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["seed0000.png", "seed0003.png", "seed0010.png", "seed0011.png"]
    G = load_generator("builtin:tiny").G
    z = torch.from_numpy(np.random.RandomState(3).randn(1, G.z_dim)).float()
    with torch.no_grad():
        img = G(z, None, truncation_psi=0.7, noise_mode="const")
    expect = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    got = np.asarray(Image.open(out / "seed0003.png"))
    assert np.array_equal(got, expect)


def test_pixels_are_nvlabs_for_any_channel_count():
    torch.manual_seed(1)
    for c in (1, 3, 4):
        img = torch.randn(2, c, 5, 6) * 1.5
        want = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        got = synth.to_uint8(img)
        assert got.shape == (2, 5, 6, c) and got.dtype == np.uint8
        assert np.array_equal(got, want)
    grey = synth.to_uint8(torch.zeros(1, 1, 2, 2))
    assert synth.to_rgb(grey).shape == (1, 2, 2, 3) and (synth.to_rgb(grey) == 128).all()
    rgba = np.arange(16, dtype=np.uint8).reshape(1, 2, 2, 4)
    assert np.array_equal(synth.to_rgb(rgba), rgba[..., :3])


def test_truncation_with_cutoff_is_the_mapping_networks():
    G, _ = make_tiny_stylegan2(3)
    z = synth.seeds_to_z([1, 2], G.z_dim)
    zt = torch.from_numpy(z).float()
    with torch.no_grad():
        want = G.mapping(zt, None, truncation_psi=0.6, truncation_cutoff=3)
        plain = G.mapping(zt, None)
    got = synth.truncate(G, synth.map_z(G, z), 0.6, cutoff=3)
    assert torch.equal(got, want) and torch.equal(got[:, 3:], plain[:, 3:])
    per_row = synth.truncate(G, plain, np.array([0.6, 1.0]))
    assert torch.allclose(per_row[0], G.mapping.w_avg.lerp(plain[0], 0.6), atol=1e-6)  # one psi per row
    assert torch.allclose(per_row[1], plain[1], atol=1e-6)


def test_style_mixing_uses_other_ws_for_chosen_layers():
    G, _ = make_tiny_stylegan2(7)
    with torch.no_grad():
        wa = G.mapping(torch.randn(1, G.z_dim), None)
        wb = G.mapping(torch.randn(1, G.z_dim), None)
    mixed = synth.mix_styles(wa, wb, range(4, G.num_ws))
    assert torch.equal(mixed[:, :4], wa[:, :4]) and torch.equal(mixed[:, 4:], wb[:, 4:])
    with torch.no_grad():
        ia, im = G.synthesis(wa, noise_mode="const"), G.synthesis(mixed, noise_mode="const")
    assert (ia - im).abs().max() > 1e-4
    rows = synth.mix_styles(wa[0].numpy(), wb[0].numpy(), [0, 2])  # numpy [num_ws, w_dim] (keyframe anchors)
    assert np.array_equal(rows[[0, 2]], wb[0, [0, 2]].numpy()) and np.array_equal(rows[1], wa[0, 1].numpy())
    assert synth.default_mix_layers(8) == [4, 5, 6, 7]


def test_noise_loop_closes(tiny_models):
    G = load_generator("builtin:tiny").G
    nm = synth.Noise(G, "loop", 5)
    a = nm.inputs(phases=np.array([0.0]))
    b = nm.inputs(phases=np.array([2 * np.pi]))
    for x, y in zip(a, b):
        assert torch.allclose(x, y, atol=1e-5)
    r1 = synth.Noise(G, "random").inputs(seeds=[3, 4])
    r2 = synth.Noise(G, "random").inputs(seeds=[4])
    assert all(torch.equal(x[1:], y) for x, y in zip(r1, r2))  # per-seed: repeatable, independent of the batch
    assert synth.Noise(G, "const").inputs(seeds=[1]) is None and synth.Noise(G, "none").noise_mode == "none"


# --------------------------------------------------------------------------------- protocol and conditioning
def test_protocol_and_cond_kind():
    from ganlib.networks.conditional import ConditionalGenerator
    from ganlib.networks.dcgan import DCGANGenerator
    G, _ = make_tiny_stylegan2(0, c_dim=3)
    cg = ConditionalGenerator(z_dim=8, img_resolution=16, img_channels=1, ngf=4, c_dim=5)
    dc = DCGANGenerator(z_dim=8, img_resolution=16, ngf=4)
    assert isinstance(G, synth.StyleGenerator) and isinstance(cg, synth.Generator)
    assert synth.has_w_space(G) and not synth.has_w_space(cg) and not synth.has_w_space(dc)
    assert [synth.cond_kind(m) for m in (G, cg, dc)] == ["label", "label", "none"]

    class Bare(torch.nn.Module):  # a module that does not say: c_dim > 0 means a one-hot label (NVlabs)
        z_dim, w_dim, num_ws, img_resolution, img_channels = 4, 0, 0, 8, 3

        def __init__(self, c_dim):
            super().__init__()
            self.c_dim = c_dim
    assert synth.cond_kind(Bare(2)) == "label" and synth.cond_kind(Bare(0)) == "none"
    assert np.array_equal(synth.condition(cg, 2), np.eye(5)[2]) and synth.condition(dc, None) is None
    with pytest.raises(Exception, match="out of range"):
        synth.condition(cg, 5, field="--class")


# ------------------------------------------------------------------------------------- precision per call
def test_fp16_checkpoint_runs_fp32_on_cpu_by_default():
    G = _gen(num_fp16_res=2, conv_clamp=256)
    ws = G.mapping(torch.randn(2, 16), None)
    with torch.no_grad():
        auto = G.synthesis(ws, noise_mode="const")
        forced = G.synthesis(ws, noise_mode="const", force_fp32=True)
        half = G.synthesis(ws, noise_mode="const", precision="float16")
    assert torch.equal(auto, forced)
    assert 0 < (half - auto).abs().max() < 0.05   # fp16 ran, and is close
    assert torch.equal(synth.synthesize(G, ws, precision="float16"), half)


def test_float16_plan_on_a_fp32_checkpoint_leaves_the_model_alone():
    G = _gen()
    before = _flags(G)
    assert not any(f[0] for f in before)
    plan = block_precisions(G.synthesis.blocks(), "float16", "cpu", channels_last=True)
    # the 4 highest resolutions (all but 4 px here: 8..32 → 3 blocks, 8 px is the floor) with clamp 256
    assert [p.fp16 for p in plan] == [False, True, True, True]
    assert [p.channels_last for p in plan] == [False, True, True, True]
    assert all(p.conv_clamp == 256 for p in plan)
    with torch.no_grad():
        img = G(torch.randn(1, 16), precision="float16", channels_last=True)
    assert torch.isfinite(img).all()
    assert _flags(G) == before
    assert not any(p.fp16 for p in block_precisions(G.synthesis.blocks(), "float32", "cuda"))
    with pytest.raises(ValueError):
        block_precisions(G.synthesis.blocks(), "int8", "cpu")


def test_two_threads_render_different_dtypes_on_the_same_cached_model(tiny_models, tmp_path):
    from studio.render import get_model, iter_frames
    from studio.timeline import parse_timeline
    tl = parse_timeline("model: builtin:tiny\nfps: 4\nkeyframes:\n  - {time: 0, seed: 1}\n  - {time: 1, seed: 2}\n",
                        source="t.yaml")
    model = get_model("builtin:tiny", "cpu")
    assert get_model("builtin:tiny", "cpu") is model
    want = {d: np.stack([f for _, f in iter_frames(tl, model, dtype=d, batch=1)]) for d in ("float32", "float16")}
    assert np.abs(want["float16"].astype(int) - want["float32"].astype(int)).max() > 0
    got: dict[str, list[np.ndarray]] = {"float32": [], "float16": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def job(dtype):
        try:
            start.wait()
            for _ in range(3):
                got[dtype].append(np.stack([f for _, f in iter_frames(tl, model, dtype=dtype, batch=1)]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=job, args=(d,)) for d in ("float32", "float16")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for d in ("float32", "float16"):
        assert all(np.array_equal(x, want[d]) for x in got[d]), d


def test_model_cache_is_keyed_by_the_resolved_file(tiny_models):
    from studio import render
    render._MODEL_CACHE.clear()
    a = render.get_model("builtin:tiny", "cpu")
    b = render.get_model(str(tiny_models / "tiny.safetensors"), "cpu")
    c = render.get_model(str(tiny_models / "." / "tiny.safetensors"), torch.device("cpu"))
    assert a is b is c and len(render._MODEL_CACHE) == 1
    assert render.get_model("builtin:tiny_cond", "cpu") is not a and len(render._MODEL_CACHE) == 2


def test_builtin_default_and_its_path_share_one_cache_key(monkeypatch):
    from ganlib.checkpoints import builtin_models_dir
    from studio.render import model_key
    monkeypatch.delenv("STUDIO_MODELS_DIR", raising=False)
    path = builtin_models_dir() / "default.safetensors"
    assert model_key("builtin:default") == model_key(str(path)) == model_key(str(path.parent / "." / path.name))
    assert model_key("builtin:default", "cpu") != model_key("builtin:default", "cuda")


# ----------------------------------------------------------------------------- 1- and 4-channel generators
@pytest.fixture()
def channel_models(tiny_models):
    """builtin:grey_cgan (a 1-channel 16 px cGAN, 3 classes) and builtin:rgba (a 4-channel StyleGAN2)."""
    from ganlib.networks.conditional import ConditionalGenerator
    torch.manual_seed(2)
    kw = dict(z_dim=8, img_resolution=16, img_channels=1, ngf=8, max_channels=16, c_dim=3, embed_dim=4)
    save_generator(tiny_models / "grey_cgan.safetensors", ConditionalGenerator(**kw).eval(), "cgan", kw)
    G, kw4 = make_tiny_stylegan2(4)
    kw4 = dict(kw4, img_channels=4)
    torch.manual_seed(4)
    save_generator(tiny_models / "rgba.safetensors", Generator(**kw4).eval(), "stylegan2", kw4)
    return tiny_models


@pytest.mark.parametrize("name,channels,extra", [("grey_cgan", 1, ["--class", "2"]), ("rgba", 4, [])])
def test_random_and_grid_with_1_and_4_channels(channel_models, tmp_path, name, channels, extra):
    out = tmp_path / "imgs"
    code, _, err = run_cli("random", "--model", f"builtin:{name}", "--seeds", "0-2", "--out", str(out), "--quiet",
                           "--device", "cpu", *extra)
    assert code == 0, err
    G = load_generator(f"builtin:{name}").G
    c = synth.condition(G, 2 if extra else None)
    want = synth.seed_batch(G, [0, 1, 2], conds=c)
    assert want.shape[-1] == channels
    for i in range(3):
        im = Image.open(out / f"seed{i:04d}.png")
        assert im.mode == {1: "L", 4: "RGBA"}[channels]
        got = np.asarray(im)
        assert np.array_equal(got.reshape(want[i].shape), want[i])
    z = tmp_path / "b.zip"
    code, _, err = run_cli("random", "--model", f"builtin:{name}", "--seeds", "0", "--out", str(z), "--quiet",
                           "--device", "cpu", *extra)
    assert code == 0, err
    with zipfile.ZipFile(z) as zf:
        with zf.open("seed0000.png") as fh:
            img = np.asarray(Image.open(fh))
    assert np.array_equal(img[..., 0] if img.ndim == 3 else img, want[0][..., 0])
    g = tmp_path / "grid.png"
    code, _, err = run_cli("grid", "--model", f"builtin:{name}", "--seeds", "0-3", "--out", str(g), "--device",
                           "cpu", *extra)
    assert code == 0, err
    sheet = np.asarray(Image.open(g))
    assert sheet.ndim == 3 and sheet.shape[2] == 3 and sheet.std() > 0


def _render_timeline(tmp_path, name, extra=""):
    tl = tmp_path / "t.yaml"
    tl.write_text(f"model: builtin:{name}\nfps: 4\n{extra}keyframes:\n  - {{time: 0, seed: 1}}\n"
                  f"  - {{time: 1, seed: 2}}\n")
    return tl


@pytest.mark.parametrize("name,channels,extra", [("grey_cgan", 1, "label: 1\n"), ("rgba", 4, "")])
def test_render_1_and_4_channels_to_png_and_mp4(channel_models, tmp_path, name, channels, extra):
    from studio.render import get_model, iter_frames
    from studio.timeline import load_timeline
    tl = _render_timeline(tmp_path, name, extra)
    frames = np.stack([f for _, f in iter_frames(load_timeline(tl), get_model(f"builtin:{name}"))])
    assert frames.shape[0] == 5 and frames.shape[-1] == channels
    code, _, err = run_cli("render", str(tl), "--frames", str(tmp_path / "png"), "--quiet", "--device", "cpu")
    assert code == 0, err
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert len(pngs) == 5
    for p, f in zip(pngs, frames):
        im = Image.open(p)
        if channels == 1:  # grey stays grey (as L, or as equal R=G=B until the sinks keep L)
            assert np.array_equal(np.asarray(im.convert("L")), f[..., 0])
        else:
            assert np.array_equal(np.asarray(im)[..., :3], f[..., :3])
    mp4 = tmp_path / "o.mp4"
    code, _, err = run_cli("render", str(tl), "--out", str(mp4), "--quiet", "--device", "cpu")
    assert code == 0, err
    assert mp4.stat().st_size > 0
