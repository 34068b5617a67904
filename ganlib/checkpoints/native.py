"""The project's own checkpoint format: one ``.safetensors`` file holding the generator's state dict, with the
architecture, constructor kwargs and training provenance as JSON in the metadata key ``latent_studio``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganlib import limits
from ganlib.errors import CheckpointError
from ganlib.io_utils import atomic_path
from ganlib.paths import os_error_text
from ganlib.networks import build_generator

METADATA_KEY = "latent_studio"
FORMAT_VERSION = 1


@dataclass
class LoadedModel:
    """A generator ready to render, with where it came from."""

    G: nn.Module
    arch: str
    kwargs: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    format: str = "latent-studio"


def save_module(path: str | Path, module: nn.Module, arch: str, kwargs: dict[str, Any],
                provenance: dict[str, Any] | None = None) -> Path:
    """Write any model's state dict and ``{"format", "arch", "kwargs", "provenance"}`` metadata to ``path``
    (.safetensors) atomically (a temporary name, then a rename); returns the final path."""
    path = Path(path)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    meta = {METADATA_KEY: json.dumps({"format": FORMAT_VERSION, "arch": arch, "kwargs": kwargs,
                                      "provenance": provenance or {}})}
    try:
        with atomic_path(path) as tmp:
            save_file(state, str(tmp), metadata=meta)
    except (OSError, SafetensorError) as exc:  # disk full, permission: one line; atomic_path removed the temp file
        text = os_error_text(exc) if isinstance(exc, OSError) else (
            "disk full (no space left on device)" if "No space left" in str(exc) else str(exc).splitlines()[0][:200])
        raise CheckpointError(f"cannot write the checkpoint: {text}", file=path) from None
    return path


def save_generator(path: str | Path, G: nn.Module, arch: str, kwargs: dict[str, Any],
                   provenance: dict[str, Any] | None = None) -> Path:
    """Write ``G``'s state dict and config to ``path`` (.safetensors) atomically; returns the final path."""
    return save_module(path, G, arch, kwargs, provenance)


def read_native_tensors(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return ``(header, state)`` of a native file: its parsed metadata and its tensors (on the CPU); raises
    CheckpointError for a missing, unreadable or corrupt file."""
    header = read_native_header(path)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise CheckpointError(f"cannot read tensors ({exc})", file=path) from exc
    return header, state


def read_native_header(path: str | Path) -> dict[str, Any]:
    """Return the parsed ``latent_studio`` metadata of a native checkpoint, or raise CheckpointError (also for a
    header that declares more than the ``safetensors_header`` limit, checked before it is read)."""
    try:
        with open(path, "rb") as fh:
            declared = int.from_bytes(fh.read(8), "little")
    except OSError as exc:
        raise CheckpointError(f"cannot read: {os_error_text(exc)}", file=path) from None
    limits.check("safetensors_header", declared, "the safetensors header", error=CheckpointError, file=path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise CheckpointError(f"not a readable safetensors file ({exc})", file=path) from exc
    if METADATA_KEY not in meta:
        raise CheckpointError("safetensors file has no 'latent_studio' metadata: architecture unknown "
                              "(convert it with 'studio convert')", file=path)
    try:
        header = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"corrupt 'latent_studio' metadata: {exc}", file=path) from exc
    for key in ("arch", "kwargs"):
        if key not in header:
            raise CheckpointError(f"'latent_studio' metadata lacks {key!r}", file=path)
    return header


def load_native(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a native checkpoint into a new generator (eval mode, on ``device``)."""
    header, state = read_native_tensors(path)
    G = build_generator(header["arch"], header["kwargs"])
    load_state_strict(G, state, path)
    G.eval().requires_grad_(False).to(device)
    return LoadedModel(G=G, arch=header["arch"], kwargs=header["kwargs"], provenance=header.get("provenance", {}),
                       source=str(path), format="latent-studio")


def load_state_strict(module: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Copy ``state`` into ``module``, raising CheckpointError naming missing, unexpected or mis-shaped tensors."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError("weights do not match the architecture: " + "; ".join(parts), file=path)
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise CheckpointError(f"tensor {name} has shape {list(tensor.shape)}, the architecture expects "
                                  f"{list(own[name].shape)}", file=path)
        if own[name].is_floating_point():
            if not tensor.is_floating_point():
                raise CheckpointError(f"tensor {name} holds {str(tensor.dtype).removeprefix('torch.')} values; "
                                      f"weights must be floating point", file=path)
            if not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(f"tensor {name} holds NaN or infinite values; the checkpoint is broken "
                                      f"(a diverged training run?)", file=path)
    module.load_state_dict(state, strict=True)
