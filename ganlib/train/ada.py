"""Adaptive discriminator augmentation (ADA; Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data"), written from the paper's description.

The ``bgc`` pipeline is applied to every image the discriminator sees (real and generated, in every phase), each
transformation independently per image with probability ``p``:

* b (pixel blitting): x-flip, rotation by a random multiple of 90°, integer translation (up to 1/8 of the size);
* g (general geometric): isotropic scaling (log2-normal, σ 0.2), arbitrary rotation (uniform, applied with
  p_rot = 1 - sqrt(1 - p) so the total probability of rotating is p), anisotropic scaling (log2-normal, σ 0.2), a
  second arbitrary rotation (p_rot) and fractional translation (normal, σ 1/8 of the size);
* c (colour): brightness (+N(0, 0.2²)), contrast (×log2-normal, σ 0.5), luma flip, hue rotation around the luma axis
  (uniform angle), saturation (×log2-normal, σ 1) around the luma axis.

All geometric transformations are composed into one inverse 3×3 matrix per image and applied with one bilinear
resampling with reflection padding (``grid_sample``); all colour transformations into one 4×4 matrix. Both steps are
linear in the pixels, hence differentiable, so generator gradients flow through the augmentation. (NVlabs' version
additionally filters with a wavelet up/down-sampling against aliasing; this one does not.)

``AdaController`` tunes p: it accumulates r_t = E[sign(D(real))] and every ``interval`` steps moves p by
sign(r_t - target) · (batch · interval) / (kimg · 1000), so p can go from 0 to 1 in ``kimg`` thousand images.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BLIT = ("xflip", "rotate90", "xint")
GEOM = ("scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
OPS = BLIT + GEOM + COLOR

_SCALE_STD, _ANISO_STD, _XFRAC_STD, _XINT_MAX = 0.2, 0.2, 0.125, 0.125
_BRIGHTNESS_STD, _CONTRAST_STD, _SATURATION_STD = 0.2, 0.5, 1.0


def _eye(n: int, size: int, dtype, device) -> torch.Tensor:
    return torch.eye(size, dtype=dtype, device=device).repeat(n, 1, 1)


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye(len(tx), 3, tx.dtype, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye(len(sx), 3, sx.dtype, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate(theta: torch.Tensor) -> torch.Tensor:
    m = _eye(len(theta), 3, theta.dtype, theta.device)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


class AugmentPipe:
    """The ``bgc`` augmentation pipeline at probability ``p`` (see the module docstring).

    ``ops`` restricts it to some of ``OPS`` (default all). Call ``pipe(x, generator)`` with images [N, C, H, W] in
    about [-1, 1] (C = 1 skips the colour operations that need RGB); random parameters are drawn on the CPU from
    ``generator``, so a run is reproducible and resumable.
    """

    def __init__(self, p: float = 0.0, ops: tuple[str, ...] | None = None):
        self.p = float(p)
        self.ops = tuple(OPS if ops is None else ops)
        bad = [o for o in self.ops if o not in OPS]
        if bad:
            raise ValueError(f"unknown augmentation {bad[0]!r}; allowed: {', '.join(OPS)}")

    # -- random draws -------------------------------------------------------------------------------------------
    def _gate(self, n: int, g: torch.Generator, prob: float) -> torch.Tensor:
        return (torch.rand(n, generator=g, dtype=torch.float64) < prob).to(torch.float64)

    def geometric_matrix(self, n: int, size: int, g: torch.Generator) -> torch.Tensor | None:
        """Return the per-image inverse 3×3 matrices (float64, normalised [-1, 1] coordinates) mapping output to
        input positions, or None when no geometric operation is enabled."""
        ops = [o for o in BLIT + GEOM if o in self.ops]
        if not ops:
            return None
        p, p_rot = self.p, 1 - math.sqrt(max(0.0, 1 - self.p))
        inv = _eye(n, 3, torch.float64, "cpu")
        one = torch.ones(n, dtype=torch.float64)
        if "xflip" in ops:
            flip = self._gate(n, g, p) * torch.randint(0, 2, (n,), generator=g).to(torch.float64)
            inv = inv @ _scale(1 - 2 * flip, one)
        if "rotate90" in ops:
            k = self._gate(n, g, p) * torch.randint(0, 4, (n,), generator=g).to(torch.float64)
            inv = inv @ _rotate(-k * (math.pi / 2)).round()  # exact multiples of 90°
        if "xint" in ops:
            gate = self._gate(n, g, p)
            t = (torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1) * _XINT_MAX
            t = torch.round(t * size) * 2 / size * gate[:, None]  # whole pixels, in normalised units
            inv = inv @ _translate(-t[:, 0], -t[:, 1])
        if "scale" in ops:
            s = torch.exp2(torch.randn(n, generator=g, dtype=torch.float64) * _SCALE_STD * self._gate(n, g, p))
            inv = inv @ _scale(1 / s, 1 / s)
        if "rotate" in ops:
            theta = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * math.pi * self._gate(n, g, p_rot)
            inv = inv @ _rotate(-theta)
        if "aniso" in ops:
            s = torch.exp2(torch.randn(n, generator=g, dtype=torch.float64) * _ANISO_STD * self._gate(n, g, p))
            inv = inv @ _scale(1 / s, s)
        if "rotate" in ops:
            theta = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * math.pi * self._gate(n, g, p_rot)
            inv = inv @ _rotate(-theta)
        if "xfrac" in ops:
            t = torch.randn(n, 2, generator=g, dtype=torch.float64) * _XFRAC_STD * 2 * self._gate(n, g, p)[:, None]
            inv = inv @ _translate(-t[:, 0], -t[:, 1])
        return inv

    def color_matrix(self, n: int, channels: int, g: torch.Generator) -> torch.Tensor | None:
        """Return per-image 4×4 colour matrices (float64, acting on [R, G, B, 1]), or None when no colour operation
        is enabled (or the images are not RGB and only RGB operations are enabled)."""
        ops = [o for o in COLOR if o in self.ops and (channels == 3 or o in ("brightness", "contrast"))]
        if not ops:
            return None
        p = self.p
        m = _eye(n, 4, torch.float64, "cpu")
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(3)  # the luma axis
        vv = torch.outer(v, v)
        if "brightness" in ops:
            b = torch.randn(n, generator=g, dtype=torch.float64) * _BRIGHTNESS_STD * self._gate(n, g, p)
            t = _eye(n, 4, torch.float64, "cpu")
            t[:, :3, 3] = b[:, None]
            m = t @ m
        if "contrast" in ops:
            c = torch.exp2(torch.randn(n, generator=g, dtype=torch.float64) * _CONTRAST_STD * self._gate(n, g, p))
            t = _eye(n, 4, torch.float64, "cpu")
            t[:, 0, 0] = t[:, 1, 1] = t[:, 2, 2] = c
            m = t @ m
        if "lumaflip" in ops:
            i = self._gate(n, g, p) * torch.randint(0, 2, (n,), generator=g).to(torch.float64)
            m = (torch.eye(4, dtype=torch.float64) - 2 * vv * i[:, None, None]) @ m
        if "hue" in ops:
            theta = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * math.pi * self._gate(n, g, p)
            m = _rotate_around(v[:3], theta) @ m
        if "saturation" in ops:
            s = torch.exp2(torch.randn(n, generator=g, dtype=torch.float64) * _SATURATION_STD * self._gate(n, g, p))
            t = vv + (torch.eye(4, dtype=torch.float64) - vv) * s[:, None, None]
            t[:, 3, 3] = 1.0
            m = t @ m
        return m

    # -- application -------------------------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return the augmented images (same shape, dtype and device as ``x``); identity when p is 0."""
        if self.p <= 0:
            return x
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        n, c, h, w = x.shape
        inv = self.geometric_matrix(n, h, g)
        if inv is not None:
            theta = inv[:, :2, :].to(x.device, x.dtype)
            grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        cm = self.color_matrix(n, c, g)
        if cm is not None:
            cm = cm.to(x.device, x.dtype)
            if c == 3:
                x = torch.einsum("nij,njhw->nihw", cm[:, :3, :3], x) + cm[:, :3, 3, None, None]
            else:  # grey: brightness and contrast act on the one channel
                x = x * cm[:, 0, 0, None, None, None] + cm[:, 0, 3, None, None, None]
        return x


