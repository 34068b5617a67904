"""Finds and loads a generator from a model spec: ``builtin:NAME`` or a checkpoint path of any supported format."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch

from ganlib.checkpoints import formats
from ganlib.checkpoints.native import LoadedModel, load_native
from ganlib.errors import CheckpointError
from ganlib.paths import check_name, input_file

BUILTIN_PREFIX = "builtin:"


def builtin_models_dir() -> Path:
    """Return the folder holding built-in models (``$STUDIO_MODELS_DIR`` or the repo's ``presets/models``)."""
    env = os.environ.get("STUDIO_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "presets" / "models"


def resolve_spec(spec: str | Path) -> Path:
    """Return the checkpoint path for ``spec`` (``builtin:NAME`` or a path); raise CheckpointError if absent."""
    spec = str(spec)
    if spec.startswith(BUILTIN_PREFIX):
        name = spec[len(BUILTIN_PREFIX):]
        path = builtin_models_dir() / f"{name}.safetensors"
        if not path.is_file():
            known = sorted(p.stem for p in builtin_models_dir().glob("*.safetensors"))
            raise CheckpointError(f"no built-in model {name!r}; available: {', '.join(known) or 'none'}",
                                  file=spec)
        return path
    path = Path(spec).expanduser()
    if not path.exists():
        raise CheckpointError("model file not found (give a checkpoint path or builtin:default)", file=spec)
    if path.is_dir():
        raise CheckpointError("is a folder, not a checkpoint file", file=spec)
    return path


def detect_format(path: str | Path) -> str:
    """Return the checkpoint format of ``path`` by its content: 'latent-studio', 'nvlabs-pkl', 'tf-pkl',
    'rosinality-pt' or 'torch-zip'; raise CheckpointError for anything else."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise CheckpointError(f"cannot read: {exc.strerror}", file=path) from exc
    if len(head) == 0:
        raise CheckpointError("empty file, not a checkpoint", file=path)
    if len(head) >= 8:
        n = int.from_bytes(head[:8], "little")
        if 0 < n < 100_000_000 and head[8:9] == b"{":
            return "latent-studio"
    if head.startswith(b"PK"):
        if zipfile.is_zipfile(path):
            return "torch-zip"
    if head[:1] == b"\x80":  # pickle protocol 2+
        return formats.sniff_pickle(path)
    raise CheckpointError("unrecognised checkpoint format; supported: Latent Studio .safetensors, NVlabs "
                          "stylegan2-ada/stylegan3 .pkl, TF StyleGAN2 .pkl, rosinality .pt", file=path)


def load_generator(spec: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load the generator named by ``spec`` onto ``device`` in eval mode; returns a LoadedModel."""
    check_name(spec, "model", CheckpointError)
    path = resolve_spec(spec)
    input_file(path, "model file", CheckpointError)  # a FIFO or device is refused before anything opens it
    fmt = detect_format(path)
    if fmt == "latent-studio":
        model = load_native(path, device=device)
    else:
        model = formats.load_foreign(path, fmt, device=device)
    model.source = str(spec)
    return model
