"""Training settings of issue 16: ``epochs`` instead of ``steps``, ``init_std``, ``val_data``, a pretrained MLP
``encoder.path``, sequence features with ``encoder.kind: sequence`` (refused without), and sizes such as 28 px."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from ganlib.checkpoints import load_generator
from ganlib.errors import ConfigError, DataError
from ganlib.networks.mlp_encoder import SequenceEncoder
from ganlib.train.run import train
from tests.conftest import run_cli
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_epochs_count_passes_over_the_images(train_data, tmp_path):
    res = train("wgan-gp", train_data["zip"], tmp_path / "b", overrides=tiny("wgan-gp", epochs=1), progress=False)
    assert res.steps == 2  # 16 images / batch 4 = 4 batches an epoch; each step draws n_critic = 2 of them


def test_init_std_sets_the_initial_weight_spread(train_data, tmp_path):
    def conv_std(std):
        res = train("dcgan", train_data["folder"], tmp_path / f"s{std}", overrides=tiny("dcgan", init_std=std),
                    max_steps=0, progress=False)
        G = load_generator(res.checkpoint).G
        return float(torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]).std())

    assert conv_std(0.02) == pytest.approx(0.02, rel=0.15)
    assert conv_std(0.2) == pytest.approx(0.2, rel=0.15)


def test_classifier_validates_on_a_given_folder(train_data, tmp_path):
    res = train("classifier", train_data["folder"], tmp_path / "c",
                overrides=tiny("classifier", val_data=str(train_data["zip"])), max_steps=1, progress=False)
    assert 0 <= res.final_metrics["val_acc"] <= 1


def test_28_px_and_the_allowed_sizes(train_data, tmp_path):
    res = train("dcgan", train_data["folder"], tmp_path / "r", overrides=tiny("dcgan", resolution=28), max_steps=1,
                progress=False)
    G = load_generator(res.checkpoint).G
    assert G(torch.zeros(2, G.z_dim)).shape == (2, 3, 28, 28)
    with pytest.raises(ConfigError, match="cannot be built.*24, 28, 32"):
        train("dcgan", train_data["folder"], tmp_path / "bad", overrides=tiny("dcgan", resolution=36), max_steps=1,
              progress=False)


def test_pretrained_mlp_encoder_is_loaded_and_frozen(train_data, tmp_path):
    mlp = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 4))
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    res = train("cgan", train_data["hdf5"], tmp_path / "run",
                overrides=tiny("cgan", cond="features", **{"encoder.path": str(tmp_path / "mlp.pt")}), max_steps=2,
                progress=False)
    G = load_generator(res.checkpoint).G
    assert G.c_dim == 16 and G.encoder.out_dim == 4
    for mine, theirs in zip([m for m in G.encoder.net if isinstance(m, nn.Linear)], mlp[::2]):
        assert torch.equal(mine.weight, theirs.weight) and torch.equal(mine.bias, theirs.bias)  # frozen: unchanged

    torch.save(nn.Sequential(nn.Linear(10, 12), nn.ReLU(), nn.Linear(12, 4)).state_dict(), tmp_path / "bad.pt")
    code, _, err = run_cli("train", "cgan", "--data", str(train_data["hdf5"]), "--out", str(tmp_path / "bad"),
                           "--set", "cond=features", "--set", f"encoder.path={tmp_path / 'bad.pt'}", "--quiet",
                           "--set", "batch_size=4")
    assert code == 2 and "takes 10 values per row, the data's features have 16" in err and "bad.pt" in err
    torch.save(mlp, tmp_path / "module.pt")  # a pickled module, not a state_dict: refused by weights-only loading
    code, _, err = run_cli("train", "cgan", "--data", str(train_data["hdf5"]), "--out", str(tmp_path / "mod"),
                           "--set", "cond=features", "--set", f"encoder.path={tmp_path / 'module.pt'}", "--quiet",
                           "--set", "batch_size=4")
    assert code == 2 and "cannot read the encoder state_dict" in err and "Traceback" not in err


@pytest.fixture()
def sequence_h5(tmp_path):
    path = tmp_path / "seq.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        h5["images"] = rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8)
        h5["features"] = rng.normal(size=(16, 5, 3)).astype(np.float32)
    return path


def test_sequence_features_need_a_sequence_encoder(sequence_h5, tmp_path):
    with pytest.raises(DataError, match=r"sequences \[N, T, F\] = \[N, 5, 3\].*encoder.kind=sequence"):
        train("mse", sequence_h5, tmp_path / "flat", overrides=tiny("mse"), max_steps=1, progress=False)
    res = train("mse", sequence_h5, tmp_path / "seq", overrides=tiny("mse", **{"encoder.kind": "sequence",
                                                                              "encoder.steps": 5}),
                max_steps=1, progress=False)
    G = load_generator(res.checkpoint).G
    assert isinstance(G.encoder, SequenceEncoder) and G.c_dim == 15  # rows are the flat 5 x 3 values
    with torch.no_grad():
        assert G(torch.zeros(2, G.z_dim), torch.zeros(2, 15)).shape == (2, 3, 32, 32)
