"""Tiny procedural datasets shared by the training tests (imported by test modules for its fixtures)."""
from __future__ import annotations

from pathlib import Path

import pytest

N_IMAGES = 16
SIZE = 32

# Settings that keep every KIND tiny: 32 px, batch 4, a few channels, no periodic checkpoints.
TINY = {"resolution": 32, "batch_size": 4, "sample_count": 4, "checkpoint_every": 0, "eval_every": 0}
TINY_KIND = {
    "dcgan": {"ngf": 4, "ndf": 4},
    "dcgan-mod": {"ngf": 4, "ndf": 4},
    "wgan": {"ngf": 4, "ndf": 4, "n_critic": 2},
    "wgan-gp": {"arch": "mlp", "hidden": 16, "layers": 2, "resolution": 16, "n_critic": 2},
    "cgan": {"ngf": 4, "ndf": 4, "embed_dim": 4},
    "mse": {"ngf": 4, "embed_dim": 8},
    "autoencoder": {"width": 4, "code_dim": 8},
    "classifier": {"width": 4},
    "stylegan2": {"channel_base": 128, "channel_max": 8, "z_dim": 8, "w_dim": 8, "mapping_layers": 1,
                  "r1_interval": 2, "pl_interval": 2},
}


def tiny(kind: str, **extra) -> dict:
    """Return overrides that make ``kind`` tiny (plus ``extra``)."""
    return {**TINY, **TINY_KIND[kind], **extra}


@pytest.fixture()
def one_thread():
    """Run the test with one torch thread (tiny models on a shared, busy CPU are faster without thread sync)."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> dict[str, Path]:
    """{"folder", "zip", "hdf5", "hdf5_nchw"}: the same 16 procedural 32 px landscapes (4 classes; features in HDF5)."""
    from ganlib.data.procedural import write_hdf5, write_image_folder, write_image_zip
    d = tmp_path_factory.mktemp("train_data")
    return {
        "folder": write_image_folder(d / "folder", N_IMAGES, size=SIZE, seed=0),
        "zip": write_image_zip(d / "images.zip", N_IMAGES, size=SIZE, seed=0),
        "hdf5": write_hdf5(d / "data.h5", N_IMAGES, size=SIZE, seed=0, layout="NHWC"),
        "hdf5_nchw": write_hdf5(d / "data_nchw.h5", N_IMAGES, size=SIZE, seed=0, layout="NCHW"),
    }
