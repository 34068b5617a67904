"""A tiny random-weight 5-class label model (classes "A".."E", 16 px grey) for the text and spread tests."""
from __future__ import annotations

from pathlib import Path

import torch

from ganlib.checkpoints.native import save_generator
from ganlib.networks.conditional import ConditionalGenerator

CLASSES = ["A", "B", "C", "D", "E"]
KW = dict(z_dim=8, img_resolution=16, img_channels=1, ngf=4, c_dim=5, embed_dim=4)


def save_letters_models(folder: Path) -> tuple[Path, Path, ConditionalGenerator]:
    """Save the model with its class names (``letters.safetensors``) and without them (``bare.safetensors``) in
    ``folder``; return both paths and the generator (eval mode)."""
    torch.manual_seed(0)
    G = ConditionalGenerator(**KW).eval()
    named = save_generator(folder / "letters.safetensors", G, "cgan", KW, {"class_names": CLASSES})
    bare = save_generator(folder / "bare.safetensors", G, "cgan", KW, {})
    return named, bare, G
