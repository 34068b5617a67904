"""Choice between the reference ops and the custom CUDA kernels (``STUDIO_OPS=auto|cuda|ref``).

Nothing here compiles anything until a CUDA tensor reaches an op: importing ganlib or running on CPU never
invokes a compiler. A failed build is remembered for the process and reported once with the reason.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable

_state: dict[str, object] = {"tried": False, "module": None, "reason": None}


def ops_mode() -> str:
    """Return the requested ops mode from ``STUDIO_OPS``: 'auto' (default), 'cuda' or 'ref'."""
    mode = os.environ.get("STUDIO_OPS", "auto").strip().lower() or "auto"
    if mode not in ("auto", "cuda", "ref"):
        raise ValueError(f"STUDIO_OPS={mode!r}: allowed values are auto, cuda, ref")
    return mode


def _load_cuda_module():
    if _state["tried"]:
        return _state["module"]
    _state["tried"] = True
    try:
        from ganlib.ops import cuda_build
        _state["module"] = cuda_build.load_extension()
    except Exception as exc:  # compiler missing, CUDA headers missing, build error …
        _state["reason"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if ops_mode() == "cuda":
            raise RuntimeError(f"STUDIO_OPS=cuda but the CUDA ops could not be built: {_state['reason']}") from exc
        warnings.warn(f"ganlib: custom CUDA ops unavailable, using the reference PyTorch ops ({_state['reason']})",
                      RuntimeWarning, stacklevel=3)
    return _state["module"]


def cuda_upfirdn2d() -> Callable | None:
    """Return the CUDA upfirdn2d function, or None when the reference op should be used."""
    if ops_mode() == "ref":
        return None
    if _load_cuda_module() is None:
        return None
    from ganlib.ops import cuda_ops
    return cuda_ops.upfirdn2d_cuda


def cuda_bias_act() -> Callable | None:
    """Return the CUDA bias_act function, or None when the reference op should be used."""
    if ops_mode() == "ref":
        return None
    if _load_cuda_module() is None:
        return None
    from ganlib.ops import cuda_ops
    return cuda_ops.bias_act_cuda


def status() -> dict[str, object]:
    """Return {'mode', 'built', 'reason'} describing which ops implementation is in use."""
    return {"mode": ops_mode(), "built": _state["module"] is not None, "reason": _state["reason"]}
