"""Statistics of an experiment: per-configuration summaries and pairwise two-sided Mann–Whitney U tests with
Holm-adjusted p-values (``scipy.stats.mannwhitneyu``), and the warning when repeats are too few to reach p < 0.05.

Public API::

    min_mannwhitney_p(n1, n2) -> float
    repeats_warning(repeats, alpha=0.05) -> str | None
    holm_adjust(pvalues) -> list[float]
    compared_metrics(spec, rows, metric_columns) -> list[str]
    compare_configurations(spec, rows, metrics) -> list[dict]
    summarize(spec, rows, metrics) -> list[dict]
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from ganlib.train.experiment_spec import RECOMMENDED_REPEATS, Cell, ExperimentSpec, expand_grid, fmt_value

ALPHA = 0.05


def min_mannwhitney_p(n1: int, n2: int) -> float:
    """Smallest two-sided p-value an exact Mann–Whitney U test can give for samples of sizes ``n1`` and ``n2``
    (complete separation), from ``scipy.stats.mannwhitneyu``; 1.0 when a sample is empty."""
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


def numeric(v: Any) -> float | None:
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
    cells = expand_grid(spec)
    pairs: list[tuple[Cell, Cell, str]] = []
    for a, b in itertools.combinations(cells, 2):
        if spec.compare is not None:
            others_a = {k: v for k, v in a.settings.items() if k != spec.compare}
            others_b = {k: v for k, v in b.settings.items() if k != spec.compare}
            if others_a != others_b:
                continue
            group = ", ".join(f"{k}={fmt_value(v)}" for k, v in others_a.items())
        else:
            group = ""
        pairs.append((a, b, group))
    out: list[dict] = []
    for metric in metrics:
        block = []
        for a, b, group in pairs:
            xa = [v for r in rows if r["config"] == a.label and (v := numeric(r.get(metric))) is not None
                  and not math.isnan(v)]
            xb = [v for r in rows if r["config"] == b.label and (v := numeric(r.get(metric))) is not None
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
    if not values:
        return float("nan")
    a = np.asarray(values, float)
    return float({"median": np.median, "mean": np.mean, "std": np.std, "min": np.min, "max": np.max}[what](a))


def summarize(spec: ExperimentSpec, rows: list[dict], metrics: list[str]) -> list[dict]:
    """Per configuration and metric: n, median, mean, std (population), min, max of the runs' values."""
    out = []
    for cell in expand_grid(spec):
        for metric in metrics:
            vals = [v for r in rows if r["config"] == cell.label and (v := numeric(r.get(metric))) is not None]
            out.append({"config": cell.label, **{k: fmt_value(v) for k, v in cell.settings.items()}, "metric": metric,
                        "n": len(vals), **{s: _stat(vals, s) for s in ("median", "mean", "std", "min", "max")}})
    return out
