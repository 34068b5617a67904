"""The architecture registry: ``register_generator(arch)`` decorates a generator class; ``build_generator(arch,
kwargs)`` rebuilds it from JSON-able constructor kwargs (used by the checkpoint loaders).

Importing ``ganlib.networks`` imports every architecture module, so every architecture is registered by then.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from ganlib.errors import CheckpointError
from ganlib.networks.config_check import build_checked

_GENERATORS: dict[str, type[nn.Module]] = {}


def register_generator(arch: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Return a class decorator that registers a generator class under the name ``arch``."""
    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        _GENERATORS[arch] = cls
        return cls
    return decorate


def registered_architectures() -> list[str]:
    """Return the names of all registered architectures, sorted."""
    return sorted(_GENERATORS)


def generator_class(arch: str) -> type[nn.Module]:
    """Return the class registered as ``arch`` or raise CheckpointError listing the known ones."""
    if arch not in _GENERATORS:
        raise CheckpointError(f"unknown architecture {arch!r}; known: {', '.join(sorted(_GENERATORS))}")
    return _GENERATORS[arch]


def build_generator(arch: str, kwargs: dict) -> nn.Module:
    """Return a new generator of architecture ``arch`` built with constructor ``kwargs``; CheckpointError for an
    unknown architecture or arguments outside what the schema allows (``ganlib.networks.config_check``)."""
    return build_checked(generator_class(arch), kwargs, arch)
