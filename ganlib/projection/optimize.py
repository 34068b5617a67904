"""The projection loop: find the latent whose rendering matches a target image.

For a model with a w space (StyleGAN2/3) it optimises one w for every layer ("w", as NVlabs' projector) or one w per
layer ("w+"), starting from w_avg (the mean of the mapped z of 2000 samples, NVlabs' RandomState(123)) or from a
seed's w; with ``noise="optimise"`` the per-layer noise maps are optimised too, kept white by NVlabs' noise penalty and
renormalised after each step. Models without a w space (DCGAN, cGAN, ...) get their z optimised instead, from z = 0 or
a seed's z. Every image goes through ``ganlib.synth`` (``synthesize`` with ``grad=True`` while optimising; the final
image is :func:`ganlib.synth.generate` of the result, exactly what a timeline keyframe of it renders).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ganlib.errors import UserError
from ganlib.projection.config import ProjectionConfig
from ganlib.projection.losses import (inception_features, multiscale_loss, noise_regularization, normalize_noise,
                                      pixel_loss)
from ganlib.synth import Generator, generate, has_w_space, map_z, model_device, seed_to_z, synthesize, to_uint8

W_AVG_SEED = 123  # NVlabs' projector draws its w_avg samples from RandomState(123)

FrameCallback = Callable[[int, float, np.ndarray], None]


@dataclass
class Projection:
    """The result of :func:`project`. ``latent``: w [1, num_ws, w_dim] (key "w", as NVlabs' projected_w.npz) or
    z [1, z_dim] (key "z") as float32; ``space``: "w", "w+" or "z"; ``image``: uint8 H×W×C, the latent rendered as a
    keyframe renders it; ``target``: the uint8 target; ``losses``: final figures (total, pixel, multiscale,
    perceptual, noise_reg, psnr); ``history``: the loss per step; ``config``: the settings used."""

    latent: np.ndarray
    space: str
    image: np.ndarray
    target: np.ndarray
    losses: dict[str, float]
    history: list[float]
    config: ProjectionConfig
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The .npz array name: "z" for z projections, else "w"."""
        return "z" if self.space == "z" else "w"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Return the PSNR in dB of two uint8 images of one shape (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def target_tensor(target: np.ndarray, device: torch.device) -> torch.Tensor:
    """Return float [1, C, H, W] in the generator's range (``(pixel - 128) / 127.5``, the inverse of
    ``ganlib.synth.to_uint8``) for a uint8 H×W×C target."""
    t = torch.from_numpy(np.array(target, dtype=np.uint8)).to(device).permute(2, 0, 1)[None].float()
    return (t - 128.0) / 127.5


def _lr_at(cfg: ProjectionConfig, t: float) -> float:
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown) if cfg.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if cfg.lr_rampup > 0:
        ramp *= min(1.0, t / cfg.lr_rampup)
    return cfg.lr * ramp


def _jitter_at(cfg: ProjectionConfig, t: float) -> float:
    if cfg.w_noise_ramp <= 0:
        return 0.0
    return cfg.w_noise_factor * max(0.0, 1.0 - t / cfg.w_noise_ramp) ** 2


def w_statistics(G: Generator, conds: np.ndarray | None, samples: int) -> tuple[torch.Tensor, float]:
    """Return (w_avg [1, 1, w_dim], w_std) of ``samples`` mapped z drawn from RandomState(123), as NVlabs'
    projector measures them: w_std is the root mean squared distance of a w from w_avg."""
    z = np.random.RandomState(W_AVG_SEED).randn(samples, int(G.z_dim))
    w = map_z(G, z, conds, skip_w_avg_update=True)[:, :1, :].double()
    w_avg = w.mean(0, keepdim=True)
    w_std = float(((w - w_avg).square().sum() / samples).sqrt())
    return w_avg.float(), w_std


class _Terms:
    """The loss of one configuration against one target."""

    def __init__(self, cfg: ProjectionConfig, target: torch.Tensor):
        self.cfg = cfg
        self.target = target
        self.percept = inception_features(target.device) if cfg.perceptual == "inception" else None
        self.target_feats = None
        if self.percept is not None:
            with torch.no_grad():
                self.target_feats = self.percept.features(target)

    def __call__(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        out = {"pixel": pixel_loss(img, self.target), "multiscale": multiscale_loss(img, self.target)}
        if self.percept is not None:
            out["perceptual"] = self.percept.distance(img, self.target_feats)
        total = cfg.pixel_weight * out["pixel"] + cfg.multiscale_weight * out["multiscale"]
        if self.percept is not None:
            total = total + cfg.perceptual_weight * out["perceptual"]
        out["total"] = total
        return out


def _noise_buffers(G: Generator) -> list[torch.Tensor]:
    """Copies of the network's constant noise maps [1, 1, H, W], in ``noise_inputs`` order (the start point of
    optimised noise, so step 0 renders what a keyframe renders)."""
    return [layer.noise_const.detach().clone()[None, None] for block in G.synthesis.blocks()
            for layer in block.noise_layers()]


def project(G: Generator, target: np.ndarray, cfg: ProjectionConfig, *, conds: np.ndarray | None = None,
            progress: bool = True, desc: str = "project", on_frame: FrameCallback | None = None) -> Projection:
    """Project the uint8 H×W×C ``target`` (already at the model's resolution and channels, see
    ``ganlib.projection.target``) into ``G``'s latent space with the settings ``cfg``; ``conds`` conditions a
    conditional model. Shows a tqdm bar (ETA, current loss) unless ``progress`` is False; ``on_frame(step, loss,
    frame)`` gets a uint8 preview of the current estimate every ``cfg.frame_every`` steps and after the last one.
    Returns a :class:`Projection`. Deterministic: the same model, target and ``cfg`` (its ``seed``) give the same
    result on the same device and thread count."""
    res, ch = int(G.img_resolution), int(G.img_channels)
    if target.shape != (res, res, ch):
        raise UserError(f"the target is {target.shape}, the model makes {(res, res, ch)}", field="image")
    dev = model_device(G)
    gen = torch.Generator().manual_seed(int(cfg.seed))
    tgt = target_tensor(target, dev)
    terms = _Terms(cfg, tgt)
    notes: list[str] = []
    w_space = has_w_space(G)
    if w_space:
        num_ws = int(G.num_ws)
        w_avg, w_std = w_statistics(G, conds, cfg.w_avg_samples)
        start = w_avg if cfg.init_seed is None else map_z(G, seed_to_z(cfg.init_seed, int(G.z_dim)), conds)[:, :1]
        rows = num_ws if cfg.space == "w+" else 1
        latent = start.detach().clone().repeat(1, rows, 1).to(dev).requires_grad_(True)
        noise = _noise_buffers(G) if cfg.noise == "optimise" else []
        noise = [n.to(dev).requires_grad_(True) for n in noise]
        space = cfg.space
    else:
        notes.append("this model has no w space: optimising z")
        z0 = np.zeros(int(G.z_dim)) if cfg.init_seed is None else seed_to_z(cfg.init_seed, int(G.z_dim))
        latent = torch.from_numpy(z0).float().reshape(1, -1).to(dev).requires_grad_(True)
        w_std, noise, space = 1.0, [], "z"
        c = None if conds is None else torch.from_numpy(np.asarray(conds, np.float64)).float().reshape(1, -1).to(dev)
    opt = torch.optim.Adam([latent] + noise, betas=(0.9, 0.999), lr=cfg.lr)
    history: list[float] = []
    bar = tqdm(total=cfg.steps, desc=desc, unit="step", dynamic_ncols=True, disable=not progress)
    try:
        for step in range(cfg.steps):
            t = step / cfg.steps
            for group in opt.param_groups:
                group["lr"] = _lr_at(cfg, t)
            jitter = torch.randn(latent.shape, generator=gen).to(dev) * (w_std * _jitter_at(cfg, t))
            x = latent + jitter
            if w_space:
                ws = x.expand(-1, num_ws, -1) if x.shape[1] == 1 else x
                img = synthesize(G, ws, noise_inputs=noise or None, precision="float32", grad=True)
            else:
                with torch.enable_grad():
                    img = G(x, c).float()
            parts = terms(img)
            loss = parts["total"]
            if noise:
                loss = loss + cfg.noise_reg_weight * noise_regularization(noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if noise:
                normalize_noise(noise)
            value = float(loss.detach())
            history.append(value)
            bar.set_postfix(loss=f"{value:.4f}", pixel=f"{float(parts['pixel'].detach()):.4f}", refresh=False)
            bar.update(1)
            if on_frame is not None and step % cfg.frame_every == 0:
                on_frame(step, value, to_uint8(img.detach())[0])
    finally:
        bar.close()
    final = latent.detach()
    if w_space:
        final = final.expand(-1, num_ws, -1) if final.shape[1] == 1 else final
        image_t = generate(G, final.cpu().double().numpy(), space="w", conds=conds, precision="float32")
    else:
        image_t = generate(G, final.cpu().double().numpy(), space="z", conds=conds, precision="float32")
    image = to_uint8(image_t)[0]
    with torch.no_grad():
        parts = terms(target_tensor(image, dev))
        losses = {k: float(v) for k, v in parts.items()}
        losses["noise_reg"] = float(noise_regularization(noise)) if noise else 0.0
    losses["psnr"] = psnr(image, target)
    if on_frame is not None:
        on_frame(cfg.steps, losses["total"], image)
    return Projection(latent=final.cpu().float().numpy(), space=space, image=image, target=target, losses=losses,
                      history=history, config=cfg, notes=notes)
