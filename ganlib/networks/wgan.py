"""Wasserstein GAN networks (Arjovsky et al., 2017; Gulrajani et al., 2017).

The convolutional WGAN uses the DCGAN generator (``ganlib.networks.dcgan.DCGANGenerator``) and the DCGAN
discriminator as critic without a sigmoid (batch norm for weight clipping, layer norm for the gradient penalty).
This module adds the linear (MLP) architecture of both papers: a generator of fully connected ReLU layers ending in
tanh over all pixels, and an MLP critic.
"""
from __future__ import annotations

import torch
from torch import nn

from ganlib.networks.registry import register_generator
from ganlib.networks.small_common import GeneratorAttrs, check_cond, cond_matrix, dcgan_init


@register_generator("mlp")
class MLPGenerator(nn.Module, GeneratorAttrs):
    """Fully connected generator: ``z`` [N, z_dim] → image [N, C, R, R] in [-1, 1].

    Args: ``z_dim``, ``img_resolution`` (any size >= 4), ``img_channels``, ``hidden`` units per layer, ``layers``
    hidden layers (ReLU, batch norm when ``batch_norm``), and ``cond_kind``/``c_dim`` (condition concatenated to z).
    """

    def __init__(self, z_dim: int = 100, img_resolution: int = 32, img_channels: int = 3, hidden: int = 512,
                 layers: int = 3, batch_norm: bool = True, cond_kind: str = "none", c_dim: int = 0):
        super().__init__()
        check_cond(cond_kind, c_dim)
        if img_resolution < 4:
            raise ValueError(f"img_resolution must be >= 4, got {img_resolution}")
        self.init_kwargs = dict(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels,
                                hidden=hidden, layers=layers, batch_norm=batch_norm, cond_kind=cond_kind,
                                c_dim=c_dim)
        self.z_dim, self.c_dim, self.cond_kind = z_dim, c_dim, cond_kind
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.w_dim = self.num_ws = 0
        mods: list[nn.Module] = []
        cin = z_dim + c_dim
        for _ in range(layers):
            mods.append(nn.Linear(cin, hidden, bias=not batch_norm))
            if batch_norm:
                mods.append(nn.BatchNorm1d(hidden))
            mods.append(nn.ReLU(True))
            cin = hidden
        mods += [nn.Linear(cin, img_channels * img_resolution * img_resolution), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        """Return images [N, C, R, R] in [-1, 1]; truncation and noise arguments do not apply and are ignored."""
        x = z.reshape(z.shape[0], -1)
        cm = cond_matrix(c, x.shape[0], self.cond_kind, self.c_dim, x.device, x.dtype)
        if cm is not None:
            x = torch.cat([x, cm], dim=1)
        return self.net(x).view(-1, self.img_channels, self.img_resolution, self.img_resolution)


class MLPCritic(nn.Module):
    """Fully connected critic/discriminator: image [N, C, R, R] (+ condition) → one score per image [N].

    Args: ``img_resolution``, ``img_channels``, ``hidden`` units, ``layers`` hidden layers with LeakyReLU 0.2,
    ``cond_kind``/``c_dim`` (condition concatenated to the flattened pixels).
    """

    def __init__(self, img_resolution: int = 32, img_channels: int = 3, hidden: int = 512, layers: int = 3,
                 cond_kind: str = "none", c_dim: int = 0):
        super().__init__()
        check_cond(cond_kind, c_dim)
        self.cond_kind, self.c_dim = cond_kind, c_dim
        mods: list[nn.Module] = []
        cin = img_channels * img_resolution * img_resolution + c_dim
        for _ in range(layers):
            mods += [nn.Linear(cin, hidden), nn.LeakyReLU(0.2, True)]
            cin = hidden
        mods.append(nn.Linear(cin, 1))
        self.net = nn.Sequential(*mods)
        dcgan_init(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Return one unbounded score per image, shape [N]."""
        x = img.reshape(img.shape[0], -1)
        cm = cond_matrix(c, x.shape[0], self.cond_kind, self.c_dim, x.device, x.dtype)
        if cm is not None:
            x = torch.cat([x, cm], dim=1)
        return self.net(x).view(-1)
