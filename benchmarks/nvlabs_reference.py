"""NVlabs' own StyleGAN2 generator, loaded from a user's checkout of stylegan2-ada-pytorch (never vendored), with the
weights of one of ours, for ``benchmarks/generator.py --nvlabs DIR``.

Our parameter and buffer names follow NVlabs' layout, so our state dict loads into their ``training.networks``
Generator built with the same arguments. Their code runs from DIR, outside this repository.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch

from ganlib.errors import UserError


def load_nvlabs_networks(checkout: str | Path):
    """Import ``training.networks`` from an NVlabs stylegan2-ada-pytorch checkout at ``checkout``; returns the
    module. Raises UserError naming ``--nvlabs`` when the folder is not such a checkout."""
    root = Path(checkout).expanduser().resolve()
    if not (root / "training" / "networks.py").is_file() or not (root / "torch_utils").is_dir():
        raise UserError(f"{root} is not a stylegan2-ada-pytorch checkout (no training/networks.py)", field="--nvlabs")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("training.networks")


def nvlabs_twin(networks, G: torch.nn.Module, mapping_kwargs: dict, synthesis_kwargs: dict) -> torch.nn.Module:
    """Return NVlabs' Generator (from ``networks``) built with ``G``'s sizes and the given kwargs, carrying ``G``'s
    exact weights and buffers (strict load: every name must match), in eval mode without gradients."""
    twin = networks.Generator(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, img_resolution=G.img_resolution,
                              img_channels=G.img_channels, mapping_kwargs=mapping_kwargs,
                              synthesis_kwargs=synthesis_kwargs)
    twin.load_state_dict(G.state_dict(), strict=True)
    return twin.eval().requires_grad_(False).to(next(G.parameters()).device)


def nvlabs_synthesis(twin: torch.nn.Module):
    """Return fn(ws) → images running NVlabs' synthesis in fp32 with constant noise (their ``force_fp32=True``)."""
    def fn(ws: torch.Tensor) -> torch.Tensor:
        return twin.synthesis(ws, noise_mode="const", force_fp32=True)
    return fn
