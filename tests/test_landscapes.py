"""Procedural landscapes (ganlib.data.landscapes) and the dataset writers (ganlib.data.procedural)."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganlib.data.landscapes import (LANDSCAPE_CLASSES, LandscapeParams, batch_seed, landscape, landscape_batch,
                                    landscape_params, landscape_with_label, render_landscape, sample_params)
from ganlib.data.procedural import (procedural_features, write_hdf5, write_image_folder, write_image_zip)
from ganlib.errors import UserError


@pytest.fixture(scope="module")
def sixteen() -> np.ndarray:
    return np.stack([landscape(s) for s in range(16)])


# --------------------------------------------------------------------------------------------- images
def test_same_seed_same_bytes():
    a, b = landscape(123), landscape(123)
    assert a.tobytes() == b.tobytes()
    p1, p2 = sample_params(np.random.default_rng(9)), sample_params(np.random.default_rng(9))
    assert p1 == p2 and render_landscape(p1, 48).tobytes() == render_landscape(p2, 48).tobytes()
    assert landscape_batch(3, 32, seed=5).tobytes() == landscape_batch(3, 32, seed=5).tobytes()
    assert landscape(123).tobytes() != landscape(124).tobytes()


def test_batch_matches_single_images_and_cycles_classes():
    imgs, labels = landscape_batch(5, 32, seed=7, with_labels=True)
    assert imgs.shape == (5, 32, 32, 3) and imgs.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3, 0]
    for i in range(5):
        assert np.array_equal(imgs[i], landscape(batch_seed(7, i), 32, label=i % 4))
    free = landscape_batch(2, 32, seed=7, balanced=False)
    assert np.array_equal(free[1], landscape(batch_seed(7, 1), 32))
    # datasets from different seeds share no image
    assert not np.array_equal(landscape_batch(1, 32, seed=8)[0], imgs[0])


@pytest.mark.parametrize("size", [32, 48, 64, 100, 128, 256])
def test_shapes_and_dtypes(size):
    img, label = landscape_with_label(3, size)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    assert label in range(len(LANDSCAPE_CLASSES))
    assert 10 < img.mean() < 245 and img.std() > 5


def test_label_is_forced_and_params_are_plain():
    for k in range(len(LANDSCAPE_CLASSES)):
        p = landscape_params(11, label=k)
        assert isinstance(p, LandscapeParams) and p.label == k
        assert landscape_with_label(11, 32, label=k)[1] == k
    assert LANDSCAPE_CLASSES == tuple(sorted(LANDSCAPE_CLASSES))  # folder loaders number classes alphabetically


def test_variety(sixteen):
    flat = sixteen.reshape(16, -1).astype(np.float32)
    dist = np.abs(flat[:, None] - flat[None, :]).mean(-1)[np.triu_indices(16, 1)]
    assert dist.mean() > 35 and dist.min() > 5
    labels = {landscape_with_label(s, 32)[1] for s in range(32)}
    assert len(labels) >= 3
    horizons = [landscape_params(s).horizon for s in range(32)]
    assert max(horizons) - min(horizons) > 0.2
    assert any(landscape_params(s).water for s in range(32)) and not all(landscape_params(s).water for s in range(32))


def test_structure(sixteen):
    ims = sixteen.astype(np.float32)
    sky, ground = ims[:, :12].mean((1, 2)), ims[:, -12:].mean((1, 2))
    diff = np.abs(sky - ground).sum(1)
    assert np.median(diff) > 20 and (diff > 12).mean() >= 0.75
    # the top rows are smooth paint, not noise (uniform noise gives about 85)
    rough = np.abs(np.diff(ims[:, :8], axis=2)).mean((1, 2, 3))
    assert rough.max() < 20
    # and yet there is texture: brush strokes
    assert rough.mean() > 0.5


def test_bad_arguments():
    for kwargs in ({"size": 4}, {"size": 4096}, {"size": 64.0}):
        with pytest.raises(UserError):
            landscape(1, **kwargs)
    with pytest.raises(UserError):
        landscape(-1)
    with pytest.raises(UserError):
        landscape(1, 32, label=4)
    with pytest.raises(UserError):
        landscape_batch(-2)


# --------------------------------------------------------------------------------------------- features
def test_features():
    params = [landscape_params(s) for s in range(8)]
    f = np.stack([procedural_features(p) for p in params])
    assert f.shape == (8, 16) and f.dtype == np.float32
    assert np.isfinite(f).all() and np.abs(f).max() <= 1.5
    assert np.array_equal(f[0], procedural_features(landscape_params(0)))
    assert np.abs(f[:, None] - f[None]).sum(-1)[np.triu_indices(8, 1)].min() > 0.1
    assert procedural_features(params[0], 4).tolist() == f[0, :4].tolist()
    wide = procedural_features(params[0], 40)
    assert wide.shape == (40,) and np.array_equal(wide[:16], f[0]) and np.abs(wide).max() <= 1.5
    with pytest.raises(UserError):
        procedural_features(params[0], 0)


# --------------------------------------------------------------------------------------------- writers
def _no_leftovers(folder, expected):
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)


def test_write_image_folder(tmp_path):
    root = write_image_folder(tmp_path / "ds", 9, size=32, seed=4)
    _no_leftovers(tmp_path, ["ds"])
    assert sorted(p.name for p in root.iterdir()) == ["dataset.json", *LANDSCAPE_CLASSES]
    files = sorted(root.rglob("*.png"))
    assert len(files) == 9
    assert (root / "day" / "000005.png").exists()
    first = np.asarray(Image.open(root / "dawn" / "000000.png"))
    assert first.shape == (32, 32, 3) and np.array_equal(first, landscape(batch_seed(4, 0), 32, label=0))
    labels = json.loads((root / "dataset.json").read_text())["labels"]
    assert ["day/000005.png", 1] in labels and len(labels) == 9
    with pytest.raises(UserError):
        write_image_folder(root, 2, size=32)
    write_image_folder(root, 2, size=32, with_classes=False, ext="jpg", overwrite=True)
    assert sorted(p.name for p in root.iterdir()) == ["000000.jpg", "000001.jpg", "dataset.json"]
    assert Image.open(root / "000001.jpg").size == (32, 32)
    _no_leftovers(tmp_path, ["ds"])
    with pytest.raises(UserError):
        write_image_folder(tmp_path / "x", 2, ext="tga")


def test_write_image_zip(tmp_path):
    path = write_image_zip(tmp_path / "ds.zip", 6, size=32, seed=2)
    again = write_image_zip(tmp_path / "again.zip", 6, size=32, seed=2)
    assert path.read_bytes() == again.read_bytes()
    _no_leftovers(tmp_path, ["ds.zip", "again.zip"])
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "dataset.json" in names and "night/000003.png" in names
        pngs = [n for n in names if n.endswith(".png")]
        assert len(pngs) == 6 and {n.split("/")[0] for n in pngs} == set(LANDSCAPE_CLASSES)
        img = np.asarray(Image.open(io.BytesIO(zf.read("dusk/000002.png"))))
        assert img.shape == (32, 32, 3) and np.array_equal(img, landscape(batch_seed(2, 2), 32, label=2))
    flat = write_image_zip(tmp_path / "flat.zip", 2, size=32, with_classes=False)
    assert zipfile.ZipFile(flat).namelist() == ["000000.png", "000001.png", "dataset.json"]


def test_write_hdf5(tmp_path):
    import h5py

    a = write_hdf5(tmp_path / "a.h5", 5, size=32, seed=3)
    b = write_hdf5(tmp_path / "b.h5", 5, size=32, seed=3, layout="NCHW", features_dim=8)
    c = write_hdf5(tmp_path / "c.h5", 3, size=32, with_labels=False, with_features=False)
    _no_leftovers(tmp_path, ["a.h5", "b.h5", "c.h5"])
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb, h5py.File(c, "r") as fc:
        assert fa["images"].shape == (5, 32, 32, 3) and fa["images"].dtype == np.uint8
        assert fa["labels"].dtype == np.int64 and fa["labels"][:].tolist() == [0, 1, 2, 3, 0]
        assert fa["features"].shape == (5, 16) and fa["features"].dtype == np.float32
        assert fb["images"].shape == (5, 3, 32, 32) and fb["features"].shape == (5, 8)
        assert np.array_equal(fb["images"][:].transpose(0, 2, 3, 1), fa["images"][:])
        assert np.array_equal(fa["images"][4], landscape(batch_seed(3, 4), 32, label=0))
        assert np.allclose(fa["features"][:, :8], fb["features"][:])
        assert [str(n) for n in fa["labels"].attrs["class_names"]] == list(LANDSCAPE_CLASSES)
        assert fa.attrs["layout"] == "NHWC" and fb["images"].attrs["layout"] == "NCHW"
        assert sorted(fc) == ["images"]
    with pytest.raises(UserError):
        write_hdf5(tmp_path / "d.h5", 2, layout="HWC")
    _no_leftovers(tmp_path, ["a.h5", "b.h5", "c.h5"])


def test_writers_leave_nothing_when_interrupted(tmp_path, monkeypatch):
    import ganlib.data.procedural as procedural

    calls = {"n": 0}
    real = procedural.render_landscape

    def failing(params, size):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real(params, size)

    monkeypatch.setattr(procedural, "render_landscape", failing)
    for write, name in ((write_image_folder, "ds"), (write_image_zip, "ds.zip"), (write_hdf5, "ds.h5")):
        calls["n"] = 0
        with pytest.raises(KeyboardInterrupt):
            write(tmp_path / name, 5, size=32)
    _no_leftovers(tmp_path, [])
