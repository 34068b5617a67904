"""Deterministic data order and the batch stream used by the training loop.

Each epoch's order (a permutation, or a class-balanced draw with replacement through ``WeightedRandomSampler``) and
its horizontal flips are a pure function of (seed, epoch), so a run resumed at (epoch, position) sees exactly the
batches an uninterrupted run would. ``DataStream`` walks the epochs batch by batch through a ``DataLoader``
(optionally with worker processes) and reports its position for checkpoints.
"""
from __future__ import annotations

import multiprocessing

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, WeightedRandomSampler

from ganlib.data.base import BatchKeys, ImageDataset


def epoch_seed(seed: int, epoch: int) -> int:
    """Return the RNG seed of one epoch's data order (distinct per (seed, epoch), within int64)."""
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + 12_345) % (2 ** 62)


def balanced_weights(labels: np.ndarray) -> torch.Tensor:
    """Return per-sample weights 1 / (count of its class) so every class is drawn equally often."""
    counts = np.bincount(labels)
    return torch.from_numpy(1.0 / counts[labels]).to(torch.float64)


def epoch_order(pool: np.ndarray, seed: int, epoch: int, *, weights: torch.Tensor | None = None,
                flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return (dataset indices, flip flags) for one epoch over the indices in ``pool``.

    Without ``weights`` the pool is shuffled; with ``weights`` (aligned with ``pool``) ``len(pool)`` indices are drawn
    with replacement by ``WeightedRandomSampler`` (class-balanced sampling). Flags are random halves when ``flip``.
    """
    g = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    n = len(pool)
    if weights is None:
        pos = torch.randperm(n, generator=g).numpy()
    else:
        pos = np.fromiter(iter(WeightedRandomSampler(weights, n, replacement=True, generator=g)), np.int64, n)
    flips = (torch.rand(n, generator=g) < 0.5).numpy() if flip else np.zeros(n, dtype=bool)
    return pool[pos], flips


class EpochBatches(Sampler):
    """Sampler yielding the ``BatchKeys`` of batches ``start``.. of one epoch (drops the last partial batch); with
    ``shard=(rank, world)`` only the rank's contiguous part of each batch."""

    def __init__(self, indices: np.ndarray, flips: np.ndarray, batch_size: int, start: int = 0,
                 shard: tuple[int, int] = (0, 1)):
        self.indices, self.flips, self.batch_size, self.start = indices, flips, batch_size, start
        self.shard = shard

    def __len__(self) -> int:
        """Return the number of batches still to come in this epoch."""
        return max(0, len(self.indices) // self.batch_size - self.start)

    def __iter__(self):
        """Yield BatchKeys for each remaining batch."""
        bs = self.batch_size
        rank, world = self.shard
        part = bs // world
        for b in range(self.start, len(self.indices) // bs):
            sl = slice(b * bs + rank * part, b * bs + (rank + 1) * part)
            yield BatchKeys(tuple(int(i) for i in self.indices[sl]), tuple(bool(f) for f in self.flips[sl]))


class DataStream:
    """Endless, deterministic stream of batches over ``dataset`` (or the subset ``pool`` of its indices).

    Args: ``batch_size``; ``seed``; ``balanced`` class-balanced sampling (needs labels); ``flip`` random
    horizontal flips; ``num_workers`` DataLoader worker processes (0 = in process); ``device`` where batches go;
    ``shard=(rank, world)``: deliver only the rank's part of each (global) batch, for data-parallel training.
    ``epoch`` and ``position`` (batches consumed in the epoch) say where it stands; ``state_dict`` /
    ``load_state_dict`` save and restore that.
    """

    def __init__(self, dataset: ImageDataset, batch_size: int, seed: int, *, pool: np.ndarray | None = None,
                 balanced: bool = False, flip: bool = False, num_workers: int = 0, device: str | torch.device = "cpu",
                 shard: tuple[int, int] = (0, 1)):
        self.dataset, self.batch_size, self.seed = dataset, int(batch_size), int(seed)
        self.shard = (int(shard[0]), int(shard[1]))
        self.pool = np.arange(len(dataset), dtype=np.int64) if pool is None else np.asarray(pool, dtype=np.int64)
        self.flip, self.num_workers, self.device = flip, int(num_workers), torch.device(device)
        self.weights = None
        if balanced:
            if dataset.labels is None:
                raise ValueError("balanced sampling needs labels")
            self.weights = balanced_weights(dataset.labels[self.pool])
        if len(self.pool) < self.batch_size:
            raise ValueError(f"only {len(self.pool)} images for batch_size {self.batch_size}")
        self.steps_per_epoch = len(self.pool) // self.batch_size
        self.epoch = 0
        self.position = 0
        self._iter = None

    def _open(self) -> None:
        idx, flips = epoch_order(self.pool, self.seed, self.epoch, weights=self.weights, flip=self.flip)
        sampler = EpochBatches(idx, flips, self.batch_size, self.position, self.shard)
        loader = DataLoader(self.dataset, sampler=sampler, batch_size=None, num_workers=self.num_workers,
                            generator=torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch)),
                            pin_memory=self.device.type == "cuda",
                            multiprocessing_context="fork" if self.num_workers and _has_fork() else None)
        self._iter = iter(loader)

    def next(self) -> dict[str, torch.Tensor]:
        """Return the next batch dict (on ``device``) and advance; rolls over to the next epoch at its end."""
        if self._iter is None:
            self._open()
        batch = next(self._iter)
        self.position += 1
        if self.position >= self.steps_per_epoch:
            self.epoch += 1
            self.position = 0
            self._iter = None
        if self.device.type != "cpu":
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        return batch

    def state_dict(self) -> dict[str, int]:
        """Return {"epoch", "position"} for a checkpoint."""
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved {"epoch", "position"}."""
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._iter = None

    def close(self) -> None:
        """Drop the current loader (and its worker processes)."""
        self._iter = None


def _has_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()
