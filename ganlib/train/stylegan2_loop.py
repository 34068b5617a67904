"""A minimal StyleGAN2 training loop: non-saturating logistic loss, lazy R1, generator EMA, optional DiffAugment.

Enough to train the shipped default model on procedural landscapes; the full training suite lives in ``run.py``.
Outputs in ``out_dir``: ``log.csv``, ``samples/step_NNNNNN.png`` grids, ``training-state.pt`` (resume) and
``network-final.safetensors`` (the EMA generator in the project's own format).
"""
from __future__ import annotations

import csv
import datetime as _dt
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ganlib.checkpoints import save_generator
from ganlib.data.datasets import open_dataset
from ganlib.data.landscapes import landscape_batch
from ganlib.errors import DataError
from ganlib.io_utils import atomic_path
from ganlib.networks.stylegan2 import Discriminator, Generator
from ganlib.synth import map_z, mix_styles, synthesize
from ganlib.train.config import StyleGAN2Config, validate_config
from ganlib.train.diffaugment import diff_augment
from ganlib.train.result import TrainResult
from ganlib.train.samples import save_grid


def _load_images(data: str | Path, cfg: StyleGAN2Config) -> torch.Tensor:
    """Return the training images as uint8 [N, 3, R, R]."""
    if str(data) == "procedural":
        arr = landscape_batch(cfg.procedural_images, size=cfg.resolution, seed=cfg.seed + 12345)
        return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).contiguous()
    ds = open_dataset(data, resolution=cfg.resolution)
    x = ds.images_uint8(range(len(ds)))
    return x.contiguous()


def build_networks(cfg: StyleGAN2Config) -> tuple[Generator, Discriminator, dict[str, Any]]:
    """Return (G, D, G's constructor kwargs) for the configuration."""
    g_kwargs = dict(z_dim=cfg.z_dim, c_dim=0, w_dim=cfg.w_dim, img_resolution=cfg.resolution, img_channels=3,
                    mapping_kwargs=dict(num_layers=cfg.mapping_layers),
                    synthesis_kwargs=dict(channel_base=cfg.channel_base, channel_max=cfg.channel_max))
    G = Generator(**g_kwargs)
    D = Discriminator(c_dim=0, img_resolution=cfg.resolution, img_channels=3, channel_base=cfg.channel_base,
                      channel_max=cfg.channel_max, epilogue_kwargs=dict(mbstd_group_size=cfg.mbstd_group))
    return G, D, g_kwargs


def _generate(G: Generator, z: torch.Tensor, style_mixing_prob: float, gen: torch.Generator) -> torch.Tensor:
    """Training images through ``ganlib.synth`` (with gradients): z → ws, style mixing from a random cutoff with a
    second latent (probability ``style_mixing_prob``, drawn from ``gen``), synthesis with random noise."""
    ws = map_z(G, z, grad=True)
    if style_mixing_prob > 0 and torch.rand([], generator=gen).item() < style_mixing_prob:
        cutoff = int(torch.randint(1, ws.shape[1], [], generator=gen).item())
        ws2 = map_z(G, torch.randn(z.shape, generator=gen), grad=True, skip_w_avg_update=True)
        ws = mix_styles(ws, ws2, range(cutoff, ws.shape[1]))
    return synthesize(G, ws, noise_mode="random", grad=True)


