"""Running trained models over a whole dataset in batches: classifier probabilities, autoencoder codes and the
autoencoder's reconstruction error."""
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


@torch.no_grad()
def reconstruction_mse(ae: torch.nn.Module, ds: ImageDataset, batch: int = 64,
                       device: str | torch.device = "cpu") -> float:
    """Return the mean squared reconstruction error (pixels in [-1, 1]) of the autoencoder over every image of
    ``ds``; a label-conditioned decoder gets each image's own label when ``ds`` has labels it knows, else the
    uniform label mixture."""
    was_training = ae.training
    ae.eval()
    total, count = 0.0, 0
    for rows in _chunks(len(ds), batch):
        b = ds.batch_for(rows)
        x = b["image"].to(device)
        c = None
        if getattr(ae, "cond_kind", "none") == "label" and "label" in b and int(b["label"].max()) < ae.c_dim:
            c = b["label"].to(device)
        total += float(((ae.reconstruct(x, c) - x) ** 2).sum())
        count += x.numel()
    ae.train(was_training)
    return total / max(count, 1)


def item_names(ds: ImageDataset) -> list[str]:
    """Return a name per image: its relative path for folders and zips, "row N" for HDF5 files."""
    names = getattr(ds, "names", None)
    if names is not None:
        return list(names)
    return [f"row {i}" for i in range(len(ds))]
