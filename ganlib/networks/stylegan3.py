"""StyleGAN3 (alias-free) generator, configs T and R, after Karras et al. 2021.

The synthesis network is a Fourier-feature input followed by ``num_layers`` modulated layers and a to-RGB layer,
each with its own cutoff, stopband and sampling rate on a geometric progression from ``first_cutoff`` to the image's
Nyquist rate (the last ``num_critical`` layers critically sampled). Config T uses 3×3 convolutions and separable
Kaiser filters; config R 1×1 convolutions, twice the channels and radial (jinc) downsampling filters.

Names follow NVlabs' stylegan3 (``mapping.*``, ``synthesis.input.*``, ``synthesis.L{i}_{size}_{channels}.*``) so that
their pickles map one to one; ``num_ws = num_layers + 2`` (w[0] drives the input's rotation/translation).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ganlib.networks import register_generator
from ganlib.networks.stylegan2 import MappedGenerator
from ganlib.networks.stylegan3_layers import SynthesisInput, SynthesisLayer, input_transform

NOISE_MODES = ("random", "const", "none")
MAPPING_DEFAULTS = {"num_layers": 2, "w_avg_beta": 0.998}


def layer_schedule(img_resolution: int, img_channels: int, channel_base: int, channel_max: int, num_layers: int,
                   num_critical: int, first_cutoff: float, first_stopband: float, last_stopband_rel: float,
                   margin_size: int) -> dict[str, np.ndarray]:
    """Return per-layer arrays (index 0 is the input, ``num_layers`` the to-RGB layer): ``cutoffs``, ``stopbands``,
    ``sampling_rates``, ``half_widths``, ``sizes`` and ``channels`` — the paper's geometric progression."""
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return dict(cutoffs=cutoffs, stopbands=stopbands, sampling_rates=sampling_rates, half_widths=half_widths,
                sizes=sizes, channels=channels)


class SynthesisNetwork(nn.Module):
    """ws [N, num_layers + 2, w_dim] → image [N, C, R, R]: ``input`` from ws[0], then the layers ``L{i}_{size}_{ch}``
    each taking one w, the output scaled by ``output_scale``."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2,
                 first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10,
                 output_scale: float = 0.25, num_fp16_res: int = 4, **layer_kwargs):
        super().__init__()
        if num_layers <= num_critical:
            raise ValueError(f"num_layers ({num_layers}) must exceed num_critical ({num_critical})")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers, self.num_critical = num_layers, num_critical
        self.num_ws = num_layers + 2
        self.margin_size, self.output_scale, self.num_fp16_res = margin_size, output_scale, num_fp16_res
        s = layer_schedule(img_resolution, img_channels, channel_base, channel_max, num_layers, num_critical,
                           first_cutoff, first_stopband, last_stopband_rel, margin_size)
        self.input = SynthesisInput(w_dim=w_dim, channels=int(s["channels"][0]), size=int(s["sizes"][0]),
                                    sampling_rate=s["sampling_rates"][0], bandwidth=s["cutoffs"][0])
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim, is_torgb=idx == num_layers, is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(s["sampling_rates"][idx] * 2 ** num_fp16_res > img_resolution),
                in_channels=int(s["channels"][prev]), out_channels=int(s["channels"][idx]),
                in_size=int(s["sizes"][prev]), out_size=int(s["sizes"][idx]),
                in_sampling_rate=int(s["sampling_rates"][prev]), out_sampling_rate=int(s["sampling_rates"][idx]),
                in_cutoff=s["cutoffs"][prev], out_cutoff=s["cutoffs"][idx],
                in_half_width=s["half_widths"][prev], out_half_width=s["half_widths"][idx], **layer_kwargs)
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def layers(self) -> list[SynthesisLayer]:
        """Return the synthesis layers in order (to-RGB last); layer i takes ws[i + 1]."""
        return [getattr(self, name) for name in self.layer_names]

    def noise_shapes(self) -> list[tuple[int, int]]:
        """StyleGAN3 has no per-pixel noise inputs: an empty list."""
        return []

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", noise_inputs: Sequence | None = None,
                transform: torch.Tensor | None = None, precision: str | None = None,
                channels_last: bool | None = None, force_fp32: bool = False,
                update_emas: bool = False) -> torch.Tensor:
        """Return images [N, C, R, R] (float32, about [-1, 1]) from ws [N, num_ws, w_dim].

        ``transform`` ([3, 3] or [N, 3, 3], the inverse camera matrix, see ``input_transform``) overrides the
        ``input.transform`` buffer. ``precision``: None or 'auto' (NVlabs: the ``use_fp16`` layers in fp16 on CUDA
        unless ``force_fp32``), 'float32' (all fp32) or 'float16' (the ``use_fp16`` layers in fp16 on any device).
        ``noise_mode`` is checked and otherwise ignored (no noise inputs), like ``noise_inputs`` and
        ``channels_last``."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be random, const or none, not {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if precision not in (None, "auto", "float32", "float16"):
            raise ValueError(f"precision must be auto, float32 or float16, not {precision!r}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], transform=transform)
        for layer, w in zip(self.layers(), ws[1:]):
            fp16 = None if precision in (None, "auto") else (precision == "float16" and layer.use_fp16)
            x = layer(x, w, force_fp32=force_fp32, update_emas=update_emas, fp16=fp16)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


@register_generator("stylegan3")
class Generator(MappedGenerator):
    """StyleGAN3 generator: ``mapping`` (z, c → ws; 2 layers by default, w_avg_beta 0.998) then ``synthesis``
    (``forward`` passes ``transform`` and ``force_fp32`` on to it).

    Constructor arguments follow NVlabs' stylegan3 Generator, with the synthesis arguments (``channel_base``,
    ``conv_kernel``, ``use_radial_filters``, ``magnitude_ema_beta``, …) nested in ``synthesis_kwargs``.
    ``config`` is 'stylegan3-r' for 1×1 convolutions with radial filters, else 'stylegan3-t'.
    """

    def __init__(self, z_dim: int = 512, c_dim: int = 0, w_dim: int = 512, img_resolution: int = 256,
                 img_channels: int = 3, mapping_kwargs: dict | None = None, synthesis_kwargs: dict | None = None):
        synthesis_kwargs = dict(synthesis_kwargs or {})
        synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels,
                                     **synthesis_kwargs)
        super().__init__(z_dim, c_dim, w_dim, img_resolution, img_channels, synthesis,
                         dict(MAPPING_DEFAULTS, **(mapping_kwargs or {})))
        radial = synthesis_kwargs.get("conv_kernel", 3) == 1 and synthesis_kwargs.get("use_radial_filters", False)
        self.config = "stylegan3-r" if radial else "stylegan3-t"


def transforms_for(translate: Sequence[Sequence[float]] | None, rotate: Sequence[float] | None, n: int,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Return the [n, 3, 3] float32 matrices a StyleGAN3 synthesis receives for per-sample camera moves:
    ``translate`` n (x, y) pairs and ``rotate`` n angles in degrees (None: no move), each inverted as NVlabs'
    gen_images.py does."""
    mats = [input_transform(translate[i] if translate is not None else (0.0, 0.0),
                            rotate[i] if rotate is not None else 0.0) for i in range(n)]
    return torch.from_numpy(np.stack(mats)).to(device=device, dtype=torch.float32)


def is_stylegan3(G: nn.Module) -> bool:
    """True when ``G`` has a StyleGAN3 synthesis network (a Fourier-feature input that takes camera moves)."""
    return isinstance(getattr(G, "synthesis", None), SynthesisNetwork)
