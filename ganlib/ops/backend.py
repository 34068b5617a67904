"""Choice between the reference ops and the custom CUDA kernels (``STUDIO_OPS=auto|cuda|ref``).

Nothing here compiles anything until a CUDA tensor reaches an op (or ``ops_report(build=True)`` is asked for on a
machine with a GPU): importing ganlib or running on CPU never invokes a compiler. A failed build is remembered for
the process and reported once, with the compiler's own first error lines and the path of the build log.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable

from ganlib.errors import UserError

OPS = ("upfirdn2d", "bias_act")
_state: dict[str, object] = {"tried": False, "module": None, "reason": None, "errors": [], "log": None}


class OpsModeError(UserError, ValueError):
    """``STUDIO_OPS`` holds something other than auto, cuda or ref."""


def ops_mode() -> str:
    """Return the requested ops mode from ``STUDIO_OPS``: 'auto' (default), 'cuda' or 'ref' (else OpsModeError)."""
    mode = os.environ.get("STUDIO_OPS", "auto").strip().lower() or "auto"
    if mode not in ("auto", "cuda", "ref"):
        raise OpsModeError(f"STUDIO_OPS={mode!r}: allowed values are auto, cuda, ref")
    return mode


def _failure_text() -> str:
    """The reason of a failed build with the compiler's first error lines, one per line, and the log's path."""
    lines = [str(_state["reason"])] + [f"    {e}" for e in _state["errors"]]  # type: ignore[union-attr]
    if _state["log"]:
        lines.append(f"    (full output: {_state['log']})")
    return "\n".join(lines)


def _load_cuda_module():
    if _state["tried"]:
        return _state["module"]
    _state["tried"] = True
    try:
        from ganlib.ops import cuda_build
        _state["module"] = cuda_build.load_extension()
    except Exception as exc:  # compiler missing, CUDA headers missing, build error …
        _state["reason"] = str(getattr(exc, "summary", None) or f"{type(exc).__name__}: {exc}".splitlines()[0])
        _state["errors"] = list(getattr(exc, "errors", []))
        log = getattr(exc, "log", None)
        _state["log"] = str(log) if log else None
        if ops_mode() == "cuda":
            raise RuntimeError(f"STUDIO_OPS=cuda but the CUDA ops could not be built: {_failure_text()}") from exc
        warnings.warn(f"ganlib: custom CUDA ops unavailable, using the reference PyTorch ops: {_failure_text()}",
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
    """Return {'mode', 'built', 'reason', 'errors', 'log'} describing which ops implementation is in use
    (reason/errors/log: why the last build failed, the compiler's first error lines, the build log's path)."""
    return {"mode": ops_mode(), "built": _state["module"] is not None, "reason": _state["reason"],
            "errors": list(_state["errors"]), "log": _state["log"]}  # type: ignore[call-overload]


def ops_report(build: bool = True) -> dict[str, object]:
    """Return which implementation each op uses on CUDA tensors and why.

    Keys: mode, torch, torch_cuda, gpu (device name or None), build (not tried | built | failed | skipped), reason,
    errors (the compiler's first error lines), log (the build log's path), ops ({name: 'cuda kernel' or
    'reference PyTorch'}), why (one line). With ``build`` and a visible GPU the extension is built (or loaded from
    the cache) first; without a GPU nothing is compiled. CPU tensors always use the reference ops."""
    import torch
    mode = ops_mode()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if mode != "ref" and gpu is not None and build and not _state["tried"]:
        try:
            _load_cuda_module()
        except RuntimeError:  # STUDIO_OPS=cuda: reported below, not raised
            pass
    built = _state["module"] is not None
    state = "built" if built else ("failed" if _state["tried"] else ("skipped" if mode == "ref" else "not tried"))
    if mode == "ref":
        why = "STUDIO_OPS=ref asks for the reference ops"
    elif torch.version.cuda is None:
        why = f"torch {torch.__version__} is a CPU build: CUDA tensors are not possible"
    elif gpu is None:
        why = "no GPU is visible to torch"
    elif built:
        why = f"the CUDA ops were built (STUDIO_OPS={mode})"
    elif _state["tried"]:
        why = "the CUDA ops could not be built: " + str(_state["reason"])
    else:
        why = "the CUDA ops are built when the first CUDA tensor reaches an op"
    impl = "cuda kernel" if built and mode != "ref" else "reference PyTorch"
    return {"mode": mode, "torch": torch.__version__, "torch_cuda": torch.version.cuda, "gpu": gpu, "build": state,
            "reason": _state["reason"], "errors": list(_state["errors"]), "log": _state["log"],  # type: ignore
            "ops": {name: impl for name in OPS}, "why": why}


def format_report(report: dict[str, object]) -> list[str]:
    """Return ``ops_report()``'s dict as the lines ``studio info --ops`` prints."""
    lines = [f"ops mode:     {report['mode']} (STUDIO_OPS=auto|cuda|ref)",
             f"torch:        {report['torch']}" + (f", CUDA {report['torch_cuda']}" if report["torch_cuda"] else
                                                   ", CPU build"),
             f"GPU:          {report['gpu'] or 'none visible'}",
             f"CUDA ops:     {report['build']}: {report['why']}"]
    for name, impl in report["ops"].items():  # type: ignore[union-attr]
        lines.append(f"{name + ':':<13} CUDA tensors -> {impl}; CPU tensors -> reference PyTorch")
    if report["errors"]:
        lines.append("compiler said:")
        lines += [f"    {e}" for e in report["errors"]]  # type: ignore[union-attr]
    if report["log"]:
        lines.append(f"build log:    {report['log']}")
    return lines
