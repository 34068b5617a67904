"""A picture of every feature that can drive a timeline: onsets and rms per band, flux, chroma, with the beats
marked — so an artist sees what will move the picture (``studio audio FILE --out features.png``)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ganlib.io_utils import atomic_path  # noqa: E402
from studio.audio.analysis import BANDS, PITCH_CLASSES, AudioAnalysis  # noqa: E402

BAND_COLOURS = {"low": "#d62728", "mid": "#2ca02c", "high": "#1f77b4", "all": "#444444"}


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(np.max(x)) if x.size else 0.0
    return x / top if top > 0 else x


def plot_features(analysis: AudioAnalysis, out: str | Path, *, title: str = "", max_beat_lines: int = 400) -> Path:
    """Write a PNG of ``analysis`` to ``out`` (atomically): onsets per band, rms per band, flux, chroma, beats as
    vertical lines (the first ``max_beat_lines``). Returns the path written."""
    out = Path(out)
    t = np.arange(analysis.flux.size) / analysis.params.frame_rate
    fig, axes = plt.subplots(4, 1, figsize=(12, 9), sharex=True,
                             gridspec_kw={"height_ratios": [2, 2, 1, 2]})
    for band in BANDS:
        axes[0].plot(t, _scaled(analysis.onsets[band]), lw=0.7, color=BAND_COLOURS[band], label=band)
        axes[1].plot(t, _scaled(analysis.rms[band]), lw=0.9, color=BAND_COLOURS[band], label=band)
    axes[0].set_ylabel("onsets")
    axes[1].set_ylabel("rms")
    axes[2].plot(t, _scaled(analysis.flux), lw=0.7, color="#9467bd")
    axes[2].set_ylabel("flux")
    for ax in axes[:3]:
        ax.set_ylim(0, 1.05)
    axes[0].legend(loc="upper right", ncol=4, fontsize=8)
    extent = (0.0, max(analysis.duration, 1e-3), -0.5, 11.5)
    axes[3].imshow(analysis.chroma.T, aspect="auto", origin="lower", extent=extent, cmap="magma",
                   interpolation="nearest")
    axes[3].set_yticks(range(12), PITCH_CLASSES, fontsize=7)
    axes[3].set_ylabel("chroma")
    axes[3].set_xlabel("seconds")
    for ax in axes:
        for bt in analysis.beat_times[:max_beat_lines]:
            ax.axvline(bt, color="#ff7f0e", lw=0.5, alpha=0.6)
    head = f"{title}  " if title else ""
    fig.suptitle(f"{head}{analysis.tempo:.1f} BPM, {len(analysis.beat_times)} beats (orange), "
                 f"{analysis.duration:.1f} s")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return out
