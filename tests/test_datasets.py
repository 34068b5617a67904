"""Data loaders: image folder / zip / HDF5 agree, labels from class folders, transforms, errors, deterministic and
class-balanced sampling, lazy per-worker HDF5."""
from __future__ import annotations

import pickle
import warnings
import zipfile

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from ganlib.data.base import BatchKeys, DataWarning
from ganlib.data.datasets import HDF5Dataset, open_dataset
from ganlib.data.sampling import DataStream, balanced_weights, epoch_order
from ganlib.data.transforms import fit_image
from ganlib.errors import DataError
from tests.conftest import TRAIN_IMAGES as N_IMAGES


def _all(ds):
    return ds.batch_for(range(len(ds)))


def test_folder_zip_hdf5_agree(train_data):
    folder = open_dataset(train_data["folder"], 32)
    assert len(folder) == N_IMAGES
    assert folder.class_names == ["dawn", "day", "dusk", "night"]
    a = _all(folder)
    assert a["image"].shape == (N_IMAGES, 3, 32, 32) and a["image"].dtype == torch.float32
    assert -1.0 <= float(a["image"].min()) and float(a["image"].max()) <= 1.0
    zipped = open_dataset(train_data["zip"], 32)
    assert zipped.names == folder.names
    assert torch.equal(_all(zipped)["image"], a["image"])
    # The HDF5 files hold the same images in index order; the folder is sorted by class, then index.
    order = [int(n.split("/")[-1].split(".")[0]) for n in folder.names]
    for key in ("hdf5", "hdf5_nchw"):
        h5 = open_dataset(train_data[key], 32)
        b = _all(h5)
        assert torch.equal(b["image"][order], a["image"]), key
        assert torch.equal(b["label"][order], a["label"])
        assert b["features"].shape == (N_IMAGES, 16)
        assert h5.class_names == folder.class_names


def test_cache_and_lazy_reads_agree(train_data):
    for key in ("folder", "zip", "hdf5"):
        cached = open_dataset(train_data[key], 16, cache=True)
        lazy = open_dataset(train_data[key], 16, cache=False)
        assert cached.cache is not None and lazy.cache is None
        keys = BatchKeys((3, 1, 3), (True, False, False))
        assert torch.equal(cached[keys]["image"], lazy[keys]["image"])
        assert torch.equal(cached[keys]["image"][0], cached[keys]["image"][2].flip(-1))


def test_hdf5_lazy_per_worker(train_data):
    ds = open_dataset(train_data["hdf5"], 32, cache=False)
    assert isinstance(ds, HDF5Dataset)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._h5 is None  # each worker opens its own handle
    assert torch.equal(clone[2]["image"], ds[2]["image"])
    one = DataStream(ds, 4, seed=3, flip=True, num_workers=0)
    two = DataStream(ds, 4, seed=3, flip=True, num_workers=1)
    for _ in range(2):
        x, y = one.next(), two.next()
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["label"], y["label"])


def test_transforms_crop_and_stretch():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 20:60] = 255  # the centre 40x40 square is white
    crop = fit_image(img, 20, "crop")
    assert crop.shape == (20, 20, 3) and crop[:, 2:-2].min() == 255  # (bicubic rings at the very edge)
    stretch = fit_image(img, 20, "stretch")
    assert stretch.shape == (20, 20, 3) and stretch[:, 0].max() < 128 and stretch[:, 8:12].min() == 255


def test_grey_images(train_data):
    ds = open_dataset(train_data["folder"], 16, channels=1)
    assert ds[0]["image"].shape == (1, 16, 16)


def test_empty_and_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        open_dataset(tmp_path / "empty", 32)
    with pytest.raises(DataError, match="not found"):
        open_dataset(tmp_path / "nowhere", 32)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="unsupported"):
        open_dataset(tmp_path / "notes.txt", 32)


def test_unreadable_images_skipped_with_count(tmp_path):
    for i in range(3):
        Image.new("RGB", (8, 8), (i * 50, 0, 0)).save(tmp_path / f"ok{i}.png")
    (tmp_path / "bad1.png").write_bytes(b"not a png")
    (tmp_path / "bad2.jpg").write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = open_dataset(tmp_path, 8)
    assert len(ds) == 3 and ds.skipped == 2
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(msgs) == 1 and "skipped 2 unreadable" in msgs[0]
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("x/bad.png", b"junk")
    with pytest.raises(DataError, match="could be read"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            open_dataset(tmp_path / "a.zip", 8)


def test_hdf5_without_the_dataset_lists_what_it_has(tmp_path):
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f["pixels"] = np.zeros((2, 8, 8, 3), np.uint8)
        f["meta/labels"] = np.zeros(2, np.int64)
    with pytest.raises(DataError) as err:
        open_dataset(p, 8)
    msg = str(err.value)
    assert "'images'" in msg and "pixels [2, 8, 8, 3] uint8" in msg and "meta/labels" in msg
    ds = open_dataset(p, 8, hdf5={"images_key": "pixels"})
    assert len(ds) == 2 and ds.labels is None


def test_epoch_order_is_deterministic():
    pool = np.arange(10)
    a, fa = epoch_order(pool, seed=1, epoch=0, flip=True)
    b, fb = epoch_order(pool, seed=1, epoch=0, flip=True)
    c, _ = epoch_order(pool, seed=1, epoch=1, flip=True)
    assert np.array_equal(a, b) and np.array_equal(fa, fb) and not np.array_equal(a, c)
    assert sorted(a.tolist()) == list(range(10))


def test_balanced_sampler_evens_out_classes():
    labels = np.array([0] * 90 + [1] * 10)
    w = balanced_weights(labels)
    drawn = np.concatenate([epoch_order(np.arange(100), 0, e, weights=w)[0] for e in range(20)])
    frac = (labels[drawn] == 1).mean()
    assert 0.4 < frac < 0.6  # about half, against 10% without balancing


def test_stream_position_resumes(train_data):
    ds = open_dataset(train_data["folder"], 16)
    s = DataStream(ds, 4, seed=5, flip=True)
    seen = [s.next()["image"] for _ in range(6)]  # crosses an epoch boundary (4 batches per epoch)
    s2 = DataStream(ds, 4, seed=5, flip=True)
    for _ in range(3):
        s2.next()
    state = s2.state_dict()
    s3 = DataStream(ds, 4, seed=5, flip=True)
    s3.load_state_dict(state)
    assert all(torch.equal(s3.next()["image"], seen[i]) for i in range(3, 6))
    assert s3.state_dict() == {"epoch": 1, "position": 2}


def test_procedural_spec():
    ds = open_dataset("procedural:8:3", 16)
    assert len(ds) == 8 and ds.num_classes == 4 and ds.features_dim == 16
    b = ds.batch_for(range(8))
    assert b["image"].shape == (8, 3, 16, 16) and sorted(b["label"].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(DataError):
        open_dataset("procedural:0", 16)
