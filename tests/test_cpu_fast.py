"""The CPU inference fast path (ganlib/ops/fast_cpu.py) against the reference ops, in float64, and the whole
synthesis network against the reference path (STUDIO_OPS=ref)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlib.layers import SynthesisLayer, ToRGBLayer, fast_inference, modulated_conv2d
from ganlib.networks.stylegan2 import Generator
from ganlib.ops import fast_cpu
from ganlib.ops.bias_act import bias_act_ref
from ganlib.ops.upfirdn2d import setup_filter, upsample2d
from ganlib.synth import to_uint8

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("batch,up,fused", [(1, 1, True), (1, 2, True), (3, 1, False), (3, 2, False),
                                            (2, 2, True), (1, 1, False)])
def test_modulated_conv_lrelu_equals_reference_layer(batch, up, fused):
    g = _gen(batch * 10 + up)
    x = torch.randn(batch, 6, 5, 5, generator=g, dtype=F64)
    weight = torch.randn(4, 6, 3, 3, generator=g, dtype=F64)
    styles = torch.randn(batch, 6, generator=g, dtype=F64)
    noise = torch.randn(batch, 1, 5 * up, 5 * up, generator=g, dtype=F64) * 0.3
    bias = torch.randn(4, generator=g, dtype=F64)
    f = setup_filter([1, 3, 3, 1]).to(F64)
    gain, clamp = 2 ** 0.5 * 1.7, 1.5
    want = modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=1, resample_filter=f,
                            flip_weight=up == 1, fused_modconv=True)
    want = bias_act_ref(want, bias, act="lrelu", gain=gain, clamp=clamp)
    got = fast_cpu.modulated_conv_lrelu(x, weight, styles, up=up, f=f, noise=noise, bias=bias, gain=gain,
                                        alpha=0.2, clamp=clamp, fused=fused)
    assert got.shape == want.shape == (batch, 4, 5 * up, 5 * up)
    assert (got - want).abs().max().item() < 1e-12
    assert (want.abs() == clamp).any()  # the clamp was exercised


def test_modulated_torgb_equals_reference():
    g = _gen(3)
    x = torch.randn(2, 6, 4, 4, generator=g, dtype=F64)
    weight = torch.randn(3, 6, 1, 1, generator=g, dtype=F64)
    styles = torch.randn(2, 6, generator=g, dtype=F64)
    bias = torch.randn(3, generator=g, dtype=F64)
    want = bias_act_ref(modulated_conv2d(x, weight, styles, demodulate=False, fused_modconv=False), bias, clamp=2.0)
    got = fast_cpu.modulated_torgb(x, weight, styles, bias, clamp=2.0)
    assert got.dtype == torch.float32
    assert (got.double() - want).abs().max().item() < 1e-5  # fp32 by design (see the docstring)


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 5, 1]])
def test_upsample2d_fast_equals_upfirdn2d(taps):
    f = setup_filter(taps).to(F64)
    x = torch.randn(2, 3, 5, 7, generator=_gen(4), dtype=F64)
    want = upsample2d(x, f)
    got = fast_cpu.upsample2d_fast(x, f)
    assert got.shape == want.shape == (2, 3, 10, 14)
    assert (got - want).abs().max().item() < 1e-13


def test_prefer_fused_by_size():
    assert fast_cpu.prefer_fused(1, 128, 256, 256)
    assert not fast_cpu.prefer_fused(1, 512, 32, 32)
    assert not fast_cpu.prefer_fused(4, 128, 256, 256)


def test_weight_sq_cache_follows_in_place_changes():
    w = torch.ones(2, 3, 3, 3)
    assert fast_cpu._weight_sq(w)[0, 0].item() == 9
    w.mul_(2)
    assert fast_cpu._weight_sq(w)[0, 0].item() == 36


def test_fast_path_only_without_autograd(monkeypatch):
    layer = SynthesisLayer(4, 4, w_dim=8, resolution=4)
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        assert fast_inference(x, layer.weight)
    assert not fast_inference(x, layer.weight)  # the parameter requires grad: training keeps the reference ops
    monkeypatch.setenv("STUDIO_OPS", "ref")
    with torch.no_grad():
        assert not fast_inference(x, layer.weight)


def test_gradients_still_flow_through_the_layers():
    layer = SynthesisLayer(4, 4, w_dim=8, resolution=8, up=2)
    rgb = ToRGBLayer(4, 3, w_dim=8)
    w = torch.randn(2, 8)
    y = rgb(layer(torch.randn(2, 4, 4, 4), w), w)
    y.square().mean().backward()
    assert layer.weight.grad is not None and rgb.weight.grad is not None


def _tiny(res: int = 32) -> Generator:
    torch.manual_seed(0)
    G = Generator(z_dim=16, w_dim=16, img_resolution=res, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=256, channel_max=32, conv_clamp=256))
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.2)
    return G.eval()


@pytest.mark.parametrize("batch", [1, 3])
def test_whole_network_fast_equals_reference_path(batch, monkeypatch):
    """The network computes in fp32 (as NVlabs' does), so fast and reference differ only by fp32 rounding."""
    G = _tiny()
    with torch.no_grad():
        ws = G.mapping(torch.randn(batch, 16, generator=_gen(5)), None)
        fast = G.synthesis(ws, noise_mode="const")
        monkeypatch.setenv("STUDIO_OPS", "ref")
        ref = G.synthesis(ws, noise_mode="const")
    assert (fast - ref).abs().max().item() < 1e-4
    assert np.abs(to_uint8(fast).astype(int) - to_uint8(ref).astype(int)).max() <= 1


def test_bfloat16_stays_within_its_stated_bound():
    """README states bf16 vs fp32 on builtin:default (8 seeds, psi 0.7): mean |diff| 0.0025, max 0.042 (5.4/255)."""
    from ganlib.checkpoints.registry import load_generator
    from ganlib.synth import generate, seeds_to_z
    G = load_generator("builtin:default").G.eval()
    z = seeds_to_z([3], int(G.z_dim))
    d = (generate(G, z, psi=0.7, precision="float32") - generate(G, z, psi=0.7, precision="bfloat16")).abs()
    assert 0 < d.max().item() <= 0.06
    assert d.mean().item() <= 0.005


@pytest.mark.parametrize("batch", [1, 2])
def test_conv3x3_nnpack_equals_conv2d_in_float64(batch):
    """NNPACK's Winograd convolution (fp32) against the float64 convolution: Winograd's rounding, nothing more."""
    g = _gen(7 + batch)
    x = torch.randn(batch, 8, 32, 32, generator=g)
    weight = torch.randn(5, 8, 3, 3, generator=g) / 8
    want = torch.nn.functional.conv2d(x.double(), weight.double(), padding=1)
    got = fast_cpu.conv3x3(x, weight)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert (got.double() - want).abs().max().item() < 1e-4 * want.abs().max().item()
    assert fast_cpu.use_nnpack(x, weight) == fast_cpu.nnpack_ready()
    assert not fast_cpu.use_nnpack(x[:, :, :16, :16], weight)  # small planes keep oneDNN
    assert not fast_cpu.use_nnpack(x.double(), weight.double())


def test_synthesis_layer_through_nnpack_equals_reference_in_float64():
    g = _gen(11)
    x = torch.randn(2, 6, 32, 32, generator=g)
    weight = torch.randn(4, 6, 3, 3, generator=g)
    styles = torch.randn(2, 6, generator=g)
    noise = torch.randn(2, 1, 32, 32, generator=g) * 0.3
    bias = torch.randn(4, generator=g)
    want = modulated_conv2d(x.double(), weight.double(), styles.double(), noise=noise.double(), padding=1,
                            fused_modconv=True)
    want = bias_act_ref(want, bias.double(), act="lrelu", gain=2 ** 0.5)
    got = fast_cpu.modulated_conv_lrelu(x, weight, styles, noise=noise, bias=bias, gain=2 ** 0.5)
    assert (got.double() - want).abs().max().item() < 1e-4 * want.abs().max().item()


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 5, 1]])
def test_upconv3x3_equals_conv2d_resample_in_float64(taps):
    from ganlib.ops.conv2d_resample import conv2d_resample
    f = setup_filter(taps).to(F64)
    g = _gen(13)
    x = torch.randn(2, 5, 6, 7, generator=g, dtype=F64)
    weight = torch.randn(4, 5, 3, 3, generator=g, dtype=F64)
    want = conv2d_resample(x, weight, f=f, up=2, padding=1, flip_weight=False)
    got = fast_cpu.upconv3x3(x, weight, f)
    assert got.shape == want.shape == (2, 4, 12, 14)
    assert (got - want).abs().max().item() < 1e-13


