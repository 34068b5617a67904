"""Feature-conditioned models outside ``studio random``: ``studio grid --features`` (one tile per row) and ``studio
metrics --model M --features FILE`` (image i conditioned on row i mod N), both through the one feature loader."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_cli
from ganlib.checkpoints.native import save_generator
from ganlib.networks.conditional import ConditionalGenerator
from test_metrics import _FakeInception

KW = dict(z_dim=8, img_resolution=32, img_channels=3, ngf=4, cond_kind="features", c_dim=3, embed_dim=4)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    torch.manual_seed(0)
    G = ConditionalGenerator(**KW).eval()
    model = save_generator(root / "feat.safetensors", G, "cgan", KW, {})
    np.save(root / "a.npy", np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0], [3.0, 0.0, 1.0]]))
    np.save(root / "b.npy", np.array([[-3.0, 3.0, -3.0]]))
    (root / "a.csv").write_text("f0,f1,f2\n1,-1,0.5\n0,2,-2\n3,0,1\n")
    real = root / "real"
    real.mkdir()
    rng = np.random.RandomState(0)
    for i in range(4):
        Image.fromarray(rng.randint(0, 255, (32, 32, 3), dtype=np.uint8)).save(real / f"{i}.png")
    inception = root / "inception.pt"
    torch.jit.script(_FakeInception()).save(str(inception))
    return dict(root=root, model=model, real=real, inception=inception)


def test_grid_draws_one_tile_per_feature_row(files, tmp_path):
    root = files["root"]
    sheets = {}
    for name in ("a.npy", "a.csv", "b.npy"):
        out = tmp_path / f"{name}.png"
        code, stdout, err = run_cli("grid", "--model", str(files["model"]), "--features", str(root / name),
                                    "--scale", "1", "--out", str(out))
        assert code == 0, err
        sheets[name] = np.asarray(Image.open(out))
    tile = 32 + 4
    assert sheets["a.npy"].shape[:2] == (2 * (tile + 14) + 4, 2 * tile + 4)  # three rows → three tiles (2×2 grid)
    np.testing.assert_array_equal(sheets["a.npy"], sheets["a.csv"])  # the same rows from .npy and .csv
    assert sheets["b.npy"].shape[:2] == (tile + 14 + 4, tile + 4)  # one row → one tile
    code, _, err = run_cli("grid", "--model", str(files["model"]), "--out", str(tmp_path / "none.png"))
    assert code == 2 and "'--features'" in err and "give --features FILE" in err


def test_metrics_samples_a_feature_model_with_the_given_rows(files):
    base = ["metrics", "fid", "--real", str(files["real"]), "--model", str(files["model"]), "--num", "4",
            "--inception", str(files["inception"]), "--json", "--no-progress"]
    code, _, err = run_cli(*base)
    assert code == 2 and "'--features'" in err and "give --features FILE" in err
    fids = {}
    for name in ("a.npy", "b.npy"):
        code, out, err = run_cli(*base, "--features", str(files["root"] / name))
        assert code == 0, err
        values = json.loads(out)
        assert values["num_fake"] == 4
        fids[name] = values["fid"]
    assert fids["a.npy"] != fids["b.npy"]  # the rows condition the samples
    code, _, err = run_cli("metrics", "fid", "--real", str(files["real"]), "--fake", str(files["real"]),
                           "--features", str(files["root"] / "a.npy"))
    assert code == 2 and "give --model" in err