def _rotate_around(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Return [N, 4, 4] rotations by ``theta`` around the unit 3-vector ``axis`` (Rodrigues' formula)."""
    a = axis.to(torch.float64)
    k = torch.tensor([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]], dtype=torch.float64)
    s, c = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    r = torch.eye(3, dtype=torch.float64) + s * k + (1 - c) * (k @ k)
    out = _eye(len(theta), 4, torch.float64, "cpu")
    out[:, :3, :3] = r
    return out


class AdaController:
    """Tunes the augmentation probability from the overfitting heuristic r_t = E[sign(D(real))].

    Args: ``target`` (0.6 in the paper), ``interval`` (steps between adjustments), ``kimg`` (thousands of images for
    p to go from 0 to 1), ``batch_size`` (global), ``p`` (initial). ``update(real_logits)`` once per step;
    ``state_dict`` / ``load_state_dict`` for checkpoints.
    """

    def __init__(self, target: float, interval: int, kimg: float, batch_size: int, p: float = 0.0):
        self.target, self.interval, self.kimg, self.batch_size = float(target), int(interval), float(kimg), batch_size
        self.p = float(p)
        self.sign_sum, self.count, self.steps, self.rt = 0.0, 0, 0, 0.0

    def update(self, real_logits: torch.Tensor) -> float:
        """Accumulate the signs of this step's real logits; every ``interval`` steps adjust p. Returns p."""
        self.sign_sum += float(torch.sign(real_logits.detach()).sum())
        self.count += int(real_logits.numel())
        self.steps += 1
        if self.steps % self.interval == 0 and self.count:
            self.rt = self.sign_sum / self.count
            sign = (self.rt > self.target) - (self.rt < self.target)
            adjust = sign * self.batch_size * self.interval / (self.kimg * 1000)
            self.p = min(1.0, max(0.0, self.p + adjust))
            self.sign_sum, self.count = 0.0, 0
        return self.p

    def state_dict(self) -> dict:
        """Return the controller's state as plain numbers."""
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "steps": self.steps, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from ``state_dict``."""
        self.p, self.sign_sum = float(state["p"]), float(state["sign_sum"])
        self.count, self.steps, self.rt = int(state["count"]), int(state["steps"]), float(state["rt"])
