"""``studio train stylegan2`` under the shared loop: the same outputs as every KIND, conditional on class
sub-folders, lazy regularisation intervals; transfer learning with ``--init`` (NVlabs pickle with D,
the shipped default model) and FreezeD; one clear error for a resolution mismatch."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

from ganlib.checkpoints import load_generator
from ganlib.errors import ConfigError
from ganlib.networks.stylegan2 import Discriminator
from ganlib.train.run import train
from tests import ckpt_helpers as H
from tests.conftest import run_cli
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _sets(settings: dict) -> list[str]:
    out = []
    for k, v in settings.items():
        out += ["--set", f"{k}={v}"]
    return out


def test_cli_trains_conditional_stylegan2_with_the_shared_outputs(train_data, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "stylegan2", "--data", str(train_data["folder"]), "--out", str(out),
                                *_sets(tiny("stylegan2", ada_p=0.2)), "--max-steps", "4", "--quiet")
    assert code == 0, err
    assert "4 steps" in stdout
    for name in ("checkpoint.safetensors", "losses.csv", "metrics.csv", "config.yaml", "evolution.gif",
                 "loss_plot.png", "train_state.pt"):
        assert (out / name).is_file(), name
    assert not (out / "log.csv").exists() and not (out / "network-final.safetensors").exists()
    assert sorted((out / "samples").glob("grid_*.png"))
    assert yaml.safe_load((out / "config.yaml").read_text())["kind"] == "stylegan2"
    rows = _rows(out / "losses.csv")
    assert list(rows[0]) == ["step", "epoch", "loss_g", "loss_d", "d_real", "d_fake", "r1", "pl", "ada_p",
                             "d_acc_real", "d_acc_fake"]
    for r in rows:  # the accuracies are the fractions of logits on the right side of 0
        assert float(r["d_acc_real"]) in {i / 4 for i in range(5)} and 0 <= float(r["d_acc_fake"]) <= 1
    with Image.open(out / "samples" / "real_vs_fake.png") as im:  # 4 reals beside 4 samples (one per class)
        assert im.width > 2 * 4 * 32 and 32 < im.height < 2 * 32  # one row per side: nrow = the 4 classes
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    # Lazy regularisation: R1 and path length are recomputed on steps 1, 3 (intervals of 2), kept in between.
    assert rows[0]["r1"] == rows[1]["r1"] != rows[2]["r1"] == rows[3]["r1"]
    assert rows[0]["pl"] == rows[1]["pl"] != rows[2]["pl"] == rows[3]["pl"]
    assert all(0 <= float(r["ada_p"]) <= 1 for r in rows)
    m = load_generator(out / "checkpoint.safetensors")
    assert m.arch == "stylegan2" and m.G.c_dim == 4 and m.G.cond_kind == "label"
    assert m.provenance["kind"] == "stylegan2" and m.provenance["class_names"] == ["dawn", "day", "dusk", "night"]
    z = torch.from_numpy(np.random.RandomState(1).randn(2, m.G.z_dim)).float()
    with torch.no_grad():
        img = m.G(z, torch.nn.functional.one_hot(torch.tensor([0, 3]), 4).float())
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()


def test_unconditional_run_and_settings_from_the_schema(train_data, tmp_path):
    res = train("stylegan2", train_data["zip"], tmp_path / "u",
                overrides=tiny("stylegan2", conditional=False, pl_weight=0, augment="diffaugment", ada_p=0.5,
                               ada_interval=1), max_steps=2,
                progress=False)
    rows = _rows(tmp_path / "u" / "losses.csv")
    assert all(r["pl"] == "" for r in rows) and all(float(r["ada_p"]) == 0 for r in rows)
    G = load_generator(res.checkpoint).G
    assert G.c_dim == 0 and G.img_resolution == 32
    saved = yaml.safe_load((tmp_path / "u" / "config.yaml").read_text())
    assert saved["pl_interval"] == 2 and saved["lr_g"] == 0.0025 and saved["betas"] == [0.0, 0.99]


def test_ema_ramp_up_starts_from_g_and_then_lags(train_data, tmp_path):
    settings = tiny("stylegan2", conditional=False)
    for steps in (1, 3):
        train("stylegan2", train_data["folder"], tmp_path / f"s{steps}", overrides=settings, max_steps=steps,
              progress=False)
    one = torch.load(tmp_path / "s1" / "train_state.pt", weights_only=True)["modules"]
    three = torch.load(tmp_path / "s3" / "train_state.pt", weights_only=True)["modules"]
    params = [k for k in one["G"] if "resample_filter" not in k]
    assert all(torch.equal(one["G_ema"][k], one["G"][k]) for k in params)  # no images seen yet: half-life 0
    assert any(not torch.equal(three["G_ema"][k], three["G"][k]) for k in params)  # later it averages


# ------------------------------------------------------------------------------------------- transfer learning
TINY_G = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=1),
              synthesis_kwargs=dict(channel_base=128, channel_max=8))
TINY_D = dict(c_dim=0, img_resolution=32, img_channels=3, channel_base=128, channel_max=8,
              epilogue_kwargs=dict(mbstd_group_size=4))


@pytest.fixture()
def nvlabs_pkl(tmp_path):
    torch.manual_seed(5)
    D = Discriminator(**TINY_D)
    path = H.write_nvlabs_pickle(tmp_path / "snap.pkl", TINY_G, H.random_nvlabs_state(TINY_G, 3), D=(D, TINY_D))
    return path, {k: v.detach().clone() for k, v in D.state_dict().items()}


def test_init_from_nvlabs_pickle_starts_g_g_ema_and_d(nvlabs_pkl, train_data, tmp_path):
    path, d_state = nvlabs_pkl
    out = tmp_path / "zero"
    train("stylegan2", train_data["folder"], out, overrides=tiny("stylegan2", init=str(path)), max_steps=0,
          progress=False)
    expected = load_generator(path).G.state_dict()
    got = load_file(str(out / "checkpoint.safetensors"))
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert all(torch.equal(state["modules"]["D"][k], v) for k, v in d_state.items())
    assert all(torch.equal(state["modules"]["G"][k], expected[k]) for k in expected)
    assert load_generator(out / "checkpoint.safetensors").provenance["init"] == str(path)


def test_freeze_d_keeps_frozen_blocks_bit_identical(nvlabs_pkl, train_data, tmp_path):
    path, d_state = nvlabs_pkl
    out = tmp_path / "frozen"
    train("stylegan2", train_data["folder"], out, overrides=tiny("stylegan2", init=str(path), freeze_d=1),
          max_steps=3, progress=False)
    D = torch.load(out / "train_state.pt", weights_only=True)["modules"]["D"]
    frozen = [k for k in d_state if k.startswith("b32.") and not k.endswith("resample_filter")]
    trained = [k for k in d_state if k.startswith("b16.") and not k.endswith("resample_filter")]
    assert frozen and all(torch.equal(D[k], d_state[k]) for k in frozen)
    assert any(not torch.equal(D[k], d_state[k]) for k in trained)
    with pytest.raises(ConfigError, match="freeze_d is 9 but the discriminator has 3 blocks"):
        train("stylegan2", train_data["folder"], tmp_path / "too_many",
              overrides=tiny("stylegan2", init=str(path), freeze_d=9), max_steps=1, progress=False)


def test_d_warmup_steps_train_only_d_then_g(nvlabs_pkl, train_data, tmp_path):
    path, d_state = nvlabs_pkl
    expected = load_generator(path).G.state_dict()
    for steps, g_moves in ((2, False), (3, True)):
        out = tmp_path / f"warm{steps}"
        train("stylegan2", train_data["folder"], out, overrides=tiny("stylegan2", init=str(path), d_warmup_steps=2,
                                                                     pl_weight=0.0),
              max_steps=steps, progress=not g_moves)  # the progress bar shows steps with no G loss and no pl
        modules = torch.load(out / "train_state.pt", weights_only=True)["modules"]
        g_same = all(torch.equal(modules[n][k], expected[k]) for n in ("G", "G_ema") for k in expected)
        assert g_same is not g_moves
        assert any(not torch.equal(modules["D"][k], v) for k, v in d_state.items())
        assert [r["loss_g"] for r in _rows(out / "losses.csv")][:2] == ["", ""]


def test_init_resolution_mismatch_is_one_clear_error(nvlabs_pkl, train_data, tmp_path):
    path, _ = nvlabs_pkl
    code, _, err = run_cli("train", "stylegan2", "--data", str(train_data["folder"]), "--out", str(tmp_path / "r"),
                           "--set", "resolution=16", "--set", "batch_size=4", "--init", str(path), "--quiet")
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: 'init': {path}: the checkpoint makes 32 px images with 3 channels, the run is set to 16 px "
        f"with 3; use --set resolution=32 --set channels=3 (the data is fitted to it) or another checkpoint"]


def test_fine_tune_the_shipped_default_model_on_64px_images(tmp_path):
    from ganlib.data.procedural import write_image_folder
    data = write_image_folder(tmp_path / "data", 4, size=64, seed=2)
    before = load_generator("builtin:default").G.state_dict()
    res = train("stylegan2", data, tmp_path / "ft", overrides={"init": "builtin:default", "batch_size": 2,
                                                              "sample_count": 2, "checkpoint_every": 0,
                                                              "eval_every": 0, "r1_interval": 2},
                max_steps=2, progress=False)
    m = load_generator(res.checkpoint)
    assert m.kwargs == load_generator("builtin:default").kwargs and m.G.c_dim == 0
    after = m.G.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in before)
    rows = _rows(tmp_path / "ft" / "losses.csv")
    assert len(rows) == 2 and all(np.isfinite(float(r["loss_g"])) for r in rows)


def test_init_from_rosinality_and_tf_checkpoints(train_data, tmp_path):
    cfg = H.ROS_CONFIG
    st, lat = H.random_rosinality_state(cfg["size"], cfg["style_dim"], cfg["n_mlp"], cfg["channels"], seed=4)
    ros = H.write_rosinality_pt(tmp_path / "ros.pt", st, lat)
    out = tmp_path / "ros"
    train("stylegan2", train_data["folder"], out, overrides=tiny("stylegan2", init=str(ros)), max_steps=0,
          progress=False)
    expected = load_generator(ros).G.state_dict()
    got = load_file(str(out / "checkpoint.safetensors"))
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    tf = H.write_tf_pickle(tmp_path / "tf.pkl", H.TF_STATIC_KWARGS, seed=13)  # 2 labels; the data has 4 classes
    with pytest.raises(ConfigError, match="the checkpoint takes 2 class labels, the run has 4"):
        train("stylegan2", train_data["folder"], tmp_path / "tf", overrides=tiny("stylegan2", init=str(tf)),
              max_steps=0, progress=False)
