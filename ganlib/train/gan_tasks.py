"""Adversarial KINDs on one code path: dcgan, dcgan-mod, wgan (weight clipping), wgan-gp (gradient penalty) and cgan
(label embedding, or features through a frozen MLP pre-encoder), each with a convolutional or an MLP architecture.

One step = ``n_critic`` discriminator/critic updates (each on a fresh real batch) and one generator update. With one
critic update the generated batch is reused for the generator update, as in the DCGAN reference loop.
"""
from __future__ import annotations

from typing import Any

import torch

from ganlib.networks.conditional import ConditionalGenerator
from ganlib.networks.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANModGenerator
from ganlib.networks.mlp_encoder import EncodedGenerator
from ganlib.networks.wgan import MLPCritic, MLPGenerator
from ganlib.train import losses
from ganlib.train.pretrain import check_feature_shape, feature_encoder
from ganlib.train.task_base import GeneratorTask, discriminator_accuracy, make_optimizer, matching_reals, reinit


class GANTask(GeneratorTask):
    """Training logic of the adversarial KINDs (see module docstring)."""

    def __init__(self, kind: str, cfg, dataset, device):
        self.cond = getattr(cfg, "cond", None) if kind == "cgan" else None
        self.needs_labels = self.cond == "label"
        self.needs_features = self.cond == "features"
        super().__init__(kind, cfg, dataset, device)
        cfg = self.cfg
        if cfg.loss == "wasserstein":  # a critic has no decision threshold, so no accuracy
            extra = [("wdist",)] + ([("gp",)] if cfg.gp_lambda > 0 else [])
        else:
            extra = [("d_real", "d_fake"), ("d_acc_real", "d_acc_fake")]
        self.plot_columns = [("loss_d", "loss_g")] + extra
        self.loss_names = [c for panel in self.plot_columns for c in panel]
        self.encoder_mse: float | None = None
        self.batches_per_step = cfg.n_critic

    # -- models ---------------------------------------------------------------------------------------------------
    def _c_dim(self) -> int:
        if self.cond == "label":
            return self.ds.num_classes
        if self.cond == "features":
            return self.ds.features_dim
        return 0

    def _generator_spec(self, c_dim: int) -> tuple[str, dict[str, Any]]:
        cfg = self.cfg
        cond_kind = self.cond or "none"
        if cfg.arch == "mlp":
            return "mlp", dict(z_dim=cfg.z_dim, img_resolution=cfg.resolution, img_channels=cfg.channels,
                               hidden=cfg.hidden, layers=cfg.layers, cond_kind=cond_kind, c_dim=c_dim)
        kw = dict(z_dim=cfg.z_dim, img_resolution=cfg.resolution, img_channels=cfg.channels, ngf=cfg.ngf,
                  max_channels=cfg.max_channels, upsample=cfg.upsample)
        if self.kind == "cgan":
            return "cgan", dict(kw, cond_kind=cond_kind, c_dim=c_dim, embed_dim=cfg.embed_dim)
        if self.kind == "dcgan-mod":
            return "dcgan-mod", kw
        return "dcgan", kw

    def build(self, fresh: bool, progress: bool) -> None:
        """Create G and D (and, for features with the pre-encoder on, pre-train or load it and freeze it); weights
        start at N(0, ``init_std``)."""
        cfg = self.cfg
        c_dim = self._c_dim()
        use_encoder = self.cond == "features" and cfg.encoder.used
        if self.cond == "features" and not use_encoder:
            check_feature_shape(self.ds, None)  # sequence features need a sequence encoder
        if use_encoder:
            enc_kwargs, enc_state, self.encoder_mse = feature_encoder(self.ds, cfg.encoder, cfg.seed, fresh, progress)
            g_arch, g_kwargs = self._generator_spec(enc_kwargs["out_dim"])
            G = EncodedGenerator(enc_kwargs, g_arch, g_kwargs)
            reinit(G.generator, cfg.init_std)
            if enc_state is not None:
                G.encoder.load_state_dict(enc_state)
            self.g_arch, self.g_kwargs = "encoded", G.init_kwargs
        else:
            self.g_arch, self.g_kwargs = self._generator_spec(c_dim)
            cls = {"mlp": MLPGenerator, "cgan": ConditionalGenerator, "dcgan-mod": DCGANModGenerator,
                   "dcgan": DCGANGenerator}[self.g_arch]
            G = cls(**self.g_kwargs)
            reinit(G, cfg.init_std)
        cond_kind = self.cond or "none"
        if cfg.arch == "mlp":
            D = MLPCritic(cfg.resolution, cfg.channels, cfg.hidden, cfg.layers, cond_kind=cond_kind, c_dim=c_dim)
        else:
            D = DCGANDiscriminator(cfg.resolution, cfg.channels, cfg.ndf, cfg.max_channels, norm=cfg.d_norm,
                                   spectral=cfg.spectral_norm, cond_kind=cond_kind, c_dim=c_dim)
        reinit(D, cfg.init_std)
        self.G, self.D = G.to(self.device).train(), D.to(self.device).train()
        self.modules = {"G": self.G, "D": self.D}
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.optimizers = {"G": make_optimizer(cfg.optimizer, g_params, cfg.lr_g, cfg.betas),
                           "D": make_optimizer(cfg.optimizer, self.D.parameters(), cfg.lr_d, cfg.betas)}
        self._fixed = self._make_fixed()

    def _make_fixed(self) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        n = self.cfg.sample_count
        nrow = None
        c = None
        if self.cond == "label":
            k = self.ds.num_classes
            n = max(k, (n // k) * k)
            c = torch.arange(n) % k
            nrow = k if k <= 16 else None
        elif self.cond == "features":
            c = torch.from_numpy(self.ds.features[self.fixed_rows(n)])
        z = torch.randn(n, self.G.z_dim, generator=self.fixed_generator(7))
        return z.to(self.device), (c.to(self.device) if c is not None else None), nrow

    # -- training -------------------------------------------------------------------------------------------------
    def _cond(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if self.cond == "label":
            return batch["label"]
        if self.cond == "features":
            return batch["features"]
        return None

    def step(self, stream) -> dict[str, float]:
        """One generator update after ``n_critic`` discriminator updates; returns the logged losses."""
        cfg, G, D = self.cfg, self.G, self.D
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        reuse = cfg.n_critic == 1
        D.requires_grad_(True)
        fake = c = None
        for _ in range(cfg.n_critic):
            batch = stream.next()
            real = batch["image"]
            c = self._cond(batch)
            z = self.noise(real.shape[0], G.z_dim)
            if reuse:
                fake = G(z, c)
                fake_d = fake.detach()
            else:
                with torch.no_grad():
                    fake_d = G(z, c)
            d_real = D(real, c)
            d_fake = D(fake_d, c)
            loss_d = losses.d_loss(cfg.loss, d_real, d_fake)
            gp = None
            if cfg.gp_lambda > 0:
                gp = losses.gradient_penalty(D, real, fake_d, c, generator=self.gen)
                loss_d = loss_d + cfg.gp_lambda * gp
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            if cfg.clip:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-cfg.clip, cfg.clip)
        D.requires_grad_(False)
        if not reuse:
            z = self.noise(cfg.batch_size, G.z_dim)
            fake = G(z, c)
        loss_g = losses.g_loss(cfg.loss, D(fake, c))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        out = {"loss_d": loss_d.item(), "loss_g": loss_g.item()}
        if cfg.loss == "wasserstein":
            out["wdist"] = (d_real.mean() - d_fake.mean()).item()
            if gp is not None:
                out["gp"] = gp.item()
        else:
            out["d_real"] = torch.sigmoid(d_real).mean().item()
            out["d_fake"] = torch.sigmoid(d_fake).mean().item()
            out.update(discriminator_accuracy(d_real, d_fake))
        return out

    def sample_images(self):
        """Return the generator's images for the fixed latents (and classes/features) and the grid row length."""
        z, c, nrow = self._fixed
        imgs = torch.cat([self.G(z[i:i + 64], None if c is None else c[i:i + 64]) for i in range(0, len(z), 64)])
        return imgs, nrow

    def evaluate(self) -> dict[str, float]:
        """Return a cheap generator statistic on (up to 16 of) the fixed latents: the pixel standard deviation
        across samples (near 0 means mode collapse); reuses the sample grid of this step when there is one."""
        z, c, _ = self._fixed
        n = min(16, len(z))
        imgs = self.cached_samples[:n] if self.cached_samples is not None else self.G(z[:n], None if c is None
                                                                                        else c[:n])
        return {"sample_std": float(imgs.float().std(dim=0).mean())}

    def real_samples(self) -> torch.Tensor:
        """Return real images to show beside the fixed samples (the same class per position when labelled)."""
        z, c, _ = self._fixed
        return matching_reals(self, len(z), c if self.cond == "label" else None)


