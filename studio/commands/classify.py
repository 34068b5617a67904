"""``studio classify``: label a folder (or zip / HDF5) of images with a trained classifier; writes a CSV."""
from __future__ import annotations

import csv
from pathlib import Path

import click
import numpy as np

from ganlib.data.datasets import open_dataset
from ganlib.io_utils import atomic_path
from ganlib.train.apply import classify_dataset, item_names
from ganlib.train.export import load_model
from studio.commands.train import warnings_as_lines
from studio.options import device_option, model_option


@click.command("classify")
@model_option("A classifier checkpoint from 'studio train classifier'.", default=None, required=True, path=True)
@click.option("--images", required=True, help="Folder of images (e.g. rendered frames), a .zip or an HDF5 file.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="CSV to write (labels.csv).")
@device_option
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True)
def command(model: Path, images: str, out: Path, device: str, batch: int) -> None:
    """Write one row per image: file, predicted label, confidence and the probability of every class.

    When the images sit in sub-folders named like the classes, the accuracy is printed too.
    """
    loaded = load_model(model, "classifier", device)
    prov = loaded.provenance
    names = list(prov.get("class_names") or [str(i) for i in range(loaded.kwargs["num_classes"])])
    with warnings_as_lines():
        ds = open_dataset(images, loaded.kwargs["img_resolution"], loaded.kwargs["img_channels"],
                          prov.get("fit", "crop"))
    probs = classify_dataset(loaded.model, ds, batch, device)
    pred = probs.argmax(1)
    files = item_names(ds)
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "label", "confidence"] + [f"p_{n}" for n in names])
            for i in range(len(files)):
                w.writerow([files[i], names[pred[i]], f"{probs[i, pred[i]]:.4f}"] +
                           [f"{p:.4f}" for p in probs[i]])
    counts = np.bincount(pred, minlength=len(names))
    click.echo(f"labelled {len(files)} images into {out}: " +
               ", ".join(f"{n} {c}" for n, c in zip(names, counts) if c))
    if ds.labels is not None and ds.class_names and set(ds.class_names) <= set(names):
        truth = np.array([names.index(ds.class_names[k]) for k in ds.labels])
        click.echo(f"accuracy against the folder names: {(truth == pred).mean():.1%}")
