"""Network architectures and a registry that builds any of them from JSON-able constructor kwargs.

``register_generator(arch)`` decorates a generator class; ``build_generator(arch, kwargs)`` rebuilds it (used by the
checkpoint loaders). Architecture modules are imported lazily on first lookup.
"""
from __future__ import annotations

import importlib
from typing import Callable

from torch import nn

from ganlib.errors import CheckpointError

_GENERATORS: dict[str, type[nn.Module]] = {}

# Modules that register generators when imported; missing ones are skipped.
_ARCH_MODULES = [
    "ganlib.networks.stylegan2",
    "ganlib.networks.stylegan3",
    "ganlib.networks.dcgan",
    "ganlib.networks.wgan",
    "ganlib.networks.conditional",
    "ganlib.networks.mse_generator",
    "ganlib.networks.mlp_encoder",
    "ganlib.networks.autoencoder",
    "ganlib.networks.classifier",
]


def register_generator(arch: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Return a class decorator that registers a generator class under the name ``arch``."""
    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        _GENERATORS[arch] = cls
        return cls
    return decorate


def _import_all() -> None:
    for name in _ARCH_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def registered_architectures() -> list[str]:
    """Return the names of all registered architectures."""
    _import_all()
    return sorted(_GENERATORS)


def generator_class(arch: str) -> type[nn.Module]:
    """Return the class registered as ``arch`` or raise CheckpointError listing the known ones."""
    if arch not in _GENERATORS:
        _import_all()
    if arch not in _GENERATORS:
        raise CheckpointError(f"unknown architecture {arch!r}; known: {', '.join(sorted(_GENERATORS))}")
    return _GENERATORS[arch]


def build_generator(arch: str, kwargs: dict) -> nn.Module:
    """Return a new generator of architecture ``arch`` built with constructor ``kwargs``."""
    cls = generator_class(arch)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CheckpointError(f"bad constructor arguments for architecture {arch!r}: {exc}") from exc
