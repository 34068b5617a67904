"""Saving and loading trained models that are not generators (the classifier) in the project's safetensors format:
the state dict as tensors and ``{"format": 1, "arch", "kwargs", "provenance"}`` as JSON metadata, the same layout
``ganlib.checkpoints.save_generator`` writes for generators."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlib.checkpoints.native import load_state_strict, read_native_tensors, save_module
from ganlib.errors import CheckpointError
from ganlib.networks.classifier import CNNClassifier


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
    return save_module(path, model, arch, kwargs, provenance)


def load_model(path: str | Path, arch: str | None = None, device: str | torch.device = "cpu") -> LoadedModule:
    """Load a model saved by ``save_model`` (eval mode, on ``device``). ``arch`` (e.g. "classifier") is what the
    caller expects; CheckpointError for a missing/corrupt file or another architecture."""
    if not Path(path).is_file():
        raise CheckpointError("model file not found", file=path)
    header, state = read_native_tensors(path)
    got = header.get("arch")
    if arch is not None and got != arch:
        raise CheckpointError(f"this file holds a {got!r} model, expected a {arch!r} "
                              f"(train one with 'studio train {arch}')", file=path)
    builders = _builders()
    if got not in builders:
        raise CheckpointError(f"unknown model architecture {got!r}", file=path)
    model = builders[got](**header.get("kwargs", {}))
    load_state_strict(model, state, path)
    model.eval().requires_grad_(False).to(device)
    return LoadedModule(model=model, arch=got, kwargs=header.get("kwargs", {}),
                        provenance=header.get("provenance", {}), source=str(path))
