"""Reading a training run's CSV logs (``losses.csv``, ``metrics.csv``) as numeric series for plotting (pure: no torch).

A log has a header row and one row per logged step; ``step`` is the x axis when present (else the row number), and
empty cells are missing values (NaN). Any other cell that is not a number is bad input, reported with its line.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from ganlib.errors import UserError

# Columns that index a row rather than measure something; never plotted as a series by default.
INDEX_COLUMNS = ("step", "epoch", "kimg", "images_seen")


@dataclass
class RunLog:
    """One CSV log: ``name`` (a label for legends), ``x_name`` ("step" or "row"), ``x`` (one value per row) and
    ``series`` (column name → values, NaN where a cell is empty), in the file's column order."""

    path: Path
    name: str
    x_name: str
    x: list[float]
    series: dict[str, list[float]] = field(default_factory=dict)


def _number(cell: str | None, path: Path, line: int, column: str) -> float:
    if cell is None or cell.strip() == "":
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise UserError(f"column {column!r} holds {cell.strip()!r}, not a number", file=path, line=line) from None


def run_label(path: Path) -> str:
    """Return the legend label of a log at ``path``: its run folder and file name, e.g. ``runs/monet/losses.csv``
    → ``monet/losses``."""
    return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem


def read_run_log(path: str | Path) -> RunLog:
    """Return the :class:`RunLog` of the CSV file at ``path``; UserError (naming the file and line) for a missing
    or empty file, a header without data columns, or a cell that is not a number."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such CSV file", file=path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"not a readable CSV file ({exc})", file=path) from None
    if not rows or not [c for c in rows[0] if c.strip()]:
        raise UserError("empty CSV file: expected a header row such as 'step,loss_d,loss_g'", file=path, line=1)
    header = [c.strip() for c in rows[0]]
    data_columns = [c for c in header if c and c not in INDEX_COLUMNS]
    if not data_columns:
        raise UserError(f"no columns to plot: the header has only {', '.join(header)}", file=path, line=1)
    x_name = "step" if "step" in header else "row"
    x: list[float] = []
    series: dict[str, list[float]] = {c: [] for c in data_columns}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) > len(header):
            raise UserError(f"{len(row)} cells but the header names {len(header)} columns", file=path, line=line)
        cells = dict(zip(header, row))
        x.append(_number(cells.get("step"), path, line, "step") if x_name == "step" else float(len(x)))
        for c in data_columns:
            series[c].append(_number(cells.get(c), path, line, c))
    if not x:
        raise UserError("the CSV file has a header but no rows yet", file=path)
    return RunLog(path=path, name=run_label(path), x_name=x_name, x=x, series=series)


def parse_columns(spec: str | None) -> list[str] | None:
    """Return the column names of a ``--columns a,b`` value (None for None: every column); UserError for an empty
    list."""
    if spec is None:
        return None
    names = [c.strip() for c in spec.split(",") if c.strip()]
    if not names:
        raise UserError("give one or more column names separated by commas, e.g. loss_d,loss_g", field="--columns")
    return names


def select_columns(logs: list[RunLog], wanted: list[str] | None) -> list[str]:
    """Return the columns to plot for ``logs``: ``wanted`` (each must be in at least one log) or, for None, every
    data column of the logs in first-seen order. UserError naming the column and the ones available."""
    available: list[str] = []
    for log in logs:
        available += [c for c in log.series if c not in available]
    if wanted is None:
        return available
    for c in wanted:
        if c not in available:
            raise UserError(f"no column {c!r} in {', '.join(str(l.path) for l in logs)}; "
                            f"columns: {', '.join(available)}", field="--columns")
    return list(dict.fromkeys(wanted))