def train_stylegan2(data: str | Path, out_dir: str | Path, config: dict | StyleGAN2Config | None = None, *,
                    max_steps: int | None = None, resume: bool = False, device: str = "cpu",
                    progress: bool = True) -> TrainResult:
    """Train a StyleGAN2 on ``data`` ('procedural' or a dataset path) into ``out_dir``; returns a TrainResult.

    ``config`` holds StyleGAN2Config fields; ``max_steps`` overrides its step budget; ``resume`` continues from
    ``out_dir/training-state.pt``.
    """
    cfg = config if isinstance(config, StyleGAN2Config) else validate_config("stylegan2", config or {})
    if max_steps is not None:
        cfg = cfg.model_copy(update={"max_steps": max_steps})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = torch.device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)

    images = _load_images(data, cfg)
    if images.shape[-1] != cfg.resolution:
        raise DataError(f"images are {images.shape[-1]} px but resolution is {cfg.resolution}", file=str(data))
    G, D, g_kwargs = build_networks(cfg)
    G.to(dev).train()
    D.to(dev).train()
    G_ema = Generator(**g_kwargs).to(dev).eval().requires_grad_(False)
    G_ema.load_state_dict(G.state_dict())

    r1_gamma = cfg.r1_gamma if cfg.r1_gamma is not None else 0.0002 * cfg.resolution ** 2 / cfg.batch_size
    mb_ratio = cfg.r1_interval / (cfg.r1_interval + 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr * mb_ratio, betas=(0.0, 0.99 ** mb_ratio), eps=1e-8)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    fixed_z = torch.from_numpy(np.random.RandomState(cfg.seed + 7).randn(16, cfg.z_dim)).float().to(dev)

    step = 0
    state_path = out / "training-state.pt"
    if resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        G_ema.load_state_dict(state["G_ema"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        step = int(state["step"])

    log_path = out / "log.csv"
    new_log = not (resume and log_path.exists())
    log_file = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log_file)
    if new_log:
        writer.writerow(["step", "kimg", "loss_g", "loss_d", "r1", "d_real", "d_fake", "sec_per_step"])

    def save_state() -> None:
        state = {"G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                 "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "gen": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "step": torch.tensor(step)}
        with atomic_path(state_path) as tmp:
            torch.save(state, tmp)

    bar = None
    if progress:
        bar = tqdm(total=cfg.max_steps, initial=step, desc="stylegan2", unit="step", dynamic_ncols=True)
    started = time.time()
    n = images.shape[0]
    last_r1 = 0.0
    try:
        while step < cfg.max_steps:
            t0 = time.time()
            idx = torch.randint(0, n, [cfg.batch_size], generator=gen)
            real = images[idx].to(dev).float() / 127.5 - 1
            if torch.rand([], generator=gen).item() < 0.5:  # x-flip augmentation
                real = real.flip(3)
            # Generator step.
            G.requires_grad_(True)
            D.requires_grad_(False)
            z = torch.randn([cfg.batch_size, cfg.z_dim], generator=gen).to(dev)
            fake = _generate(G, z, cfg.style_mixing_prob, gen)
            aug = (lambda x: diff_augment(x, cfg.diffaugment, gen)) if cfg.diffaugment else (lambda x: x)
            loss_g = F.softplus(-D(aug(fake))).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            # Discriminator step.
            G.requires_grad_(False)
            D.requires_grad_(True)
            with torch.no_grad():
                z = torch.randn([cfg.batch_size, cfg.z_dim], generator=gen).to(dev)
                fake = _generate(G, z, cfg.style_mixing_prob, gen)
            d_fake = D(aug(fake))
            do_r1 = step % cfg.r1_interval == 0
            real_in = real.detach().requires_grad_(do_r1)
            d_real = D(aug(real_in))
            loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
            if do_r1:
                (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
                r1 = grad.square().sum(dim=[1, 2, 3]).mean()
                loss_d = loss_d + r1 * (r1_gamma / 2) * cfg.r1_interval
                last_r1 = float(r1.detach())
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # EMA.
            ema_nimg = (cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch_size * 10 / 32) * 1000
            cur_nimg = (step + 1) * cfg.batch_size
            if cfg.ema_rampup:
                ema_nimg = min(ema_nimg, cur_nimg * cfg.ema_rampup)
            beta = 0.5 ** (cfg.batch_size / max(ema_nimg, 1e-8))
            with torch.no_grad():
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.copy_(p.detach().lerp(p_ema, beta))
                for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                    b_ema.copy_(b)
            step += 1
            writer.writerow([step, f"{cur_nimg / 1000:.3f}", f"{loss_g.item():.5f}", f"{loss_d.item():.5f}",
                             f"{last_r1:.5f}", f"{d_real.mean().item():.4f}", f"{d_fake.mean().item():.4f}",
                             f"{time.time() - t0:.3f}"])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(g=f"{loss_g.item():.3f}", d=f"{loss_d.item():.3f}")
            if step % cfg.sample_every == 0 or step == cfg.max_steps:
                log_file.flush()
                save_grid(synthesize(G_ema, map_z(G_ema, fixed_z)), out / "samples" / f"step_{step:06d}.png",
                          nrow=4, pad=0, fill=0)
            if step % cfg.checkpoint_every == 0:
                save_state()
                _export(out, G_ema, g_kwargs, cfg, step, data)
            if cfg.time_limit_minutes and time.time() - started > cfg.time_limit_minutes * 60:
                break
    finally:
        log_file.close()
        if bar is not None:
            bar.close()
    save_state()
    ckpt = _export(out, G_ema, g_kwargs, cfg, step, data)
    return TrainResult(out_dir=out, steps=step, final_metrics={"loss_g": float(loss_g.detach()), "loss_d": float(loss_d.detach())}
                       if step else {}, checkpoint=ckpt)


def _export(out: Path, G_ema: Generator, g_kwargs: dict, cfg: StyleGAN2Config, step: int, data) -> Path:
    provenance = {
        "trained_by": "ganlib.train.stylegan2_loop",
        "data": str(data),
        "steps": step,
        "images_seen": step * cfg.batch_size,
        "config": cfg.model_dump(),
        "hardware": f"{platform.machine()} {platform.processor() or ''}".strip() + f", torch {torch.__version__}, "
                    f"{torch.get_num_threads()} threads",
        "date": _dt.date.today().isoformat(),
    }
    return save_generator(out / "network-final.safetensors", G_ema, "stylegan2", g_kwargs, provenance)
