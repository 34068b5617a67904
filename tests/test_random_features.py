"""``studio random --features FILE``: one image per feature row (.npy, .csv, HDF5 'features') from a
feature-conditioned model; sequence-shaped or mis-sized features are refused in one line."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

from ganlib.checkpoints.native import save_generator
from ganlib.data.feature_files import read_features
from ganlib.errors import UserError
from ganlib.networks.conditional import ConditionalGenerator
from ganlib.synth import seed_batch
from tests.conftest import run_cli

KW = dict(z_dim=8, img_resolution=16, img_channels=3, ngf=4, cond_kind="features", c_dim=3, embed_dim=4)
ROWS = np.array([[0.0, 1.0, 2.0], [-1.0, 0.5, 0.0], [3.0, -2.0, 1.0]])


@pytest.fixture(scope="module")
def feature_model(tmp_path_factory):
    """A random-weight generator conditioned on 3-value feature vectors, saved; returns (path, G)."""
    import torch
    torch.manual_seed(0)
    G = ConditionalGenerator(**KW).eval()
    return save_generator(tmp_path_factory.mktemp("feat") / "feat.safetensors", G, "cgan", KW), G


def test_one_image_per_row_from_npy_csv_and_hdf5(tmp_path, feature_model):
    path, G = feature_model
    np.save(tmp_path / "f.npy", ROWS)
    (tmp_path / "f.csv").write_text("a,b,c\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n")
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        h5["features"] = ROWS.astype(np.float32)
    for name in ("f.npy", "f.csv", "f.h5"):
        assert np.allclose(read_features(tmp_path / name, 3), ROWS)
    out = tmp_path / "out"
    code, _, err = run_cli("random", "--model", str(path), "--features", str(tmp_path / "f.npy"), "--out", str(out),
                           "--quiet", "--device", "cpu")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["seed0000.png", "seed0001.png", "seed0002.png"]
    for i in range(3):
        want = seed_batch(G, [i], conds=ROWS[i:i + 1])[0]
        assert np.array_equal(np.asarray(Image.open(out / f"seed{i:04d}.png")), want)


def test_feature_errors_are_one_line(tmp_path, feature_model):
    path, _ = feature_model
    np.save(tmp_path / "seq.npy", np.zeros((4, 10, 3)))
    with pytest.raises(UserError, match="sequence features"):
        read_features(tmp_path / "seq.npy", 3)
    np.save(tmp_path / "wide.npy", np.zeros((2, 5)))
    code, _, err = run_cli("random", "--model", str(path), "--features", str(tmp_path / "wide.npy"),
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "'--features'" in err and "5 values, the model expects 3" in err
    np.save(tmp_path / "two.npy", np.zeros((2, 3)))
    code, _, err = run_cli("random", "--model", str(path), "--features", str(tmp_path / "two.npy"),
                           "--seeds", "0-4", "--out", str(tmp_path / "o"))
    assert code == 2 and "2 feature rows for 5 seeds" in err
    code, _, err = run_cli("random", "--model", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and "'--seeds'" in err
    (tmp_path / "bad.csv").write_text("1,2,3\n4,x,6\n")
    with pytest.raises(UserError, match=r"bad.csv:2:"):
        read_features(tmp_path / "bad.csv", 3)
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())  # nothing written
