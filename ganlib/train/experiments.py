"""Experiments: a grid of training settings × repeated seeds, final metrics in one CSV, Mann–Whitney comparisons.

A grid file (YAML, validated here; unknown fields are errors with a "did you mean" suggestion)::

    kind: dcgan                 # a training KIND (studio train KIND)
    data: ../data/monet         # relative paths are relative to this file
    config: null                # optional training config file passed to train(config=...)
    base: {image_size: 64}      # overrides applied to every run
    grid:                       # cartesian product of these overrides, one configuration per combination
      epochs: [5, 10]
      batch_size: [16, 64]
    repeats: 5                  # seeds 0..repeats-1, passed as the override `seed`
    max_steps: 2000             # optional cap per run
    metrics: [fid, kid]         # optional: computed on the final generator against `real` (default: `data`)
    metrics_num: 500            # generated images per metric evaluation (seeds 0..metrics_num-1)
    metrics_every: null         # optional: also log metrics during training every N steps (training_hook)
    compare: batch_size         # optional: compare the values of this key within each setting of the others
    compare_metrics: null       # optional: which result columns to compare (default: `metrics`, else all)

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
import difflib
import hashlib
import itertools
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ganlib.errors import ConfigError, UserError
from ganlib.io_utils import atomic_path

KNOWN_KINDS = ("dcgan", "dcgan-mod", "wgan", "wgan-gp", "mse", "cgan", "autoencoder", "classifier", "stylegan2")
METRIC_NAMES = ("fid", "kid", "mifid")
RECOMMENDED_REPEATS = 5
ALPHA = 0.05
RUN_MARKER = "run.json"
START_MARKER = "started.json"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    hint = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def known_kinds() -> tuple[str, ...]:
    """Training kinds accepted in ``kind``: ``ganlib.train.config.KINDS`` when available, else the issue's list."""
    try:
        from ganlib.train.config import KINDS  # noqa: PLC0415
        return tuple(KINDS)
    except ImportError:
        return KNOWN_KINDS


# ------------------------------------------------------------------------------------------------------------ schema

