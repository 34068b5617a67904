"""Convolutional autoencoder (MSE) with an optional label-conditioned decoder.

The encoder halves the image with 4x4 stride-2 convolutions (LeakyReLU 0.2, batch norm) down to 4x4 and maps it to a
``code_dim`` vector; the decoder mirrors it with resize-convolutions. With ``cond_kind="label"`` the decoder also
gets the class (an embedding concatenated to the code), so ``decode(encode(x), other_label)`` re-renders an image
as another class. The model is also a generator (``forward(z, c)`` decodes ``z`` as a code), so its checkpoint
drops into a timeline; codes written by ``studio autoencode`` make good ``latent:`` keyframes.
"""
from __future__ import annotations

import torch
from torch import nn

from ganlib.networks.registry import register_generator
from ganlib.networks.small_common import (GeneratorAttrs, check_cond, check_pyramid_resolution, cond_matrix, dcgan_init,
                                          pyramid_channels)


@register_generator("autoencoder")
class ConvAutoencoder(nn.Module, GeneratorAttrs):
    """Conv autoencoder: ``encode(x) -> code [N, code_dim]``, ``decode(code, c) -> image``, ``forward`` = decode.

    Args: ``img_resolution`` (``b · 2^k``, b in 4..7, k >= 1: 28, 32, 64, ...), ``img_channels``, ``code_dim``,
    ``width`` channels of the first encoder map (doubling per halving, capped at ``max_channels``), ``cond_kind``
    "none" or "label" with ``c_dim`` classes and ``embed_dim`` label-embedding size.
    """

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, code_dim: int = 64, width: int = 32,
                 max_channels: int = 256, cond_kind: str = "none", c_dim: int = 0, embed_dim: int = 16):
        super().__init__()
        b = self._base = check_pyramid_resolution(img_resolution)
        check_cond(cond_kind, c_dim)
        if cond_kind == "features":
            raise ValueError("the autoencoder's decoder is conditioned on labels only")
        self.init_kwargs = dict(img_resolution=img_resolution, img_channels=img_channels, code_dim=code_dim,
                                width=width, max_channels=max_channels, cond_kind=cond_kind, c_dim=c_dim,
                                embed_dim=embed_dim)
        self.z_dim, self.c_dim, self.cond_kind = code_dim, c_dim, cond_kind
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.w_dim = self.num_ws = 0
        self.code_dim = code_dim
        chans = pyramid_channels(img_resolution, width, max_channels)
        size = img_resolution // 2
        enc: list[nn.Module] = [nn.Conv2d(img_channels, chans[size], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        while size > b:
            enc += [nn.Conv2d(chans[size], chans[size // 2], 4, 2, 1, bias=False), nn.BatchNorm2d(chans[size // 2]),
                    nn.LeakyReLU(0.2, True)]
            size //= 2
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(chans[b] * b * b, code_dim))
        self.embed = nn.Linear(c_dim, embed_dim, bias=False) if cond_kind == "label" else None
        din = code_dim + (embed_dim if self.embed is not None else 0)
        self._ch4 = chans[b]
        self.fc = nn.Sequential(nn.Linear(din, chans[b] * b * b), nn.ReLU(True))
        dec: list[nn.Module] = []
        size = b
        while size * 2 < img_resolution:
            dec += [nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(chans[size], chans[size * 2], 3, 1, 1, bias=False), nn.BatchNorm2d(chans[size * 2]),
                    nn.ReLU(True)]
            size *= 2
        dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(chans[size], img_channels, 3, 1, 1),
                nn.Tanh()]
        self.decoder = nn.Sequential(*dec)
        dcgan_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return codes [N, code_dim] for images ``x`` [N, C, R, R] in [-1, 1]."""
        return self.encoder(x)

    def decode(self, code: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Return images [N, C, R, R] in [-1, 1] for codes [N, code_dim] and (conditional models) labels ``c``
        (one-hot [N, c_dim] or integer [N]; None → the uniform mixture of classes)."""
        h = code.reshape(code.shape[0], -1)
        cm = cond_matrix(c, h.shape[0], self.cond_kind, self.c_dim, h.device, h.dtype)
        if cm is not None:
            h = torch.cat([h, self.embed(cm)], dim=1)
        return self.decoder(self.fc(h).view(-1, self._ch4, self._base, self._base))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        """Generator contract: decode ``z`` [N, code_dim] as codes (with labels ``c``); other arguments ignored."""
        return self.decode(z, c)

    def reconstruct(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``decode(encode(x), c)``: the reconstruction, or with another label the image re-rendered."""
        return self.decode(self.encode(x), c)
