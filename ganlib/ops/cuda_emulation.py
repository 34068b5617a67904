"""Plain-PyTorch emulation of the CUDA kernels' entry points (``ganlib_ops.cpp``), with the kernels' exact contract
and edge cases, so that the autograd functions of ``cuda_ops`` and the derivative formulas can be tested on a CPU
(``with cuda_ops.use_kernels(EmulatedKernels()): ...``)."""
from __future__ import annotations

import torch

from ganlib.ops.bias_act import ACTIVATIONS, SELU_ALPHA, SELU_SCALE


class EmulatedKernels:
    """Plain-PyTorch implementation of the kernel entry points with the kernels' exact contract
    (see ``ganlib_ops.cpp``); used to test the autograd functions and derivative formulas without a GPU."""

    @staticmethod
    def upfirdn2d(x, f, upx, upy, downx, downy, px0, px1, py0, py1, flip, gain):
        """Kernel contract of ``upfirdn2d`` (2-D float32 filter)."""
        from ganlib.ops.upfirdn2d import upfirdn2d_ref
        return upfirdn2d_ref(x, f, up=(upx, upy), down=(downx, downy), padding=(px0, px1, py0, py1),
                             flip_filter=flip, gain=gain)

    @staticmethod
    def upfirdn2d_sep(x, fx, fy, up, down, px0, px1, py0, py1, flip, gain):
        """Kernel contract of ``upfirdn2d_sep`` (1-D float32 CPU taps fx, fy; the filter is outer(fy, fx))."""
        from ganlib.ops.upfirdn2d import upfirdn2d_ref
        assert fx.device.type == "cpu" and fy.device.type == "cpu" and up in (1, 2) and down in (1, 2)
        f = torch.outer(fy, fx).to(x.device)
        return upfirdn2d_ref(x, f, up=up, down=down, padding=(px0, px1, py0, py1), flip_filter=flip, gain=gain)

    @staticmethod
    def bias_act(x, b, xref, yref, dim, code, mode, alpha, gain, clamp):
        """Kernel contract of ``bias_act`` (modes 0, 1, 2)."""
        act = {spec.cuda_idx: name for name, spec in ACTIVATIONS.items()}[code]
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        bias = b.reshape(shape) if b.numel() > 0 else 0
        if mode == 0:
            v = ACTIVATIONS[act].func(x + bias, alpha) * gain
            return torch.nan_to_num(v.clamp(-clamp, clamp), nan=-clamp) if clamp >= 0 else v
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
        return torch.where(a >= 0, one if order == 1 else zero, a + 1)
    if act == "selu":
        return torch.where(a >= 0, one * SELU_SCALE if order == 1 else zero, a + SELU_SCALE * SELU_ALPHA)
    if act == "softplus":
        e = torch.exp(-a)
        return 1 - e if order == 1 else (1 - e) * e
    if act == "swish":
        sg = torch.sigmoid(s)
        d = sg * (1 + s * (1 - sg)) if order == 1 else sg * (1 - sg) * (2 + s * (1 - 2 * sg))
        d = torch.where(s > 40, one if order == 1 else zero, d)
        return torch.where(s < -80, zero, d)
    raise ValueError(act)
