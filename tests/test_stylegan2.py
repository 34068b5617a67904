"""The StyleGAN2 generator and discriminator: shapes, layout, truncation, noise modes (style mixing: test_synth)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlib.networks.stylegan2 import Discriminator, Generator
from tests.conftest import make_tiny_stylegan2


@pytest.mark.parametrize("res,num_ws", [(32, 8), (64, 10), (128, 12)])
def test_generator_shapes_and_num_ws(res, num_ws):
    G = Generator(z_dim=16, w_dim=16, img_resolution=res,
                  mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=256, channel_max=16)).eval()
    assert G.num_ws == num_ws  # 2 per block (1 at 4 px) + the last to-RGB
    z = torch.randn(3, 16)
    ws = G.mapping(z, None)
    assert ws.shape == (3, num_ws, 16)
    img = G(z)
    assert img.shape == (3, 3, res, res)
    assert torch.isfinite(img).all()


def test_nvlabs_state_dict_layout():
    G = Generator(z_dim=8, c_dim=3, w_dim=8, img_resolution=32,
                  mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=128, channel_max=8))
    keys = set(G.state_dict())
    for k in ["mapping.embed.weight", "mapping.fc0.weight", "mapping.fc7.bias", "mapping.w_avg",
              "synthesis.b4.const", "synthesis.b4.resample_filter", "synthesis.b4.conv1.affine.weight",
              "synthesis.b4.conv1.noise_const", "synthesis.b4.conv1.noise_strength", "synthesis.b4.torgb.weight",
              "synthesis.b8.conv0.weight", "synthesis.b32.torgb.affine.bias"]:
        assert k in keys, k
    assert G.state_dict()["synthesis.b4.resample_filter"].shape == (4, 4)
    f = G.state_dict()["synthesis.b4.resample_filter"]
    assert torch.allclose(f.sum(), torch.tensor(1.0))
    # lr multiplier 0.01: mapping weights are stored scaled up by 100
    assert G.mapping.fc0.weight.std() > 50


def test_truncation_zero_gives_w_avg_image():
    G, _ = make_tiny_stylegan2(3)
    z = torch.randn(4, G.z_dim)
    with torch.no_grad():
        img = G(z, truncation_psi=0.0, noise_mode="const")
        ref = G.synthesis(G.mapping.w_avg.reshape(1, 1, -1).repeat(1, G.num_ws, 1), noise_mode="const")
    assert torch.allclose(img, ref.expand_as(img), atol=1e-5)
    assert (img[0] - img[1]).abs().max() < 1e-5  # every z gives the same image


def test_truncation_cutoff_only_touches_first_layers():
    G, _ = make_tiny_stylegan2(4)
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        full = G.mapping(z, None)
        cut = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=3)
    assert torch.allclose(cut[:, 3:], full[:, 3:])
    assert torch.allclose(cut[:, :3], G.mapping.w_avg.lerp(full[:, :3], 0.5), atol=1e-6)


def test_noise_modes():
    G, _ = make_tiny_stylegan2(5)
    z = torch.randn(1, G.z_dim)
    with torch.no_grad():
        a = G(z, noise_mode="const")
        b = G(z, noise_mode="const")
        r1 = G(z, noise_mode="random")
        r2 = G(z, noise_mode="random")
        none = G(z, noise_mode="none")
    assert torch.equal(a, b)
    assert not torch.equal(r1, r2)
    assert not torch.equal(a, none)


def test_explicit_noise_inputs_match_const_noise():
    G, _ = make_tiny_stylegan2(6)
    z = torch.randn(2, G.z_dim)
    consts = [layer.noise_const.reshape(1, 1, *layer.noise_const.shape)
              for block in G.synthesis.blocks() for layer in block.noise_layers()]
    assert [tuple(c.shape[-2:]) for c in consts] == G.synthesis.noise_shapes()
    with torch.no_grad():
        ws = G.mapping(z, None)
        a = G.synthesis(ws, noise_mode="const")
        b = G.synthesis(ws, noise_inputs=consts)
    assert torch.allclose(a, b, atol=1e-6)


def test_fused_and_unfused_modconv_agree():
    G, _ = make_tiny_stylegan2(8)
    ws = G.mapping(torch.randn(3, G.z_dim), None)
    with torch.no_grad():
        a = G.synthesis(ws, noise_mode="const", fused_modconv=True)
        b = G.synthesis(ws, noise_mode="const", fused_modconv=False)
    assert torch.allclose(a, b, atol=1e-4)


def test_label_conditioning_changes_output():
    G, _ = make_tiny_stylegan2(9, c_dim=4)
    z = torch.randn(1, G.z_dim)
    c0, c1 = torch.eye(4)[0:1], torch.eye(4)[1:2]
    with torch.no_grad():
        assert (G(z, c0) - G(z, c1)).abs().max() > 1e-4


def test_discriminator_shapes_and_grad():
    D = Discriminator(c_dim=0, img_resolution=32, channel_base=256, channel_max=16)
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    out = D(x)
    assert out.shape == (4, 1)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    assert g.shape == x.shape and torch.isfinite(g).all()
    Dc = Discriminator(c_dim=5, img_resolution=32, channel_base=256, channel_max=16)
    assert Dc(torch.randn(4, 3, 32, 32), torch.eye(5)[:4]).shape == (4, 1)


def test_mapping_tracks_w_avg_in_training():
    G, _ = make_tiny_stylegan2(10)
    G.train()
    before = G.mapping.w_avg.clone()
    G.mapping(torch.randn(8, G.z_dim), None)
    assert not torch.equal(before, G.mapping.w_avg)
    G.eval()
    before = G.mapping.w_avg.clone()
    G.mapping(torch.randn(8, G.z_dim), None)
    assert torch.equal(before, G.mapping.w_avg)


def test_ops_upfirdn2d_matches_naive_upsample():
    """Upsampling with a box filter [1,1] equals nearest-neighbour upsampling."""
    from ganlib.ops.upfirdn2d import setup_filter, upsample2d, downsample2d
    x = torch.randn(1, 2, 5, 5)
    f = setup_filter([1, 1])
    up = upsample2d(x, f)
    assert up.shape == (1, 2, 10, 10)
    assert torch.allclose(up, x.repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-6)
    down = downsample2d(up, f)
    assert torch.allclose(down, x, atol=1e-6)
    f4 = setup_filter([1, 3, 3, 1])
    y = downsample2d(upsample2d(torch.ones(1, 1, 8, 8), f4), f4)
    assert torch.allclose(y[..., 2:-2, 2:-2], torch.ones(1, 1, 4, 4), atol=1e-6)  # DC gain 1 inside


def test_bias_act_reference():
    from ganlib.ops.bias_act import bias_act
    x = torch.tensor([[-1.0, 2.0]])
    b = torch.tensor([0.5, -0.5])
    y = bias_act(x, b, act="lrelu", clamp=1.0)
    expect = torch.tensor([[-0.5 * 0.2 * float(np.sqrt(2)), 1.0]])
    assert torch.allclose(y, expect, atol=1e-6)
