"""``studio spread``: how varied a model's images are, per class: pairwise euclidean distances, a box plot, a CSV."""
from __future__ import annotations

import csv
from pathlib import Path

import click
import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from ganlib.synth import cond_kind, one_hot, seed_batch
from studio.options import batch_option, device_option, model_option, out_option, truncation_option
from studio.render import get_model
from studio.spread_stats import SUMMARY_COLUMNS, pairwise_distances, summarize


def class_groups(loaded) -> list[tuple[int | None, str]]:
    """Return (class index or None, name) for each group to measure: every class of a label model (named by the
    training provenance's ``class_names`` when stored, else by index), one group "all" for an unconditional one.
    UserError for a feature-conditioned model."""
    G = loaded.G
    kind = cond_kind(G)
    if kind == "features":
        raise UserError("studio spread measures label-conditioned or unconditional models; this one is "
                        "conditioned on features", field="--model")
    if kind != "label":
        return [(None, "all")]
    names = list((loaded.provenance or {}).get("class_names") or [])
    if len(names) != int(G.c_dim):
        names = [str(k) for k in range(int(G.c_dim))]
    return list(enumerate(names))


def box_plot(groups: list[str], distances: list[np.ndarray], out: Path, title: str = "") -> Path:
    """Write a box plot (one box per group of ``groups``, its pairwise ``distances``) atomically to ``out`` (PNG)
    on a bare matplotlib Figure; returns ``out``."""
    fig = Figure(figsize=(max(4.0, 0.5 * len(groups) + 2), 3.6), dpi=90)
    ax = fig.subplots()
    ax.boxplot(distances, showfliers=True)
    ax.set_xticks(range(1, len(groups) + 1), groups, rotation=90 if len(groups) > 12 else 0)
    ax.set_ylabel("pairwise euclidean distance")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "spread of generated images per class", fontsize=10)
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.2, top=0.9)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


@click.command("spread")
@model_option(default=None, required=True)
@click.option("--num", type=click.IntRange(min=2, max=4096), default=50, show_default=True,
              help="Images per class (seeds seed..seed+num-1).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The first seed.")
@truncation_option()
@device_option
@batch_option
@out_option("The box plot (.png); the CSV is written beside it with the same name (.csv).", folder=False,
            file_only=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(model: str, num: int, seed: int, truncation: float, device: str, batch: int, out: Path,
            quiet: bool) -> None:
    """Pairwise euclidean distances between a model's images (pixels in [0, 1]), per class: box plot and CSV."""
    if out.suffix.lower() != ".png":
        raise UserError(f"the box plot is a PNG image: give a .png path, not {out.name!r}", field="--out")
    loaded = get_model(model, device)
    G = loaded.G
    groups = class_groups(loaded)
    seeds = list(range(seed, seed + num))
    rows, dists = [], []
    for k, name in tqdm(groups, desc="spread", unit="class", disable=quiet, dynamic_ncols=True):
        images = np.concatenate([seed_batch(G, seeds[i:i + batch], psi=truncation,
                                            conds=None if k is None else one_hot([k], G.c_dim)[0])
                                 for i in range(0, num, batch)])
        d = pairwise_distances(images)
        dists.append(d)
        rows.append({"class": "" if k is None else k, "name": name, "images": num, **summarize(d)})
    csv_path = out.with_suffix(".csv")
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    box_plot([r["name"] for r in rows], dists, out)
    click.echo(f"wrote {out} and {csv_path} ({len(rows)} group{'s' if len(rows) > 1 else ''}, {num} images each)")
