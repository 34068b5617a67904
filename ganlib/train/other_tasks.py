"""Non-adversarial KINDs: the MSE generator (features → image), the convolutional autoencoder (optionally with a
label-conditioned decoder) and the CNN classifier."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganlib.checkpoints import save_generator
from ganlib.networks.autoencoder import ConvAutoencoder
from ganlib.networks.classifier import CNNClassifier
from ganlib.networks.mlp_encoder import EncodedGenerator
from ganlib.networks.mse_generator import MSEGenerator
from ganlib.errors import DataError
from ganlib.train.apply import reconstruction_mse
from ganlib.train.export import save_model
from ganlib.train.pretrain import check_feature_shape, feature_encoder
from ganlib.train.samples import save_grid
from ganlib.train.task_base import GeneratorTask, Task, make_optimizer, reinit


def _interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Return [a0, b0, a1, b1, ...] along the batch axis."""
    return torch.stack([a, b], dim=1).reshape(-1, *a.shape[1:])


class MSETask(GeneratorTask):
    """MSE generator: regress each image from its feature vector (random ``z`` is fed and learned to be ignored)."""

    needs_features = True
    loss_names = ["loss"]

    def build(self, fresh: bool, progress: bool) -> None:
        """Create the generator (behind the frozen pre-encoder when it is on: ``encoder.enabled``, ``path`` or
        ``kind: sequence``)."""
        cfg = self.cfg
        fdim = self.ds.features_dim
        self.encoder_mse = None
        g_kwargs = dict(z_dim=cfg.z_dim, img_resolution=cfg.resolution, img_channels=cfg.channels, ngf=cfg.ngf,
                        max_channels=cfg.max_channels, upsample=cfg.upsample, cond_kind="features",
                        embed_dim=cfg.embed_dim)
        if cfg.encoder.used:
            enc_kwargs, enc_state, self.encoder_mse = feature_encoder(self.ds, cfg.encoder, cfg.seed, fresh, progress)
            G = EncodedGenerator(enc_kwargs, "mse", dict(g_kwargs, c_dim=enc_kwargs["out_dim"]))
            reinit(G.generator, cfg.init_std)
            if enc_state is not None:
                G.encoder.load_state_dict(enc_state)
            self.g_arch, self.g_kwargs = "encoded", G.init_kwargs
        else:
            check_feature_shape(self.ds, None)  # sequence features need a sequence encoder
            self.g_kwargs = dict(g_kwargs, c_dim=fdim)
            self.g_arch = "mse"
            G = MSEGenerator(**self.g_kwargs)
            reinit(G, cfg.init_std)
        self.G = G.to(self.device).train()
        self.modules = {"G": self.G}
        self.optimizers = {"G": make_optimizer("adam", [p for p in G.parameters() if p.requires_grad], cfg.lr,
                                               cfg.betas)}
        rows = self.fixed_rows(min(cfg.sample_count, 32))
        self._fixed_real = self.ds.batch_for(rows)["image"].to(self.device)
        self._fixed_c = torch.from_numpy(self.ds.features[rows]).to(self.device)
        self._fixed_z = torch.randn(len(rows), cfg.z_dim, generator=self.fixed_generator(7)).to(self.device)

    def step(self, stream) -> dict[str, float]:
        """One Adam step on the MSE between G(z, features) and the images."""
        batch = stream.next()
        real = batch["image"]
        pred = self.G(self.noise(real.shape[0], self.G.z_dim), batch["features"])
        loss = F.mse_loss(pred, real)
        opt = self.optimizers["G"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def _predict(self) -> torch.Tensor:
        return self.G(self._fixed_z, self._fixed_c)

    def sample_images(self):
        """Return real images interleaved with the generator's image for the same features (pairs per row)."""
        return _interleave(self._fixed_real, self._predict()), 8

    def evaluate(self) -> dict[str, float]:
        """Return the MSE on the fixed sample rows (and over the whole ``val_data`` set as ``val_mse``)."""
        out = {"sample_mse": float(F.mse_loss(self._predict(), self._fixed_real))}
        if self.val_ds is not None:
            if self.val_ds.features is None or self.val_ds.features_dim != self.ds.features_dim:
                raise DataError(f"val_data needs feature vectors of size {self.ds.features_dim} like the training "
                                f"data", file=self.val_ds.source)
            total, count = 0.0, 0
            for s in range(0, len(self.val_ds), 64):
                b = self.val_ds.batch_for(range(s, min(len(self.val_ds), s + 64)))
                x = b["image"].to(self.device)
                z = torch.randn(len(x), self.G.z_dim, generator=self.fixed_generator(13 + s)).to(self.device)
                total += float(((self.G(z, b["features"].to(self.device)) - x) ** 2).sum())
                count += x.numel()
            out["val_mse"] = total / count
        return out


class AutoencoderTask(Task):
    """Convolutional autoencoder trained with MSE; with labels (``conditional``) the decoder also gets the class."""

    loss_names = ["loss"]

    def build(self, fresh: bool, progress: bool) -> None:
        """Create the autoencoder and its optimizer."""
        cfg = self.cfg
        cond = cfg.conditional
        if cond == "auto":
            cond = self.ds.labels is not None and self.ds.num_classes >= 2
        if cond:
            self.needs_labels = True
            self.check_data()
        self.conditional = bool(cond)
        self.kwargs = dict(img_resolution=cfg.resolution, img_channels=cfg.channels, code_dim=cfg.code_dim,
                           width=cfg.width, max_channels=cfg.max_channels,
                           cond_kind="label" if cond else "none", c_dim=self.ds.num_classes if cond else 0,
                           embed_dim=cfg.embed_dim)
        self.model = ConvAutoencoder(**self.kwargs)
        reinit(self.model, cfg.init_std)
        self.model = self.model.to(self.device).train()
        self.modules = {"AE": self.model}
        self.optimizers = {"AE": make_optimizer("adam", self.model.parameters(), cfg.lr, cfg.betas)}
        rows = self.fixed_rows(min(cfg.sample_count, 32))
        batch = self.ds.batch_for(rows)
        self._fixed_x = batch["image"].to(self.device)
        self._fixed_c = batch["label"].to(self.device) if self.conditional else None

    def step(self, stream) -> dict[str, float]:
        """One Adam step on the reconstruction MSE."""
        batch = stream.next()
        x = batch["image"]
        c = batch["label"] if self.conditional else None
        loss = F.mse_loss(self.model.reconstruct(x, c), x)
        opt = self.optimizers["AE"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def sample_images(self):
        """Return the fixed images interleaved with their reconstructions."""
        return _interleave(self._fixed_x, self.model.reconstruct(self._fixed_x, self._fixed_c)), 8

    def evaluate(self) -> dict[str, float]:
        """Return the reconstruction MSE on the fixed images (and over the whole ``val_data`` set as
        ``val_recon_mse``)."""
        out = {"recon_mse": float(F.mse_loss(self.model.reconstruct(self._fixed_x, self._fixed_c), self._fixed_x))}
        if self.val_ds is not None:
            out["val_recon_mse"] = reconstruction_mse(self.model, self.val_ds, 64, self.device)
        return out

    def generator(self):
        """Return the autoencoder (its forward decodes codes: the generator contract)."""
        return self.model

    def export(self, path: Path, provenance: dict[str, Any]) -> Path:
        """Save the whole autoencoder with ``save_generator`` (arch "autoencoder")."""
        return save_generator(path, self.model, "autoencoder", self.kwargs, provenance)

    def extra_outputs(self, out_dir: Path) -> None:
        """With a conditional decoder, write ``reclass.png``: each row an image, then it re-rendered as every
        class."""
        if not self.conditional:
            return
        k = self.ds.num_classes
        x = self._fixed_x[:8]
        self.model.eval()
        with torch.no_grad():
            code = self.model.encode(x)
            cols = [x] + [self.model.decode(code, torch.full((len(x),), j, dtype=torch.long, device=x.device))
                          for j in range(k)]
        self.model.train()
        grid = torch.stack(cols, dim=1).reshape(-1, *x.shape[1:])
        save_grid(grid, out_dir / "reclass.png", nrow=k + 1)


class ClassifierTask(Task):
    """CNN classifier: cross-entropy on a training split, accuracy on a held-out validation split."""

    needs_labels = True
    loss_names = ["loss", "acc"]

    def __init__(self, kind, cfg, dataset, device):
        super().__init__(kind, cfg, dataset, device)
        n = len(self.ds)
        perm = torch.randperm(n, generator=self.fixed_generator(3)).numpy()
        n_val = int(round(cfg.val_fraction * n))
        if cfg.val_data:  # a given validation set replaces the split
            n_val = 0
        elif cfg.val_fraction > 0 and n >= 4:
            n_val = max(1, min(n_val, n - 2))
        else:
            n_val = 0
        self.val_idx = np.sort(perm[:n_val])
        self.train_idx = np.sort(perm[n_val:])

    def pool(self) -> np.ndarray:
        """Return the training split."""
        return self.train_idx

    def build(self, fresh: bool, progress: bool) -> None:
        """Create the classifier and its AdamW optimizer."""
        cfg = self.cfg
        self.kwargs = dict(img_resolution=cfg.resolution, img_channels=cfg.channels,
                           num_classes=self.ds.num_classes, width=cfg.width, max_channels=cfg.max_channels,
                           dropout=cfg.dropout)
        self.model = CNNClassifier(**self.kwargs).to(self.device).train()
        self.modules = {"C": self.model}
        self.optimizers = {"C": make_optimizer("adamw", self.model.parameters(), cfg.lr, (0.9, 0.999),
                                               cfg.weight_decay)}

    def step(self, stream) -> dict[str, float]:
        """One AdamW step on the cross-entropy; returns loss and batch accuracy."""
        batch = stream.next()
        logits = self.model(batch["image"])
        loss = F.cross_entropy(logits, batch["label"])
        opt = self.optimizers["C"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        return {"loss": loss.item(), "acc": acc.item()}

    def _val_label_map(self) -> torch.Tensor:
        """Map ``val_data`` label indices to the training classes by name (DataError for unknown classes)."""
        names = list(self.ds.class_names)
        vds = self.val_ds
        if vds.labels is None:
            raise DataError("val_data needs class labels (class sub-folders) like the training data", file=vds.source)
        unknown = [c for c in vds.class_names if c not in names]
        if unknown:
            raise DataError(f"val_data has class {unknown[0]!r}, not one of the training classes: {', '.join(names)}",
                            file=vds.source)
        return torch.tensor([names.index(c) for c in vds.class_names])

    def evaluate(self) -> dict[str, float]:
        """Return validation loss, accuracy and balanced accuracy (mean per-class recall) on ``val_data`` or the
        held-out split; empty without either."""
        ds, idx = (self.val_ds, np.arange(len(self.val_ds))) if self.val_ds is not None else (self.ds, self.val_idx)
        if len(idx) == 0:
            return {}
        remap = self._val_label_map() if self.val_ds is not None else None
        preds, labels, total = [], [], 0.0
        for s in range(0, len(idx), 128):
            rows = idx[s:s + 128]
            batch = ds.batch_for(rows)
            logits = self.model(batch["image"].to(self.device))
            y = batch["label"] if remap is None else remap[batch["label"]]
            y = y.to(self.device)
            total += float(F.cross_entropy(logits, y, reduction="sum"))
            preds.append(logits.argmax(1).cpu())
            labels.append(y.cpu())
        p, y = torch.cat(preds), torch.cat(labels)
        recalls = [float((p[y == k] == k).float().mean()) for k in torch.unique(y).tolist()]
        return {"val_loss": total / len(y), "val_acc": float((p == y).float().mean()),
                "val_balanced_acc": float(np.mean(recalls))}

    def export(self, path: Path, provenance: dict[str, Any]) -> Path:
        """Save the classifier with ``save_model`` (arch "classifier"), class names and input settings included."""
        provenance = dict(provenance, class_names=list(self.ds.class_names), resolution=self.cfg.resolution,
                          channels=self.cfg.channels, fit=self.cfg.data.fit)
        return save_model(path, self.model, "classifier", self.kwargs, provenance)
