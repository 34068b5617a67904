"""Full training state on disk: model and optimizer states, every RNG (python, numpy, torch CPU/CUDA and the run's
own generators), the data stream position and the step, written atomically so ``--resume`` continues bit for bit.

The file is a ``torch.save`` of plain containers and tensors only, so it loads with ``weights_only=True`` (no
arbitrary unpickling).
"""
from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ganlib.errors import CheckpointError, UserError
from ganlib.io_utils import atomic_path
from ganlib.paths import os_error_text

STATE_FORMAT = 1


def capture_rng() -> dict[str, Any]:
    """Return the states of python's, numpy's and torch's global RNGs as tensors and plain values."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore global RNG states saved by ``capture_rng``."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
                         npst["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def _write_failure(exc: BaseException) -> str | None:
    """Return a short phrase for a failed write (disk full, permission, ...), or None when ``exc`` is not one."""
    if isinstance(exc, OSError):
        return os_error_text(exc)
    if isinstance(exc, UserError):
        return exc.message.removeprefix("cannot write the checkpoint: ")
    text = str(exc)
    if isinstance(exc, RuntimeError) and "No space left" in text:
        return "disk full (no space left on device)"
    if isinstance(exc, RuntimeError) and "write" in text.lower():  # torch.save's stream writer hides the errno
        return "the write failed (is the disk full?)"
    return None


def save_checkpoint_pair(state_path: str | Path, state: dict[str, Any], model_path: str | Path,
                         export: Callable[[Path], Any], previous: str) -> None:
    """Write the training state to ``state_path`` and the model (``export(tmp_path)`` writes it) to
    ``model_path``: both under temporary names first, then both renamed, so a failure leaves the previous pair
    untouched. A write failure (disk full, permission) raises one UserError naming the file and ``previous`` (a
    phrase such as "the last good checkpoint is ... (step N)"); the temporary files are removed."""
    state_path, model_path = Path(state_path), Path(model_path)
    current = state_path
    try:
        with contextlib.ExitStack() as stack:
            tmp_state = stack.enter_context(atomic_path(state_path))
            tmp_model = stack.enter_context(atomic_path(model_path))
            torch.save({"format": STATE_FORMAT, **state}, tmp_state)
            current = model_path
            export(tmp_model)
    except Exception as exc:  # noqa: BLE001 - classified below, re-raised when it is not a write failure
        text = _write_failure(exc)
        if text is None:
            raise
        raise UserError(f"cannot write the checkpoint: {text}; {previous}, untouched", file=current) from None


def non_finite_module(modules: dict[str, torch.nn.Module]) -> str | None:
    """Return the name of the first module in ``modules`` with a NaN or infinite parameter or buffer, else None."""
    for name, module in modules.items():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                return name
    return None


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training-state file written by ``save_checkpoint_pair`` (safely, ``weights_only=True``); CheckpointError if it
    cannot be read."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign file
        raise CheckpointError(f"cannot read training state ({exc})".splitlines()[0], file=path) from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError("not a training-state file of this version", file=path)
    return state
