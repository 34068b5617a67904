"""Looking at autoencoder codes: PCA with numpy's SVD, k-means (scipy.cluster.vq, seeded), cluster purity and a
scatter plot of the first two principal components coloured by true label and by cluster."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from scipy.cluster.vq import kmeans2

from ganlib.io_utils import atomic_path


def pca(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (projection [N, k], explained-variance ratios [k], components [k, D]) of rows ``x`` [N, D] after
    centring, from ``numpy.linalg.svd``. Signs are fixed so each component's largest loading is positive."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    k = min(k, vt.shape[0])
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    var = s ** 2
    ratio = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
    proj = xc @ comps.T
    if proj.shape[1] < 2:
        proj = np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))
    return proj, ratio, comps


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (cluster index per row [N], centroids [k, D]) from k-means++ (``scipy.cluster.vq.kmeans2``) with a
    fixed ``seed``; ``k`` is capped at the number of distinct rows."""
    x = np.asarray(x, dtype=np.float64)
    k = max(1, min(int(k), len(np.unique(x, axis=0))))
    centroids, labels = kmeans2(x, k, minit="++", seed=np.random.default_rng(seed), missing="warn")
    return labels.astype(np.int64), centroids


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Return the fraction of rows whose cluster's majority label is their own label (1.0 = pure clusters)."""
    total = 0
    for c in np.unique(clusters):
        total += np.bincount(labels[clusters == c]).max()
    return float(total / max(1, len(labels)))


def plot_codes(proj: np.ndarray, clusters: np.ndarray, path: str | Path, labels: np.ndarray | None = None,
               class_names: list[str] | None = None, explained: np.ndarray | None = None) -> Path:
    """Scatter the first two PCA coordinates: one panel coloured by true label (when ``labels`` are given) and one
    by k-means cluster; writes a PNG at ``path`` (matplotlib Agg) and returns the path."""
    matplotlib.use("Agg", force=False)
    panels = ([("true label", labels, class_names)] if labels is not None else []) + \
        [("k-means cluster", clusters, None)]
    fig = Figure(figsize=(5.2 * len(panels), 4.6), dpi=100)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    cmap = matplotlib.colormaps["tab10" if max(int(p[1].max()) + 1 for p in panels) <= 10 else "tab20"]
    for ax, (title, colours, names) in zip(axes, panels):
        for v in np.unique(colours):
            m = colours == v
            name = names[v] if names is not None and v < len(names) else f"{v}"
            ax.scatter(proj[m, 0], proj[m, 1], s=10, alpha=0.75, color=cmap(int(v) % cmap.N), label=name)
        ax.set_title(f"codes coloured by {title}")
        xl, yl = "PC1", "PC2"
        if explained is not None and len(explained) >= 2:
            xl, yl = f"PC1 ({explained[0]:.0%})", f"PC2 ({explained[1]:.0%})"
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
        if len(np.unique(colours)) <= 20:
            ax.legend(fontsize=7, markerscale=1.5, loc="best")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
