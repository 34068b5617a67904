"""``studio autoencode``: encode a dataset with a trained autoencoder; write codes, PCA scatter plots coloured by true
label and by k-means cluster, and reconstructions."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import click
import numpy as np
import torch

from ganlib.checkpoints import load_generator
from ganlib.data.datasets import open_dataset
from ganlib.errors import CheckpointError
from ganlib.io_utils import atomic_path
from ganlib.train.analysis import cluster_purity, kmeans, pca, plot_codes
from ganlib.train.apply import encode_dataset, item_names, reconstruction_mse
from ganlib.train.samples import save_grid
from studio.commands.train import warnings_as_lines
from studio.options import device_option, model_option, out_option


@click.command("autoencode")
@model_option("An autoencoder checkpoint from 'studio train autoencoder'.", default=None, required=True)
@click.option("--data", required=True, help="Image folder, .zip or HDF5 file to encode.")
@out_option("Output folder.", folder=True)
@click.option("--clusters", type=click.IntRange(min=1), default=None,
              help="k for k-means (default: the number of classes, else 8).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of k-means.")
@click.option("--test", "test_data", default=None,
              help="A held-out test set (folder, .zip or HDF5): its reconstruction MSE is reported too.")
@device_option
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True)
def command(model: str, data: str, out: Path, clusters: int | None, seed: int, test_data: str | None, device: str,
            batch: int) -> None:
    """Write codes.npy (+ labels.npy), codes.csv (file, label, cluster, PC1, PC2), pca.png, reconstructions.png,
    reconstruction_mse.json (mean squared error over --data and --test, pixels in [-1, 1]) and, for a
    label-conditioned decoder, reclass.png (each image re-rendered as every class)."""
    dev = torch.device(device)
    loaded = load_generator(model, dev)
    if loaded.arch != "autoencoder":
        raise CheckpointError(f"this checkpoint holds a {loaded.arch!r} model, not an autoencoder "
                              f"(train one with 'studio train autoencoder')", file=model)
    ae = loaded.G
    fit = (loaded.provenance.get("config") or {}).get("data", {}).get("fit", "crop")
    with warnings_as_lines():
        ds = open_dataset(data, ae.img_resolution, ae.img_channels, fit)
    out.mkdir(parents=True, exist_ok=True)
    codes = encode_dataset(ae, ds, batch, dev)
    with atomic_path(out / "codes.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, codes)
    labels = ds.labels
    if labels is not None:
        with atomic_path(out / "labels.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, labels)
    k = clusters or (ds.num_classes if ds.num_classes >= 2 else 8)
    k = min(k, len(ds))
    cl, _ = kmeans(codes, k, seed)
    proj, ratio, _ = pca(codes, 2)
    plot_codes(proj, cl, out / "pca.png", labels, ds.class_names, ratio)
    files = item_names(ds)
    with atomic_path(out / "codes.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "label", "cluster", "pc1", "pc2"])
            for i in range(len(files)):
                lab = ds.class_names[labels[i]] if labels is not None else ""
                w.writerow([files[i], lab, int(cl[i]), f"{proj[i, 0]:.5f}", f"{proj[i, 1]:.5f}"])
    n = min(16, len(ds))
    batch_d = ds.batch_for(range(n))
    x = batch_d["image"].to(dev)
    cond = ae.cond_kind == "label"
    c = None
    if cond and "label" in batch_d and int(batch_d["label"].max()) < ae.c_dim:
        c = batch_d["label"].to(dev)
    with torch.no_grad():
        rec = ae.reconstruct(x, c)
        save_grid(torch.stack([x, rec], 1).reshape(-1, *x.shape[1:]), out / "reconstructions.png", nrow=8)
        if cond:
            m = min(8, n)
            code = ae.encode(x[:m])
            cols = [x[:m]] + [ae.decode(code, torch.full((m,), j, dtype=torch.long, device=dev))
                              for j in range(ae.c_dim)]
            save_grid(torch.stack(cols, 1).reshape(-1, *x.shape[1:]), out / "reclass.png", nrow=ae.c_dim + 1)
    mse = {"data": reconstruction_mse(ae, ds, batch, dev), "data_images": len(ds)}
    if test_data is not None:
        with warnings_as_lines():
            test_ds = open_dataset(test_data, ae.img_resolution, ae.img_channels, fit)
        mse.update(test=reconstruction_mse(ae, test_ds, batch, dev), test_images=len(test_ds))
    with atomic_path(out / "reconstruction_mse.json") as tmp:
        tmp.write_text(json.dumps(mse, indent=2) + "\n", encoding="utf-8")
    msg = f"encoded {len(ds)} images to {out / 'codes.npy'} ({codes.shape[1]} values each); {k} clusters"
    if labels is not None:
        msg += f", purity against the true labels {cluster_purity(cl, labels):.1%}"
    click.echo(msg)
    text = f"reconstruction MSE: {mse['data']:.5f} over the {len(ds)} images"
    if test_data is not None:
        text += f", {mse['test']:.5f} over the {mse['test_images']} test images"
    click.echo(text)
    click.echo(f"PCA: PC1 {ratio[0]:.0%}, PC2 {ratio[1] if len(ratio) > 1 else 0:.0%} of the variance; "
               f"plots in {out / 'pca.png'}")
