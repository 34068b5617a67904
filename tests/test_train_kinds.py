"""Every KIND trains a few tiny steps on procedural data (image folder, zip and HDF5 inputs); its outputs exist and
make sense, and its exported model loads: generators through ``load_generator``, the classifier through
``load_model``."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
import yaml

from ganlib.checkpoints import load_generator
from ganlib.train.export import load_model
from ganlib.train.run import train
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CASES = [
    # (kind, data, extra settings)
    ("dcgan", "folder", {}),
    ("dcgan", "hdf5", {}),
    ("dcgan-mod", "zip", {}),
    ("wgan", "hdf5_nchw", {}),
    ("wgan", "zip", {"arch": "mlp", "hidden": 16, "layers": 2, "resolution": 16}),
    ("wgan-gp", "folder", {}),
    ("wgan-gp", "zip", {"arch": "conv", "ngf": 4, "ndf": 4, "resolution": 32}),
    ("cgan", "zip", {}),
    ("cgan", "hdf5", {"cond": "features", "encoder.enabled": True, "encoder.steps": 20}),
    ("mse", "hdf5", {}),
    ("mse", "hdf5_nchw", {"encoder.enabled": True, "encoder.steps": 20, "encoder.code_dim": 4}),
    ("autoencoder", "folder", {}),
    ("autoencoder", "hdf5", {"conditional": False}),
    ("classifier", "zip", {}),
    ("classifier", "hdf5", {"data.balanced": False}),
    ("stylegan2", "zip", {}),
]
STEPS = 3


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("kind,data,extra", CASES, ids=[f"{k}-{d}-{i}" for i, (k, d, _) in enumerate(CASES)])
def test_kind_trains_and_exports(kind, data, extra, train_data, tmp_path):
    out = tmp_path / "run"
    settings = tiny(kind, **extra)
    result = train(kind, train_data[data], out, overrides=settings, max_steps=STEPS, progress=False)
    assert result.steps == STEPS and result.out_dir == out
    assert result.checkpoint == out / "checkpoint.safetensors" and result.checkpoint.is_file()
    for name in ("losses.csv", "metrics.csv", "loss_plot.png", "train_state.pt", "config.yaml"):
        assert (out / name).is_file(), name
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["kind"] == kind and saved["resolution"] == settings["resolution"]

    rows = _rows(out / "losses.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, STEPS + 1))
    losses = [k for k in rows[0] if k not in ("step", "epoch")]
    assert losses and all(math.isfinite(float(r[k])) for r in rows for k in losses)
    assert set(losses) <= set(result.final_metrics)
    assert all(math.isfinite(v) for v in result.final_metrics.values())
    assert int(_rows(out / "metrics.csv")[-1]["step"]) == STEPS

    res = settings["resolution"]
    if kind == "classifier":
        loaded = load_model(result.checkpoint, "classifier")
        assert loaded.provenance["class_names"] == ["dawn", "day", "dusk", "night"]
        logits = loaded.model(torch.zeros(2, 3, res, res))
        assert logits.shape == (2, 4)
        assert "val_acc" in result.final_metrics
        return
    grids = sorted((out / "samples").glob("grid_*.png"))
    assert grids and (out / "evolution.gif").is_file()
    adversarial = kind in ("dcgan", "dcgan-mod", "wgan", "wgan-gp", "cgan", "stylegan2")
    assert (out / "samples" / "real_vs_fake.png").is_file() == adversarial
    if adversarial and "d_real" in rows[0]:
        assert all(0 <= float(r["d_acc_real"]) <= 1 and 0 <= float(r["d_acc_fake"]) <= 1 for r in rows)

    m = load_generator(result.checkpoint)
    G = m.G
    assert (G.img_resolution, G.img_channels) == (res, 3)
    if kind != "stylegan2":
        assert (G.w_dim, G.num_ws) == (0, 0)
    assert m.provenance["kind"] == kind and m.provenance["steps"] == STEPS
    expected_cond = {"cgan": extra.get("cond", "label"), "mse": "features", "stylegan2": "label"}.get(kind, "none")
    if kind == "autoencoder":
        expected_cond = "none" if extra.get("conditional") is False else "label"
    assert G.cond_kind == expected_cond
    z = torch.from_numpy(np.random.RandomState(1).randn(2, G.z_dim)).float()
    c = None
    if G.cond_kind == "label":
        assert G.c_dim == 4
        c = torch.nn.functional.one_hot(torch.tensor([0, 3]), 4).float()
    elif G.cond_kind == "features":
        assert G.c_dim == 16
        c = torch.randn(2, 16)
    with torch.no_grad():
        img = G(z, c, truncation_psi=0.7, noise_mode="const")
        again = G(z, c)
    assert img.shape == (2, 3, res, res)
    assert torch.equal(img, again) == (kind != "stylegan2")  # only StyleGAN2 has truncation
    if kind != "stylegan2":  # StyleGAN2's output is not squashed into [-1, 1]
        assert float(img.min()) >= -1.0 and float(img.max()) <= 1.0
    if kind == "autoencoder" and expected_cond == "label":
        assert (out / "reclass.png").is_file()
