"""``studio random --size N --format png|jpg``: resized once, in the batch path, and written as PNG or JPEG."""
from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from tests.conftest import run_cli


def test_size_and_jpg_in_a_folder_and_a_zip(tiny_models, tmp_path):
    plain, big = tmp_path / "plain", tmp_path / "big"
    assert run_cli("random", "--model", "builtin:tiny", "--seeds", "0-2", "--out", str(plain), "--quiet")[0] == 0
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "0-2", "--out", str(big), "--size", "64",
                           "--format", "jpg", "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in big.iterdir()) == ["seed0000.jpg", "seed0001.jpg", "seed0002.jpg"]
    with Image.open(big / "seed0001.jpg") as im, Image.open(plain / "seed0001.png") as ref:
        assert im.format == "JPEG" and im.size == (64, 64) and ref.size == (32, 32)
        # the same picture, twice the size: halving it again comes back close to the 32 px original
        small = np.asarray(im.convert("RGB").resize((32, 32), Image.BILINEAR), dtype=np.float64)
        assert np.abs(small - np.asarray(ref.convert("RGB"), dtype=np.float64)).mean() < 20
    z = tmp_path / "b.zip"
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "3", "--out", str(z), "--size", "16",
                           "--quiet")
    assert code == 0, err
    with zipfile.ZipFile(z) as zf:
        assert zf.namelist() == ["seed0003.png"]
        assert Image.open(io.BytesIO(zf.read("seed0003.png"))).size == (16, 16)


def test_bad_size_or_format_exit_2(tiny_models, tmp_path):
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "0", "--out", str(tmp_path / "o"),
                           "--format", "gif")
    assert code == 2 and "--format" in err
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "0", "--out", str(tmp_path / "o"),
                           "--size", "0")
    assert code == 2 and "--size" in err
    assert not (tmp_path / "o").exists()
