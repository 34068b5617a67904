"""Full training state on disk: model and optimizer states, every RNG (python, numpy, torch CPU/CUDA and the run's
own generators), the data stream position and the step, written atomically so ``--resume`` continues bit for bit.

The file is a ``torch.save`` of plain containers and tensors only, so it loads with ``weights_only=True`` (no
arbitrary unpickling).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganlib.errors import CheckpointError
from ganlib.io_utils import atomic_path

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


def save_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Write a training-state dict to ``path`` atomically (adds the format version); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": STATE_FORMAT, **state}, tmp)
    return path


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training-state file written by ``save_state`` (safely, ``weights_only=True``); CheckpointError if it
    cannot be read."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign file
        raise CheckpointError(f"cannot read training state ({exc})".splitlines()[0], file=path) from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError("not a training-state file of this version", file=path)
    return state
