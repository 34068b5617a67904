"""FIR filtering with up- and down-sampling (upfirdn2d): the anti-aliased resampling of StyleGAN2.

Filters are 2-D tensors ``[fh, fw]`` (or 1-D separable ``[fw]``) made by ``setup_filter``; padding is
``[x0, x1, y0, y1]`` (negative values crop).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    assert len(v) == 2
    return int(v[0]), int(v[1])


def parse_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """Return padding as (x0, x1, y0, y1) from an int, an (x, y) pair or a 4-sequence."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        px, py = padding
        return int(px), int(px), int(py), int(py)
    x0, x1, y0, y1 = padding
    return int(x0), int(x1), int(y0), int(y1)


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """Return (width, height) of a filter (1, 1 for None)."""
    if f is None:
        return 1, 1
    fw = f.shape[-1]
    fh = f.shape[0]
    return int(fw), int(fh)


def setup_filter(f, device: torch.device | str = "cpu", normalize: bool = True, flip_filter: bool = False,
                 gain: float = 1, separable: bool | None = None) -> torch.Tensor:
    """Return a float32 filter tensor from taps like ``[1, 3, 3, 1]``.

    1-D taps become their 2-D outer product unless ``separable`` (default: separable only for 8+ taps);
    ``normalize`` makes the taps sum to 1, ``gain`` scales the overall response.
    """
    if f is None:
        f = 1
    f = torch.as_tensor(f, dtype=torch.float32, device="cpu")  # CPU even under a meta-device context (sizing builds)
    if f.ndim == 0:
        f = f[None]
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


def upfirdn2d_ref(x: torch.Tensor, f: torch.Tensor | None, up: int | Sequence[int] = 1, down: int | Sequence[int] = 1,
                  padding: int | Sequence[int] = 0, flip_filter: bool = False, gain: float = 1) -> torch.Tensor:
    """Upsample ``x`` [N,C,H,W] by zero insertion, pad, convolve with ``f``, then keep every ``down``-th pixel.

    Pure PyTorch reference; returns the filtered tensor. Raises ValueError for an empty filter (as NVlabs asserts).
    """
    if f is not None and (f.numel() == 0 or f.ndim not in (1, 2)):
        raise ValueError(f"upfirdn2d: the filter must be 1-D or 2-D with at least one tap, got shape {list(f.shape)}")
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    batch, channels, in_h, in_w = x.shape

    if upx > 1 or upy > 1:
        x = x.reshape(batch, channels, in_h, 1, in_w, 1)
        x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
        x = x.reshape(batch, channels, in_h * upy, in_w * upx)

    x = F.pad(x, [max(padx0, 0), max(padx1, 0), max(pady0, 0), max(pady1, 0)])
    x = x[:, :, max(-pady0, 0): x.shape[2] - max(-pady1, 0), max(-padx0, 0): x.shape[3] - max(-padx1, 0)]

    f = f * (gain ** (f.ndim / 2))
    f = f.to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f[None, None].repeat([channels, 1] + [1] * f.ndim)
    if f.ndim == 4:
        x = F.conv2d(x, f, groups=channels)
    else:
        x = F.conv2d(x, f.unsqueeze(2), groups=channels)
        x = F.conv2d(x, f.unsqueeze(3), groups=channels)

    if downx > 1 or downy > 1:
        x = x[:, :, ::downy, ::downx]
    return x


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up=1, down=1, padding=0, flip_filter: bool = False,
              gain: float = 1) -> torch.Tensor:
    """Same result as ``upfirdn2d_ref``; uses the custom CUDA kernel for CUDA tensors when it is enabled."""
    if x.is_cuda:
        from ganlib.ops import backend
        impl = backend.cuda_upfirdn2d()
        if impl is not None:
            return impl(x, f, up=up, down=down, padding=padding, flip_filter=flip_filter, gain=gain)
    return upfirdn2d_ref(x, f, up=up, down=down, padding=padding, flip_filter=flip_filter, gain=gain)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding=0, flip_filter: bool = False,
               gain: float = 1) -> torch.Tensor:
    """Return ``x`` upsampled by ``up`` with the FIR filter ``f`` (output size ``H*up``)."""
    upx, upy = _pair(up)
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [padx0 + (fw + upx - 1) // 2, padx1 + (fw - upx) // 2,
         pady0 + (fh + upy - 1) // 2, pady1 + (fh - upy) // 2]
    return upfirdn2d(x, f, up=up, padding=p, flip_filter=flip_filter, gain=gain * upx * upy)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2, padding=0, flip_filter: bool = False,
                 gain: float = 1) -> torch.Tensor:
    """Return ``x`` downsampled by ``down`` after FIR low-pass filtering with ``f`` (output size ``H/down``)."""
    downx, downy = _pair(down)
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [padx0 + (fw - downx + 1) // 2, padx1 + (fw - downx) // 2,
         pady0 + (fh - downy + 1) // 2, pady1 + (fh - downy) // 2]
    return upfirdn2d(x, f, down=down, padding=p, flip_filter=flip_filter, gain=gain)
