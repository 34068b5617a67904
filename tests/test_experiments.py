"""Experiments: grid file validation, grid expansion, the runner with an injected fake train function (CSV rows,
Mann–Whitney p-values against scipy, resumability, the repeats warning), the CLI, and one tiny real run."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu

from ganlib.checkpoints import save_generator
from ganlib.data.procedural import write_hdf5
from ganlib.errors import ConfigError
from ganlib.networks import build_generator
from ganlib.train import experiments as ex
from ganlib.train.run import train
from studio.cli import main


@dataclass
class _Result:
    out_dir: Path
    steps: int
    final_metrics: dict
    checkpoint: Path | None


class FakeTrain:
    """Records calls; the final 'score' depends on the settings and the seed; can crash on a given call."""

    def __init__(self, crash_on: int | None = None, save_generator: bool = False):
        self.calls: list[dict] = []
        self.crash_on = crash_on
        self.save_generator = save_generator

    def __call__(self, kind, data, out_dir, *, config=None, overrides=None, max_steps=None, resume=False,
                 device="cpu", progress=True, metrics_hook=None):
        self.calls.append(dict(kind=kind, data=data, out_dir=Path(out_dir), overrides=dict(overrides),
                               max_steps=max_steps, resume=resume, device=device))
        if self.crash_on is not None and len(self.calls) == self.crash_on:
            raise KeyboardInterrupt
        o = overrides
        score = 10.0 * o.get("steps", 1) + o.get("batch_size", 0) / 8 + 0.1 * o["seed"]
        ckpt = Path(out_dir) / "G.safetensors"
        if self.save_generator:
            torch.manual_seed(o["seed"])
            kwargs = dict(z_dim=8, img_resolution=16, ngf=4)
            save_generator(ckpt, build_generator("dcgan", kwargs), "dcgan", kwargs, {})
        else:
            ckpt.write_bytes(b"x")
        return _Result(Path(out_dir), max_steps or 7, {"score": score, "loss_G": 1.0 / (1 + o["seed"]),
                                                       "note": "text"}, ckpt)


def _write(tmp_path: Path, text: str, name: str = "grid.yaml") -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    p = tmp_path / name
    p.write_text(text)
    return p


GRID = """\
kind: dcgan
data: data
base: {resolution: 32, lr_g: 2e-4}
grid:
  steps: [1, 2]
  batch_size: [16, 64]
