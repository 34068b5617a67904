"""``studio spread``: pairwise euclidean distances of generated images per class (a tiny 5-class model)."""
from __future__ import annotations

import csv

import numpy as np
from PIL import Image

from ganlib.synth import one_hot, seed_batch
from studio.spread_stats import pairwise_distances
from tests.conftest import run_cli
from tests.letters_model import CLASSES, save_letters_models


def test_pairwise_distances_match_a_direct_loop():
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, size=(5, 4, 4, 3)).astype(np.uint8)
    images[4] = images[0]
    d = pairwise_distances(images)
    x = images.reshape(5, -1) / 255.0
    want = [np.linalg.norm(x[i] - x[j]) for i in range(5) for j in range(i + 1, 5)]
    assert np.allclose(d, want, atol=1e-9)
    assert d[3] == 0.0  # pair (0, 4): identical images


def test_cli_writes_a_box_plot_and_a_csv_per_class(tmp_path):
    named, _, G = save_letters_models(tmp_path)
    out = tmp_path / "spread.png"
    code, stdout, err = run_cli("spread", "--model", str(named), "--num", "6", "--out", str(out), "--quiet",
                                "--device", "cpu", "--batch", "4")
    assert code == 0, err
    with Image.open(out) as im:
        assert im.format == "PNG"
    with open(tmp_path / "spread.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == CLASSES and all(r["pairs"] == "15" for r in rows)
    want = pairwise_distances(seed_batch(G, range(6), conds=one_hot([2], 5)[0])).mean()
    assert np.isclose(float(rows[2]["mean"]), want)


def test_bad_out_is_exit_2(tmp_path):
    named, _, _ = save_letters_models(tmp_path)
    code, _, err = run_cli("spread", "--model", str(named), "--out", str(tmp_path / "s.jpg"))
    assert code == 2 and "'--out'" in err
