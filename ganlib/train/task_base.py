"""What the shared training loop needs from each KIND: a ``Task`` builds the models and optimizers, makes one
training step from the data stream, draws the fixed sample grid, evaluates, and exports the trained model."""
from __future__ import annotations

import datetime as _dt
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganlib.checkpoints import save_generator
from ganlib.data.base import ImageDataset
from ganlib.data.sampling import DataStream
from ganlib.errors import ConfigError, DataError
from ganlib.networks.small_common import dcgan_init

DCGAN_STD = 0.02  # the initial weight spread the small networks are built with


class Task:
    """Base class of the per-KIND training logic.

    Args: ``kind``; ``cfg`` (the validated config model); ``dataset``; ``device``. Subclasses fill ``modules`` and
    ``optimizers`` in ``build`` and set ``loss_names`` (the CSV columns).
    """

    needs_labels = False
    needs_features = False
    loss_names: list[str] = []
    smaller_model_hint = "ngf=32"  # the --set of the out-of-memory advice

    ddp = None  # a ganlib.train.distributed.Group when several processes train together (KINDs that support it)
    plot_columns: list | None = None  # panels of loss_plot.png (names or tuples drawn together); None: loss_names
    cached_samples: torch.Tensor | None = None  # the loop's sample grid of the current step (evaluate may reuse it)
    batches_per_step = 1  # batches one step draws from the stream (GANs: n_critic)
    val_ds: ImageDataset | None = None  # the ``val_data`` set, opened by ``ganlib.train.run``

    def __init__(self, kind: str, cfg, dataset: ImageDataset, device: torch.device):
        self.kind, self.cfg, self.ds, self.device = kind, cfg, dataset, device
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # Noise for training (z, gradient-penalty weights): a CPU generator saved with the checkpoint.
        self.gen = torch.Generator().manual_seed(cfg.seed * 2 + 1)
        self.check_data()

    # -- data ---------------------------------------------------------------------------------------------------
    def check_data(self) -> None:
        """Raise DataError when the dataset lacks labels or features this KIND needs."""
        if self.needs_labels and self.ds.labels is None:
            raise DataError(f"{self.kind} needs class labels: put the images in one sub-folder per class, or use an "
                            f"HDF5 file with a '{self.cfg.data.labels_key}' dataset", file=self.ds.source)
        if self.needs_labels and self.ds.num_classes < 2:
            raise DataError(f"{self.kind} needs at least 2 classes, found {self.ds.num_classes}",
                            file=self.ds.source)
        if self.needs_features and self.ds.features is None:
            raise DataError(f"{self.kind} needs feature vectors: an HDF5 file with a "
                            f"'{self.cfg.data.features_key}' dataset [N, F]", file=self.ds.source)

    def pool(self) -> np.ndarray | None:
        """Return the dataset indices to train on (None = all)."""
        return None

    def make_stream(self) -> DataStream:
        """Return the deterministic batch stream over the training pool."""
        balanced = bool(self.cfg.data.balanced)
        if balanced and self.ds.labels is None:
            raise DataError("data.balanced needs class labels (class sub-folders or an HDF5 'labels' dataset)",
                            file=self.ds.source)
        pool = self.pool()
        n = len(self.ds) if pool is None else len(pool)
        if n < self.cfg.batch_size:
            raise ConfigError(f"batch_size {self.cfg.batch_size} is larger than the {n} training images; "
                              f"use --set batch_size={max(1, n)} or fewer", field="batch_size")
        shard = (self.ddp.rank, self.ddp.world) if self.ddp is not None else (0, 1)
        return DataStream(self.ds, self.cfg.batch_size, self.cfg.seed, pool=pool, balanced=balanced,
                          flip=self.cfg.data.flip, num_workers=self.cfg.data.num_workers, device=self.device,
                          shard=shard)

    # -- randomness -----------------------------------------------------------------------------------------------
    def noise(self, *shape: int) -> torch.Tensor:
        """Return standard normal noise of ``shape`` from the run's CPU generator, on the training device."""
        return torch.randn(*shape, generator=self.gen).to(self.device)

    def fixed_generator(self, salt: int) -> torch.Generator:
        """Return a fresh CPU generator for fixed things (sample latents), keyed by the seed and ``salt``."""
        return torch.Generator().manual_seed(self.cfg.seed * 1_000_033 + salt)

    def fixed_rows(self, n: int) -> np.ndarray:
        """Return ``n`` dataset indices (a fixed shuffle of the pool; repeats if the pool is smaller)."""
        pool = self.pool()
        pool = np.arange(len(self.ds)) if pool is None else pool
        perm = torch.randperm(len(pool), generator=self.fixed_generator(11)).numpy()
        return pool[perm[np.arange(n) % len(pool)]]

    # -- to implement ---------------------------------------------------------------------------------------------
    def build(self, fresh: bool, progress: bool) -> None:
        """Create ``modules`` and ``optimizers`` (``fresh``: a new run, so run any pre-training)."""
        raise NotImplementedError

    def step(self, stream: DataStream) -> dict[str, float]:
        """Make one training step (one generator update for GANs) and return its losses by ``loss_names``."""
        raise NotImplementedError

    def sample_images(self) -> tuple[torch.Tensor, int | None] | None:
        """Return (images in [-1, 1], images per row) for the fixed sample grid, or None when the KIND has none."""
        return None

    def evaluate(self) -> dict[str, float]:
        """Return evaluation metrics of the current model (run in eval mode, without gradients)."""
        return {}

    def generator(self) -> nn.Module | None:
        """Return the model that satisfies the generator contract (None for the classifier)."""
        return None

    def real_samples(self) -> torch.Tensor | None:
        """Return real images [N, C, R, R] in [-1, 1] to show beside the fixed samples in ``real_vs_fake.png``
        (GAN KINDs), or None for KINDs without that figure."""
        return None

    def export(self, path: Path, provenance: dict[str, Any]) -> Path:
        """Write the trained model for the studio to ``path``; returns the path."""
        raise NotImplementedError

    def extra_outputs(self, out_dir: Path) -> None:
        """Write KIND-specific pictures at the end of a run (default: nothing)."""

    def extra_state(self) -> dict[str, Any]:
        """Return training state beyond modules, optimizers and RNGs (tensors and plain values) to checkpoint."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` returned."""

    # -- helpers ----------------------------------------------------------------------------------------------------
    def provenance(self, step: int, data: str) -> dict[str, Any]:
        """Return the provenance stored in exported checkpoints."""
        prov = {"trained_by": "ganlib.train", "kind": self.kind, "steps": step, "data": str(data),
                "images_seen": step * self.cfg.batch_size, "config": self.cfg.model_dump(mode="json"),
                "hardware": f"{platform.machine()}, torch {torch.__version__}, {self.device}",
                "date": _dt.date.today().isoformat()}
        if self.ds.class_names and self.ds.labels is not None:
            prov["class_names"] = list(self.ds.class_names)
        if self.ds.features is not None:
            prov["features_dim"] = self.ds.features_dim
        return prov

    def set_train(self, mode: bool) -> None:
        """Put every trainable module in train (True) or eval (False) mode."""
        for m in self.modules.values():
            m.train(mode)


