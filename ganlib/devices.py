"""The one device resolver: every command's ``--device`` (default ``auto``) goes through ``resolve_device``."""
from __future__ import annotations

import torch

from ganlib.errors import UserError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
DEVICE_HELP = "Where to run: auto (CUDA if present, else CPU), cpu, cuda, cuda:N or mps."


def _unavailable(name: str, what: str) -> UserError:
    return UserError(f"{name!r}: {what} is not available on this machine; use cpu or auto", field="--device")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the torch device for ``name``: ``auto`` (or None) picks CUDA when present, else the CPU; ``cpu``,
    ``cuda``, ``cuda:N`` and ``mps`` are taken as they are. A malformed or unavailable device raises one
    ``UserError`` naming ``--device`` and what is allowed."""
    if isinstance(name, torch.device):
        name = str(name)
    text = (name or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {text!r}; allowed: {DEVICE_CHOICES}", field="--device") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise _unavailable(text, "CUDA")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise UserError(f"{text!r}: this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})",
                            field="--device")
        return dev
    if dev.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise _unavailable(text, "MPS")
        return dev
    raise UserError(f"unsupported device {text!r}; allowed: {DEVICE_CHOICES}", field="--device")
