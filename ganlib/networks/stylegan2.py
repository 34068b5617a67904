"""StyleGAN2 generator ("skip" architecture) and discriminator ("resnet"), after Karras et al. 2020.

Module, parameter and buffer names follow NVlabs' stylegan2-ada-pytorch so that their state dicts map one to one:
``mapping.fc{i}``, ``mapping.embed``, ``mapping.w_avg``, ``synthesis.b{res}.{const,conv0,conv1,torgb}`` …
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ganlib.layers import (DEFAULT_FILTER, Conv2dLayer, FullyConnectedLayer, MinibatchStdLayer, SynthesisLayer,
                           ToRGBLayer, fast_inference, normalize_2nd_moment)
from ganlib.networks import register_generator
from ganlib.networks.precision import BlockPrecision, block_precisions
from ganlib.ops import fast_cpu
from ganlib.ops.upfirdn2d import downsample2d, setup_filter, upsample2d


class MappingNetwork(nn.Module):
    """z (+ label) → w: normalisation, optional label embedding, ``num_layers`` FC layers, w_avg tracking."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None, activation: str = "lrelu",
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                                          lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, skip_w_avg_update: bool = False) -> torch.Tensor:
        """Return ws [N, num_ws, w_dim] (or [N, w_dim] when num_ws is None), truncated towards w_avg by psi
        for the first ``truncation_cutoff`` layers (all when None)."""
        x = y = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            assert self.w_avg_beta is not None
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (const | upsampling conv0) + conv1 + skip to-RGB."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str = "skip", resample_filter=DEFAULT_FILTER,
                 conv_clamp: float | None = None, use_fp16: bool = False, fp16_channels_last: bool = False,
                 fused_modconv_default: bool | str | None = None, **layer_kwargs):
        super().__init__()
        if architecture != "skip":
            raise ValueError(f"only the 'skip' generator architecture is supported, not {architecture!r}")
        self.in_channels = in_channels
        self.resolution = resolution
        self.is_last = is_last
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and fp16_channels_last
        # None: fused modulation when fp32 or batch 1 (stylegan2-ada-pytorch); 'inference_only': fused whenever not
        # training (stylegan3 repository); True/False: always/never.
        self.fused_modconv_default = fused_modconv_default
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp,
                                        channels_last=self.channels_last, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim=w_dim, resolution=resolution,
                                    conv_clamp=conv_clamp, channels_last=self.channels_last, **layer_kwargs)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp,
                                channels_last=self.channels_last)
        self.num_torgb += 1

    def noise_layers(self) -> list[SynthesisLayer]:
        """Return this block's noise-carrying layers in evaluation order."""
        return [self.conv1] if self.in_channels == 0 else [self.conv0, self.conv1]

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, force_fp32: bool = False,
                fused_modconv: bool | None = None, noise_inputs: Sequence[torch.Tensor | None] | None = None,
                precision: BlockPrecision | None = None, **layer_kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        """Take features x, the image so far and this block's ws [N, num_conv+num_torgb, w_dim];
        return the new (x, img). ``precision`` (from ``block_precisions``) decides this call's dtype, memory format
        and clamp; without it the block runs as constructed on CUDA and in fp32 elsewhere (NVlabs' behaviour)."""
        w_iter = iter(ws.unbind(dim=1))
        noise_iter = iter(noise_inputs) if noise_inputs is not None else None
        if precision is None:
            half = self.use_fp16 and not force_fp32 and ws.device.type == "cuda"
            precision = BlockPrecision(fp16=half, channels_last=self.channels_last and half)
        elif force_fp32:
            precision = BlockPrecision(fp16=False, channels_last=False, conv_clamp=precision.conv_clamp)
        dtype = torch.float16 if precision.fp16 else torch.float32
        memory_format = torch.channels_last if precision.channels_last else torch.contiguous_format
        clamp = precision.conv_clamp
        if fused_modconv is None:
            if self.fused_modconv_default is None:
                fused_modconv = (not self.training) and (dtype == torch.float32 or int(ws.shape[0]) == 1)
            elif self.fused_modconv_default == "inference_only":
                fused_modconv = not self.training
            else:
                fused_modconv = bool(self.fused_modconv_default)

        def nxt_noise():
            return next(noise_iter) if noise_iter is not None else None

        if self.in_channels == 0:
            x = self.const.to(dtype=dtype, memory_format=memory_format)
            x = x.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, noise_input=nxt_noise(),
                           conv_clamp=clamp, **layer_kwargs)
        else:
            x = x.to(dtype=dtype, memory_format=memory_format)
            x = self.conv0(x, next(w_iter), fused_modconv=fused_modconv, noise_input=nxt_noise(),
                           conv_clamp=clamp, **layer_kwargs)
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, noise_input=nxt_noise(),
                           conv_clamp=clamp, **layer_kwargs)
        if img is not None and fast_cpu.fits_upsample2d(self.resample_filter) and fast_inference(img):
            img = fast_cpu.upsample2d_fast(img, self.resample_filter)
        elif img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv, conv_clamp=clamp)
        y = y.to(dtype=torch.float32, memory_format=torch.contiguous_format)
        img = img.add_(y) if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] → image [N, C, R, R], one SynthesisBlock per resolution from 4 to R."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_fp16_res: int = 0, **block_kwargs):
        super().__init__()
        log2 = int(np.log2(img_resolution))
        if img_resolution != 2 ** log2 or not 4 <= img_resolution <= 1024:
            raise ValueError(f"img_resolution must be a power of two in 4..1024, not {img_resolution}")
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = channels[res // 2] if res > 4 else 0
            is_last = res == img_resolution
            block = SynthesisBlock(in_channels, channels[res], w_dim=w_dim, resolution=res,
                                   img_channels=img_channels, is_last=is_last, use_fp16=res >= fp16_resolution,
                                   **block_kwargs)
            self.num_ws += block.num_conv
            if is_last:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def blocks(self) -> list[SynthesisBlock]:
        """Return the synthesis blocks from 4 px upwards."""
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def noise_shapes(self) -> list[tuple[int, int]]:
        """Return the (H, W) of every noise input, in the order ``noise_inputs`` expects them."""
        return [(layer.resolution, layer.resolution) for block in self.blocks() for layer in block.noise_layers()]

    def forward(self, ws: torch.Tensor, noise_inputs: Sequence[torch.Tensor] | None = None,
                precision: str | None = None, channels_last: bool | None = None, **block_kwargs) -> torch.Tensor:
        """Return images [N, C, R, R] (about [-1, 1]) from ws [N, num_ws, w_dim]. ``noise_inputs``: optional
        unit-variance noise per layer (shapes from ``noise_shapes``), overriding ``noise_mode``. ``precision``
        ('auto' | 'float32' | 'float16', see ``ganlib.networks.precision``; None = 'auto') and ``channels_last``
        apply to this call only: the network itself is never changed, so threads may share it."""
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        plan = None
        if precision is not None or channels_last is not None:
            plan = block_precisions(self.blocks(), precision or "auto", ws.device.type, channels_last)
        x = img = None
        w_idx = 0
        n_idx = 0
        for k, block in enumerate(self.blocks()):
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            block_noise = None
            if noise_inputs is not None:
                num_noise = len(block.noise_layers())
                block_noise = noise_inputs[n_idx:n_idx + num_noise]
                n_idx += num_noise
            x, img = block(x, img, block_ws, noise_inputs=block_noise,
                           precision=plan[k] if plan is not None else None, **block_kwargs)
        return img


class MappedGenerator(nn.Module):
    """What every StyleGAN generator shares: NVlabs' attributes (``z_dim``, ``c_dim``, ``w_dim``, ``img_resolution``,
    ``img_channels``, ``num_ws``), the given ``synthesis`` network (ws → image) and a mapping network (z, c → ws)
    built from ``mapping_kwargs`` with the synthesis network's ``num_ws``; ``forward`` runs one, then the other."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 synthesis: nn.Module, mapping_kwargs: dict):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.cond_kind = "label" if c_dim > 0 else "none"
        self.synthesis = synthesis
        self.num_ws = synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, noise_mode: str = "const", **synthesis_kwargs) -> torch.Tensor:
        """Return images [N, C, R, R] for latents z [N, z_dim] and labels c [N, c_dim] (None when unconditional);
        ``synthesis_kwargs`` go to ``synthesis`` (e.g. StyleGAN3's ``transform``)."""
        if c is None:
            c = torch.zeros([z.shape[0], self.c_dim], device=z.device)
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)


@register_generator("stylegan2")
class Generator(MappedGenerator):
    """StyleGAN2 generator: ``mapping`` (z, c → ws) then ``synthesis`` (ws → image).

    Constructor arguments match NVlabs stylegan2-ada-pytorch (``mapping_kwargs``, ``synthesis_kwargs``).
    """

    def __init__(self, z_dim: int = 512, c_dim: int = 0, w_dim: int = 512, img_resolution: int = 256,
                 img_channels: int = 3, mapping_kwargs: dict | None = None, synthesis_kwargs: dict | None = None):
        synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels,
                                     **(synthesis_kwargs or {}))
        super().__init__(z_dim, c_dim, w_dim, img_resolution, img_channels, synthesis, dict(mapping_kwargs or {}))


