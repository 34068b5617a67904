"""CSV logs of a training run: one row per logged step (losses) and per evaluation (metrics).

Rows are appended as training goes; on resume the file is cut back to the rows at or before the checkpoint step
so a crash between checkpoints never leaves duplicated or orphaned rows. Floats are written with ``repr`` so the
same run gives byte-identical files.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from ganlib.io_utils import atomic_path


class CSVLog:
    """An append-only CSV file with a ``step`` column first.

    Args: ``path``; ``columns`` (without "step"; may be None to take them from the first row written, or from the
    existing header on resume); ``resume_step`` (keep existing rows with step <= it; None starts a new file).
    ``rows`` holds every row (as dicts of floats) for plots and summaries.
    """

    def __init__(self, path: str | Path, columns: list[str] | None = None, resume_step: int | None = None):
        self.path = Path(path)
        self.columns = list(columns) if columns is not None else None
        self.rows: list[dict[str, float]] = []
        self._fh = None
        if resume_step is not None and self.path.exists():
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                header = [c for c in (reader.fieldnames or []) if c != "step"]
                for row in reader:
                    try:
                        if int(row["step"]) > resume_step:
                            break
                        self.rows.append({k: _num(v) for k, v in row.items()})
                    except (KeyError, TypeError, ValueError):
                        break  # a torn last line
            if header:
                self.columns = (self.columns or []) + [c for c in header if c not in (self.columns or [])]
            self._rewrite()
        elif self.path.exists():
            self.path.unlink()

    def _rewrite(self) -> None:
        with atomic_path(self.path) as tmp:
            with open(tmp, "w", newline="") as f:
                if self.columns is not None:
                    w = csv.writer(f)
                    w.writerow(["step"] + self.columns)
                    for r in self.rows:
                        w.writerow([_fmt(r.get("step"))] + [_fmt(r.get(c)) for c in self.columns])

    def append(self, step: int, values: dict[str, float]) -> None:
        """Append one row for ``step``. Keys not seen before add columns (the file is rewritten with the wider
        header; earlier rows get empty cells); missing keys give empty cells."""
        if self.columns is None:
            self.columns = list(values)
        new = [k for k in values if k not in self.columns]
        if new:
            self.columns += new
            self.close()
            self._rewrite()
        row = {"step": step, **{c: values.get(c) for c in self.columns}}
        self.rows.append(row)
        if self._fh is None:
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._fh = open(self.path, "a", newline="")
            self._writer = csv.writer(self._fh)
            if new:
                self._writer.writerow(["step"] + self.columns)
        self._writer.writerow([str(step)] + [_fmt(row[c]) for c in self.columns])

    def flush(self) -> None:
        """Push written rows to disk."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush and close the file."""
        if self._fh is not None:
            self._fh.flush()
            self._fh.close()
            self._fh = None


class MemoryLog:
    """A CSVLog that only keeps its rows in memory (the ranks other than 0 of a data-parallel run write nothing)."""

    def __init__(self, path: str | Path, columns: list[str] | None = None, resume_step: int | None = None):
        self.path, self.columns, self.rows = Path(path), columns, []

    def append(self, step: int, values: dict[str, float]) -> None:
        """Keep one row for ``step``."""
        self.rows.append({"step": step, **values})

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to close."""


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _num(v: str | None):
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        return float(v)


def read_csv(path: str | Path) -> list[dict[str, float]]:
    """Return the rows of a CSV log as dicts of numbers (empty cells → None)."""
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]
