"""StyleGAN2 (Karras et al. 2020) as a ``Task`` of the shared training loop.

One step = the four phases of NVlabs' training loop, each with its own optimizer step:
G main (non-saturating logistic loss on augmented fakes), G reg (path-length regularisation every ``pl_interval``
steps, weight ``pl_weight`` on a batch shrunk by ``pl_batch_shrink``), D main (logistic loss on augmented fakes and
reals; the real logits feed the ADA controller) and D reg (lazy R1 every ``r1_interval`` steps on the un-augmented
reals, through the augmentation). Lazy regularisation scales the learning rates by interval / (interval + 1) and
betas to that power, as NVlabs does. Style-mixing regularisation picks one random crossover per batch with
probability ``style_mixing_prob``. The generator EMA (``G_ema``, what is exported) uses a half-life of ``ema_kimg``
thousand images, ramped up over the first ``ema_rampup`` of training. The first ``d_warmup_steps`` steps train
only D (a new D meeting a trained ``init`` G would otherwise wreck it). Labels (class sub-folders) make it conditional.

With ``ddp`` (a ``ganlib.train.distributed.Group``) gradients are averaged across ranks after every backward pass.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganlib.checkpoints import save_generator
from ganlib.networks.stylegan2 import Generator
from ganlib.synth import map_z, mix_styles, synthesize
from ganlib.train.ada import AdaController, AugmentPipe
from ganlib.train.diffaugment import diff_augment
from ganlib.train.task_base import GeneratorTask, discriminator_accuracy, matching_reals
from ganlib.train.transfer import build_discriminator, check_compatible, freeze_blocks, load_init


class StyleGAN2Task(GeneratorTask):
    """Training logic of ``stylegan2`` (see the module docstring)."""

    smaller_model_hint = "channel_max=64"

    def __init__(self, kind: str, cfg, dataset, device, ddp=None):
        self.ddp = ddp
        if ddp is not None:
            ddp.check_batch(cfg.batch_size)
        self.init = load_init(cfg.init) if cfg.init else None
        if cfg.conditional != "auto":
            self.conditional = cfg.conditional
        elif self.init is not None:  # follow the checkpoint
            self.conditional = int(self.init.g_kwargs.get("c_dim", 0)) > 0
        else:
            self.conditional = dataset.labels is not None and dataset.num_classes >= 2
        self.needs_labels = self.conditional
        super().__init__(kind, cfg, dataset, device)
        self.plot_columns = [("loss_g", "loss_d"), ("d_real", "d_fake"), ("d_acc_real", "d_acc_fake"), ("r1",),
                             ("pl",)] + ([("ada_p",)] if cfg.augment == "ada" else [])
        self.loss_names = ["loss_g", "loss_d", "d_real", "d_fake", "r1", "pl", "ada_p", "d_acc_real", "d_acc_fake"]
        self.step_count = 0
        self.pl_mean = torch.zeros([], dtype=torch.float32)
        self.last = {"r1": None, "pl": None}
        g = cfg.batch_size
        self.ada = AdaController(cfg.ada_target, cfg.ada_interval, cfg.ada_kimg, g, cfg.ada_p)
        self.pipe = AugmentPipe(cfg.ada_p) if cfg.augment == "ada" else None

    # -- models ---------------------------------------------------------------------------------------------------
    @property
    def c_dim(self) -> int:
        """Return the number of classes the networks are conditioned on (0: unconditional)."""
        return self.ds.num_classes if self.conditional else 0

    def build(self, fresh: bool, progress: bool) -> None:
        """Create G, G_ema and D (from ``init`` when set), freeze D's blocks and make the optimizers."""
        cfg, init = self.cfg, self.init
        if init is not None:
            check_compatible(init, cfg.resolution, cfg.channels, self.c_dim)
            self.g_kwargs = init.g_kwargs
        else:
            self.g_kwargs = dict(z_dim=cfg.z_dim, c_dim=self.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.resolution,
                                 img_channels=cfg.channels, mapping_kwargs=dict(num_layers=cfg.mapping_layers),
                                 synthesis_kwargs=dict(channel_base=cfg.channel_base, channel_max=cfg.channel_max))
        self.g_arch = "stylegan2"
        G = Generator(**self.g_kwargs)
        if init is not None:
            G.load_state_dict(init.G.state_dict())
        syn = self.g_kwargs.get("synthesis_kwargs", {})
        D = build_discriminator(init, self.c_dim, cfg.resolution, cfg.channels,
                                syn.get("channel_base", cfg.channel_base), syn.get("channel_max", cfg.channel_max),
                                cfg.mbstd_group)
        self.frozen = freeze_blocks(D, cfg.freeze_d)
        G_ema = Generator(**self.g_kwargs)
        G_ema.load_state_dict(G.state_dict())
        self.G, self.D = G.to(self.device).train(), D.to(self.device).train()
        self.G_ema = G_ema.to(self.device).eval().requires_grad_(False)
        self.modules = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        if self.ddp is not None:
            self.ddp.broadcast_modules([self.G, self.D, self.G_ema])
        self.g_params = list(self.G.parameters())
        # G_ema follows G through these lists (load_state_dict and broadcasts copy in place, so they stay valid).
        self._ema_pairs = (list(self.G_ema.parameters()), self.g_params,
                           list(self.G_ema.buffers()), list(self.G.buffers()))
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.optimizers = {"G": self._adam(self.g_params, cfg.lr_g, cfg.pl_interval if cfg.pl_weight > 0 else 0),
                           "D": self._adam(self.d_params, cfg.lr_d, cfg.r1_interval if self.r1_gamma > 0 else 0)}
        self._fixed = self._make_fixed()
        self.init = None  # its weights are copied; free the memory

    @property
    def r1_gamma(self) -> float:
        """Return the R1 weight: ``r1_gamma``, or NVlabs' heuristic 0.0002 · resolution² / batch_size."""
        cfg = self.cfg
        return cfg.r1_gamma if cfg.r1_gamma is not None else 0.0002 * cfg.resolution ** 2 / cfg.batch_size

    def _adam(self, params, lr: float, reg_interval: int) -> torch.optim.Adam:
        ratio = reg_interval / (reg_interval + 1) if reg_interval else 1.0
        b1, b2 = self.cfg.betas
        return torch.optim.Adam(params, lr=lr * ratio, betas=(b1 ** ratio, b2 ** ratio), eps=1e-8)

    def _make_fixed(self) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        n, nrow, c = self.cfg.sample_count, None, None
        if self.conditional:
            k = self.c_dim
            n = max(k, (n // k) * k)
            c = F.one_hot(torch.arange(n) % k, k).float().to(self.device)
            nrow = k if k <= 16 else None
        z = torch.randn(n, self.G.z_dim, generator=self.fixed_generator(7)).to(self.device)
        return z, c, nrow

    def set_train(self, mode: bool) -> None:
        """Put G and D in train (True) or eval mode; G_ema always stays in eval mode."""
        self.G.train(mode)
        self.D.train(mode)
        self.G_ema.eval()

    # -- state beyond modules and optimizers ----------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """Return the step counter, the path-length mean and the ADA controller state (for checkpoints)."""
        return {"step_count": self.step_count, "pl_mean": self.pl_mean.clone(), "ada": self.ada.state_dict(),
                "last": dict(self.last)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` returned."""
        self.step_count = int(state["step_count"])
        self.pl_mean = state["pl_mean"].clone()
        self.ada.load_state_dict(state["ada"])
        self.last = dict(state["last"])
        if self.pipe is not None:
            self.pipe.p = self.ada.p

    # -- pieces of a step -----------------------------------------------------------------------------------------
    def _labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        n = batch["image"].shape[0]
        if not self.conditional:
            return torch.zeros(n, 0, device=self.device)
        return F.one_hot(batch["label"].long(), self.c_dim).float().to(self.device)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.augment == "ada":
            return self.pipe(x, self.gen)
        if self.cfg.augment == "diffaugment":
            return diff_augment(x, self.cfg.diffaugment, self.gen)
        return x

    def _D(self, img: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.D(self._augment(img), c if self.conditional else None)

    def _run_G(self, z: torch.Tensor, c: torch.Tensor, grad: bool = True,
               frozen: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Generate through the one generation path (``ganlib.synth``) with style-mixing regularisation: with
        probability ``style_mixing_prob`` the layers from a random cutoff take a second latent's styles.
        ``frozen`` leaves the mapping's ``w_avg`` alone (D warm-up)."""
        G = self.G
        conds = c.cpu().numpy() if self.conditional else None
        ws = map_z(G, z, conds, grad=grad, skip_w_avg_update=frozen)
        prob = self.cfg.style_mixing_prob
        if prob > 0 and torch.rand([], generator=self.gen).item() < prob:
            cutoff = int(torch.randint(1, ws.shape[1], [], generator=self.gen).item())
            world = self.ddp.world if self.ddp is not None else 1
            z2 = self._noise_local(z.shape[0] * world, z.shape[1])
            ws = mix_styles(ws, map_z(G, z2, conds, grad=grad, skip_w_avg_update=True), range(cutoff, ws.shape[1]))
        return synthesize(G, ws, noise_mode="random", grad=grad), ws

    def _update(self, name: str, loss: torch.Tensor, params: list[torch.nn.Parameter]) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.ddp is not None:
            self.ddp.average_gradients(params)
        for p in params:  # NVlabs: non-finite gradients become 0 instead of poisoning the weights
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        opt.step()

    def _local(self, n: int) -> slice:
        """The slice of a global batch of ``n`` this rank works on (all of it without DDP)."""
        return self.ddp.local_slice(n) if self.ddp is not None else slice(0, n)

    def _noise_local(self, *shape: int) -> torch.Tensor:
        """Draw noise for the global batch (identical on every rank) and keep this rank's part."""
        return self.noise(*shape)[self._local(shape[0])]

    # -- training -------------------------------------------------------------------------------------------------
    def step(self, stream) -> dict[str, float]:
        """One StyleGAN2 iteration (G main, G reg, D main, D reg, EMA); returns the logged values."""
        cfg, G, D = self.cfg, self.G, self.D
        batch = stream.next()  # this rank's part of the global batch
        real, c = batch["image"].to(self.device), self._labels(batch)
        n_global = cfg.batch_size
        z_dim = G.z_dim
        it = self.step_count
        warmup = it < cfg.d_warmup_steps  # D-only steps: G (and so G_ema) stay as they are
        loss_g = None
        logged: dict[str, torch.Tensor] = {}  # this step's regularisation values, read once at the end (one sync)
        # G main.
        G.requires_grad_(True)
        D.requires_grad_(False)
        if not warmup:
            fake, _ = self._run_G(self._noise_local(n_global, z_dim), c)
            loss_g = F.softplus(-self._D(fake, c)).mean()
            self._update("G", loss_g, self.g_params)
        # G reg: path length.
        if cfg.pl_weight > 0 and it % cfg.pl_interval == 0 and not warmup:
            bs = max(1, n_global // cfg.pl_batch_shrink)
            z = self._noise_local(bs, z_dim)
            k = z.shape[0]
            if k:
                img, ws = self._run_G(z, c[:k])
                pl_noise = self._noise_local(bs, *img.shape[1:]) / math.sqrt(img.shape[2] * img.shape[3])
                (grad,) = torch.autograd.grad((img * pl_noise).sum(), ws, create_graph=True)
                lengths = grad.square().sum(2).mean(1).sqrt()
                mean = lengths.mean().detach()
                if self.ddp is not None:
                    mean = self.ddp.mean(mean)
                self.pl_mean = self.pl_mean.to(mean.device).lerp(mean, cfg.pl_decay)
                pl = (lengths - self.pl_mean).square()
                loss = (img[:, 0, 0, 0] * 0 + pl * cfg.pl_weight).mean() * cfg.pl_interval
                self._update("G", loss, self.g_params)
                logged["pl"] = pl.mean().detach()
        # D main.
        G.requires_grad_(False)
        for p in self.d_params:
            p.requires_grad_(True)
        fake, _ = self._run_G(self._noise_local(n_global, z_dim), c, grad=False, frozen=warmup)
        d_fake = self._D(fake, c)
        d_real = self._D(real, c)
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        self._update("D", loss_d, self.d_params)
        p = 0.0  # without ADA there is no p to tune (or to log)
        if self.pipe is not None:
            signs = d_real.detach()
            if self.ddp is not None:
                signs = self.ddp.gather(signs)
            p = self.pipe.p = self.ada.update(signs)
        # D reg: lazy R1.
        if self.r1_gamma > 0 and it % cfg.r1_interval == 0:
            x = real.detach().requires_grad_(True)
            logits = self._D(x, c)
            (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
            r1 = grad.square().sum([1, 2, 3])
            loss = (logits[:, 0] * 0 + r1 * (self.r1_gamma / 2)).mean() * cfg.r1_interval
            self._update("D", loss, self.d_params)
            logged["r1"] = r1.mean().detach()
        D.requires_grad_(False)
        self._ema(n_global)
        self.step_count += 1
        self.last.update({k: float(v) for k, v in logged.items()})
        out = {"loss_g": None if loss_g is None else loss_g.item(), "loss_d": loss_d.item(),
               "d_real": d_real.mean().item(),
               "d_fake": d_fake.mean().item(), "r1": self.last["r1"], "pl": self.last["pl"], "ada_p": p,
               **discriminator_accuracy(d_real, d_fake)}
        if self.ddp is not None:
            out = self.ddp.mean_dict(out)
        return out

    def _ema(self, batch: int) -> None:
        cfg = self.cfg
        ema_nimg = (cfg.ema_kimg if cfg.ema_kimg is not None else batch * 10 / 32) * 1000
        if cfg.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.step_count * batch * cfg.ema_rampup)  # images seen before this step
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        ema_params, params, ema_buffers, buffers = self._ema_pairs
        with torch.no_grad():  # G_ema ← G + β (G_ema - G) and the buffers copied, each in one fused call
            torch._foreach_lerp_(ema_params, params, 1.0 - beta)
            torch._foreach_copy_(ema_buffers, buffers)

    # -- outputs ----------------------------------------------------------------------------------------------------
    def _sample(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        ws = map_z(self.G_ema, z, None if c is None else c.cpu().numpy())
        return synthesize(self.G_ema, ws, noise_mode="const")

    def sample_images(self):
        """Return G_ema's images for the fixed latents (one column per class when conditional) and the row length."""
        z, c, nrow = self._fixed
        imgs = torch.cat([self._sample(z[i:i + 32], None if c is None else c[i:i + 32]) for i in range(0, len(z), 32)])
        return imgs, nrow

    def evaluate(self) -> dict[str, float]:
        """Return the pixel standard deviation across (up to 16) fixed samples of G_ema (near 0: mode collapse);
        reuses the sample grid of this step when there is one."""
        z, c, _ = self._fixed
        k = min(16, len(z))
        imgs = self.cached_samples[:k] if self.cached_samples is not None else self._sample(z[:k], None if c is None
                                                                                          else c[:k])
        return {"sample_std": float(imgs.float().std(dim=0).mean())}

    def real_samples(self) -> torch.Tensor:
        """Return real training images for ``real_vs_fake.png`` (the class of each fixed sample when conditional)."""
        z, c, _ = self._fixed
        return matching_reals(self, len(z), c)

    def generator(self):
        """Return G_ema (the exported generator)."""
        return self.G_ema

    def export(self, path: Path, provenance: dict[str, Any]) -> Path:
        """Save G_ema with ``save_generator`` (arch stylegan2 and its constructor kwargs)."""
        if self.cfg.init:
            provenance = dict(provenance, init=str(self.cfg.init))
        return save_generator(path, self.G_ema, self.g_arch, self.g_kwargs, provenance)
