"""Running trained models over a whole dataset in batches: classifier probabilities and autoencoder codes."""
from __future__ import annotations

import numpy as np
import torch

from ganlib.data.base import ImageDataset


def _chunks(n: int, batch: int):
    for s in range(0, n, batch):
        yield list(range(s, min(n, s + batch)))


@torch.no_grad()
def classify_dataset(model: torch.nn.Module, ds: ImageDataset, batch: int = 64,
                     device: str | torch.device = "cpu") -> np.ndarray:
    """Return class probabilities [N, num_classes] (float32) of every image of ``ds`` under ``model`` (eval mode)."""
    model.eval()
    out = [torch.softmax(model(ds.batch_for(rows)["image"].to(device)), dim=1).cpu() for rows in
           _chunks(len(ds), batch)]
    return torch.cat(out).numpy().astype(np.float32)


@torch.no_grad()
def encode_dataset(ae: torch.nn.Module, ds: ImageDataset, batch: int = 64,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """Return the autoencoder codes [N, code_dim] (float32) of every image of ``ds``."""
    ae.eval()
    out = [ae.encode(ds.batch_for(rows)["image"].to(device)).cpu() for rows in _chunks(len(ds), batch)]
    return torch.cat(out).numpy().astype(np.float32)


def item_names(ds: ImageDataset) -> list[str]:
    """Return a name per image: its relative path for folders and zips, "row N" for HDF5 files."""
    names = getattr(ds, "names", None)
    if names is not None:
        return list(names)
    return [f"row {i}" for i in range(len(ds))]
