"""Datasets held in memory, and ``procedural[:N[:SEED]]``: N procedural landscapes rendered on the fly (labels =
time of day, features = ``procedural_features``), handy for trying a KIND without any files."""
from __future__ import annotations

import re
from typing import Iterator

import numpy as np
import torch

from ganlib import limits
from ganlib.data.base import ImageDataset
from ganlib.data.landscapes import LANDSCAPE_CLASSES, MAX_SIZE, MIN_SIZE, LandscapeParams
from ganlib.data.procedural import iter_landscapes, procedural_features
from ganlib.data.transforms import convert_channels, fit_image, to_chw_uint8
from ganlib.errors import DataError

PROCEDURAL_RE = re.compile(r"^procedural(?::(\d+))?(?::(\d+))?$")
PROCEDURAL_DEFAULT_N = 1024


class InMemoryDataset(ImageDataset):
    """Images already in memory: ``images`` uint8 [N, C, R, R] with optional ``labels`` [N], ``class_names`` and
    ``features`` [N, F]; ``source`` names it in messages."""

    def __init__(self, images: torch.Tensor, source: str, labels: np.ndarray | None = None,
                 class_names: list[str] | None = None, features: np.ndarray | None = None):
        if images.ndim != 4 or images.dtype != torch.uint8 or images.shape[2] != images.shape[3]:
            raise ValueError("images must be uint8 [N, C, R, R]")
        self.cache = images.contiguous()
        self.source = source
        self._count, self.channels, self.resolution = images.shape[0], images.shape[1], images.shape[2]
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.class_names = class_names
        self.features = None if features is None else np.asarray(features, dtype=np.float32)

    def _read(self, i: int) -> torch.Tensor:
        return self.cache[i]


def is_procedural(spec) -> bool:
    """Return whether a data spec names procedural data ("procedural", "procedural:N" or "procedural:N:SEED")."""
    return bool(PROCEDURAL_RE.match(str(spec)))


def parse_procedural(spec: str) -> tuple[int, int]:
    """Return ``(N, SEED)`` of a spec "procedural[:N[:SEED]]" (defaults N=1024, SEED=0); ``DataError`` naming the
    spec when it is malformed, asks for no image or more than the ``dataset_images`` limit."""
    m = PROCEDURAL_RE.match(str(spec))
    if not m:
        raise DataError("procedural data is written procedural, procedural:N or procedural:N:SEED", file=spec)
    n = int(m.group(1) or PROCEDURAL_DEFAULT_N)
    if n < 1:
        raise DataError("procedural data needs at least one image", file=spec)
    limits.check("dataset_images", n, "procedural data", error=DataError, file=spec)
    return n, int(m.group(2) or 0)


def iter_procedural(spec: str, resolution: int, channels: int = 3, fit: str = "crop"
                    ) -> Iterator[tuple[np.ndarray, int, LandscapeParams]]:
    """Yield ``(image uint8 [resolution, resolution, channels], label, params)`` for each landscape of ``spec``
    ("procedural[:N[:SEED]]"), drawn at the nearest supported size and then fitted: the images a training run on
    ``spec`` sees, and the real images of a metric against ``spec``."""
    n, seed = parse_procedural(spec)
    size = min(max(int(resolution), MIN_SIZE), MAX_SIZE)
    for _, img, label, params in iter_landscapes(n, size, seed):
        yield fit_image(convert_channels(img, channels), int(resolution), fit), label, params


def procedural_dataset(spec: str, resolution: int, channels: int = 3, fit: str = "crop") -> InMemoryDataset:
    """Render the landscapes of ``spec`` ("procedural[:N[:SEED]]", default N=1024, SEED=0) at ``resolution``
    (drawn at the nearest supported size, then fitted) with 4 balanced classes and 16 features each."""
    n, _ = parse_procedural(spec)
    limits.check("memory_dataset_bytes", n * channels * resolution * resolution, "procedural data (held in memory)",
                 error=DataError, file=spec)
    images, labels, feats = [], [], []
    for img, label, params in iter_procedural(spec, resolution, channels, fit):
        images.append(to_chw_uint8(img))
        labels.append(label)
        feats.append(procedural_features(params))
    return InMemoryDataset(torch.stack(images), str(spec), np.array(labels), list(LANDSCAPE_CLASSES),
                           np.stack(feats))
