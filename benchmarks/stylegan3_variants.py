"""StyleGAN3 pieces of ``benchmarks/generator.py``: random-weight T and R generators in NVlabs' configurations, a
plain PyTorch version of the same synthesis network, and NVlabs' own implementation of the same weights when a
stylegan3 checkout is given (it runs its reference ops on a CPU)."""
from __future__ import annotations

import importlib
import math
import sys
import types

import torch
import torch.nn.functional as F

from ganlib.networks.stylegan3 import Generator

CONFIGS = {
    "stylegan3-t": dict(channel_base=32768, channel_max=512, magnitude_ema_beta=0.999),
    "stylegan3-r": dict(channel_base=65536, channel_max=1024, magnitude_ema_beta=0.999, conv_kernel=1,
                        use_radial_filters=True),
}


def make_sg3(config: str, res: int, device: torch.device) -> tuple[Generator, dict]:
    """Return (G, NVlabs init kwargs): a random-weights StyleGAN3 of ``config`` ('stylegan3-t' | 'stylegan3-r') at
    ``res`` px with NVlabs' defaults (2 mapping layers, fp16 layers that run fp32 on a CPU)."""
    torch.manual_seed(0)
    nv = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, mapping_kwargs=dict(num_layers=2),
              **CONFIGS[config])
    top = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")
    G = Generator(**{k: v for k, v in nv.items() if k in top},
                  synthesis_kwargs={k: v for k, v in nv.items() if k not in top})
    with torch.no_grad():
        G.synthesis.input.affine.weight.normal_(0, 0.3)
    return G.eval().requires_grad_(False).to(device), nv


# ------------------------------------------------------------------------------------------ plain PyTorch version
def _filter2d(f: torch.Tensor) -> torch.Tensor:
    return torch.outer(f, f) if f.ndim == 1 else f


def _plain_filtered_lrelu(x, layer, gain: float, slope: float) -> torch.Tensor:
    """Bias, zero-insertion upsampling, 2-D filter, leaky ReLU, clamp, 2-D filter, subsampling: the plain way."""
    n, c, h, w = x.shape
    x = x + layer.bias[None, :, None, None]
    up, down = layer.up_factor, layer.down_factor
    if up > 1:
        z = x.new_zeros([n, c, h * up, w * up])
        z[:, :, ::up, ::up] = x
        x = z
    px0, px1, py0, py1 = layer.padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if layer.up_filter is not None:
        k = (_filter2d(layer.up_filter) * up * up).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
        x = F.conv2d(x, k, groups=c)
    x = F.leaky_relu(x, slope) * gain
    if layer.conv_clamp is not None:
        x = x.clamp(-layer.conv_clamp, layer.conv_clamp)
    if layer.down_filter is not None:
        k = _filter2d(layer.down_filter).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
        x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def plain_sg3_synthesis(G: Generator, ws: torch.Tensor) -> torch.Tensor:
    """The synthesis network of ``G`` written straightforwardly (fp32; the Fourier input is ``G``'s own)."""
    x = G.synthesis.input(ws[:, 0])
    for i, layer in enumerate(G.synthesis.layers()):
        fc = layer.affine
        styles = ws[:, i + 1] @ (fc.weight * fc.weight_gain).t() + fc.bias * fc.bias_gain
        n = x.shape[0]
        wt = layer.weight[None]
        if layer.is_torgb:
            styles = styles / math.sqrt(layer.in_channels * layer.conv_kernel ** 2)
            wt = wt * styles[:, None, :, None, None]
        else:
            wt = wt * styles[:, None, :, None, None]
            wt = wt * (wt.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        wt = wt * layer.magnitude_ema.rsqrt()
        o, i_ch, k, _ = layer.weight.shape
        x = F.conv2d(x.reshape(1, n * i_ch, *x.shape[2:]), wt.reshape(n * o, i_ch, k, k), padding=k - 1, groups=n)
        x = x.reshape(n, o, *x.shape[2:])
        x = _plain_filtered_lrelu(x, layer, 1.0 if layer.is_torgb else math.sqrt(2), 1.0 if layer.is_torgb else 0.2)
    return x * G.synthesis.output_scale


# ------------------------------------------------------------------------------------------ NVlabs' implementation
def nvlabs_synthesis(checkout: str, G: Generator, nv_kwargs: dict):
    """Return NVlabs' stylegan3 SynthesisNetwork (from the checkout at ``checkout``) holding ``G``'s weights,
    loaded strictly; its ops run their reference PyTorch code on a CPU."""
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    try:
        importlib.import_module("pkg_resources")
    except ImportError:  # NVlabs' conv2d_gradfix imports parse_version from it; newer environments lack it
        from packaging.version import parse
        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    nv = importlib.import_module("training.networks_stylegan3")
    ref = nv.Generator(**nv_kwargs).eval().requires_grad_(False)
    ref.load_state_dict(G.state_dict(), strict=True)
    return ref.synthesis.to(next(G.parameters()).device)
