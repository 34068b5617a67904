"""GAN losses: non-saturating BCE (DCGAN), hinge, Wasserstein, the WGAN-GP gradient penalty and R1.

Every function takes discriminator outputs (unbounded scores, shape [N]) and returns a scalar tensor.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Return the discriminator/critic loss for scores on ``real`` and ``fake`` images.

    ``kind``: "bce" (log D(x) + log(1 - D(G(z))) as BCE with logits), "hinge" (relu(1 - real) + relu(1 + fake)) or
    "wasserstein" (E[D(G(z))] - E[D(x)], the critic minimises it).
    """
    if kind == "bce":
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Return the generator loss for discriminator scores on generated images: non-saturating BCE
    (-log D(G(z))) for "bce", -E[D(G(z))] for "hinge" and "wasserstein"."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind in ("hinge", "wasserstein"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Return the WGAN-GP penalty E[(||grad D(x_hat)||_2 - 1)^2] at random interpolates x_hat of real and fake.

    ``D(x, c)`` is the critic; ``generator`` (CPU) draws the interpolation weights reproducibly.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real.device, real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = D(x_hat, c) if c is not None else D(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1).square().mean()


def r1_penalty(D, real: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """Return the R1 penalty E[||grad D(x)||^2] on real images (Mescheder et al., 2018)."""
    x = real.detach().requires_grad_(True)
    scores = D(x, c) if c is not None else D(x)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.square().reshape(grad.shape[0], -1).sum(1).mean()
