"""Experiments: run a grid of training settings × repeated seeds, final metrics in one CSV, Mann–Whitney comparisons.

The grid file is described in ``ganlib.train.experiment_spec`` (``load_experiment``); the statistics live in
``ganlib.train.experiment_stats``.

``run_experiment`` trains each (configuration, seed) with ``ganlib.train.run.train`` (or an injected function of the
same signature) into ``OUT/runs/<configuration>__seed-<k>/``, and marks a run finished by writing ``run.json`` there
(atomically) with its settings, steps and final metrics. Re-running skips finished runs and resumes interrupted
ones (``resume=True``), so an experiment can be stopped and continued. Outputs in ``OUT``:

* ``results.csv`` — one row per run: run folder, configuration, grid settings, seed, steps_done, metrics,
  checkpoint;
* ``summary.csv`` — per configuration and metric: n, median, mean, std, min, max;
* ``comparisons.csv`` — pairwise two-sided Mann–Whitney U tests (``scipy.stats.mannwhitneyu``) between
  configurations for each metric, with the Holm-adjusted p-value across the comparisons of that metric and the
  smallest p-value the sample sizes allow;
* ``comparison.png`` — per metric, a box plot with the individual runs as points, one box per configuration.

With fewer than 5 repeats a warning explains (from scipy's exact null distribution) that n vs n runs cannot, or
can barely, reach p < 0.05: 3 vs 3 gives at best p = 0.1.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure

from ganlib.checkpoints import load_generator
from ganlib.errors import ConfigError, UserError
from ganlib.io_utils import atomic_path
from ganlib.metrics import (compute_metrics, features_from_generator, features_from_source, load_inception,
                            training_hook)
from ganlib.metrics.inception import resolve_inception_path
from ganlib.metrics.stats import source_kind
from ganlib.train.experiment_spec import (METRIC_NAMES, RECOMMENDED_REPEATS, Cell, ExperimentSpec, check_overrides,
                                          expand_grid, fmt_value, load_experiment, parse_experiment)
from ganlib.train.experiment_stats import (ALPHA, compare_configurations, compared_metrics, holm_adjust,
                                           min_mannwhitney_p, numeric, repeats_warning, summarize)
from ganlib.train.run import train

RUN_MARKER = "run.json"
START_MARKER = "started.json"

__all__ = ["ExperimentSpec", "Cell", "PlannedRun", "ExperimentResult", "load_experiment", "parse_experiment",
           "check_overrides", "expand_grid", "plan_runs", "run_experiment", "run_fingerprint", "collect_rows",
           "write_reports", "write_csv", "plot_comparison", "min_mannwhitney_p", "repeats_warning", "holm_adjust",
           "compare_configurations", "compared_metrics", "summarize", "METRIC_NAMES", "RECOMMENDED_REPEATS",
           "ALPHA", "RUN_MARKER", "START_MARKER"]


# ---------------------------------------------------------------------------------------------------- run planning
@dataclass
class PlannedRun:
    """One training run: ``cell`` × ``seed`` in ``run_dir``, with ``overrides`` and ``status`` done|partial|new."""

    cell: Cell
    seed: int
    run_dir: Path
    overrides: dict
    fingerprint: str
    status: str = "new"


def run_fingerprint(spec: ExperimentSpec, overrides: dict) -> str:
    """Hash of everything that determines a run's outcome (kind, data, config, overrides, steps, metrics)."""
    payload = {"kind": spec.kind, "data": spec.data, "config": spec.config, "overrides": overrides,
               "max_steps": spec.max_steps, "metrics": spec.metrics, "metrics_num": spec.metrics_num,
               "real": spec.real}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plan_runs(spec: ExperimentSpec, out_dir: str | Path) -> list[PlannedRun]:
    """List every (configuration, seed) run with its folder and status; raises ``ConfigError`` when a folder holds
    a run made with different settings (edit the grid into a new ``--out`` or delete that folder)."""
    out_dir = Path(out_dir)
    runs = []
    for cell in expand_grid(spec):
        for seed in range(spec.repeats):
            overrides = {**spec.base, **cell.settings, "seed": seed}
            run_dir = out_dir / "runs" / f"{cell.dirname}__seed-{seed}"
            fp = run_fingerprint(spec, overrides)
            status = "new"
            done = _read_json(run_dir / RUN_MARKER)
            started = _read_json(run_dir / START_MARKER)
            for marker in (done, started):
                if marker is not None and marker.get("fingerprint") != fp:
                    raise ConfigError(f"{run_dir} holds a run with different settings; use another --out or "
                                      f"delete that folder", file=run_dir / RUN_MARKER)
            if done is not None:
                status = "done"
            elif started is not None:
                status = "partial"
            runs.append(PlannedRun(cell, seed, run_dir, overrides, fp, status))
    return runs


