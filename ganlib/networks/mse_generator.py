"""A generator trained with a plain MSE loss to map a conditioning feature vector (e.g. audio features) to an image.

There is no discriminator: the model regresses the image of each training example from its ``features`` row, so its
outputs are the conditional mean (smooth, a little blurry) and it renders any feature vector on a timeline
(``features:`` per keyframe). It has a small ``z`` (default 4) because every generator takes one; training feeds
random ``z`` so the network learns to ignore it.
"""
from __future__ import annotations

from ganlib.networks.registry import register_generator
from ganlib.networks.dcgan import DCGANGenerator


@register_generator("mse")
class MSEGenerator(DCGANGenerator):
    """Feature-vector → image generator: ``forward(z, c)`` with ``c`` [N, c_dim] features, output [N, C, R, R].

    Args as ``DCGANGenerator`` with ``cond_kind="features"``; ``c_dim`` is the feature size, ``embed_dim`` the size
    of the linear projection of the features (default 64), ``upsample`` defaults to "resize".
    """

    def __init__(self, z_dim: int = 4, img_resolution: int = 64, img_channels: int = 3, ngf: int = 64,
                 max_channels: int = 512, upsample: str = "resize", cond_kind: str = "features", c_dim: int = 16,
                 embed_dim: int = 64):
        super().__init__(z_dim=z_dim, img_resolution=img_resolution, img_channels=img_channels, ngf=ngf,
                         max_channels=max_channels, upsample=upsample, cond_kind=cond_kind, c_dim=c_dim,
                         embed_dim=embed_dim)
