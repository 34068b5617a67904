"""How varied a generator's images are: pairwise euclidean distances within a group of images (pure numpy).

Images are compared as vectors of pixels scaled to [0, 1], so a distance of d means sqrt(sum of squared pixel
differences); identical images are 0 apart.
"""
from __future__ import annotations

import numpy as np

SUMMARY_COLUMNS = ("class", "name", "images", "pairs", "mean", "median", "std", "min", "max")


def pairwise_distances(images: np.ndarray) -> np.ndarray:
    """Return the condensed pairwise euclidean distances (i < j, row-major order, N·(N−1)/2 values, float64) of
    uint8 images [N, H, W, C] taken as pixel vectors in [0, 1]."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0
    # Row by row (differences, not the Gram expansion): exact 0 for identical images, memory O(N·D).
    parts = [np.sqrt(((x[i + 1:] - x[i]) ** 2).sum(axis=1)) for i in range(len(x) - 1)]
    return np.concatenate(parts) if parts else np.zeros(0)


def summarize(distances: np.ndarray) -> dict[str, float]:
    """Return mean, median, std, min and max of ``distances`` (NaN for an empty array) and their count as pairs."""
    d = np.asarray(distances, dtype=np.float64)
    if d.size == 0:
        return {"pairs": 0, **{k: float("nan") for k in ("mean", "median", "std", "min", "max")}}
    return {"pairs": int(d.size), "mean": float(d.mean()), "median": float(np.median(d)), "std": float(d.std()),
            "min": float(d.min()), "max": float(d.max())}
