"""Condition vectors from a file, one row per image: ``.npy`` [N, F], ``.csv`` (numbers, an optional header row)
or HDF5 (its ``features`` dataset). Sequence-shaped features [N, T, F] are refused, never flattened silently.
Declared sizes are checked before anything is read: a row is at most the ``label_classes`` limit wide (a condition
vector is as wide as a model's ``c_dim``) and a file holds at most ``npy_values`` values (``ganlib.limits``).
"""
from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np

from ganlib import limits
from ganlib.data.datasets import HDF5_SUFFIXES
from ganlib.errors import UserError
from ganlib.io_utils import npy_header

FEATURE_SUFFIXES = (".npy", ".csv") + HDF5_SUFFIXES


def _check_declared(shape: tuple[int, ...], path: Path, field: str) -> None:
    """Refuse a declared ``shape`` wider than ``label_classes`` per row or larger than ``npy_values`` in all."""
    shape = tuple(int(n) for n in shape)
    if len(shape) >= 2:
        limits.check("label_classes", shape[-1], "a row", file=path, field=field)
    limits.check("npy_values", int(np.prod(shape, dtype=object)), f"the file (shape {list(shape)[:6]})", file=path,
                 field=field)


def _read_csv(path: Path, field: str) -> np.ndarray:
    width = limits.get("label_classes")
    max_chars = 64 * (width + 1)  # no row of at most ``width`` numbers is longer
    rows, values, header_seen = [], 0, False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number in itertools.count(1):
            line = fh.readline(max_chars + 1)
            if not line:
                break
            if len(line) > max_chars:
                raise UserError(limits.exceeded("label_classes", width + 1, f"a row (over {max_chars:,} characters)"),
                                file=path, line=number, field=field)
            if not line.strip():
                continue
            first, header_seen = not header_seen and not rows, True
            cells = [c.strip() for c in line.split(",")]
            limits.check("label_classes", len(cells), "a row", file=path, line=number, field=field)
            try:
                rows.append([float(c) for c in cells])
            except ValueError:
                if first:
                    continue  # a header row
                raise UserError(f"a cell is not a number: {line.strip()[:60]!r}", file=path, line=number,
                                field=field) from None
            values += len(cells)
            limits.check("npy_values", values, f"the rows up to line {number}", file=path, line=number, field=field)
    if rows and len({len(r) for r in rows}) > 1:
        raise UserError("rows have different numbers of values", file=path, field=field)
    return np.array(rows, dtype=np.float64)


def read_features(path: str | Path, dim: int | None = None, field: str = "--features") -> np.ndarray:
    """Return float64 features [N, F] (N >= 1) from ``path`` (.npy, .csv, or an HDF5 file's ``features``); with
    ``dim``, F must equal it. UserError naming the file and ``field`` for a missing or unreadable file, another
    suffix, a sequence shape [N, T, F] (which needs a sequence encoder), or a wrong width."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise UserError(f"features come from {', '.join(FEATURE_SUFFIXES)} files, not {path.name!r}",
                        file=path, field=field)
    if not path.is_file():
        raise UserError("no such features file", file=path, field=field)
    try:
        if suffix == ".npy":
            with open(path, "rb") as fh:
                _check_declared(npy_header(fh)[0], path, field)
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            arr = _read_csv(path, field)
        else:
            with h5py.File(path, "r") as h5:
                if "features" not in h5:
                    raise UserError(f"no 'features' dataset; it has {', '.join(h5.keys()) or 'none'}",
                                    file=path, field=field)
                _check_declared(h5["features"].shape or (), path, field)
                arr = np.asarray(h5["features"][()])
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the features ({exc})", file=path, field=field) from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim == 3:
        raise UserError(f"sequence features {list(arr.shape)} ([N, T, F]) need a sequence encoder; give one "
                        "vector per image [N, F]", file=path, field=field)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise UserError(f"features must be [N, F] with N >= 1, got {list(arr.shape)}", file=path, field=field)
    if dim is not None and arr.shape[1] != dim:
        raise UserError(f"rows have {arr.shape[1]} values, the model expects {dim}", file=path, field=field)
    if not np.isfinite(arr).all():
        raise UserError("features hold NaN or infinite values", file=path, field=field)
    return arr
