"""Fused bias + activation + gain + clamp, as StyleGAN2 uses after every layer (reference implementation).

Edge cases follow NVlabs' CUDA kernel, so that every implementation agrees: ELU and SELU take their s >= 0 branch
at s = 0 (derivatives included), swish is 0 below -80 (swish(-inf) = 0), and the clamp sends NaN to -clamp.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def _elu(x: torch.Tensor, scale: float = 1.0, alpha: float = 1.0) -> torch.Tensor:
    """scale * (x if x >= 0 else alpha * (exp(x) - 1)); the negative branch never sees x > 0 (no inf in autograd)."""
    return torch.where(x >= 0, x * scale, torch.expm1(x.clamp(max=0)) * (scale * alpha))


def _swish(x: torch.Tensor) -> torch.Tensor:
    """x * sigmoid(x), exactly 0 below -80 (NVlabs) and x above 40 (where sigmoid rounds to 1), with finite
    gradients everywhere (0 and 1 at -inf and +inf)."""
    s = x.clamp(-80, 40)
    return torch.where(x < -80, torch.zeros_like(x), torch.where(x > 40, x, s * torch.sigmoid(s)))


@dataclass(frozen=True)
class ActivationSpec:
    """One activation: its function of (x, alpha), default alpha and default gain."""

    func: Callable[[torch.Tensor, float], torch.Tensor]
    def_alpha: float
    def_gain: float
    ref: str  # 'x' or 'y': whether the gradient is computed from the input or the output (CUDA kernel detail)
    cuda_idx: int


ACTIVATIONS: dict[str, ActivationSpec] = {
    "linear": ActivationSpec(lambda x, a: x, 0.0, 1.0, "", 1),
    "relu": ActivationSpec(lambda x, a: F.relu(x), 0.0, math.sqrt(2), "y", 2),
    "lrelu": ActivationSpec(lambda x, a: F.leaky_relu(x, a), 0.2, math.sqrt(2), "y", 3),
    "tanh": ActivationSpec(lambda x, a: torch.tanh(x), 0.0, 1.0, "y", 4),
    "sigmoid": ActivationSpec(lambda x, a: torch.sigmoid(x), 0.0, 1.0, "y", 5),
    "elu": ActivationSpec(lambda x, a: _elu(x), 0.0, 1.0, "y", 6),
    "selu": ActivationSpec(lambda x, a: _elu(x, SELU_SCALE, SELU_ALPHA), 0.0, 1.0, "y", 7),
    "softplus": ActivationSpec(lambda x, a: F.softplus(x), 0.0, 1.0, "y", 8),
    "swish": ActivationSpec(lambda x, a: _swish(x), 0.0, math.sqrt(2), "x", 9),
}


def resolve(act: str, alpha: float | None, gain: float | None, clamp: float | None) -> tuple[ActivationSpec, float, float, float]:
    """Return (spec, alpha, gain, clamp) with defaults filled in; clamp < 0 means no clamping."""
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; allowed: {', '.join(ACTIVATIONS)}")
    spec = ACTIVATIONS[act]
    alpha = float(alpha if alpha is not None else spec.def_alpha)
    gain = float(gain if gain is not None else spec.def_gain)
    clamp = float(clamp if clamp is not None else -1)
    return spec, alpha, gain, clamp


def bias_act_ref(x: torch.Tensor, b: torch.Tensor | None = None, dim: int = 1, act: str = "linear",
                 alpha: float | None = None, gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """Return ``clamp(act(x + b) * gain)``; ``b`` is broadcast along ``dim`` of ``x`` (``dim`` is ignored without a
    bias). Pure PyTorch. NaN comes out of the clamp as -clamp, as from NVlabs' kernel."""
    spec, alpha, gain, clamp = resolve(act, alpha, gain, clamp)
    if b is not None:
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        x = x + b.reshape(shape)
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp >= 0:
        x = x.clamp(-clamp, clamp).nan_to_num_(nan=-clamp)  # in place on the fresh tensor: +15 % not +100 %
    return x


def bias_act(x: torch.Tensor, b: torch.Tensor | None = None, dim: int = 1, act: str = "linear",
             alpha: float | None = None, gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """Fused bias + activation: same result as ``bias_act_ref``; uses the CUDA kernel for CUDA tensors when enabled."""
    if x.is_cuda:
        from ganlib.ops import backend
        impl = backend.cuda_bias_act()
        if impl is not None:
            return impl(x, b, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp)
    return bias_act_ref(x, b, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp)
