"""Experiment grid files: training settings × repeated seeds (the schema, reading the file, grid expansion).

A grid file (YAML, read and validated by the one schema layer, ``ganlib.schema``; unknown fields are errors
with a "did you mean" suggestion)::

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

Every grid cell's training settings are checked against the KIND's config schema (``ganlib.train.config``) when the
file is read, so a misspelt setting fails before any run starts. ``ganlib.train.experiments`` runs the grid.
"""
from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ganlib.errors import ConfigError
from ganlib.schema import did_you_mean, fail, line_of, load_yaml, path_str, read_yaml_file, validate
from ganlib.train.config import KINDS, load_config

METRIC_NAMES = ("fid", "kid", "mifid")
RECOMMENDED_REPEATS = 5


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
        if v not in KINDS:
            raise ValueError(f"unknown kind {v!r}; choose from {', '.join(KINDS)}{did_you_mean(v, KINDS)}")
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
                raise ValueError(f"unknown metric {m!r}; choose from {', '.join(METRIC_NAMES)}"
                                 f"{did_you_mean(m, METRIC_NAMES)}")
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
                raise fail("'seed' is set by 'repeats' (seeds 0..repeats-1); remove it", where, "seed")
        if self.compare is not None and self.compare not in self.grid:
            raise fail(f"{self.compare!r} is not a grid key; grid keys: {', '.join(self.grid) or 'none'}"
                       f"{did_you_mean(self.compare, self.grid)}", "compare")
        return self


def _build(raw: Any, lines: dict[str, int], file: str | Path | None, base_dir: str | Path | None
           ) -> ExperimentSpec:
    """Validate loaded YAML into an ExperimentSpec, resolve its paths and check its training settings."""
    if not isinstance(raw, dict):
        raise ConfigError("an experiment file must be a mapping with at least 'kind' and 'data'", file=file)
    lines = {k: v for k, v in lines.items() if k}  # a missing top-level field has no line
    source = str(file) if file is not None else None
    spec = validate(ExperimentSpec, raw, source=source, lines=lines, error=ConfigError)
    if base_dir is not None:
        spec = spec.model_copy(update=_resolve_paths(spec, Path(base_dir)))
    check_overrides(spec, file=file, lines=lines)
    return spec


def parse_experiment(text: str, *, file: str | Path | None = None, base_dir: str | Path | None = None
                     ) -> ExperimentSpec:
    """Parse and validate grid YAML ``text``; relative paths resolve against ``base_dir`` (if given).

    Returns an ``ExperimentSpec``. Raises ``ConfigError`` naming the file, line and field, with a suggestion for
    misspelt field names, kinds and metrics.
    """
    raw, lines = load_yaml(text, str(file) if file is not None else "<string>", ConfigError, "experiment file")
    return _build(raw, lines, file, base_dir)


def check_overrides(spec: ExperimentSpec, *, file: str | Path | None = None, lines: dict | None = None) -> None:
    """Validate ``base`` + every grid combination (+ ``seed``) against the training config schema of ``kind``
    (``ganlib.train.config.load_config``), so a misspelt setting fails before any run starts.

    Raises ``ConfigError`` naming ``base.KEY`` or ``grid.KEY`` (with its line when known). Every KIND (stylegan2
    included) has a schema there.
    """
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
            line = line_of(lines or {}, path_str((where, key))) if key else None
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
    data, lines = read_yaml_file(path, ConfigError, "experiment file")
    return _build(data, lines, path, path.parent)



@dataclass(frozen=True)
class Cell:
    """One configuration of the grid: its ``settings`` (grid key → value), a readable ``label`` and a ``dirname``."""

    index: int
    settings: dict
    label: str
    dirname: str


def fmt_value(v: Any) -> str:
    """A grid value as text for labels, folder names and CSV cells (floats exactly, lists/dicts as JSON)."""
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
        label = ", ".join(f"{k}={fmt_value(v)}" for k, v in settings.items()) or "base"
        dirname = "__".join(_safe(f"{k}-{fmt_value(v)}") for k, v in settings.items()) or "base"
        cells.append(Cell(i, settings, label, dirname))
    return cells
