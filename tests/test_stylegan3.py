"""StyleGAN3 (configs T and R): shapes and num_ws, the filtered leaky ReLU against a direct computation in float64,
outputs of NVlabs-layout sg3_pickles against images NVlabs' own code rendered (tests/fixtures/README.md), camera moves,
safe loading, convert and info."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ckpt_helpers as H
import sg3_helpers as S
from ganlib.checkpoints import load_generator
from ganlib.errors import CheckpointError
from ganlib.networks import build_generator
from ganlib.networks.stylegan3 import transforms_for
from ganlib.networks.stylegan3_layers import design_lowpass_filter, input_transform
from ganlib.ops.filtered_lrelu import filtered_lrelu, filtered_lrelu_ref

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FIXTURES = Path(__file__).parent / "fixtures"


def render_u8(G, seed: int, psi: float, cls: int, translate=(0.0, 0.0), rotate=0.0) -> np.ndarray:
    """One image as gen_images.py makes it: [H, W, 3] uint8."""
    z = torch.from_numpy(H.seed_z(seed, G.z_dim)).float()
    c = torch.zeros([1, G.c_dim])
    if G.c_dim:
        c[:, cls] = 1
    with torch.no_grad():
        img = G(z, c, truncation_psi=psi, noise_mode="const", transform=transforms_for([translate], [rotate], 1))
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()


# ------------------------------------------------------------------------------------------------ architecture
@pytest.mark.parametrize("res", [64, 128])
@pytest.mark.parametrize("radial", [False, True])
def test_shapes_and_num_ws(res, radial):
    extra = dict(conv_kernel=1, use_radial_filters=True) if radial else {}
    G = build_generator("stylegan3", dict(z_dim=8, w_dim=8, img_resolution=res, img_channels=3,
                                          synthesis_kwargs=dict(channel_base=1024, channel_max=4, **extra))).eval()
    assert G.num_ws == 16 == G.synthesis.num_layers + 2
    assert G.config == ("stylegan3-r" if radial else "stylegan3-t")
    layers = G.synthesis.layers()
    assert len(layers) == 15 and layers[-1].is_torgb and layers[-1].out_size == res
    assert all(layer.conv_kernel == (1 if radial or layer.is_torgb else 3) for layer in layers)
    # radial (2-D) downsampling filters exactly where config R asks for them: not in critically sampled layers
    assert [layer.down_filter is not None and layer.down_filter.ndim == 2 for layer in layers] == \
        [radial and not layer.is_critically_sampled and layer.down_filter is not None for layer in layers]
    ws = G.mapping(torch.randn(2, 8), None)
    assert ws.shape == (2, 16, 8)
    with torch.no_grad():
        img = G.synthesis(ws)
    assert img.shape == (2, 3, res, res) and torch.isfinite(img).all()
    assert G.synthesis.noise_shapes() == []


def test_building_does_not_import_dynamo():
    """build_generator sizes the model on torch's meta device first; ops such as torch.eye or a norm on meta
    tensors run torch's Python refs, whose first use imports torch._dynamo (over a second of every SG3 load).
    A fresh interpreter checks that neither build pulls it in."""
    code = ("import sys; from ganlib.networks import build_generator; "
            "build_generator('stylegan3', dict(z_dim=8, w_dim=8, img_resolution=16, img_channels=3, "
            "synthesis_kwargs=dict(channel_base=1024, channel_max=4))); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_state_dict_names_follow_nvlabs():
    G = build_generator("stylegan3", S.ganlib_kwargs(S.NV_CONFIGS["t"]))
    names = set(G.state_dict())
    for want in ("mapping.fc0.weight", "mapping.fc1.bias", "mapping.w_avg", "synthesis.input.weight",
                 "synthesis.input.affine.weight", "synthesis.input.transform", "synthesis.input.freqs",
                 "synthesis.input.phases", "synthesis.L0_36_16.magnitude_ema", "synthesis.L0_36_16.up_filter",
                 "synthesis.L0_36_16.down_filter", "synthesis.L14_64_3.affine.bias", "synthesis.L14_64_3.weight"):
        assert want in names
    assert "synthesis.L14_64_3.up_filter" not in names  # to-RGB: identity filters are None, as in NVlabs


def test_magnitude_ema_tracks_input_mean_square():
    G = build_generator("stylegan3", S.ganlib_kwargs(S.NV_CONFIGS["t"]))
    layer = G.synthesis.layers()[0]
    layer.magnitude_ema_beta = 0.0
    x = torch.randn(2, layer.in_channels, layer.in_size, layer.in_size) * 3
    layer(x, torch.randn(2, G.w_dim), update_emas=True)
    assert float(layer.magnitude_ema) == pytest.approx(float(x.square().mean()), rel=1e-5)


# ------------------------------------------------------------------------------------------- filtered lrelu
def _direct(x, fu, fd, b, up, down, padding, gain, slope, clamp):
    """Upsample → bias/act → downsample written out directly with 2-D convolutions (float64)."""
    c = x.shape[1]
    x = x + b.reshape(1, -1, 1, 1)
    n, _, h, w = x.shape
    z = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    z[:, :, ::up, ::up] = x
    px0, px1, py0, py1 = padding
    z = F.pad(z, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    z = z[:, :, max(-py0, 0): z.shape[2] - max(-py1, 0), max(-px0, 0): z.shape[3] - max(-px1, 0)]
    k_up = (torch.outer(fu, fu) if fu.ndim == 1 else fu) * up ** 2
    z = F.conv2d(z, k_up.flip([0, 1])[None, None].repeat(c, 1, 1, 1), groups=c)
    z = F.leaky_relu(z, slope) * gain
    if clamp is not None:
        z = z.clamp(-clamp, clamp)
    k_down = torch.outer(fd, fd) if fd.ndim == 1 else fd
    z = F.conv2d(z, k_down.flip([0, 1])[None, None].repeat(c, 1, 1, 1), groups=c)
    return z[:, :, ::down, ::down]


@pytest.mark.parametrize("radial,up,down,clamp", [(False, 2, 2, None), (True, 2, 2, 0.5), (False, 4, 2, 1.0),
                                                 (False, 2, 1, None), (True, 1, 2, None)])
def test_filtered_lrelu_matches_direct_float64(radial, up, down, clamp):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 11, 11, generator=g, dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64) * 0.3
    fu = design_lowpass_filter(6 * up, cutoff=3.0, width=4.0, fs=16 * up).double()
    fd = design_lowpass_filter(6 * max(down, 2), cutoff=3.0, width=4.0, fs=16 * up, radial=radial).double()
    padding = [7, 6, 5, 8]
    want = _direct(x, fu, fd, b, up, down, padding, math.sqrt(2), 0.2, clamp)
    for op in (filtered_lrelu, filtered_lrelu_ref):  # the fast ordering and the reference one
        got = op(x, fu, fd, b=b, up=up, down=down, padding=padding, gain=math.sqrt(2), slope=0.2, clamp=clamp)
        assert got.dtype == torch.float64 and got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-12, rtol=0), op.__name__


def test_filters_are_the_designed_lowpass():
    f = design_lowpass_filter(12, cutoff=4.0, width=6.0, fs=32)
    assert f.shape == (12,) and float(f.sum()) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(f, f.flip(0))  # linear phase
    r = design_lowpass_filter(12, cutoff=4.0, width=6.0, fs=32, radial=True)
    assert r.shape == (12, 12) and torch.allclose(r, r.t()) and float(r.sum()) == pytest.approx(1.0, abs=1e-6)
    assert design_lowpass_filter(1, 4.0, 6.0, 32) is None
    # the stopband is attenuated: response at 3/4 of the Nyquist rate
    freq = np.fft.rfft(f.double().numpy(), 256)
    assert abs(freq[int(256 * 12 / 32)]) < 0.05


# ------------------------------------------------------------------------------------------ NVlabs parity
@pytest.mark.parametrize("config", list(S.NV_CONFIGS))
def test_matches_nvlabs_images(sg3_pickles, sg3_expected, config):
    """Same seed, class, truncation, translate and rotate: the PNG pixels NVlabs' code made, within 1/255."""
    m = load_generator(sg3_pickles[config])
    assert m.format == "nvlabs-pkl" and m.arch == "stylegan3"
    assert m.G.config == ("stylegan3-r" if config == "r" else "stylegan3-t")
    for case in S.CASES:
        got = render_u8(m.G, case[0], case[1], case[2], case[3], case[4])
        want = sg3_expected[S.case_key(config, case)]
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, S.case_key(config, case)
    # the transform matters: a moved camera gives another picture
    a = sg3_expected[S.case_key(config, S.CASES[1])].astype(int)
    b = sg3_expected[S.case_key(config, S.CASES[2])].astype(int)
    assert np.abs(a - b).max() > 10