# ---------------------------------------------------------------------------------------------------------- outputs

def write_csv(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """Write ``rows`` (dicts) to ``path`` atomically with ``columns`` (default: keys in first-seen order)."""
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return Path(path)


def plot_comparison(spec: ExperimentSpec, rows: list[dict], metrics: list[str], path: str | Path) -> Path | None:
    """Box plot with jittered points per configuration, one panel per metric, saved as PNG (matplotlib Agg).

    Returns the path, or ``None`` when there is nothing to plot.
    """
    if not metrics or not rows:
        return None
    cells = expand_grid(spec)
    labels = [c.label for c in cells]
    fig = Figure(figsize=(max(4.0, 0.9 * len(labels) + 2) * len(metrics), 4.6))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    rng = np.random.RandomState(0)
    for ax, metric in zip(axes[0], metrics):
        data = [[v for r in rows if r["config"] == lab and (v := numeric(r.get(metric))) is not None
                 and not math.isnan(v)] for lab in labels]
        positions = list(range(1, len(labels) + 1))
        non_empty = [(p, d) for p, d in zip(positions, data) if d]
        if non_empty:
            ax.boxplot([d for _, d in non_empty], positions=[p for p, _ in non_empty], widths=0.55,
                       showfliers=False, medianprops={"color": "tab:orange"})
        for p, d in zip(positions, data):
            ax.scatter(p + rng.uniform(-0.12, 0.12, len(d)), d, s=18, color="tab:blue", alpha=0.8, zorder=3)
        ax.set_xticks(positions)
        ax.set_xticklabels([lab.replace(", ", "\n") for lab in labels], fontsize=8)
        ax.set_title(f"{metric}  (n = {spec.repeats} per configuration)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{spec.kind}: {len(labels)} configurations × {spec.repeats} seeds", fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return Path(path)


# ----------------------------------------------------------------------------------------------------------- runner

@dataclass
class ExperimentResult:
    """What ``run_experiment`` did: the plan, the rows of ``results.csv``, comparisons, warnings and output paths."""

    out_dir: Path
    runs: list[PlannedRun]
    rows: list[dict] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trained: int = 0
    skipped: int = 0
    results_csv: Path | None = None
    comparisons_csv: Path | None = None
    summary_csv: Path | None = None
    plot: Path | None = None


def _default_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _final_metric_values(spec: ExperimentSpec, checkpoint: Path | None, out_dir: Path, device: str) -> dict:
    """FID/KID/MiFID of the saved generator (seeds 0..metrics_num-1) against the real images."""
    if checkpoint is None:
        raise UserError("the training run returned no checkpoint, so its metrics cannot be computed", field="metrics")
    extractor = load_inception(device=device)
    real = features_from_source(spec.real or spec.data, extractor, cache=out_dir / "real_features.npz")
    G = load_generator(checkpoint, device=device).G
    fake = features_from_generator(G, spec.metrics_num, extractor, device=device)
    return compute_metrics(real.features, fake.features, spec.metrics)


def collect_rows(spec: ExperimentSpec, runs: list[PlannedRun]) -> tuple[list[dict], list[str]]:
    """Read the ``run.json`` of every finished run; returns ``(rows, metric_columns)`` for ``results.csv``."""
    rows, metric_cols = [], []
    for run in runs:
        done = _read_json(run.run_dir / RUN_MARKER)
        if done is None:
            continue
        metrics = done.get("metrics", {})
        for k in metrics:
            if k not in metric_cols:
                metric_cols.append(k)
        rows.append({"run": run.run_dir.name, "config": run.cell.label,
                     **{k: fmt_value(v) for k, v in run.cell.settings.items()}, "seed": run.seed,
                     "steps_done": done.get("steps"), **metrics, "checkpoint": done.get("checkpoint", "")})
    first = [m for m in spec.metrics + ["kid_std", "mifid_distance"] if m in metric_cols]
    return rows, first + [m for m in metric_cols if m not in first]


def write_reports(spec: ExperimentSpec, out_dir: Path, runs: list[PlannedRun], result: ExperimentResult) -> None:
    """(Re)write results.csv, summary.csv, comparisons.csv and comparison.png from the finished runs."""
    rows, metric_cols = collect_rows(spec, runs)
    result.rows = rows
    if not rows:
        return
    columns = ["run", "config", *spec.grid, "seed", "steps_done", *metric_cols, "checkpoint"]
    result.results_csv = write_csv(out_dir / "results.csv", rows, columns)
    metrics = compared_metrics(spec, rows, metric_cols)
    result.summary_csv = write_csv(out_dir / "summary.csv", summarize(spec, rows, metrics),
                                   ["config", *spec.grid, "metric", "n", "median", "mean", "std", "min", "max"])
    result.comparisons = compare_configurations(spec, rows, metrics)
    if result.comparisons:
        result.comparisons_csv = write_csv(
            out_dir / "comparisons.csv", result.comparisons,
            ["metric", "group", "a", "b", "n_a", "n_b", "median_a", "median_b", "mean_a", "mean_b", "U", "p_value",
             "p_holm", "min_possible_p", "significant"])
    result.plot = plot_comparison(spec, rows, metrics, out_dir / "comparison.png")


def default_train() -> Callable:
    """Return the shared training entry point ``ganlib.train.run.train``."""
    return train


def run_experiment(spec: ExperimentSpec, out_dir: str | Path, *, train_fn: Callable | None = None,
                   dry_run: bool = False, device: str | None = None, progress: bool = True,
                   log: Callable[[str], None] | None = None) -> ExperimentResult:
    """Run (or, with ``dry_run``, only plan) every configuration × seed of ``spec`` into ``out_dir``.

    ``train_fn`` defaults to ``ganlib.train.run.train`` (same signature). Finished runs (``run.json``) are skipped,
    interrupted ones resumed. After each run the CSVs and the plot are rewritten, so partial results are usable.
    ``log`` receives progress lines and warnings (default: stderr). Returns an ``ExperimentResult``.
    """
    log = log or _default_log
    out_dir = Path(out_dir)
    device = device or spec.device
    runs = plan_runs(spec, out_dir)
    result = ExperimentResult(out_dir=out_dir, runs=runs)
    msg = repeats_warning(spec.repeats)
    if msg and len(expand_grid(spec)) > 1:
        result.warnings.append(msg)
        log(f"warning: {msg}")
    if spec.metrics and not dry_run:
        resolve_inception_path()  # fail before training when no Inception network exists
        source_kind(spec.real or spec.data)
    todo = [r for r in runs if r.status != "done"]
    result.skipped = len(runs) - len(todo)
    n_cells = len(expand_grid(spec))
    log(f"experiment: {spec.kind}, {n_cells} configuration(s) × {spec.repeats} seed(s) = {len(runs)} run(s); "
        f"{result.skipped} already finished, {len(todo)} to run" + (" (dry run)" if dry_run else ""))
    if dry_run:
        for r in runs:
            log(f"  [{r.status:>7}] {r.cell.label}  seed={r.seed}  -> {r.run_dir}")
        return result
    if train_fn is None:
        train_fn = default_train()
    hook = None
    if spec.metrics and spec.metrics_every:
        hook = training_hook(spec.real or spec.data, num=spec.metrics_num, every=spec.metrics_every,
                             kinds=spec.metrics, cache=out_dir / "real_features.npz")
    for i, r in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {r.cell.label}  seed={r.seed}" + ("  (resuming)" if r.status == "partial" else ""))
        r.run_dir.mkdir(parents=True, exist_ok=True)
        if r.status == "new":
            _write_json(r.run_dir / START_MARKER, {"fingerprint": r.fingerprint, "overrides": r.overrides})
        res = train_fn(spec.kind, spec.data, r.run_dir, config=spec.config, overrides=dict(r.overrides),
                       max_steps=spec.max_steps, resume=r.status == "partial", device=device, progress=progress,
                       metrics_hook=hook)
        metrics = {k: f for k, v in dict(res.final_metrics or {}).items() if (f := numeric(v)) is not None}
        checkpoint = Path(res.checkpoint) if res.checkpoint else None
        if spec.metrics:
            metrics.update(_final_metric_values(spec, checkpoint, out_dir, device))
        _write_json(r.run_dir / RUN_MARKER, {"fingerprint": r.fingerprint, "settings": r.cell.settings,
                                             "seed": r.seed, "overrides": r.overrides, "steps": int(res.steps),
                                             "metrics": metrics, "checkpoint": str(checkpoint or "")})
        r.status = "done"
        result.trained += 1
        shown = ", ".join(f"{k}={metrics[k]:.4g}" for k in (spec.metrics or list(metrics)[:4]) if k in metrics)
        log(f"      done: {res.steps} steps" + (f", {shown}" if shown else ""))
        write_reports(spec, out_dir, runs, result)
    write_reports(spec, out_dir, runs, result)
    significant = [c for c in result.comparisons if c["significant"]]
    if result.results_csv:
        log(f"results: {result.results_csv}")
    if result.comparisons_csv:
        log(f"comparisons: {result.comparisons_csv} ({len(significant)} of {len(result.comparisons)} "
            f"significant at Holm-adjusted p < {ALPHA:g})")
    if result.plot:
        log(f"plot: {result.plot}")
    return result


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")
