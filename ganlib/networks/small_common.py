"""Shared pieces of the small networks (DCGAN family, WGAN, cGAN, MSE generator, autoencoder, classifier).

Weight initialisation as in Radford et al. (conv weights N(0, 0.02), batch-norm scale N(1, 0.02), bias 0), the
channel schedule of a DCGAN-style pyramid, and the conversion of a generator's condition ``c`` (one-hot labels,
integer labels or feature vectors) into one float matrix.
"""
from __future__ import annotations

import math

import torch
from torch import nn

COND_KINDS = ("none", "label", "features")


def dcgan_init(module: nn.Module, std: float = 0.02) -> None:
    """Initialise ``module`` in place as DCGAN does: conv/linear weights N(0, std), norm scales N(1, std), biases 0.

    Takes any module (applied recursively); returns nothing. Spectral-norm wrapped layers are initialised through
    their ``weight_orig`` parameter.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            weight = getattr(m, "weight_orig", None)
            if weight is None:
                weight = m.weight
            nn.init.normal_(weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm)):
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def check_resolution(resolution: int, minimum: int = 8) -> int:
    """Return ``log2(resolution)`` after checking that it is a power of two >= ``minimum``; raise ValueError if not."""
    if resolution < minimum or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= {minimum}, got {resolution}")
    return int(math.log2(resolution))


BASE_SIZES = (4, 5, 6, 7)  # the smallest feature map of a DCGAN-style pyramid


def base_size(resolution: int) -> int | None:
    """Return the smallest map of the pyramid that doubles up to ``resolution`` (``resolution = base · 2^k`` with
    base in 4..7 and k >= 1: 28 px starts at 7x7, 64 px at 4x4), or None when no such pyramid exists."""
    r = int(resolution)
    if r < 8:
        return None
    while r % 2 == 0 and r // 2 >= 4:
        r //= 2
    return r if r in BASE_SIZES and r < resolution else None


def pyramid_resolutions(maximum: int = 1024) -> list[int]:
    """Return every resolution up to ``maximum`` that ``base_size`` accepts, ascending (8, 10, 12, 14, 16, 20, ...)."""
    return sorted({b << k for b in BASE_SIZES for k in range(1, 12) if (b << k) <= maximum})


def check_pyramid_resolution(resolution: int) -> int:
    """Return ``base_size(resolution)``; raise ValueError listing the allowed sizes when there is none."""
    b = base_size(resolution)
    if b is None:
        allowed = pyramid_resolutions(128)
        raise ValueError(f"resolution {resolution} cannot be built (sizes are 4, 5, 6 or 7 px doubled at least once): "
                         f"{', '.join(map(str, allowed))}, ... up to 1024")
    return b


def pyramid_channels(resolution: int, base: int, max_channels: int) -> dict[int, int]:
    """Return {feature-map size: channels} for a DCGAN pyramid ending at ``resolution`` with ``base`` channels.

    The map just below the output (resolution / 2) has ``base`` channels; each halving of the size doubles them,
    capped at ``max_channels``, down to the pyramid's smallest map ``base_size(resolution)`` (DCGAN-64 with base 64
    gives 4:512, 8:256, 16:128, 32:64; 28 px gives 7:128, 14:64).
    """
    smallest = check_pyramid_resolution(resolution)
    out = {}
    size = resolution // 2
    ch = base
    while size >= smallest:
        out[size] = min(ch, max_channels)
        size //= 2
        ch *= 2
    return out


def check_cond(cond_kind: str, c_dim: int) -> None:
    """Raise ValueError unless ``cond_kind`` is one of COND_KINDS and ``c_dim`` fits it (0 exactly when "none")."""
    if cond_kind not in COND_KINDS:
        raise ValueError(f"cond_kind must be one of {COND_KINDS}, got {cond_kind!r}")
    if (cond_kind == "none") != (c_dim == 0):
        raise ValueError(f"c_dim={c_dim} does not fit cond_kind={cond_kind!r}")


def cond_matrix(c: torch.Tensor | None, n: int, cond_kind: str, c_dim: int, device: torch.device,
                dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    """Return the condition as a float [n, c_dim] matrix, or None when the model is unconditional.

    ``c`` may be one-hot or soft label weights [n, c_dim], integer labels [n] (turned into one-hot), or feature
    vectors [n, c_dim]; a single row is broadcast to ``n``. ``c=None`` gives the uniform label mixture for label
    models and zeros for feature models.
    """
    if cond_kind == "none":
        return None
    if c is None:
        if cond_kind == "label":
            return torch.full((n, c_dim), 1.0 / c_dim, device=device, dtype=dtype)
        return torch.zeros(n, c_dim, device=device, dtype=dtype)
    c = torch.as_tensor(c, device=device)
    if c.ndim == 1 and not torch.is_floating_point(c):
        c = nn.functional.one_hot(c.long(), c_dim)
    if c.ndim == 1:
        c = c.unsqueeze(0)
    c = c.to(dtype)
    if c.shape[-1] != c_dim:
        raise ValueError(f"condition has {c.shape[-1]} values per row, the model expects c_dim={c_dim}")
    if c.shape[0] == 1 and n != 1:
        c = c.expand(n, -1)
    return c


class GeneratorAttrs:
    """Mixin documenting the generator contract attributes; classes set them in ``__init__``.

    ``z_dim, c_dim, img_resolution, img_channels, cond_kind``, ``w_dim = num_ws = 0`` (no w space) and
    ``init_kwargs`` (the JSON-able constructor arguments that rebuild the model with ``build_generator``).
    """

    z_dim: int
    c_dim: int
    img_resolution: int
    img_channels: int
    cond_kind: str
    w_dim: int = 0
    num_ws: int = 0
    init_kwargs: dict
