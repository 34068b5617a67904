"""Autograd functions over ganlib's custom CUDA kernels (``ganlib_ops.cpp``, ``upfirdn2d_kernel.cu``,
``bias_act_kernel.cu``): ``upfirdn2d_cuda`` and ``bias_act_cuda``, drop-in equivalents of the reference ops.

Gradients:
- upfirdn2d is linear in x: its gradient is upfirdn2d of the output gradient with the filter flipped, up and down
  swapped and the padding mirrored (``_backward_padding``); it is built from the same Function, so gradients of any
  order work. Filters are constants (no gradient).
- bias_act: ``ds = dy * gain * act'(s) * [|y| < clamp]`` with s = x + b, from the saved output y for most activations
  (from x for swish); the second derivative (R1 regularisation differentiates through the first) uses act''(s).
  ReLU-like activations have act'' = 0, so for them nothing but y is kept for backward.

upfirdn2d uses the tiled separable kernel (``upfirdn2d_tiled.cu``) for separable filters with up and down 1 or 2
(every StyleGAN2/3 case), the generic kernel otherwise. The kernels are reached through ``kernels()`` (the built
extension); ``cuda_emulation.EmulatedKernels`` implements the same entry points with plain PyTorch so that the
autograd wiring and the derivative formulas can be tested on CPU (``use_kernels``).
"""
from __future__ import annotations

import os

import torch
from torch.autograd import Function
from torch.utils.weak import WeakTensorKeyDictionary

from ganlib.ops.bias_act import ACTIVATIONS, resolve
from ganlib.ops.upfirdn2d import _pair, parse_padding

SECOND_ORDER_ZERO = {"linear", "relu", "lrelu"}

_override: list = []


def kernels():
    """Return the object providing ``upfirdn2d`` and ``bias_act`` kernels (the built CUDA extension)."""
    if _override:
        return _override[-1]
    from ganlib.ops import backend
    module = backend._load_cuda_module()
    if module is None:
        raise RuntimeError("ganlib CUDA ops are not available")
    return module


def _empty(like: torch.Tensor) -> torch.Tensor:
    return torch.empty([0], dtype=like.dtype, device=like.device)


# ------------------------------------------------------------------------------------------------- upfirdn2d
SEP_MAX_TAPS = 16  # the tiled kernel's limit per axis (upfirdn2d_tiled.cu)
_TAPS_CACHE = WeakTensorKeyDictionary()


class _Filter:
    """A filter as the kernels take it: ``dense`` [fh, fw] float32 on the input's device, and ``taps`` = (fx, fy)
    float32 CPU tensors when it is separable (1-D filters, and 2-D ones that are an outer product)."""

    def __init__(self, dense: torch.Tensor, taps: tuple[torch.Tensor, torch.Tensor] | None):
        self.dense, self.taps = dense, taps


