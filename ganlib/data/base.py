"""The dataset base class shared by image folders, zip archives and HDF5 files.

A dataset has ``len(ds)`` images at one ``resolution`` and ``channels``, optional integer ``labels`` [N] with
``class_names``, and optional float ``features`` [N, F]. Items are fetched by a ``BatchKeys`` (indices and
horizontal flips, decided by the sampler so that data order is deterministic) and come back as a batch dict:
``{"image": float [B, C, R, R] in [-1, 1], "label": int64 [B], "features": float32 [B, F]}`` (keys present only
when the dataset has them). Small datasets are decoded once and kept in memory as uint8 (``cache``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ganlib.data.transforms import flip_rows, to_float

DEFAULT_CACHE_LIMIT_MB = 1024


class DataWarning(UserWarning):
    """A dataset problem that does not stop training (skipped unreadable images, ignored files)."""


def warn_data(message: str) -> None:
    """Emit ``message`` as a DataWarning (the CLI prints it as one ``warning:`` line)."""
    warnings.warn(DataWarning(message), stacklevel=3)


@dataclass(frozen=True)
class BatchKeys:
    """One batch to fetch: dataset ``indices`` and, per index, whether to mirror it (``flips``)."""

    indices: tuple[int, ...]
    flips: tuple[bool, ...]


class ImageDataset(torch.utils.data.Dataset):
    """Base class: subclasses set ``source``, ``resolution``, ``channels``, ``labels``, ``class_names``,
    ``features`` and ``_count`` and implement ``_read(i) -> uint8 tensor [C, R, R]`` (already fitted).

    ``cache`` (filled by subclasses through ``_set_cache``) is a uint8 tensor [N, C, R, R] or None.
    """

    source: str
    resolution: int
    channels: int
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    features: np.ndarray | None = None  # [N, F] (sequences [N, T, F] are kept flat as [N, T*F])
    features_shape: tuple[int, ...] | None = None  # the per-row shape as stored: (F,) or (T, F)
    cache: torch.Tensor | None = None
    skipped: int = 0
    _count: int = 0

    def __len__(self) -> int:
        """Return the number of usable images."""
        return self._count

    @property
    def num_classes(self) -> int:
        """Return the number of classes (0 when the dataset has no labels)."""
        return len(self.class_names) if self.labels is not None and self.class_names else 0

    @property
    def features_dim(self) -> int:
        """Return the size of the (flattened) feature vectors (0 when the dataset has none)."""
        return int(self.features.shape[1]) if self.features is not None else 0

    @property
    def feature_row_shape(self) -> tuple[int, ...]:
        """Return the shape of one feature row as stored: (F,), or (T, F) for sequence features; () without any."""
        if self.features is None:
            return ()
        return tuple(self.features_shape) if self.features_shape else (self.features_dim,)

    def _read(self, i: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def images_uint8(self, indices) -> torch.Tensor:
        """Return the fitted uint8 images [B, C, R, R] at ``indices`` (a sequence or tensor of ints)."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        if self.cache is not None:
            return self.cache.index_select(0, idx)
        if len(idx) == 0:
            return torch.zeros(0, self.channels, self.resolution, self.resolution, dtype=torch.uint8)
        return torch.stack([self._read(int(i)) for i in idx])

    def batch(self, keys: BatchKeys) -> dict[str, torch.Tensor]:
        """Return the batch dict for ``keys`` (see module docstring)."""
        imgs = self.images_uint8(keys.indices)
        imgs = flip_rows(imgs, torch.tensor(keys.flips, dtype=torch.bool))
        out = {"image": to_float(imgs)}
        idx = np.asarray(keys.indices, dtype=np.int64)
        if self.labels is not None:
            out["label"] = torch.from_numpy(self.labels[idx].astype(np.int64))
        if self.features is not None:
            out["features"] = torch.from_numpy(np.ascontiguousarray(self.features[idx], dtype=np.float32))
        return out

    def batch_for(self, indices) -> dict[str, torch.Tensor]:
        """Return the batch dict of ``indices`` (no flips), e.g. for fixed evaluation images."""
        idx = tuple(int(i) for i in indices)
        return self.batch(BatchKeys(idx, (False,) * len(idx)))

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        """Return a batch dict for a ``BatchKeys``, or one unbatched item dict for an int index."""
        if isinstance(key, BatchKeys):
            return self.batch(key)
        item = self.batch(BatchKeys((int(key),), (False,)))
        return {k: v[0] for k, v in item.items()}

    def describe(self) -> str:
        """Return a one-line summary: count, size, classes, features, skipped files."""
        parts = [f"{len(self)} images at {self.resolution}px ({self.channels} ch)"]
        if self.num_classes:
            parts.append(f"{self.num_classes} classes ({', '.join(self.class_names[:8])}"
                         f"{', …' if self.num_classes > 8 else ''})")
        if self.features is not None:
            parts.append(f"features of size {self.features_dim}")
        if self.skipped:
            parts.append(f"{self.skipped} unreadable skipped")
        return f"{self.source}: " + ", ".join(parts)


def should_cache(cache: bool | str, count: int, channels: int, resolution: int,
                 limit_mb: float = DEFAULT_CACHE_LIMIT_MB) -> bool:
    """Return whether to decode everything into memory: ``cache`` True/False, or "auto" (fits in ``limit_mb``)."""
    if cache == "auto":
        return count * channels * resolution * resolution <= limit_mb * 2 ** 20
    return bool(cache)


def labels_from_paths(relpaths: list[str]) -> tuple[list[str], np.ndarray | None, list[int]]:
    """Derive class labels from relative paths ("class/.../file.png").

    Leading folders shared by every path are ignored (a zip of one top folder behaves like that folder). When the
    remaining paths lie in sub-folders, each first sub-folder is a class (sorted names → indices) and files outside
    them are dropped. Returns (class names, labels aligned with the kept paths or None, kept positions).
    """
    parts = [p.replace("\\", "/").split("/") for p in relpaths]
    strip = 0
    while parts and all(len(p) > strip + 1 for p in parts) and len({p[strip] for p in parts}) == 1:
        strip += 1
    nested = [len(p) > strip + 1 for p in parts]
    if not any(nested):
        return [], None, list(range(len(relpaths)))
    keep = [i for i, n in enumerate(nested) if n]
    names = sorted({parts[i][strip] for i in keep})
    lookup = {n: k for k, n in enumerate(names)}
    labels = np.array([lookup[parts[i][strip]] for i in keep], dtype=np.int64)
    if len(keep) < len(relpaths):
        warn_data(f"{len(relpaths) - len(keep)} images outside the class sub-folders were ignored")
    return names, labels, keep
