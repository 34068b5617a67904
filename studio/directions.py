"""Meaningful latent directions for the keyframe sliders: closed-form factorisation (SeFa, Shen & Zhou 2021) of the
generator's style (affine) layers. Deterministic from the weights, so the UI and ``studio render`` agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganlib.networks.stylegan3 import is_stylegan3
from ganlib.synth import StyleGenerator, has_w_space, map_z, seeds_to_z

DIRECTION_PREFIX = "sefa"


def sefa_directions(G: torch.nn.Module, count: int = 8, layers: str = "early") -> np.ndarray:
    """Return ``count`` unit directions [count, w_dim] in w space, strongest first, from the eigenvectors of
    AᵀA where A stacks the affine weights of the chosen style layers ('early': the first half, 'all'). StyleGAN3:
    its modulated layers before the to-RGB layer (the input's affine moves the camera, it carries no style)."""
    if is_stylegan3(G):
        affines = [layer.affine.weight.detach().float().cpu() for layer in G.synthesis.layers()
                   if not layer.is_torgb]
    else:
        affines = [m.affine.weight.detach().float().cpu() for m in G.synthesis.modules()
                   if hasattr(m, "affine") and hasattr(m, "noise_strength")]
    if not affines:
        raise ValueError("this model has no style layers")
    if layers == "early":
        affines = affines[:max(1, len(affines) // 2)]
    A = torch.cat([a / a.norm(dim=1, keepdim=True) for a in affines], dim=0).double()
    eigvals, eigvecs = torch.linalg.eigh(A.T @ A)
    order = torch.argsort(eigvals, descending=True)[:count]
    dirs = eigvecs[:, order].T.numpy()
    # Fix each direction's sign so it is reproducible across platforms.
    for i in range(dirs.shape[0]):
        j = int(np.argmax(np.abs(dirs[i])))
        if dirs[i, j] < 0:
            dirs[i] = -dirs[i]
    return dirs


def slider_support(G, space: str = "w") -> str | None:
    """Return None when SeFa sliders work for generator ``G`` in a timeline interpolating in ``space`` ('w' or
    'z'), else the one-line reason they do not (no w space, no style layers, or a z-space timeline)."""
    if not has_w_space(G):
        return "direction sliders need a StyleGAN-style model with a w space (this one maps z to pixels directly)"
    has_styles = is_stylegan3(G) or any(hasattr(m, "affine") and hasattr(m, "noise_strength")
                                        for m in G.synthesis.modules())
    if not has_styles:
        return "direction sliders need a model with style (affine) layers"
    if space != "w":
        return "direction sliders move w: set the timeline's space to w"
    return None


def direction_names(count: int = 8) -> list[str]:
    """Return the slider names used in timelines for ``count`` directions: sefa0, sefa1, …"""
    return [f"{DIRECTION_PREFIX}{i}" for i in range(count)]


def apply_directions(w: np.ndarray, amounts: dict[str, float], directions: np.ndarray,
                     scale: float = 1.0) -> np.ndarray:
    """Return w ([num_ws, w_dim] or [w_dim]) moved by ``amounts`` (name → steps) along the named directions;
    one step is ``scale`` times the direction (unit norm)."""
    out = np.array(w, dtype=np.float64, copy=True)
    for name, amount in (amounts or {}).items():
        if not name.startswith(DIRECTION_PREFIX) or not name[len(DIRECTION_PREFIX):].isdigit():
            raise KeyError(name)
        idx = int(name[len(DIRECTION_PREFIX):])
        if idx >= directions.shape[0]:
            raise KeyError(name)
        out = out + float(amount) * scale * directions[idx]
    return out


@dataclass
class ModelDirections:
    """Slider directions of a model in w space and the size of one slider step."""

    directions: np.ndarray
    step: float


_DIRECTIONS: dict[int, ModelDirections] = {}


def model_directions(G: StyleGenerator, count: int = 8) -> ModelDirections:
    """Return (cached per model) SeFa directions of ``G`` and a step size: a quarter of the mean distance
    ‖w − w_avg‖ over seeds 0..255."""
    key = id(G)
    if key not in _DIRECTIONS:
        dirs = sefa_directions(G, count=count)
        w = map_z(G, seeds_to_z(range(256), G.z_dim))[:, 0].double().cpu()
        step = float((w - G.mapping.w_avg.double().cpu()).norm(dim=1).mean()) / 4
        _DIRECTIONS[key] = ModelDirections(dirs, step)
    return _DIRECTIONS[key]