repeats: REPEATS
max_steps: 5
compare: batch_size
compare_metrics: [score]
"""


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -------------------------------------------------------------------------------------------------------- schema

def test_grid_file_parses_expands_and_resolves_paths(tmp_path):
    spec = ex.load_experiment(_write(tmp_path, GRID.replace("REPEATS", "3")))
    assert spec.data == str(tmp_path / "data")  # relative to the file
    assert spec.base["lr_g"] == pytest.approx(2e-4) and isinstance(spec.base["lr_g"], float)  # 2e-4 is a float
    cells = ex.expand_grid(spec)
    assert [c.settings for c in cells] == [{"steps": 1, "batch_size": 16}, {"steps": 1, "batch_size": 64},
                                           {"steps": 2, "batch_size": 16}, {"steps": 2, "batch_size": 64}]
    assert cells[1].label == "steps=1, batch_size=64" and cells[1].dirname == "steps-1__batch_size-64"
    runs = ex.plan_runs(spec, tmp_path / "out")
    assert len(runs) == 12 and {r.seed for r in runs} == {0, 1, 2}
    assert runs[4].overrides == {"resolution": 32, "lr_g": 2e-4, "steps": 1, "batch_size": 64, "seed": 1}


@pytest.mark.parametrize("text,field,needle,line", [
    ("kind: dcgan\ndata: d\nrepeat: 3\n", "repeat", "did you mean 'repeats'", 3),
    ("kind: dcgn\ndata: d\n", "kind", "did you mean 'dcgan'", 1),
    ("kind: dcgan\ndata: d\nmetrics: [fid, kdi]\n", "metrics", "did you mean 'kid'", 3),
    ("kind: dcgan\ndata: d\ngrid: {batch_size: [1, 2]}\ncompare: batchsize\n", "compare",
     "did you mean 'batch_size'", 4),
    ("kind: dcgan\ndata: d\nbase: {seed: 3}\n", "base.seed", "set by 'repeats'", 3),
    ("kind: dcgan\ndata: d\nrepeats: 0\n", "repeats", "at least 1", 3),
    ("kind: dcgan\ndata: d\ngrid: {lr: []}\n", "grid", "no values", 3),
    ("kind: dcgan\n", "data", "required", None),
    ("kind: dcgan\ndata: d\nrepeats: many\n", "repeats", "integer", 3),
])
def test_grid_file_errors_name_field_and_line(tmp_path, text, field, needle, line):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        ex.load_experiment(path)
    assert err.value.field == field and needle in str(err.value)
    assert err.value.line == line and str(path) in str(err.value)


@pytest.mark.parametrize("text,field,needle", [
    ("grid:\n  batchsize: [1, 2]\n", "grid.batchsize", "did you mean 'batch_size'"),
    ("base:\n  resolution: 33\n", "base.resolution", "cannot be built"),
    ("base:\n  data: {flipp: true}\n", "base.data.flipp", "did you mean 'flip'"),
])
def test_training_settings_are_checked_before_any_run(tmp_path, text, field, needle):
    path = _write(tmp_path, "kind: dcgan\ndata: d\n" + text)
    with pytest.raises(ConfigError) as err:
        ex.load_experiment(path)
    assert err.value.field == field and needle in str(err.value) and err.value.line == 4


def test_stylegan2_grids_are_checked_too(tmp_path):
    path = _write(tmp_path, "kind: stylegan2\ndata: procedural\nbase: {lr_g: 1e-3}\ngrid:\n  batch_sise: [4, 8]\n")
    with pytest.raises(ConfigError) as err:
        ex.load_experiment(path)
    assert err.value.field == "grid.batch_sise" and err.value.line == 5
    assert "did you mean 'batch_size'" in str(err.value)


def test_bad_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        ex.load_experiment(_write(tmp_path, "kind: [dcgan\n"))
    with pytest.raises(ConfigError, match="mapping"):
        ex.load_experiment(_write(tmp_path, "- 1\n"))


# ------------------------------------------------------------------------------------------------------ statistics

def test_repeats_warning_text_comes_from_scipy():
    assert ex.repeats_warning(3) == ("3 vs 3 runs can never reach p < 0.05 with a two-sided Mann–Whitney U test "
                                     "(the smallest possible p is 0.1); use 5 or more")
    assert ex.min_mannwhitney_p(3, 3) == pytest.approx(0.1)
    assert "never" in ex.repeats_warning(2) and "0.333" in ex.repeats_warning(2)
    four = ex.repeats_warning(4)
    assert "only when every run" in four and "0.0286" in four
    assert ex.repeats_warning(5) is None and ex.min_mannwhitney_p(5, 5) < 0.01


def test_holm_adjustment():
    assert ex.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = ex.holm_adjust([float("nan"), 0.2])
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.2)


# ---------------------------------------------------------------------------------------------------------- runner

def test_runner_rows_pvalues_plot_and_warning(tmp_path):
    spec = ex.load_experiment(_write(tmp_path, GRID.replace("REPEATS", "3")))
    fake, logs = FakeTrain(), []
    res = ex.run_experiment(spec, tmp_path / "out", train_fn=fake, log=logs.append)
    assert len(fake.calls) == 12 and res.trained == 12
    assert all(c["max_steps"] == 5 and c["kind"] == "dcgan" and not c["resume"] for c in fake.calls)
    assert fake.calls[0]["out_dir"] == tmp_path / "out" / "runs" / "steps-1__batch_size-16__seed-0"
    assert any("3 vs 3 runs can never reach p < 0.05" in line for line in logs) and res.warnings

    rows = _read_csv(tmp_path / "out" / "results.csv")
    assert len(rows) == 12
    assert list(rows[0])[:6] == ["run", "config", "steps", "batch_size", "seed", "steps_done"]
    assert "note" not in rows[0]  # non-numeric final metrics are dropped
    r = next(r for r in rows if r["steps"] == "2" and r["batch_size"] == "64" and r["seed"] == "1")
    assert float(r["score"]) == pytest.approx(20 + 8 + 0.1) and r["steps_done"] == "5"

    comps = _read_csv(tmp_path / "out" / "comparisons.csv")
    # compare: batch_size → 16 vs 64 within steps=1 and within steps=2, for the one compared metric
    assert [(c["group"], c["a"], c["b"]) for c in comps] == [
        ("steps=1", "steps=1, batch_size=16", "steps=1, batch_size=64"),
        ("steps=2", "steps=2, batch_size=16", "steps=2, batch_size=64")]
    a = [float(r["score"]) for r in rows if r["config"] == "steps=1, batch_size=16"]
    b = [float(r["score"]) for r in rows if r["config"] == "steps=1, batch_size=64"]
    assert float(comps[0]["p_value"]) == pytest.approx(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert float(comps[0]["p_value"]) == pytest.approx(0.1) and comps[0]["significant"] == "False"
    assert float(comps[0]["min_possible_p"]) == pytest.approx(0.1)
    summary = _read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 4 and float(summary[0]["median"]) == pytest.approx(12.1)
    png = (tmp_path / "out" / "comparison.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_all_pairs_without_compare_and_significance_with_five_repeats(tmp_path):
    text = GRID.replace("REPEATS", "5").replace("compare: batch_size\n", "").replace("steps: [1, 2]", "steps: [1]")
    spec = ex.load_experiment(_write(tmp_path, text))
    logs: list[str] = []
    res = ex.run_experiment(spec, tmp_path / "out", train_fn=FakeTrain(), log=logs.append)
    assert not res.warnings and not any("warning" in line for line in logs)
    assert len(res.comparisons) == 1
    c = res.comparisons[0]
    assert c["p_value"] == pytest.approx(2 / 252) and c["significant"] and c["group"] == ""


def test_resumable_after_interrupt_and_skips_finished_runs(tmp_path):
    spec = ex.load_experiment(_write(tmp_path, GRID.replace("REPEATS", "2")))
    out = tmp_path / "out"
    crashing = FakeTrain(crash_on=3)
    with pytest.raises(KeyboardInterrupt):
        ex.run_experiment(spec, out, train_fn=crashing, log=lambda m: None)
    assert len(_read_csv(out / "results.csv")) == 2  # partial results already written
    statuses = [r.status for r in ex.plan_runs(spec, out)]
    assert statuses[:3] == ["done", "done", "partial"] and set(statuses[3:]) == {"new"}
    again = FakeTrain()
    res = ex.run_experiment(spec, out, train_fn=again, log=lambda m: None)
    assert len(again.calls) == 6 and res.skipped == 2
    assert again.calls[0]["resume"] and not any(c["resume"] for c in again.calls[1:])
    assert len(_read_csv(out / "results.csv")) == 8
    third = FakeTrain()
    assert ex.run_experiment(spec, out, train_fn=third, log=lambda m: None).trained == 0 and not third.calls
    # changing the settings under the same output folder is refused rather than mixed
    changed = ex.load_experiment(_write(tmp_path, GRID.replace("REPEATS", "2").replace("resolution: 32", "resolution: 64")))
    with pytest.raises(ConfigError, match="different settings"):
        ex.run_experiment(changed, out, train_fn=FakeTrain(), log=lambda m: None)


def test_dry_run_trains_nothing(tmp_path):
    spec = ex.load_experiment(_write(tmp_path, GRID.replace("REPEATS", "3")))
    fake, logs = FakeTrain(), []
    res = ex.run_experiment(spec, tmp_path / "out", train_fn=fake, dry_run=True, log=logs.append)
    assert not fake.calls and len(res.runs) == 12 and not (tmp_path / "out").exists()
    assert sum("[    new]" in line for line in logs) == 12


def test_runner_computes_inception_metrics_from_checkpoints(tmp_path, monkeypatch):
    """metrics: [fid, kid] are computed from each run's checkpoint (fake TorchScript Inception, tiny DCGANs)."""
    class FakeInception(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)
            return torch.relu(torch.cat([p, -p], 1).repeat(1, 6)[:, :2048]) + 1e-3

    inc = tmp_path / "inc.pt"
    torch.jit.script(FakeInception()).save(str(inc))
    monkeypatch.setenv("STUDIO_INCEPTION", str(inc))
    with h5py.File(tmp_path / "real.h5", "w") as fh:
        fh["images"] = (np.random.RandomState(0).rand(12, 16, 16, 3) * 255).astype(np.uint8)
    text = ("kind: dcgan\ndata: real.h5\ngrid: {batch_size: [16, 64]}\nrepeats: 2\nmetrics: [fid, kid]\n"
            "metrics_num: 6\n")
    spec = ex.load_experiment(_write(tmp_path, text))
    res = ex.run_experiment(spec, tmp_path / "out", train_fn=FakeTrain(save_generator=True), log=lambda m: None)
    rows = _read_csv(tmp_path / "out" / "results.csv")
    assert list(rows[0])[5:8] == ["fid", "kid", "kid_std"]
    assert all(float(r["fid"]) > 0 for r in rows)
    assert {c["metric"] for c in res.comparisons} == {"fid", "kid"}
    assert (tmp_path / "out" / "real_features.npz").is_file()


