"""Pictures of a training run: sample grids, the "evolution" GIF of those grids, and a loss plot with rolling means.

Pixels come from ``ganlib.synth.to_uint8`` (NVlabs' ``clamp(img * 127.5 + 128)``); grids are RGB (grey repeated,
alpha dropped). All files are written atomically (temporary name, then rename).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw

from ganlib.io_utils import atomic_path
from ganlib.synth import to_rgb, to_uint8


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2, fill: int = 24) -> np.ndarray:
    """Return one uint8 H×W×3 mosaic of NCHW images with 1, 3 or 4 channels (``nrow`` per row, default ~sqrt(N)),
    ``pad`` px apart on a ``fill`` grey background."""
    pix = to_rgb(to_uint8(images))
    n, h, w, _ = pix.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), fill, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = pix[i]
    return out


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, pad: int = 2,
              fill: int = 24) -> Path:
    """Write NCHW images in [-1, 1] as one PNG grid at ``path`` (see ``grid_array``), creating its folder;
    returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(grid_array(images, nrow, pad, fill)).save(tmp, format="PNG")
    return path


def save_real_vs_fake(real: torch.Tensor, fake: torch.Tensor, path: str | Path, nrow: int | None = None,
                      gap: int = 12, header: int = 16) -> Path:
    """Write one PNG at ``path``: a grid of ``real`` images (left, headed "real") beside a grid of ``fake`` ones
    (right, headed "generated"), both NCHW in [-1, 1] laid out as ``grid_array`` does; returns the path."""
    left, right = grid_array(real, nrow), grid_array(fake, nrow)
    h = max(left.shape[0], right.shape[0])
    canvas = Image.new("RGB", (left.shape[1] + gap + right.shape[1], h + header), (24, 24, 24))
    canvas.paste(Image.fromarray(left), (0, header))
    canvas.paste(Image.fromarray(right), (left.shape[1] + gap, header))
    draw = ImageDraw.Draw(canvas)
    draw.text((3, 2), "real", fill=(235, 235, 235))
    draw.text((left.shape[1] + gap + 3, 2), "generated", fill=(235, 235, 235))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return path


def save_evolution_gif(frames: list[str | Path], path: str | Path, max_side: int = 512, duration_ms: int = 400,
                       max_frames: int = 120) -> Path | None:
    """Write the grids in ``frames`` (in order) as a looping GIF at ``path``, scaled to at most ``max_side`` px and
    at most ``max_frames`` frames (evenly subsampled, last kept). Returns the path, or None without frames."""
    frames = [Path(f) for f in frames]
    if not frames:
        return None
    if len(frames) > max_frames:
        keep = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        frames = [frames[i] for i in sorted(set(keep.tolist()))]
    images = []
    for f in frames:
        with Image.open(f) as im:
            im = im.convert("RGB")
            scale = min(1.0, max_side / max(im.size))
            if scale < 1.0:
                im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
            images.append(_palette_frame(im))
    path = Path(path)
    with atomic_path(path) as tmp:
        durations = [duration_ms] * (len(images) - 1) + [duration_ms * 4]
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], loop=0, duration=durations)
    return path


PALETTE_SAMPLE = 128  # the median-cut palette of a GIF frame is built from at most about this many px a side


def _palette_frame(im: Image.Image) -> Image.Image:
    """Return RGB ``im`` as a 256-colour palette image: a median-cut palette from every k-th pixel (k so that the
    sample is at most ``PALETTE_SAMPLE`` px a side), then every pixel mapped to its nearest colour. Measured on a
    266 px grid of landscapes: 20x faster than median cut over all pixels (0.02 vs 0.38 s), mean error 5.0 vs 4.7
    levels (fast octree: 6.3)."""
    k = max(1, math.ceil(max(im.size) / PALETTE_SAMPLE))
    sample = im if k == 1 else im.resize((max(1, im.width // k), max(1, im.height // k)), Image.NEAREST)
    palette = sample.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return palette if k == 1 else im.quantize(palette=palette, dither=Image.Dither.NONE)


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Return the trailing rolling mean of ``values`` (NaNs ignored) with ``window`` samples (fewer at the start)."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
    ccnt = np.concatenate([[0], np.cumsum(ok)])
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    cnt = ccnt[idx] - ccnt[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (csum[idx] - csum[lo]) / np.maximum(cnt, 1), np.nan)


PANEL_COLOURS = ("tab:blue", "tab:green", "tab:red", "tab:purple")


def _panels(columns) -> list[tuple[str, ...]]:
    """Return ``columns`` (names, or tuples of names that share one panel) as a list of name tuples."""
    return [(c,) if isinstance(c, str) else tuple(c) for c in columns]


def plot_losses(rows: list[dict], columns, path: str | Path, window: int = 50,
                title: str = "", metrics: list[dict] | None = None) -> Path | None:
    """Plot ``columns`` against ``step`` (each raw, faint, and its rolling mean over ``window`` rows), then one panel
    per metric found in the ``metrics`` rows (metrics.csv: FID, sample_std, ...), into a PNG at ``path`` (a bare
    matplotlib Figure: no pyplot, no global backend); returns the path, or None when there is nothing to plot.

    ``columns`` holds names (one panel each) or tuples of names drawn together in one panel (e.g. ``("loss_d",
    "loss_g")``); columns without any value are left out."""
    have = {k for r in rows for k, v in r.items() if v is not None}
    panels = [p for p in ([c for c in panel if c in have] for panel in _panels(columns)) if p]
    if not rows or not panels:
        return None
    metric_names = [k for k in dict.fromkeys(k for r in (metrics or []) for k in r) if k not in ("step", "epoch")]
    steps = np.array([r["step"] for r in rows], dtype=np.float64)
    height = 1.9 * (len(panels) + len(metric_names)) + 0.7
    fig = Figure(figsize=(8, height), dpi=90)
    axes = fig.subplots(len(panels) + len(metric_names), 1, sharex=True, squeeze=False)[:, 0]
    # Fixed margins instead of tight_layout (which costs more than drawing the plot).
    fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.35 / height, bottom=0.45 / height, hspace=0.12)
    for ax, panel in zip(axes, panels):
        for col, colour in zip(panel, PANEL_COLOURS):
            vals = np.array([np.nan if r.get(col) is None else r[col] for r in rows], dtype=np.float64)
            ax.plot(steps, vals, color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(steps, rolling_mean(vals, window), color=colour, linewidth=1.6, label=col)
        ax.set_ylabel(" / ".join(panel) if len(panel) < 3 else "value")
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    for ax, name in zip(axes[len(panels):], metric_names):  # the metrics panel(s): one point per evaluation
        pts = [(r["step"], r[name]) for r in metrics if r.get(name) is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="tab:orange", markersize=3, label=name)
        ax.set_ylabel(name)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("step")
    axes[-1].xaxis.set_major_locator(MaxNLocator(8, integer=True))
    title = f"{title}: " if title else ""
    axes[0].set_title(f"{title}faint: raw values, bold: rolling mean over {window} rows", fontsize=10)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
