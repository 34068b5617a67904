"""Saving and loading trained models that are not generators (the classifier) in the project's safetensors format:
the state dict as tensors and ``{"format": 1, "arch", "kwargs", "provenance"}`` as JSON metadata, the same layout
``ganlib.checkpoints.save_generator`` writes for generators."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganlib.errors import CheckpointError
from ganlib.io_utils import atomic_path
from ganlib.networks.classifier import CNNClassifier

METADATA_KEY = "latent_studio"


def _builders() -> dict[str, type[nn.Module]]:
    return {"classifier": CNNClassifier}


@dataclass
class LoadedModule:
    """A non-generator model loaded from disk (eval mode) with its architecture, kwargs and provenance."""

    model: nn.Module
    arch: str
    kwargs: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def save_model(path: str | Path, model: nn.Module, arch: str, kwargs: dict[str, Any],
               provenance: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s state dict and config to ``path`` (.safetensors) atomically; returns the path."""
    path = Path(path)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = {METADATA_KEY: json.dumps({"format": 1, "arch": arch, "kwargs": kwargs, "provenance": provenance or {}})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def load_model(path: str | Path, arch: str | None = None, device: str | torch.device = "cpu") -> LoadedModule:
    """Load a model saved by ``save_model`` (eval mode, on ``device``). ``arch`` (e.g. "classifier") is what the
    caller expects; CheckpointError for a missing/corrupt file or another architecture."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("model file not found", file=path)
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
        header = json.loads(meta[METADATA_KEY])
        state = load_file(str(p), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"not a Latent Studio model file ({type(exc).__name__}: {exc})".splitlines()[0],
                              file=path) from exc
    got = header.get("arch")
    if arch is not None and got != arch:
        raise CheckpointError(f"this file holds a {got!r} model, expected a {arch!r} "
                              f"(train one with 'studio train {arch}')", file=path)
    builders = _builders()
    if got not in builders:
        raise CheckpointError(f"unknown model architecture {got!r}", file=path)
    model = builders[got](**header.get("kwargs", {}))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not match the architecture: {str(exc).splitlines()[0]}",
                              file=path) from exc
    model.eval().requires_grad_(False).to(device)
    return LoadedModule(model=model, arch=got, kwargs=header.get("kwargs", {}),
                        provenance=header.get("provenance", {}), source=str(path))
