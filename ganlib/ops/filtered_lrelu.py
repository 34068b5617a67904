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


def filtered_lrelu(x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None,
                   b: torch.Tensor | None = None, up: int = 1, down: int = 1, padding: int | Sequence[int] = 0,
                   gain: float = math.sqrt(2), slope: float = 0.2, clamp: float | None = None,
                   flip_filter: bool = False) -> torch.Tensor:
    """The filtered leaky ReLU (same arguments and result as ``filtered_lrelu_ref``); the entry point networks call,
    so that a fused CUDA kernel can take over behind it."""
    return filtered_lrelu_ref(x, fu=fu, fd=fd, b=b, up=up, down=down, padding=padding, gain=gain, slope=slope,
                              clamp=clamp, flip_filter=flip_filter)
