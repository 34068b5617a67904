"""Pre-encoders for conditioning features (an MLP, or a GRU over sequence features [N, T, F]), and the generator
wrapper that puts one, frozen, in front of any conditional generator.

Training (``ganlib.train``) first fits ``MLPFeatureAutoencoder`` on the dataset's feature vectors (MSE
reconstruction through a small bottleneck), then freezes its encoder and trains the conditional generator on the
codes. ``EncodedGenerator`` keeps both in one checkpoint: it takes raw features as ``c`` (``cond_kind="features"``).
"""
from __future__ import annotations

import torch
from torch import nn

from ganlib.networks.registry import build_generator, register_generator
from ganlib.networks.small_common import GeneratorAttrs, cond_matrix


class MLPEncoder(nn.Module):
    """MLP ``in_dim`` → ``hidden`` (× ``layers``, ReLU) → ``out_dim``; ``forward(x [N, in_dim]) -> [N, out_dim]``."""

    def __init__(self, in_dim: int, hidden: int = 64, out_dim: int = 8, layers: int = 2):
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        mods: list[nn.Module] = []
        cin = in_dim
        for _ in range(layers):
            mods += [nn.Linear(cin, hidden), nn.ReLU(True)]
            cin = hidden
        mods.append(nn.Linear(cin, out_dim))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the codes [N, out_dim] of feature rows ``x`` [N, in_dim]."""
        return self.net(x)


class SequenceEncoder(nn.Module):
    """A GRU over the time axis of sequence features, then a linear map of its last hidden state:
    ``forward(x [N, steps, in_dim] or flat [N, steps * in_dim]) -> [N, out_dim]``."""

    def __init__(self, in_dim: int, steps: int, hidden: int = 64, out_dim: int = 8, layers: int = 1):
        super().__init__()
        self.in_dim, self.steps, self.out_dim = in_dim, steps, out_dim
        self.gru = nn.GRU(in_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the codes [N, out_dim] of the sequences ``x``."""
        _, h = self.gru(x.reshape(x.shape[0], self.steps, self.in_dim))
        return self.head(h[-1])


def build_encoder(kind: str = "mlp", **kwargs) -> nn.Module:
    """Return the pre-encoder of ``kind``: "mlp" (``MLPEncoder`` kwargs) or "sequence" (``SequenceEncoder``)."""
    if kind == "sequence":
        return SequenceEncoder(**kwargs)
    if kind != "mlp":
        raise ValueError(f"encoder kind must be mlp or sequence, got {kind!r}")
    return MLPEncoder(**kwargs)


def flat_in_dim(encoder: nn.Module) -> int:
    """Return how many values one (flattened) feature row of ``encoder`` holds."""
    return encoder.in_dim * getattr(encoder, "steps", 1)


class MLPFeatureAutoencoder(nn.Module):
    """Encoder (an MLP, or a GRU with ``kind="sequence"``) + MLP decoder back to the flattened features, used to
    pre-train the encoder; ``forward(x) -> reconstruction`` of the flat rows."""

    def __init__(self, in_dim: int, hidden: int = 64, out_dim: int = 8, layers: int = 2, kind: str = "mlp",
                 steps: int = 1):
        super().__init__()
        if kind == "sequence":
            self.encoder = SequenceEncoder(in_dim, steps, hidden, out_dim, layers)
        else:
            self.encoder = MLPEncoder(in_dim, hidden, out_dim, layers)
        self.decoder = MLPEncoder(out_dim, hidden, flat_in_dim(self.encoder), layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the reconstruction [N, in_dim] of ``x`` [N, in_dim]."""
        return self.decoder(self.encoder(x))


@register_generator("encoded")
class EncodedGenerator(nn.Module, GeneratorAttrs):
    """A frozen ``MLPEncoder`` in front of a conditional generator: ``forward(z, c)`` with raw features ``c``.

    Args: ``encoder`` (``build_encoder`` kwargs: MLP in_dim, hidden, out_dim, layers; or kind "sequence" with
    steps, whose rows are ``steps * in_dim`` flat values), ``generator_arch`` and ``generator_kwargs`` (any
    registered generator whose ``c_dim`` equals the encoder's ``out_dim``).
    """

    def __init__(self, encoder: dict, generator_arch: str, generator_kwargs: dict):
        super().__init__()
        self.init_kwargs = dict(encoder=dict(encoder), generator_arch=generator_arch,
                                generator_kwargs=dict(generator_kwargs))
        self.encoder = build_encoder(**encoder)
        self.generator = build_generator(generator_arch, generator_kwargs)
        if self.generator.c_dim != self.encoder.out_dim:
            raise ValueError(f"generator c_dim {self.generator.c_dim} != encoder out_dim {self.encoder.out_dim}")
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.z_dim = self.generator.z_dim
        self.c_dim = flat_in_dim(self.encoder)
        self.cond_kind = "features"
        self.img_resolution, self.img_channels = self.generator.img_resolution, self.generator.img_channels
        self.w_dim = self.num_ws = 0

    def train(self, mode: bool = True) -> "EncodedGenerator":
        """Set train/eval mode on the generator; the frozen encoder always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def encode(self, c: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
        """Return the frozen encoder's codes [n, out_dim] for features ``c`` (None → zero features)."""
        cm = cond_matrix(c, n, "features", self.c_dim, device)
        with torch.no_grad():
            return self.encoder(cm)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        """Return images [N, C, R, R] in [-1, 1] for latents ``z`` and raw features ``c`` [N, c_dim]."""
        code = self.encode(c, z.shape[0], z.device).to(z.dtype)
        return self.generator(z, code, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                              noise_mode=noise_mode)