class ExperimentSpec(BaseModel):
    """A validated grid file. ``data``/``real``/``config`` are resolved against the file's folder by ``load_experiment``."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    data: str
    config: str | None = None
    base: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    repeats: int = RECOMMENDED_REPEATS
    max_steps: int | None = None
    metrics: list[str] = []
    metrics_num: int = 500
    metrics_every: int | None = None
    real: str | None = None
    compare: str | None = None
    compare_metrics: list[str] | None = None
    device: str = "cpu"
    out: str | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        kinds = known_kinds()
        if v not in kinds:
            raise ValueError(f"unknown kind {v!r}{_did_you_mean(v, kinds)}; choose from {', '.join(kinds)}")
        return v

    @field_validator("data")
    @classmethod
    def _data(cls, v: str) -> str:
        if not str(v).strip():
            raise ValueError("must name the training data")
        return str(v)

    @field_validator("repeats")
    @classmethod
    def _repeats(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("max_steps", "metrics_every")
    @classmethod
    def _positive(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("metrics_num")
    @classmethod
    def _metrics_num(cls, v: int) -> int:
        if v < 2:
            raise ValueError("must be at least 2")
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        for m in v:
            if m not in METRIC_NAMES:
                raise ValueError(f"unknown metric {m!r}{_did_you_mean(m, METRIC_NAMES)}; "
                                 f"choose from {', '.join(METRIC_NAMES)}")
        return list(dict.fromkeys(v))

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key {key!r} has no values")
            seen = [json.dumps(x, sort_keys=True, default=str) for x in values]
            if len(set(seen)) != len(seen):
                raise ValueError(f"grid key {key!r} repeats a value")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> "ExperimentSpec":
        """Cross-field checks: ``seed`` is reserved for repeats; ``compare`` names a grid key."""
        for where, mapping in (("base", self.base), ("grid", self.grid)):
            if "seed" in mapping:
                raise _FieldError(f"{where}.seed", "'seed' is set by 'repeats' (seeds 0..repeats-1); remove it")
        if self.compare is not None and self.compare not in self.grid:
            raise _FieldError("compare", f"{self.compare!r} is not a grid key"
                              f"{_did_you_mean(self.compare, self.grid)}; grid keys: {', '.join(self.grid) or 'none'}")
        return self


class _FieldError(ValueError):
    def __init__(self, field_path: str, message: str):
        super().__init__(message)
        self.field_path = field_path
        self.message = message


# ---------------------------------------------------------------------------------------------------- YAML loading

class _Loader(yaml.SafeLoader):
    """Safe loader that also reads ``1e-4`` (no dot) as a float, which YAML 1.1 would leave a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+][0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _key_lines(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of keys / list indexes) to 1-based line numbers in YAML ``text``."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return lines

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = (*path, k.value)
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines[(*path, i)] = v.start_mark.line + 1
                walk(v, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def parse_experiment(text: str, *, file: str | Path | None = None, base_dir: str | Path | None = None
                     ) -> ExperimentSpec:
    """Parse and validate grid YAML ``text``; relative paths resolve against ``base_dir`` (if given).

    Returns an ``ExperimentSpec``. Raises ``ConfigError`` naming the file, line and field, with a suggestion for
    misspelt field names, kinds and metrics.
    """
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ConfigError("an experiment file must be a mapping with at least 'kind' and 'data'", file=file)
    lines = _key_lines(text)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        field_name = ".".join(str(p) for p in loc)
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldError):
            raise ConfigError(ctx_error.message, file=file, line=_line_for(lines, tuple(ctx_error.field_path.split(
                "."))), field=ctx_error.field_path) from None
        if err["type"] == "extra_forbidden":
            msg = f"unknown field{_did_you_mean(loc[-1], ExperimentSpec.model_fields)}; allowed: " \
                  f"{', '.join(ExperimentSpec.model_fields)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        else:
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(msg, file=file, line=_line_for(lines, loc), field=field_name or None) from None
    if base_dir is not None:
        spec = spec.model_copy(update=_resolve_paths(spec, Path(base_dir)))
    check_overrides(spec, file=file, lines=lines)
    return spec


def check_overrides(spec: ExperimentSpec, *, file: str | Path | None = None, lines: dict | None = None) -> None:
    """Validate ``base`` + every grid combination (+ ``seed``) against the training config schema of ``kind``
    (``ganlib.train.config.load_config``), so a misspelt setting fails before any run starts.

    Raises ``ConfigError`` naming ``base.KEY`` or ``grid.KEY`` (with its line when known). Kinds without a config
    schema here (stylegan2) are left to the training loop.
    """
    try:
        from ganlib.train.config import SCHEMAS, load_config  # noqa: PLC0415
    except ImportError:
        return
    if spec.kind not in SCHEMAS:
        return
    config = spec.config if spec.config and Path(spec.config).is_file() else None
    for cell in expand_grid(spec):
        overrides = {**spec.base, **cell.settings, "seed": 0}
        try:
            load_config(spec.kind, config, overrides)
        except ConfigError as exc:
            root = (exc.field or "").split(".")[0]
            where = "grid" if root in spec.grid or any(str(k).split(".")[0] == root for k in spec.grid) else "base"
            key = next((k for k in (spec.grid if where == "grid" else spec.base) if str(k).split(".")[0] == root),
                       root)
            field_path = f"{where}.{exc.field or key}" if exc.field else where
            line = _line_for(lines or {}, (where, key)) if key else None
            raise ConfigError(exc.message, file=file, line=line, field=field_path) from None


def _resolve_paths(spec: ExperimentSpec, base: Path) -> dict:
    """Relative ``data``/``real``/``config`` resolve against the grid file's folder when they exist there (else they
    stay as written: relative to the working folder, or a non-path spec such as ``procedural:...``); ``out`` always
    resolves against the file's folder."""
    updates = {}
    for name in ("data", "real", "config", "out"):
        value = getattr(spec, name)
        if not value or Path(value).is_absolute():
            continue
        candidate = base / value
        if name == "out" or candidate.exists():
            updates[name] = str(candidate)
    return updates


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read and validate a grid file; relative ``data``/``real``/``config``/``out`` resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read experiment file: {exc}", file=path) from None
    return parse_experiment(text, file=path, base_dir=path.parent)


# ---------------------------------------------------------------------------------------------------- grid planning

@dataclass(frozen=True)
class Cell:
    """One configuration of the grid: its ``settings`` (grid key → value), a readable ``label`` and a ``dirname``."""

    index: int
    settings: dict
    label: str
    dirname: str


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", s).strip("_") or "x"


def expand_grid(spec: ExperimentSpec) -> list[Cell]:
    """Return the cartesian product of ``spec.grid`` in file order (one ``Cell``; an empty grid gives one cell)."""
    keys = list(spec.grid)
    cells = []
    for i, combo in enumerate(itertools.product(*(spec.grid[k] for k in keys))):
        settings = dict(zip(keys, combo))
        label = ", ".join(f"{k}={_fmt(v)}" for k, v in settings.items()) or "base"
        dirname = "__".join(_safe(f"{k}-{_fmt(v)}") for k, v in settings.items()) or "base"
        cells.append(Cell(i, settings, label, dirname))
    return cells


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


# ------------------------------------------------------------------------------------------------------- statistics

def min_mannwhitney_p(n1: int, n2: int) -> float:
    """Smallest two-sided p-value an exact Mann–Whitney U test can give for samples of sizes ``n1`` and ``n2``
    (complete separation), from ``scipy.stats.mannwhitneyu``; 1.0 when a sample is empty."""
    from scipy.stats import mannwhitneyu

    if n1 < 1 or n2 < 1:
        return 1.0
    return float(mannwhitneyu(list(range(n1)), list(range(n1, n1 + n2)), alternative="two-sided",
                              method="exact").pvalue)


def repeats_warning(repeats: int, alpha: float = ALPHA) -> str | None:
    """A warning when ``repeats`` vs ``repeats`` runs are too few for a two-sided Mann–Whitney U test at ``alpha``
    (below 5 repeats), with the smallest possible p computed by scipy; ``None`` for 5 or more."""
    if repeats >= RECOMMENDED_REPEATS:
        return None
    p = min_mannwhitney_p(repeats, repeats)
    if p >= alpha:
        return (f"{repeats} vs {repeats} runs can never reach p < {alpha:g} with a two-sided Mann–Whitney U test "
                f"(the smallest possible p is {p:.3g}); use {RECOMMENDED_REPEATS} or more")
    return (f"{repeats} vs {repeats} runs reach p < {alpha:g} with a two-sided Mann–Whitney U test only when every "
            f"run of one configuration beats every run of the other (the smallest possible p is {p:.3g}); "
            f"use {RECOMMENDED_REPEATS} or more")


def holm_adjust(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as the input; NaN stays NaN)."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def _numeric(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f


def compared_metrics(spec: ExperimentSpec, rows: list[dict], metric_columns: list[str]) -> list[str]:
    """Metric columns to compare: ``compare_metrics``, else the requested ``metrics``, else every metric column."""
    if spec.compare_metrics:
        return [m for m in spec.compare_metrics if m in metric_columns]
    if spec.metrics:
        return [m for m in spec.metrics if m in metric_columns]
    return list(metric_columns)


def compare_configurations(spec: ExperimentSpec, rows: list[dict], metrics: list[str]) -> list[dict]:
    """Pairwise two-sided Mann–Whitney U tests between configurations, per metric.

    With ``spec.compare = K`` only configurations that differ in ``K`` alone are paired (the other grid keys are
    held fixed and named in ``group``); otherwise every pair of configurations is compared. Returns row dicts with
    metric, group, a, b, n_a, n_b, median_a, median_b, mean_a, mean_b, U, p_value, p_holm, min_possible_p,
    significant (Holm-adjusted p < 0.05).
    """
    from scipy.stats import mannwhitneyu

    cells = expand_grid(spec)
    pairs: list[tuple[Cell, Cell, str]] = []
    for a, b in itertools.combinations(cells, 2):
        if spec.compare is not None:
            others_a = {k: v for k, v in a.settings.items() if k != spec.compare}
            others_b = {k: v for k, v in b.settings.items() if k != spec.compare}
            if others_a != others_b:
                continue
            group = ", ".join(f"{k}={_fmt(v)}" for k, v in others_a.items())
        else:
            group = ""
        pairs.append((a, b, group))
    out: list[dict] = []
    for metric in metrics:
        block = []
        for a, b, group in pairs:
            xa = [v for r in rows if r["config"] == a.label and (v := _numeric(r.get(metric))) is not None
                  and not math.isnan(v)]
            xb = [v for r in rows if r["config"] == b.label and (v := _numeric(r.get(metric))) is not None
                  and not math.isnan(v)]
            rec = {"metric": metric, "group": group, "a": a.label, "b": b.label, "n_a": len(xa), "n_b": len(xb),
                   "median_a": _stat(xa, "median"), "median_b": _stat(xb, "median"),
                   "mean_a": _stat(xa, "mean"), "mean_b": _stat(xb, "mean"), "U": float("nan"),
                   "p_value": float("nan"), "min_possible_p": min_mannwhitney_p(len(xa), len(xb))}
            if xa and xb:
                res = mannwhitneyu(xa, xb, alternative="two-sided")
                rec["U"] = float(res.statistic)
                rec["p_value"] = 1.0 if math.isnan(res.pvalue) else float(res.pvalue)
            block.append(rec)
        for rec, adj in zip(block, holm_adjust([r["p_value"] for r in block])):
            rec["p_holm"] = adj
            rec["significant"] = bool(not math.isnan(adj) and adj < ALPHA)
        out.extend(block)
    return out


def _stat(values: list[float], what: str) -> float:
    import numpy as np

    if not values:
        return float("nan")
    a = np.asarray(values, float)
    return float({"median": np.median, "mean": np.mean, "std": np.std, "min": np.min, "max": np.max}[what](a))


def summarize(spec: ExperimentSpec, rows: list[dict], metrics: list[str]) -> list[dict]:
    """Per configuration and metric: n, median, mean, std (population), min, max of the runs' values."""
    out = []
    for cell in expand_grid(spec):
        for metric in metrics:
            vals = [v for r in rows if r["config"] == cell.label and (v := _numeric(r.get(metric))) is not None]
            out.append({"config": cell.label, **{k: _fmt(v) for k, v in cell.settings.items()}, "metric": metric,
                        "n": len(vals), **{s: _stat(vals, s) for s in ("median", "mean", "std", "min", "max")}})
    return out


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
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    cells = expand_grid(spec)
    labels = [c.label for c in cells]
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.0, 0.9 * len(labels) + 2) * len(metrics), 4.6),
                             squeeze=False)
    rng = np.random.RandomState(0)
    for ax, metric in zip(axes[0], metrics):
        data = [[v for r in rows if r["config"] == lab and (v := _numeric(r.get(metric))) is not None
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
    plt.close(fig)
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
    from ganlib.checkpoints import load_generator
    from ganlib.metrics import compute_metrics, features_from_generator, features_from_source, load_inception

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
                     **{k: _fmt(v) for k, v in run.cell.settings.items()}, "seed": run.seed,
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
    """Return the shared training entry point ``ganlib.train.run.train`` (imported on first use)."""
    from ganlib.train.run import train  # noqa: PLC0415

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
        from ganlib.metrics.inception import resolve_inception_path
        from ganlib.metrics.stats import source_kind

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
        from ganlib.metrics import training_hook

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
        metrics = {k: f for k, v in dict(res.final_metrics or {}).items() if (f := _numeric(v)) is not None}
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