class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator: from-RGB (first block), two convs, resnet skip, downsample ×2."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, resolution: int, img_channels: int,
                 first_layer_idx: int = 0, architecture: str = "resnet", activation: str = "lrelu",
                 resample_filter=DEFAULT_FILTER, conv_clamp: float | None = None, use_fp16: bool = False,
                 fp16_channels_last: bool = False, freeze_layers: int = 0):
        super().__init__()
        if architecture not in ("resnet", "skip", "orig"):
            raise ValueError(f"unknown discriminator architecture {architecture!r}")
        self.in_channels = in_channels
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and fp16_channels_last
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_layers = 0
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, kernel_size=1, activation=activation,
                                       conv_clamp=conv_clamp, channels_last=self.channels_last)
            self.num_layers += 1
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, activation=activation,
                                 conv_clamp=conv_clamp, channels_last=self.channels_last)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, kernel_size=3, activation=activation, down=2,
                                 resample_filter=resample_filter, conv_clamp=conv_clamp,
                                 channels_last=self.channels_last)
        self.num_layers += 2
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, kernel_size=1, bias=False, down=2,
                                    resample_filter=resample_filter, channels_last=self.channels_last)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, force_fp32: bool = False):
        """Take features x (None at the first block) and img; return (x at half resolution, img or None)."""
        dtype = torch.float16 if self.use_fp16 and not force_fp32 else torch.float32
        memory_format = torch.channels_last if self.channels_last and not force_fp32 else torch.contiguous_format
        if x is not None:
            x = x.to(dtype=dtype, memory_format=memory_format)
        if self.in_channels == 0 or self.architecture == "skip":
            img = img.to(dtype=dtype, memory_format=memory_format)
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=np.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=np.sqrt(0.5))
            x = y.add_(x)
        else:
            x = self.conv0(x)
            x = self.conv1(x)
        return x, img


