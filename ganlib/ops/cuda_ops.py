"""Autograd functions over ganlib's custom CUDA kernels (``ganlib_ops.cpp``, ``upfirdn2d_kernel.cu``,
``bias_act_kernel.cu``): ``upfirdn2d_cuda`` and ``bias_act_cuda``, drop-in equivalents of the reference ops.

Gradients:
- upfirdn2d is linear in x: its gradient is upfirdn2d of the output gradient with the filter flipped, up and down
  swapped and the padding mirrored (``_backward_padding``); it is built from the same Function, so gradients of any
  order work. Filters are constants (no gradient).
- bias_act: ``ds = dy * gain * act'(s) * [|y| < clamp]`` with s = x + b, from the saved output y for most activations
  (from x for swish); the second derivative (R1 regularisation differentiates through the first) uses act''(s).
  ReLU-like activations have act'' = 0, so for them nothing but y is kept for backward.

The kernels are reached through ``kernels()`` (the built extension); ``EmulatedKernels`` implements the same entry
points with plain PyTorch so that the autograd wiring and the derivative formulas can be tested on CPU.
"""
from __future__ import annotations

import torch
from torch.autograd import Function

from ganlib.ops.bias_act import ACTIVATIONS, resolve
from ganlib.ops.upfirdn2d import _pair, parse_padding

_EMPTY_CACHE: dict[tuple, torch.Tensor] = {}
SECOND_ORDER_ZERO = {"linear", "relu", "lrelu"}
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717

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
def _backward_padding(in_size: int, out_size: int, f_size: int, up: int, down: int, p0: int) -> tuple[int, int]:
    """Padding (p0', p1') along one axis for the gradient of upfirdn2d (up/down swapped, filter flipped)."""
    q0 = f_size - 1 - p0
    q1 = in_size * up - out_size * down + p0 - up + 1
    return q0, q1


class _Upfirdn2d(Function):
    @staticmethod
    def forward(ctx, x, f, cfg):  # noqa: D102 - autograd
        upx, upy, downx, downy, px0, px1, py0, py1, flip, gain = cfg
        y = kernels().upfirdn2d(x, f, upx, upy, downx, downy, px0, px1, py0, py1, flip, gain)
        ctx.save_for_backward(f)
        ctx.cfg = cfg
        ctx.in_hw = (x.shape[2], x.shape[3])
        ctx.out_hw = (y.shape[2], y.shape[3])
        return y

    @staticmethod
    def backward(ctx, dy):  # noqa: D102 - autograd
        (f,) = ctx.saved_tensors
        upx, upy, downx, downy, px0, px1, py0, py1, flip, gain = ctx.cfg
        fh, fw = f.shape
        qx0, qx1 = _backward_padding(ctx.in_hw[1], ctx.out_hw[1], fw, upx, downx, px0)
        qy0, qy1 = _backward_padding(ctx.in_hw[0], ctx.out_hw[0], fh, upy, downy, py0)
        dx = None
        if ctx.needs_input_grad[0]:
            cfg = (downx, downy, upx, upy, qx0, qx1, qy0, qy1, not flip, gain)
            dx = _Upfirdn2d.apply(dy, f, cfg)
        return dx, None, None


def upfirdn2d_cuda(x: torch.Tensor, f: torch.Tensor | None, up=1, down=1, padding=0, flip_filter: bool = False,
                   gain: float = 1) -> torch.Tensor:
    """Same contract as ``ganlib.ops.upfirdn2d.upfirdn2d_ref``, computed by the CUDA kernel (autograd-capable)."""
    from ganlib.ops.upfirdn2d import upfirdn2d_ref
    if f is not None and f.requires_grad:
        return upfirdn2d_ref(x, f, up=up, down=down, padding=padding, flip_filter=flip_filter, gain=gain)
    if f is None:
        f2 = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    elif f.ndim == 1:
        f1 = f.to(device=x.device, dtype=torch.float32)
        f2 = torch.outer(f1, f1)
    else:
        f2 = f.to(device=x.device, dtype=torch.float32)
    f2 = f2.contiguous()
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = parse_padding(padding)
    cfg = (upx, upy, downx, downy, px0, px1, py0, py1, bool(flip_filter), float(gain))
    return _Upfirdn2d.apply(x, f2, cfg)


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
        if b.ndim != 1 or b.shape[0] != x.shape[dim]:
            raise ValueError(f"bias must have shape [{x.shape[dim]}], got {list(b.shape)}")
        b = b.to(dtype=x.dtype).contiguous()
    cfg = (int(dim), act, int(spec.cuda_idx), float(alpha), float(gain), float(clamp))
    return _BiasAct.apply(x, b, cfg)


# ---------------------------------------------------------------------------------------- CPU emulation (tests)
class EmulatedKernels:
    """Plain-PyTorch implementation of the two kernel entry points with the kernels' exact contract
    (see ``ganlib_ops.cpp``); used to test the autograd functions and derivative formulas without a GPU."""

    @staticmethod
    def upfirdn2d(x, f, upx, upy, downx, downy, px0, px1, py0, py1, flip, gain):
        """Kernel contract of ``upfirdn2d`` (2-D float32 filter)."""
        from ganlib.ops.upfirdn2d import upfirdn2d_ref
        return upfirdn2d_ref(x, f, up=(upx, upy), down=(downx, downy), padding=(px0, px1, py0, py1),
                             flip_filter=flip, gain=gain)

    @staticmethod
    def bias_act(x, b, xref, yref, dim, code, mode, alpha, gain, clamp):
        """Kernel contract of ``bias_act`` (modes 0, 1, 2)."""
        act = {spec.cuda_idx: name for name, spec in ACTIVATIONS.items()}[code]
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        bias = b.reshape(shape) if b.numel() > 0 else 0
        if mode == 0:
            v = ACTIVATIONS[act].func(x + bias, alpha) * gain
            return v.clamp(-clamp, clamp) if clamp >= 0 else v
        y = yref if yref.numel() > 0 else torch.zeros_like(x)
        s = xref + bias if xref.numel() > 0 else torch.zeros_like(x)
        a = y / gain if gain != 0 else torch.zeros_like(y)
        d = _deriv(act, mode, s, a, alpha)
        out = x * gain * d
        if clamp >= 0:
            out = torch.where(y.abs() < clamp, out, torch.zeros_like(out))
        return out


def _deriv(act: str, order: int, s: torch.Tensor, a: torch.Tensor, alpha: float) -> torch.Tensor:
    one = torch.ones_like(a)
    zero = torch.zeros_like(a)
    if act == "linear":
        return one if order == 1 else zero
    if act == "relu":
        return torch.where(a > 0, one, zero) if order == 1 else zero
    if act == "lrelu":
        return torch.where(a > 0, one, one * alpha) if order == 1 else zero
    if act == "tanh":
        d = 1 - a * a
        return d if order == 1 else -2 * a * d
    if act == "sigmoid":
        d = a * (1 - a)
        return d if order == 1 else d * (1 - 2 * a)
    if act == "elu":
        return torch.where(a > 0, one if order == 1 else zero, a + 1)
    if act == "selu":
        return torch.where(a > 0, one * SELU_SCALE if order == 1 else zero, a + SELU_SCALE * SELU_ALPHA)
    if act == "softplus":
        e = torch.exp(-a)
        return 1 - e if order == 1 else (1 - e) * e
    if act == "swish":
        sg = torch.sigmoid(s)
        return sg * (1 + s * (1 - sg)) if order == 1 else sg * (1 - sg) * (2 + s * (1 - 2 * sg))
    raise ValueError(act)


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