def test_rotation_of_360_degrees_returns_to_start(sg3_pickles):
    G = load_generator(sg3_pickles["r"]).G
    start = render_u8(G, 5, 0.8, 0, (0.1, 0.0), 0.0)
    assert np.abs(render_u8(G, 5, 0.8, 0, (0.1, 0.0), 360.0).astype(int) - start.astype(int)).max() <= 1
    assert np.abs(render_u8(G, 5, 0.8, 0, (0.1, 0.0), 180.0).astype(int) - start.astype(int)).max() > 10


def test_transform_buffer_and_argument_agree(sg3_pickles):
    G = load_generator(sg3_pickles["t"]).G
    z = torch.from_numpy(H.seed_z(2, G.z_dim)).float()
    with torch.no_grad():
        by_arg = G(z, transform=torch.from_numpy(input_transform((0.2, 0.1), 15.0)).float())
        G.synthesis.input.transform.copy_(torch.from_numpy(input_transform((0.2, 0.1), 15.0)))
        by_buffer = G(z)
        G.synthesis.input.transform.copy_(torch.eye(3))
    assert torch.allclose(by_arg, by_buffer, atol=1e-6)


def test_helper_pickle_has_upstream_structure(sg3_pickles):
    real = json.loads((FIXTURES / "nvlabs_real_globals.json").read_text())["globals"]["sg3_t_64"]
    assert H.pickle_globals(Path(sg3_pickles["t"]).read_bytes()) <= set(real)
    from ganlib.checkpoints import nvlabs
    assert set(real) <= {f"{m}.{n}" for m, n in nvlabs.allowed_globals()}