class DiscriminatorEpilogue(nn.Module):
    """The 4×4 head: minibatch std, conv, FC, output (projected onto the label embedding when conditional)."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, img_channels: int,
                 architecture: str = "resnet", mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1,
                 activation: str = "lrelu", conv_clamp: float | None = None):
        super().__init__()
        self.cmap_dim = cmap_dim
        self.architecture = architecture
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, kernel_size=1, activation=activation)
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, kernel_size=3, activation=activation,
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation=activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None) -> torch.Tensor:
        """Return logits [N, 1]."""
        x = x.to(dtype=torch.float32, memory_format=torch.contiguous_format)
        if self.architecture == "skip":
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / np.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """StyleGAN2 discriminator (resnet by default); conditional through a projection of the label embedding."""

    def __init__(self, c_dim: int = 0, img_resolution: int = 256, img_channels: int = 3, architecture: str = "resnet",
                 channel_base: int = 32768, channel_max: int = 512, num_fp16_res: int = 0,
                 conv_clamp: float | None = None, cmap_dim: int | None = None, block_kwargs: dict | None = None,
                 mapping_kwargs: dict | None = None, epilogue_kwargs: dict | None = None):
        super().__init__()
        self.c_dim = c_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2 ** i for i in range(log2, 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions + [4]}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        if cmap_dim is None:
            cmap_dim = channels[4]
        if c_dim == 0:
            cmap_dim = 0
        common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
        layer_idx = 0
        for res in self.block_resolutions:
            in_channels = channels[res] if res < img_resolution else 0
            block = DiscriminatorBlock(in_channels, channels[res], channels[res // 2], resolution=res,
                                       first_layer_idx=layer_idx, use_fp16=res >= fp16_resolution,
                                       **(block_kwargs or {}), **common)
            setattr(self, f"b{res}", block)
            layer_idx += block.num_layers
        if c_dim > 0:
            self.mapping = MappingNetwork(z_dim=0, c_dim=c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None,
                                          **(mapping_kwargs or {}))
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim=cmap_dim, resolution=4, **(epilogue_kwargs or {}),
                                        **common)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, **block_kwargs) -> torch.Tensor:
        """Return realness logits [N, 1] for images [N, C, R, R] (and labels c [N, c_dim])."""
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, **block_kwargs)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)