def test_folded_upsampling_equals_conv2d_resample_in_float64():
    from ganlib.ops.conv2d_resample import conv2d_resample
    f = setup_filter([1, 2, 5, 1]).to(F64)
    g = _gen(17)
    x = torch.randn(2, 5, 6, 7, generator=g, dtype=F64)
    weight = torch.randn(4, 5, 3, 3, generator=g, dtype=F64)
    want = conv2d_resample(x, weight, f=f, up=2, padding=1, flip_weight=False)
    got = fast_cpu.pixel_unphase(torch.nn.functional.conv2d(x, fast_cpu.fold_upsampling(weight, f), padding=1))
    assert (got - want).abs().max().item() < 1e-13
    x32 = torch.randn(1, 5, 256, 256, generator=g)  # a plane large enough for the NNPACK route
    want = conv2d_resample(x32.double(), weight, f=f, up=2, padding=1, flip_weight=False)
    got = fast_cpu.upconv3x3(x32, weight.float(), f.float())
    assert (got.double() - want).abs().max().item() < 1e-4 * want.abs().max().item()


def test_conv3x3_falls_back_to_onednn_when_nnpack_fails(monkeypatch):
    def refuse(*args):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")
    monkeypatch.setattr(fast_cpu, "_NNPACK", [True])
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", refuse)
    x = torch.randn(1, 4, 32, 32, generator=_gen(19))
    weight = torch.randn(3, 4, 3, 3, generator=_gen(20))
    assert torch.equal(fast_cpu.conv3x3(x, weight), torch.nn.functional.conv2d(x, weight, padding=1))
    assert not fast_cpu.nnpack_ready()