# ------------------------------------------------------------------------------------------------------------- CLI

def test_cli_experiment(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, GRID.replace("REPEATS", "3"))
    assert main(["experiment", str(path), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "12 run(s)" in err and "3 vs 3 runs can never reach p < 0.05" in err
    monkeypatch.setattr(ex, "default_train", lambda: FakeTrain())
    assert main(["experiment", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert "comparisons:" in capsys.readouterr().err and (tmp_path / "o" / "comparisons.csv").is_file()
    bad = _write(tmp_path, "kind: dcgan\ndata: d\nrepeatz: 3\n", "bad.yaml")
    assert main(["experiment", str(bad), "--dry-run"]) == 2
    assert "did you mean 'repeats'" in capsys.readouterr().err
    assert main(["experiment", str(tmp_path / "missing.yaml")]) == 2


def test_shipped_preset_is_valid():
    preset = Path(__file__).resolve().parents[1] / "presets" / "experiments" / "dcgan_batch.yaml"
    spec = ex.load_experiment(preset)
    assert spec.kind == "dcgan" and spec.repeats >= 5 and spec.compare in spec.grid


# -------------------------------------------------------------------------------------------------- real training

def test_tiny_real_experiment(tmp_path, monkeypatch):
    """2 configurations × 2 seeds of a real 2-step DCGAN, with FID from a stand-in Inception logged by the hook."""

    class FakeInception(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1).repeat(1, 11)[:, :2048] + 2.0

    torch.jit.script(FakeInception()).save(str(tmp_path / "inc.pt"))
    monkeypatch.setenv("STUDIO_INCEPTION", str(tmp_path / "inc.pt"))
    write_hdf5(tmp_path / "data.h5", 16, size=32, seed=0)
    text = ("kind: dcgan\ndata: data.h5\nbase: {batch_size: 8, resolution: 32, ngf: 8, ndf: 8, sample_count: 4}\n"
            "grid: {lr_g: [0.0002, 0.0001]}\nrepeats: 2\nmax_steps: 2\nmetrics: [fid]\nmetrics_num: 4\n"
            "metrics_every: 1\n")
    spec = ex.load_experiment(_write(tmp_path, text))
    res = ex.run_experiment(spec, tmp_path / "out", train_fn=train, progress=False, log=lambda m: None)
    assert res.trained == 4
    rows = _read_csv(tmp_path / "out" / "results.csv")
    assert len(rows) == 4 and all(Path(r["checkpoint"]).is_file() for r in rows)
    assert all(float(r["fid"]) > 0 and r["steps_done"] == "2" for r in rows)
    logged = _read_csv(Path(rows[0]["checkpoint"]).parent / "metrics.csv")
    assert logged and "fid" in logged[-1]  # the training hook ran inside the loop
    assert [c["metric"] for c in res.comparisons] == ["fid"]
    assert (tmp_path / "out" / "comparison.png").is_file()