# ------------------------------------------------------------------------------------------------ safety
class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_sg3_pickle_with_os_system_payload_is_refused(tmp_path):
    canary = tmp_path / "canary"
    kw = S.NV_CONFIGS["t"]
    path = S.write_sg3_pickle(tmp_path / "clean.pkl", kw, S.random_sg3_state(kw, 1))
    # the same snapshot with a payload hidden in the generator's settings
    import io
    from ganlib.networks.stylegan3 import Generator
    G = Generator(**S.ganlib_kwargs(kw)).eval()
    top = {id(G): H._easy(dict(kw, channel_base=_Call(os.system, f"touch {canary}")))}
    buf = io.BytesIO()
    with H.fake_modules(torch_utils__persistence={"_reconstruct_persistent_obj": H._reconstruct_persistent_obj},
                        dnnlib__util={"EasyDict": H.EasyDict}):
        H._NVlabsPickler(buf, top, "# stand-in\n").dump({"G_ema": G, "G": None, "D": None})
    bad = tmp_path / "sg3_payload.pkl"
    bad.write_bytes(buf.getvalue())
    assert load_generator(path).arch == "stylegan3"
    with pytest.raises(CheckpointError, match="system") as err:
        load_generator(bad)
    assert "sg3_payload.pkl" in str(err.value)
    assert not canary.exists()


# ------------------------------------------------------------------------------------------ convert and info
def test_convert_and_info(sg3_pickles, tmp_path, capsys):
    from studio.cli import main
    dst = tmp_path / "r.safetensors"
    assert main(["convert", str(sg3_pickles["r"]), str(dst)]) == 0
    m = load_generator(dst)
    assert m.arch == "stylegan3" and m.format == "latent-studio" and m.provenance["source_repo"] == "stylegan3"
    a = render_u8(m.G, 3, 0.7, 0, (0.3, -0.2), 0.0)
    b = render_u8(load_generator(sg3_pickles["r"]).G, 3, 0.7, 0, (0.3, -0.2), 0.0)
    assert np.array_equal(a, b)
    capsys.readouterr()
    assert main(["info", str(sg3_pickles["r"])]) == 0
    assert "stylegan3-r" in capsys.readouterr().out
    assert main(["info", str(dst), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "stylegan3-r" and info["num_ws"] == 16


# ------------------------------------------------------------------------------------------------ precision
def test_fp16_layers_on_request_stay_close(sg3_pickles):
    G = load_generator(sg3_pickles["t"]).G
    ws = G.mapping(torch.from_numpy(H.seed_z(1, G.z_dim)).float(), None)
    with torch.no_grad():
        full = G.synthesis(ws)
        assert torch.equal(full, G.synthesis(ws, precision="float32"))  # CPU 'auto' is fp32, as NVlabs runs it
        half = G.synthesis(ws, precision="float16")
    assert half.dtype == torch.float32 and 0 < (half - full).abs().max() < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fp32_matches_nvlabs_and_fp16_layers_run_half(sg3_pickles, sg3_expected):
    m = load_generator(sg3_pickles["t"], device="cuda")
    G = m.G
    seed, psi, cls, tr, rot = S.CASES[2]
    z = torch.from_numpy(H.seed_z(seed, G.z_dim)).float().cuda()
    with torch.no_grad():
        ws = G.mapping(z, None, truncation_psi=psi)
        t = transforms_for([tr], [rot], 1, device="cuda")
        fp32 = G.synthesis(ws, transform=t, force_fp32=True)
        fp16 = G.synthesis(ws, transform=t)
    px = (fp32.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].cpu().numpy().astype(int)
    assert np.abs(px - sg3_expected[S.case_key("t", S.CASES[2])].astype(int)).max() <= 1
    assert any(layer.use_fp16 for layer in G.synthesis.layers())
    assert 0 < (fp16 - fp32).abs().max() < 0.05
