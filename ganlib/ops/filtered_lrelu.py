"""Filtered leaky ReLU: the alias-free nonlinearity of StyleGAN3 (Karras et al. 2021, section 3.2).

The activation is applied at a temporarily higher sampling rate: add the bias, upsample by ``up`` through the low-pass
filter ``fu``, scale by ``gain``, leaky ReLU with negative ``slope``, clamp to ``[-clamp, clamp]``, then low-pass
filter with ``fd`` and keep every ``down``-th sample. Built on the reference ops ``upfirdn2d`` and ``bias_act`` (which
use their CUDA kernels for CUDA tensors where those are enabled); a fused kernel may follow behind the same call.

Filters are ``None`` (identity), 1-D separable taps ``[k]`` or 2-D ``[kh, kw]``; ``padding`` is ``[x0, x1, y0, y1]``
with respect to the upsampled image (an int or an (x, y) pair also work).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from ganlib.ops.bias_act import bias_act
from ganlib.ops.upfirdn2d import filter_size, parse_padding, upfirdn2d


def output_size(in_w: int, in_h: int, fu: torch.Tensor | None, fd: torch.Tensor | None, up: int, down: int,
                padding: int | Sequence[int]) -> tuple[int, int]:
    """Return the (width, height) that ``filtered_lrelu`` produces for an input of ``in_w`` × ``in_h``."""
    px0, px1, py0, py1 = parse_padding(padding)
    fu_w, fu_h = filter_size(fu)
    fd_w, fd_h = filter_size(fd)
    out_w = (in_w * up + px0 + px1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (in_h * up + py0 + py1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down
    return out_w, out_h


def filtered_lrelu_ref(x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None,
                       b: torch.Tensor | None = None, up: int = 1, down: int = 1, padding: int | Sequence[int] = 0,
                       gain: float = math.sqrt(2), slope: float = 0.2, clamp: float | None = None,
                       flip_filter: bool = False) -> torch.Tensor:
    """Return bias → upsample(``fu``, ``up``) → ``clamp(lrelu(·, slope) · gain)`` → downsample(``fd``, ``down``)
    of ``x`` [N, C, H, W], in ``x``'s dtype; the output size is ``output_size(...)``.

    ``b`` is a per-channel bias [C]; the upsampling keeps the signal's magnitude (gain ``up**2``).
    """
    if x.ndim != 4:
        raise ValueError(f"filtered_lrelu expects [N, C, H, W], got {list(x.shape)}")
    if not (isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1):
        raise ValueError(f"up and down must be positive integers, got {up!r}, {down!r}")
    if gain <= 0 or slope < 0 or (clamp is not None and clamp < 0):
        raise ValueError("gain must be > 0, slope >= 0 and clamp None or >= 0")
    pad = parse_padding(padding)
    want_w, want_h = output_size(x.shape[3], x.shape[2], fu, fd, up, down, pad)
    in_dtype = x.dtype
    if b is not None:
        x = bias_act(x, b.to(x.dtype))
    x = upfirdn2d(x, fu, up=up, padding=pad, gain=up ** 2, flip_filter=flip_filter)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    x = upfirdn2d(x, fd, down=down, flip_filter=flip_filter)
    assert x.shape[2:] == (want_h, want_w) and x.dtype == in_dtype
    return x


def _crop_or_pad(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """Return ``length`` samples of ``x`` along ``dim`` from index ``start`` (zeros outside the tensor)."""
    size = x.shape[dim]
    before, after = max(-start, 0), max(start + length - size, 0)
    if before or after:
        pad = [0, 0] * (x.ndim - 1 - dim) + [before, after]
        x = F.pad(x, pad)
        start += before
    return x.narrow(dim, start, length)


def _upsample_axis(x: torch.Tensor, f: torch.Tensor, up: int, dim: int, p0: int, p1: int) -> torch.Tensor:
    """Zero-insertion upsampling by ``up`` along ``dim`` (2 or 3), padding (p0, p1) and true convolution with the
    1-D taps ``f`` (gain ``up``), as one transposed convolution: no multiplications by the inserted zeros."""
    n, c, h, w = x.shape
    k = f.shape[0]
    weight = (f * up).to(x.dtype).reshape(1, 1, k, 1) if dim == 2 else (f * up).to(x.dtype).reshape(1, 1, 1, k)
    stride = (up, 1) if dim == 2 else (1, up)
    y = F.conv_transpose2d(x.reshape(n * c, 1, h, w), weight, stride=stride)
    y = y.reshape(n, c, y.shape[2], y.shape[3])
    length = x.shape[dim] * up + p0 + p1 - k + 1
    return _crop_or_pad(y, dim, k - 1 - p0, length)


def _fast_path(x, fu, fd, b, up, down, pad, gain, slope, clamp) -> torch.Tensor:
    """Separable ``fu`` by transposed convolutions, bias/act, ``fd`` as a strided convolution (exact reordering of
    ``filtered_lrelu_ref``'s sums)."""
    n, c = x.shape[:2]
    px0, px1, py0, py1 = pad
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    if fu is not None:
        x = _upsample_axis(x, fu, up, 3, px0, px1)
        x = _upsample_axis(x, fu, up, 2, py0, py1)
    else:
        x = upfirdn2d(x, None, up=up, padding=pad, gain=up ** 2)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    if fd is None:
        return x[:, :, ::down, ::down]
    h, w = x.shape[2:]
    x = x.reshape(n * c, 1, h, w)
    fd = fd.to(x.dtype).flip(list(range(fd.ndim)))
    if fd.ndim == 1:
        x = F.conv2d(x, fd.reshape(1, 1, 1, -1), stride=(1, down))
        x = F.conv2d(x, fd.reshape(1, 1, -1, 1), stride=(down, 1))
    else:
        x = F.conv2d(x, fd[None, None], stride=down)
    return x.reshape(n, c, x.shape[2], x.shape[3])


def filtered_lrelu(x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None,
                   b: torch.Tensor | None = None, up: int = 1, down: int = 1, padding: int | Sequence[int] = 0,
                   gain: float = math.sqrt(2), slope: float = 0.2, clamp: float | None = None,
                   flip_filter: bool = False) -> torch.Tensor:
    """The filtered leaky ReLU (same arguments and result as ``filtered_lrelu_ref``); the entry point networks call,
    so that a fused CUDA kernel can take over behind it. A 1-D (separable) or absent ``fu`` runs through an
    equivalent faster ordering of the same sums (transposed convolutions for the upsampling, strided convolutions
    for the downsampling)."""
    if x.ndim == 4 and (fu is None or fu.ndim == 1) and not flip_filter and not x.is_cuda:
        pad = parse_padding(padding)
        want = output_size(x.shape[3], x.shape[2], fu, fd, up, down, pad)
        y = _fast_path(x, fu, fd, b, up, down, pad, gain, slope, clamp)
        assert y.shape[2:] == (want[1], want[0])
        return y
    return filtered_lrelu_ref(x, fu=fu, fd=fd, b=b, up=up, down=down, padding=padding, gain=gain, slope=slope,
                              clamp=clamp, flip_filter=flip_filter)
