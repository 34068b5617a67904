"""Conditional GAN (Mirza & Osindero, 2014) on the DCGAN backbone, with a label embedding.

The generator embeds the condition with a bias-free linear layer (for one-hot labels this is exactly an
``nn.Embedding`` lookup, and soft label mixtures interpolate between class embeddings) and concatenates it with ``z``;
the discriminator (``DCGANDiscriminator`` with ``cond_kind``) sees the condition as one extra input plane. ``cond_kind="features"`` conditions on a feature
vector instead (for example the codes of a frozen ``ganlib.networks.mlp_encoder.MLPEncoder``).
"""
from __future__ import annotations

from ganlib.networks.dcgan import DCGANGenerator
from ganlib.networks.registry import register_generator


@register_generator("cgan")
class ConditionalGenerator(DCGANGenerator):
    """Label-conditioned DCGAN generator: ``forward(z, c)`` with ``c`` one-hot [N, c_dim] or integer labels [N].

    Args as ``DCGANGenerator``; ``c_dim`` is the number of classes (or feature size), ``embed_dim`` the size of the
    label embedding (default 50).
    """

    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3, ngf: int = 64,
                 max_channels: int = 512, upsample: str = "deconv", cond_kind: str = "label", c_dim: int = 10,
                 embed_dim: int = 50):
        super().__init__(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels, ngf=ngf,
                         max_channels=max_channels, upsample=upsample, cond_kind=cond_kind, c_dim=c_dim,
                         embed_dim=embed_dim)
