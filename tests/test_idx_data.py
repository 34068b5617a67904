"""EMNIST/MNIST idx files as a data source: letters drawn with PIL's bundled font, written as EMNIST stores them."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ganlib.data.datasets import open_dataset
from ganlib.data.idx import read_idx
from ganlib.errors import DataError


def _idx(values: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, values.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in values.shape)
    return header + values.astype(np.uint8).tobytes()


def _letters(folder: Path, prefix: str = "emnist-letters-train") -> Path:
    """Write 6 images (A, B, C, A, B, C drawn white on black, a bar on the top rows) transposed as EMNIST does,
    their labels 1..3 and the mapping file; return the images path."""
    font = ImageFont.load_default()
    imgs = []
    for ch in "ABCABC":
        im = Image.new("L", (28, 28))
        draw = ImageDraw.Draw(im)
        draw.text((9, 8), ch, fill=255, font=font)
        draw.rectangle((0, 0, 27, 2), fill=200)
        imgs.append(np.asarray(im).T)  # EMNIST stores columns first
    images = folder / f"{prefix}-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(_idx(np.stack(imgs))))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.array([1, 2, 3] * 2))))
    (folder / "emnist-letters-mapping.txt").write_text("1 65 97\n2 66 98\n3 67 99\n")
    return images


def test_emnist_letters_load_upright_with_named_labels(tmp_path):
    ds = open_dataset(_letters(tmp_path), resolution=32, channels=1)
    assert len(ds) == 6 and ds.resolution == 32 and ds.channels == 1
    assert ds.class_names == ["A", "B", "C"] and ds.labels.tolist() == [0, 1, 2, 0, 1, 2]
    first = ds.cache[0, 0].numpy()
    assert first[:3].mean() > 150 and first[:, :2].mean() < 60  # the bar is on top again, not on the left
    assert np.array_equal(ds.cache[0], ds.cache[3]) and not np.array_equal(ds.cache[0], ds.cache[1])


def test_plain_idx_without_labels(tmp_path):
    path = tmp_path / "digits.idx"
    path.write_bytes(_idx(np.full((2, 28, 28), 7)))
    ds = open_dataset(path, resolution=16, channels=3)
    assert len(ds) == 2 and ds.labels is None and tuple(ds.cache.shape) == (2, 3, 16, 16)


def test_bad_idx_files_are_data_errors(tmp_path):
    short = tmp_path / "short.idx"
    short.write_bytes(_idx(np.zeros((2, 4, 4)))[:-5])
    with pytest.raises(DataError, match="short.idx.*holds 27"):
        read_idx(short)
    wrong = tmp_path / "wrong.idx"
    wrong.write_bytes(b"\x00\x00\x0d\x01" + (2).to_bytes(4, "big") + bytes(8))
    with pytest.raises(DataError, match="0x0d is not supported"):
        read_idx(wrong)
    images = _letters(tmp_path, "emnist-letters-test")
    (tmp_path / "emnist-letters-test-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.array([1, 2]))))
    with pytest.raises(DataError, match="2 labels for 6 images"):
        open_dataset(images, resolution=32, channels=1)
