"""Condition vectors from a file, one row per image: ``.npy`` [N, F], ``.csv`` (numbers, an optional header row)
or HDF5 (its ``features`` dataset). Sequence-shaped features [N, T, F] are refused, never flattened silently.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ganlib.data.datasets import HDF5_SUFFIXES
from ganlib.errors import UserError

FEATURE_SUFFIXES = (".npy", ".csv") + HDF5_SUFFIXES


def _read_csv(path: Path, field: str) -> np.ndarray:
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    rows = []
    for number, line in enumerate(lines, start=1):
        cells = [c.strip() for c in line.split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if number == 1:
                continue  # a header row
            raise UserError(f"a cell is not a number: {line.strip()[:60]!r}", file=path, line=number,
                            field=field) from None
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
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            arr = _read_csv(path, field)
        else:
            with h5py.File(path, "r") as h5:
                if "features" not in h5:
                    raise UserError(f"no 'features' dataset; it has {', '.join(h5.keys()) or 'none'}",
                                    file=path, field=field)
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
