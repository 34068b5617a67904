"""Fused bias + activation + gain + clamp, as StyleGAN2 uses after every layer (reference implementation)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


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
    "elu": ActivationSpec(lambda x, a: F.elu(x), 0.0, 1.0, "y", 6),
    "selu": ActivationSpec(lambda x, a: F.selu(x), 0.0, 1.0, "y", 7),
    "softplus": ActivationSpec(lambda x, a: F.softplus(x), 0.0, 1.0, "y", 8),
    "swish": ActivationSpec(lambda x, a: torch.sigmoid(x) * x, 0.0, math.sqrt(2), "x", 9),
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
    """Return ``clamp(act(x + b) * gain)``; ``b`` is broadcast along ``dim`` of ``x``. Pure PyTorch."""
    spec, alpha, gain, clamp = resolve(act, alpha, gain, clamp)
    if b is not None:
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        x = x + b.reshape(shape)
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp >= 0:
        x = x.clamp(-clamp, clamp)
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
