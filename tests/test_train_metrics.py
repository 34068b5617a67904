"""Metrics during training for every KIND with a generator: ``metrics_every: N`` runs the metrics hook at exactly the
multiples of N (not only at evaluations), writes them to metrics.csv, and the loss plot gains a metrics panel; with
no hook given, FID against the training data (needs the offline Inception network; skipped without it)."""
from __future__ import annotations

import csv

import pytest
from PIL import Image

from ganlib.errors import UserError
from ganlib.train.run import train
from ganlib.train.samples import plot_losses
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _metric_rows(d):
    with open(d / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("kind,data", [("dcgan", "folder"), ("autoencoder", "zip"), ("stylegan2", "folder")])
def test_metrics_every_runs_the_hook_at_exactly_those_steps(kind, data, train_data, tmp_path):
    calls = []

    def hook(step, G, device):
        calls.append((step, G.training))
        return {"score": step * 0.25}

    res = train(kind, train_data[data], tmp_path / "run", overrides=tiny(kind, metrics_every=2, eval_every=3),
                max_steps=5, progress=False, metrics_hook=hook)
    assert calls == [(2, False), (4, False)]  # not at the evaluations (3, end) and not at step 5
    rows = _metric_rows(tmp_path / "run")
    assert [(int(r["step"]), r["score"]) for r in rows if r["score"]] == [(2, "0.5"), (4, "1.0")]
    assert len({r["step"] for r in rows}) == len(rows)  # one row per step
    assert res.final_metrics["score"] == 1.0


def test_metrics_panel_in_the_loss_plot(tmp_path):
    rows = [{"step": s, "loss": 1.0 / s} for s in range(1, 11)]
    plain = plot_losses(rows, ["loss"], tmp_path / "a.png")
    with_metrics = plot_losses(rows, ["loss"], tmp_path / "b.png",
                               metrics=[{"step": 5, "epoch": 0, "fid": 80.0}, {"step": 10, "epoch": 1, "fid": 60.0}])
    with Image.open(plain) as a, Image.open(with_metrics) as b:
        assert b.height > a.height * 1.5 and b.width == a.width


def test_fid_during_training_without_a_hook(train_data, tmp_path):
    from ganlib.metrics.inception import resolve_inception_path
    try:
        resolve_inception_path()
    except UserError as exc:
        pytest.skip(f"no offline Inception network: {exc}")
    train("dcgan", train_data["folder"], tmp_path / "fid", overrides=tiny("dcgan", metrics_every=2, metrics_num=4),
          max_steps=4, progress=False)
    rows = [r for r in _metric_rows(tmp_path / "fid") if r.get("fid")]
    assert [int(r["step"]) for r in rows] == [2, 4] and all(float(r["fid"]) > 0 for r in rows)
