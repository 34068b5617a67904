"""Model-config validation: every constructor argument of every architecture is checked before a module is built.

A checkpoint's (or a training config's) generator settings are untrusted: ``channel_base: 0``, negative channels, a
resolution of 3 or 2^20, a float where an int belongs, or an unknown option must be one line naming the setting
and the allowed range, not a ZeroDivisionError deep inside a constructor, and an absurd but "valid" size must not
allocate gigabytes. The rules come from each constructor's signature (names and annotations), so a new architecture
is covered without a new table; the module is first built on torch's ``meta`` device (no memory) to size it against
the ``tensor_bytes`` limit.

Public API::

    check_kwargs(cls, kwargs, arch) -> None       # CheckpointError naming 'arch: field' and the allowed range
    build_checked(cls, kwargs, arch) -> nn.Module  # validate, size on the meta device, then build for real
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import nn

from ganlib import limits
from ganlib.errors import CheckpointError
from ganlib.networks.small_common import base_size

# Architectures whose resolution is not a power of two: a DCGAN-style pyramid (b * 2^k px, b in 4..7) or any size.
_PYRAMID_ARCHS = ("dcgan", "dcgan-mod", "cgan", "mse", "autoencoder")
_ANY_SIZE_ARCHS = ("mlp", "encoded")  # encoded: its inner generator's own rule applies when that is built

_WIDE = ("channel_base",)  # channel budgets spread over layers: may exceed one layer's channel limit
_MAY_BE_ZERO = ("c_dim", "embed_dim", "num_fp16_res", "conv_clamp", "mapping_layers", "dropout")
_POSITIVE_SUFFIXES = ("_dim", "channels", "features", "ngf", "ndf", "width", "hidden", "channel_max", "num_classes")


def _int_range(name: str) -> tuple[int, int, str]:
    """(lowest, highest, extra rule text) allowed for the int setting ``name``."""
    top = limits.get("model_channels")
    name = name.rsplit(".", 1)[-1]
    if "resolution" in name:
        return 4, limits.get("model_resolution"), " and a power of two"
    if name == "img_channels":
        return 1, 4, ""
    if name in ("c_dim", "num_classes"):
        return (0 if name == "c_dim" else 2), limits.get("label_classes"), ""
    if name in _WIDE:
        return 1, top * 64, ""
    if name not in _MAY_BE_ZERO and name.endswith(_POSITIVE_SUFFIXES):
        return 1, top, ""
    return 0, top, ""


def _check_value(arch: str, name: str, value: Any, default: Any) -> None:
    where = f"{arch}: '{name}'"
    if isinstance(value, bool) or isinstance(default, bool):
        if not isinstance(value, bool) and value is not None:
            raise CheckpointError(f"model setting {where} must be true or false, got {value!r}"[:200])
        return
    if isinstance(value, int):
        lo, hi, extra = _int_range(name)
        if extra and arch in _PYRAMID_ARCHS + _ANY_SIZE_ARCHS:
            ok = lo <= value <= hi and (arch in _ANY_SIZE_ARCHS or base_size(value) is not None)
            if not ok:
                raise CheckpointError(f"model setting {where} is {value}; it must be from {lo} to {hi} and 4, 5, 6 "
                                      f"or 7 doubled at least once (8, 10, 12, 14, 16, 20, 24, 28, 32, ...)")
            return
        if not lo <= value <= hi or (extra and value & (value - 1)):
            raise CheckpointError(f"model setting {where} is {value}; it must be a whole number from {lo} to {hi}"
                                  f"{extra}")
        return
    if isinstance(value, float):
        if isinstance(default, int) and not isinstance(default, bool) and default is not None:
            raise CheckpointError(f"model setting {where} must be a whole number, got {value!r}")
        if not math.isfinite(value) or abs(value) > 1e6:
            raise CheckpointError(f"model setting {where} is {value!r}; it must be a finite number within ±1e6")
        return
    if isinstance(value, str):
        if len(value) > 200:
            raise CheckpointError(f"model setting {where} is a {len(value):,}-character text (at most 200)")
        return
    if isinstance(value, dict):
        if len(value) > 200:
            raise CheckpointError(f"model setting {where} has {len(value):,} entries (at most 200)")
        for key, item in value.items():
            _check_value(arch, f"{name}.{key}", item, None)
        return
    if isinstance(value, (list, tuple)):
        if len(value) > 64:
            raise CheckpointError(f"model setting {where} has {len(value):,} items (at most 64)")
        for i, item in enumerate(value):
            if isinstance(item, (int, float)) and not isinstance(item, bool) and \
                    (not math.isfinite(item) or abs(item) > 1e6):
                raise CheckpointError(f"model setting {where}[{i}] is {item!r}; it must be a finite number within ±1e6")
        return
    if value is not None:
        raise CheckpointError(f"model setting {where} has an unsupported type ({type(value).__name__})")


def check_kwargs(cls: type, kwargs: dict, arch: str) -> None:
    """Check the constructor ``kwargs`` of architecture ``arch`` (class ``cls``) against its signature and the
    model limits; raise CheckpointError naming the setting and what is allowed, return None when they are fine."""
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"model settings of {arch!r} must be a mapping, got {type(kwargs).__name__}")
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name, value in kwargs.items():
        if name not in params and not open_ended:
            raise CheckpointError(f"model setting {arch}: {str(name)[:60]!r} is unknown; the settings are: "
                                  f"{', '.join(n for n in params if params[n].kind is not inspect.Parameter.VAR_KEYWORD)}")
        default = params[name].default if name in params else None
        _check_value(arch, str(name), value, None if default is inspect.Parameter.empty else default)


def _size_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))


def build_checked(cls: type[nn.Module], kwargs: dict, arch: str) -> nn.Module:
    """Return ``cls(**kwargs)`` after :func:`check_kwargs` and a sizing build on the meta device (refused above the
    ``tensor_bytes`` limit); any constructor error becomes one CheckpointError line naming ``arch``."""
    check_kwargs(cls, kwargs, arch)
    try:
        with torch.device("meta"):
            sized = _size_bytes(cls(**kwargs))
    except Exception:  # noqa: BLE001 - a constructor that cannot run on meta is sized by the real build below
        sized = 0
    limits.check("tensor_bytes", sized, f"the {arch} model's settings", error=CheckpointError)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, ZeroDivisionError, RuntimeError, OverflowError, KeyError, IndexError,
            AssertionError, AttributeError) as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CheckpointError(f"bad model settings for architecture {arch!r}: {text}") from None
