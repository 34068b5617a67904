"""DCGAN generator and discriminator (Radford, Metz & Chintala, 2015) for 64, 128 and 256 px, plus a modified variant.

The generator projects ``z`` to a 4x4 map with a transposed convolution and doubles the size with 4x4 stride-2
transposed convolutions, batch norm and ReLU, ending in tanh. The discriminator mirrors it with stride-2 convolutions,
batch norm (not on the first layer) and LeakyReLU 0.2, ending in one logit. Weights start at N(0, 0.02). Any size
``b · 2^k`` with b in 4..7 and k >= 1 works (the pyramid starts at b x b: 28 px at 7x7; tests use 32 px); 64/128/256
are the documented sizes.

The same classes take an optional condition (``cond_kind`` "label" or "features"): the condition is embedded by a
bias-free linear layer (for one-hot labels exactly an ``nn.Embedding`` lookup) and concatenated with ``z``; the
discriminator receives it as one extra input plane. ``ganlib.networks.conditional`` builds on that.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from ganlib.networks.registry import register_generator
from ganlib.networks.small_common import (GeneratorAttrs, check_cond, check_pyramid_resolution, cond_matrix,
                                          dcgan_init, pyramid_channels)

UPSAMPLE_MODES = ("deconv", "resize")


def _up(cin: int, cout: int, mode: str) -> list[nn.Module]:
    if mode == "deconv":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)]


@register_generator("dcgan")
class DCGANGenerator(nn.Module, GeneratorAttrs):
    """DCGAN generator: ``z`` [N, z_dim] (+ condition) → image [N, img_channels, R, R] in [-1, 1].

    Args: ``z_dim`` latent size; ``img_resolution`` R (``b · 2^k``, b in 4..7, k >= 1: 28, 32, 64, ...); ``img_channels``; ``ngf`` channels of
    the last hidden map (doubling towards 4x4, capped at ``max_channels``); ``upsample`` "deconv" (transposed
    convolutions, the paper) or "resize" (nearest upsampling + 3x3 conv); ``cond_kind``/``c_dim``/``embed_dim``
    for conditional use (see module docstring).
    """

    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3, ngf: int = 64,
                 max_channels: int = 512, upsample: str = "deconv", cond_kind: str = "none", c_dim: int = 0,
                 embed_dim: int = 0):
        super().__init__()
        b = check_pyramid_resolution(img_resolution)
        check_cond(cond_kind, c_dim)
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        if cond_kind != "none" and embed_dim <= 0:
            embed_dim = c_dim
        self.init_kwargs = dict(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels, ngf=ngf,
                                max_channels=max_channels, upsample=upsample, cond_kind=cond_kind, c_dim=c_dim,
                                embed_dim=embed_dim if cond_kind != "none" else 0)
        self.z_dim, self.c_dim, self.cond_kind = z_dim, c_dim, cond_kind
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.w_dim = self.num_ws = 0
        self.embed = nn.Linear(c_dim, embed_dim, bias=False) if cond_kind != "none" else None
        in_dim = z_dim + (embed_dim if self.embed is not None else 0)
        if in_dim <= 0:
            raise ValueError("the generator needs z_dim > 0 or a condition")
        chans = pyramid_channels(img_resolution, ngf, max_channels)
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, chans[b], b, 1, 0, bias=False),
                                   nn.BatchNorm2d(chans[b]), nn.ReLU(True)]
        size = b
        while size * 2 < img_resolution:
            layers += _up(chans[size], chans[size * 2], upsample) + [nn.BatchNorm2d(chans[size * 2]), nn.ReLU(True)]
            size *= 2
        layers += _up(chans[size], img_channels, upsample) + [nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        """Return images [N, C, R, R] in [-1, 1] for latents ``z`` [N, z_dim] and condition ``c`` (ignored when
        unconditional). ``truncation_psi``, ``truncation_cutoff`` and ``noise_mode`` do not apply and are ignored."""
        x = z.reshape(z.shape[0], -1)
        cm = cond_matrix(c, x.shape[0], self.cond_kind, self.c_dim, x.device, x.dtype)
        if cm is not None:
            x = torch.cat([x, self.embed(cm)], dim=1)
        return self.net(x[:, :, None, None])


@register_generator("dcgan-mod")
class DCGANModGenerator(DCGANGenerator):
    """Modified DCGAN generator: resize-convolution upsampling (nearest ×2, then a 3x3 conv) instead of transposed
    convolutions, which removes the checkerboard artefacts of the 4x4 stride-2 deconvolutions (Odena et al., 2016).

    It is trained against ``DCGANDiscriminator(spectral=True, norm="none")`` (spectral normalisation in D instead of
    batch norm, Miyato et al., 2018) with the hinge loss; everything else (init, Adam 2e-4 / beta1 0.5, batch norm
    and ReLU in G) is as in DCGAN. Same arguments as ``DCGANGenerator``; ``upsample`` defaults to "resize".
    """

    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3, ngf: int = 64,
                 max_channels: int = 512, upsample: str = "resize", cond_kind: str = "none", c_dim: int = 0,
                 embed_dim: int = 0):
        super().__init__(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels, ngf=ngf,
                         max_channels=max_channels, upsample=upsample, cond_kind=cond_kind, c_dim=c_dim,
                         embed_dim=embed_dim)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator / WGAN critic: image [N, C, R, R] (+ condition) → one score per image [N].

    Args: ``img_resolution``, ``img_channels``; ``ndf`` channels of the first map (doubling per halving, capped at
    ``max_channels``); ``norm`` "batch" (DCGAN), "layer" (GroupNorm with one group; for WGAN-GP, where batch norm
    breaks the per-sample gradient penalty) or "none"; ``spectral`` wraps every conv in spectral normalisation;
    ``cond_kind``/``c_dim`` add the condition as one extra input plane (a linear map of ``c`` to R×R values).
    """

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, ndf: int = 64, max_channels: int = 512,
                 norm: str = "batch", spectral: bool = False, cond_kind: str = "none", c_dim: int = 0):
        super().__init__()
        b = check_pyramid_resolution(img_resolution)
        check_cond(cond_kind, c_dim)
        if norm not in ("batch", "layer", "none"):
            raise ValueError(f"norm must be batch, layer or none, got {norm!r}")
        self.img_resolution, self.img_channels, self.cond_kind, self.c_dim = img_resolution, img_channels, \
            cond_kind, c_dim
        sn = spectral_norm if spectral else (lambda m: m)
        self.cond_plane = nn.Linear(c_dim, img_resolution * img_resolution) if cond_kind != "none" else None
        chans = pyramid_channels(img_resolution, ndf, max_channels)
        cin = img_channels + (1 if self.cond_plane is not None else 0)
        size = img_resolution // 2
        layers: list[nn.Module] = [sn(nn.Conv2d(cin, chans[size], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        while size > b:
            cout = chans[size // 2]
            layers.append(sn(nn.Conv2d(chans[size], cout, 4, 2, 1, bias=norm == "none")))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(cout))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, cout))
            layers.append(nn.LeakyReLU(0.2, True))
            size //= 2
        layers.append(sn(nn.Conv2d(chans[b], 1, b, 1, 0)))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Return one unbounded score (a logit for BCE, a critic value for WGAN) per image, shape [N]."""
        x = img
        if self.cond_plane is not None:
            cm = cond_matrix(c, img.shape[0], self.cond_kind, self.c_dim, img.device, img.dtype)
            plane = self.cond_plane(cm).view(-1, 1, self.img_resolution, self.img_resolution)
            x = torch.cat([x, plane], dim=1)
        return self.net(x).view(-1)