def _separable_taps(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(fx, fy) on the CPU with outer(fy, fx) == f (to float32 rounding), or None. Remembered per filter tensor
    (and its version), so a model's filter buffers are read back from the GPU once, not on every call."""
    hit = _TAPS_CACHE.get(f)
    if hit is not None and hit[0] == f._version:
        return hit[1]
    c = f.detach().to("cpu", torch.float32)
    if c.ndim == 1:
        taps = (c.contiguous(), c.contiguous())
    else:
        r, k = divmod(int(c.abs().argmax()), c.shape[1])
        fx, fy = c[r].clone(), (c[:, k] / c[r, k]).contiguous()
        err = (torch.outer(fy, fx) - c).abs().max() if c[r, k] != 0 else torch.tensor(float("inf"))
        taps = (fx.contiguous(), fy) if err <= 1e-6 * c.abs().max() else None
    _TAPS_CACHE[f] = (f._version, taps)
    return taps


def _tiled(filt: _Filter, cfg: tuple) -> bool:
    """Whether the tiled separable kernel covers this call (up and down 1 or 2 on both axes, <= 16 taps);
    ``STUDIO_OPS_TILED=0`` sends every call to the generic kernel (for comparisons)."""
    if os.environ.get("STUDIO_OPS_TILED", "1") == "0":
        return False
    upx, upy, downx, downy = cfg[:4]
    return (filt.taps is not None and upx == upy and downx == downy and upx in (1, 2) and downx in (1, 2)
            and max(filt.taps[0].numel(), filt.taps[1].numel()) <= SEP_MAX_TAPS)


def _run_upfirdn2d(x: torch.Tensor, filt: _Filter, cfg: tuple) -> torch.Tensor:
    upx, upy, downx, downy, px0, px1, py0, py1, flip, gain = cfg
    if _tiled(filt, cfg):
        fx, fy = filt.taps  # type: ignore[misc]
        return kernels().upfirdn2d_sep(x, fx, fy, upx, downx, px0, px1, py0, py1, flip, gain)
    return kernels().upfirdn2d(x, filt.dense, upx, upy, downx, downy, px0, px1, py0, py1, flip, gain)


def _backward_padding(in_size: int, out_size: int, f_size: int, up: int, down: int, p0: int) -> tuple[int, int]:
    """Padding (p0', p1') along one axis for the gradient of upfirdn2d (up/down swapped, filter flipped)."""
    q0 = f_size - 1 - p0
    q1 = in_size * up - out_size * down + p0 - up + 1
    return q0, q1


class _Upfirdn2d(Function):
    @staticmethod
    def forward(ctx, x, filt, cfg):  # noqa: D102 - autograd
        y = _run_upfirdn2d(x, filt, cfg)
        ctx.filt, ctx.cfg = filt, cfg
        ctx.in_hw = (x.shape[2], x.shape[3])
        ctx.out_hw = (y.shape[2], y.shape[3])
        return y

    @staticmethod
    def backward(ctx, dy):  # noqa: D102 - autograd
        upx, upy, downx, downy, px0, px1, py0, py1, flip, gain = ctx.cfg
        fh, fw = ctx.filt.dense.shape
        qx0, qx1 = _backward_padding(ctx.in_hw[1], ctx.out_hw[1], fw, upx, downx, px0)
        qy0, qy1 = _backward_padding(ctx.in_hw[0], ctx.out_hw[0], fh, upy, downy, py0)
        dx = None
        if ctx.needs_input_grad[0]:
            cfg = (downx, downy, upx, upy, qx0, qx1, qy0, qy1, not flip, gain)
            dx = _Upfirdn2d.apply(dy, ctx.filt, cfg)
        return dx, None, None


def upfirdn2d_cuda(x: torch.Tensor, f: torch.Tensor | None, up=1, down=1, padding=0, flip_filter: bool = False,
                   gain: float = 1) -> torch.Tensor:
    """Same contract as ``ganlib.ops.upfirdn2d.upfirdn2d_ref``, computed by the CUDA kernels (autograd-capable):
    the tiled separable kernel where it applies, else the generic one. Raises ValueError for an empty filter."""
    from ganlib.ops.upfirdn2d import upfirdn2d_ref
    if f is not None and f.requires_grad:
        return upfirdn2d_ref(x, f, up=up, down=down, padding=padding, flip_filter=flip_filter, gain=gain)
    if f is not None and (f.numel() == 0 or f.ndim not in (1, 2)):
        raise ValueError(f"upfirdn2d: the filter must be 1-D or 2-D with at least one tap, got shape {list(f.shape)}")
    if f is None:  # identity: nothing to read back from the GPU
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
        taps = (torch.ones(1), torch.ones(1))
    else:
        taps = _separable_taps(f)
    if f.ndim == 1:
        f1 = f.to(device=x.device, dtype=torch.float32)
        dense = torch.outer(f1, f1)
    else:
        dense = f.to(device=x.device, dtype=torch.float32)
    filt = _Filter(dense.contiguous(), taps)
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = parse_padding(padding)
    cfg = (upx, upy, downx, downy, px0, px1, py0, py1, bool(flip_filter), float(gain))
    return _Upfirdn2d.apply(x, filt, cfg)


# -------------------------------------------------------------------------------------------------- bias_act
def _reduce_dims(x: torch.Tensor, dim: int) -> list[int]:
    return [i for i in range(x.ndim) if i != dim]


class _BiasActGrad(Function):
    """ds = dy * gain * act'(s) * mask, as a function of (dy, x, b); y is a constant reference."""

    @staticmethod
    def forward(ctx, dy, x, b, y, cfg):  # noqa: D102 - autograd
        dim, act, code, alpha, gain, clamp = cfg
        ds = kernels().bias_act(dy, b, x, y, dim, code, 1, alpha, gain, clamp)
        ctx.save_for_backward(dy, x, b, y)
        ctx.cfg = cfg
        return ds

    @staticmethod
    def backward(ctx, d_ds):  # noqa: D102 - autograd
        dy, x, b, y = ctx.saved_tensors
        dim, act, code, alpha, gain, clamp = ctx.cfg
        k = kernels()
        d_dy = d_x = d_b = None
        if ctx.needs_input_grad[0]:
            d_dy = _BiasActGrad.apply(_like(d_ds, y if y.numel() > 0 else x), x, b, y, ctx.cfg)
        if (ctx.needs_input_grad[1] or ctx.needs_input_grad[2]) and act not in SECOND_ORDER_ZERO:
            ref = x if x.numel() > 0 else y
            g = k.bias_act(_like(d_ds * dy, ref), b, x, y, dim, code, 2, alpha, gain, clamp)
            if ctx.needs_input_grad[1]:
                d_x = g
            if ctx.needs_input_grad[2] and b.numel() > 0:
                d_b = g.sum(_reduce_dims(g, dim))
        return d_dy, d_x, d_b, None, None


class _BiasAct(Function):
    @staticmethod
    def forward(ctx, x, b, cfg):  # noqa: D102 - autograd
        dim, act, code, alpha, gain, clamp = cfg
        empty = _empty(x)
        y = kernels().bias_act(x, b, empty, empty, dim, code, 0, alpha, gain, clamp)
        ref = ACTIVATIONS[act].ref
        keep_x = ref == "x" or act not in SECOND_ORDER_ZERO
        keep_y = ref == "y" or clamp >= 0
        ctx.save_for_backward(x if keep_x else empty, b if keep_x else _empty(b), y if keep_y else empty)
        ctx.cfg = cfg
        return y

    @staticmethod
    def backward(ctx, dy):  # noqa: D102 - autograd
        x, b, y = ctx.saved_tensors
        dim, act, code, alpha, gain, clamp = ctx.cfg
        if act == "linear" and clamp < 0:
            ds = dy * gain if gain != 1 else dy
        else:
            ds = _BiasActGrad.apply(_like(dy, y if y.numel() > 0 else x), x, b, y, ctx.cfg)
        dx = ds if ctx.needs_input_grad[0] else None
        db = ds.sum(_reduce_dims(ds, dim)) if ctx.needs_input_grad[1] else None
        return dx, db, None


def _like(t: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``t`` with the memory layout of ``ref`` (the kernels take tensors of one layout)."""
    if ref.numel() == 0 or t.stride() == ref.stride():
        return t
    return torch.empty_like(ref).copy_(t)


def bias_act_cuda(x: torch.Tensor, b: torch.Tensor | None = None, dim: int = 1, act: str = "linear",
                  alpha: float | None = None, gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """Same contract as ``ganlib.ops.bias_act.bias_act_ref``, computed by the CUDA kernel (autograd-capable)."""
    spec, alpha, gain, clamp = resolve(act, alpha, gain, clamp)
    if not (x.is_contiguous() or (x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last))):
        x = x.contiguous()
    if b is None:
        b = _empty(x)
    else:
        if not 0 <= dim < x.ndim:
            raise ValueError(f"bias_act: dim={dim} is out of range for a {x.ndim}-D x")
        if b.ndim != 1 or b.shape[0] != x.shape[dim]:
            raise ValueError(f"bias must have shape [{x.shape[dim]}], got {list(b.shape)}")
        b = b.to(dtype=x.dtype).contiguous()
    cfg = (int(dim), act, int(spec.cuda_idx), float(alpha), float(gain), float(clamp))
    return _BiasAct.apply(x, b, cfg)


def use_kernels(obj):
    """Context manager: route ``upfirdn2d_cuda``/``bias_act_cuda`` to ``obj`` (e.g. EmulatedKernels()) inside."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        _override.append(obj)
        try:
            yield obj
        finally:
            _override.pop()
    return ctx()

