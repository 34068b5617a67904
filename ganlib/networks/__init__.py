"""Network architectures and a registry that builds any of them from JSON-able constructor kwargs.

``register_generator(arch)`` decorates a generator class; ``build_generator(arch, kwargs)`` rebuilds it (used by the
checkpoint loaders). The registry lives in ``ganlib.networks.registry``; this package imports every architecture
module (so each is registered, and a broken one fails loudly at import). A new architecture is one name in the
second import below.
"""
from __future__ import annotations

# The registry first: an architecture module may take ``register_generator`` from ``ganlib.networks`` itself.
from ganlib.networks.registry import build_generator, generator_class, register_generator, registered_architectures

from ganlib.networks import (autoencoder, classifier, conditional, dcgan, mlp_encoder,
                             mse_generator, stylegan2, wgan)

ARCHITECTURE_MODULES = (autoencoder, classifier, conditional, dcgan, mlp_encoder, mse_generator, stylegan2, wgan)

__all__ = ["ARCHITECTURE_MODULES", "build_generator", "generator_class", "register_generator",
           "registered_architectures"]
