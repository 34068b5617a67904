"""``studio train`` / ``studio classify`` / ``studio autoencode`` end to end, bad input as one ``error:`` line with
exit code 2, and a generator trained here rendering a one-second timeline with ``studio render``."""
from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_SET = ["--set", "resolution=32", "--set", "batch_size=4", "--set", "sample_count=4",
            "--set", "checkpoint_every=0", "--set", "eval_every=0"]


def _train(kind, data, out, *extra):
    return run_cli("train", kind, "--data", str(data), "--out", str(out), "--quiet", *TINY_SET, *extra)


@pytest.mark.parametrize("args,expected", [
    (["train", "dcgna", "--data", "DATA", "--out", "OUT"], ["unknown KIND 'dcgna'", "did you mean 'dcgan'"]),
    (["train", "dcgan", "--data", "nowhere", "--out", "OUT"], ["nowhere", "data path not found"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "batch_sise=8"],
     ["'batch_sise'", "did you mean 'batch_size'"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "data.flp=true"], ["'data.flp'", "'flip'"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "batch_size=many"], ["'batch_size'", "integer"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "lr_g=-1"], ["'lr_g'", "greater than 0"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "batch_size"], ["key=value"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "resolution=36"],
     ["'resolution'", "cannot be built", "24, 28, 32"]),
    (["train", "classifier", "--data", "DATA", "--out", "OUT", "--set", "resolution=28"], ["power of two"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--set", "batch_size=64"], ["batch_size 64", "16"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--device", "tpu"], ["device"]),
    (["train", "mse", "--data", "DATA", "--out", "OUT"], ["feature vectors"]),
    (["train", "dcgan", "--data", "DATA", "--out", "OUT", "--config", "missing.yaml"], ["missing.yaml", "not found"]),
    (["classify", "--model", "nope.safetensors", "--images", "DATA", "--out", "x.csv"], ["nope.safetensors"]),
])
def test_bad_input_is_one_line_exit_2(args, expected, train_data, tmp_path):
    args = [str(train_data["folder"]) if a == "DATA" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    code, out, err = run_cli(*args, cwd=tmp_path)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in err
    for text in expected:
        assert text in lines[-1], (text, lines[-1])


def test_train_classify_autoencode(train_data, tmp_path):
    code, out, err = _train("classifier", train_data["zip"], tmp_path / "cls", "--set", "width=4",
                            "--max-steps", "3")
    assert code == 0, err
    assert "trained classifier for 3 steps" in out and "val_acc" in out
    code, out, err = run_cli("classify", "--model", str(tmp_path / "cls" / "checkpoint.safetensors"),
                             "--images", str(train_data["folder"]), "--out", str(tmp_path / "labels.csv"))
    assert code == 0, err
    with open(tmp_path / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 and set(rows[0]) == {"file", "label", "confidence", "p_dawn", "p_day", "p_dusk",
                                                "p_night"}
    assert all(r["label"] in ("dawn", "day", "dusk", "night") for r in rows)
    assert "accuracy against the folder names" in out

    code, out, err = _train("autoencoder", train_data["folder"], tmp_path / "ae", "--set", "width=4",
                            "--set", "code_dim=8", "--max-steps", "3", "--set", f"val_data={train_data['zip']}")
    assert code == 0, err
    with open(tmp_path / "ae" / "metrics.csv", newline="") as f:
        assert float(list(csv.DictReader(f))[-1]["val_recon_mse"]) > 0  # over the whole validation set
    dest = tmp_path / "codes"
    code, out, err = run_cli("autoencode", "--model", str(tmp_path / "ae" / "checkpoint.safetensors"),
                             "--data", str(train_data["hdf5"]), "--out", str(dest), "--test", str(train_data["zip"]))
    assert code == 0, err
    mse = json.loads((dest / "reconstruction_mse.json").read_text())
    assert mse["data"] > 0 and mse["test_images"] == 16
    assert abs(mse["test"] - mse["data"]) < 1e-6  # the zip holds the same 16 images as the HDF5 file
    assert f"{mse['test']:.5f} over the 16 test images" in out
    codes = np.load(dest / "codes.npy")
    assert codes.shape == (16, 8) and np.isfinite(codes).all()
    assert np.load(dest / "labels.npy").shape == (16,)
    for name in ("pca.png", "reconstructions.png", "reclass.png", "codes.csv"):
        assert (dest / name).is_file(), name
    assert "4 clusters" in out and "purity" in out
    code, _, err = run_cli("autoencode", "--model", str(tmp_path / "cls" / "checkpoint.safetensors"),
                           "--data", str(train_data["hdf5"]), "--out", str(dest))
    assert code == 2 and "error:" in err


@pytest.mark.skipif(importlib.util.find_spec("studio.render") is None,
                    reason="studio.render (the timeline renderer) is not in this checkout yet")
def test_trained_generators_render_a_timeline(train_data, tmp_path):
    code, out, err = _train("dcgan", train_data["folder"], tmp_path / "dc", "--set", "ngf=4", "--set", "ndf=4",
                            "--max-steps", "2")
    assert code == 0, err
    ckpt = tmp_path / "dc" / "checkpoint.safetensors"
    code, out, err = run_cli("random", "--model", str(ckpt), "--seeds", "0-2", "--out", str(tmp_path / "rnd"),
                             "--quiet")
    assert code == 0, err
    assert len(list((tmp_path / "rnd").glob("*.png"))) == 3
    (tmp_path / "walk.yaml").write_text(
        f"model: {ckpt}\nfps: 8\nsize: 32\nspace: z\ninterpolation: slerp\n"
        "keyframes:\n  - {time: 0, seed: 1}\n  - {time: 1, seed: 2}\noutput: {path: walk.mp4}\n")
    code, out, err = run_cli("render", "walk.yaml", "--quiet", cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "walk.mp4").stat().st_size > 0
    code, out, err = run_cli("render", "walk.yaml", "--quiet", "--frames", str(tmp_path / "frames"), cwd=tmp_path)
    assert code == 0, err
    assert 8 <= len(list((tmp_path / "frames").glob("*.png"))) <= 9

    # A label-conditioned generator takes label: per keyframe.
    code, out, err = _train("cgan", train_data["zip"], tmp_path / "cg", "--set", "ngf=4", "--set", "ndf=4",
                            "--max-steps", "1")
    assert code == 0, err
    (tmp_path / "cond.yaml").write_text(
        f"model: {tmp_path / 'cg' / 'checkpoint.safetensors'}\nfps: 4\nsize: 32\n"
        "keyframes:\n  - {time: 0, seed: 1, label: 0}\n  - {time: 1, seed: 2, label: 3}\n"
        "output: {path: cond.gif}\n")
    code, out, err = run_cli("render", "cond.yaml", "--quiet", cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "cond.gif").stat().st_size > 0