def discriminator_accuracy(d_real: torch.Tensor, d_fake: torch.Tensor) -> dict[str, float]:
    """Return {"d_acc_real", "d_acc_fake"}: the fractions of real logits above 0 and fake logits below 0 (how often
    the discriminator is right at its decision threshold)."""
    return {"d_acc_real": float((d_real.detach() > 0).float().mean()),
            "d_acc_fake": float((d_fake.detach() < 0).float().mean())}


def matching_reals(task: Task, n: int, classes: torch.Tensor | None = None) -> torch.Tensor:
    """Return ``n`` real training images [n, C, R, R] in [-1, 1] in a fixed order; with ``classes`` (integer labels
    [n] or one-hot [n, K]) position i shows an image of class ``classes[i]`` (cycling through that class)."""
    if classes is None or task.ds.labels is None:
        rows = task.fixed_rows(n)
    else:
        order = task.fixed_rows(len(task.ds) if task.pool() is None else len(task.pool()))
        wanted = (classes.argmax(1) if classes.ndim == 2 else classes).cpu().numpy()
        by_class = {int(k): order[task.ds.labels[order] == k] for k in np.unique(wanted)}
        seen: dict[int, int] = {}
        rows = []
        for k in wanted.tolist():
            got = by_class[k] if len(by_class[k]) else order
            rows.append(int(got[seen.get(k, 0) % len(got)]))
            seen[k] = seen.get(k, 0) + 1
        rows = np.array(rows)
    return task.ds.batch_for(rows)["image"]


def reinit(module: nn.Module, std: float) -> None:
    """Re-draw ``module``'s weights as N(0, ``std``) (``dcgan_init``) unless ``std`` is the networks' own 0.02."""
    if std != DCGAN_STD:
        dcgan_init(module, std)


def make_optimizer(name: str, params, lr: float, betas=(0.5, 0.999), weight_decay: float = 0.0):
    """Return an Adam (``betas``) or RMSprop optimizer over ``params``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


class GeneratorTask(Task):
    """A Task whose product is a registered generator held in ``self.G`` and rebuilt from ``self.g_arch`` and
    ``self.g_kwargs``; ``self.encoder_mse`` is the frozen pre-encoder's final MSE when one is used (else None)."""

    G: nn.Module
    g_arch: str
    g_kwargs: dict[str, Any]
    encoder_mse: float | None = None

    def generator(self) -> nn.Module:
        """Return G."""
        return self.G

    def export(self, path: Path, provenance: dict[str, Any]) -> Path:
        """Save G with ``save_generator`` (its arch and constructor kwargs) so timelines can use it."""
        if self.encoder_mse is not None:
            provenance = dict(provenance, encoder_mse=self.encoder_mse)
        return save_generator(path, self.G, self.g_arch, self.g_kwargs, provenance)
