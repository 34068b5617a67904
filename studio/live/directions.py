"""User direction files for the live player: ``--directions NAME=FILE.npy`` (or a mapping file's ``directions:``
table) names a vector in w, steered with ``/studio/direction/NAME f``.

A file holds one direction [w_dim] (addressed as NAME) or k of them [k, w_dim] (NAME0 .. NAME{k-1}). Each is scaled
to unit length times the model's slider step (``studio.directions.model_directions``), so 1 is one slider step, as
for the SeFa directions ``sefa0``..``sefa7`` and audio ``react`` direction files.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ganlib.errors import UserError
from studio.directions import model_directions
from studio.errors import TimelineError
from studio.latents import read_latent

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def parse_direction_specs(specs, field: str = "--directions") -> dict[str, str]:
    """Return {name: path} for ``NAME=FILE.npy`` strings; UserError naming ``field`` for a malformed one or a name
    that is a SeFa name (``sefa0``...) or repeated."""
    out: dict[str, str] = {}
    for spec in specs or ():
        name, sep, path = str(spec).partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not path or not NAME.fullmatch(name):
            raise UserError(f"give NAME=FILE.npy (a name of letters, digits, '_', '.', '-'), got {spec!r}",
                            field=field)
        if re.fullmatch(r"sefa\d+", name):
            raise UserError(f"'{name}' is a SeFa direction's name; call the file something else", field=field)
        if name in out:
            raise UserError(f"direction '{name}' is given twice", field=field)
        out[name] = path
    return out


def load_user_directions(G, files: dict[str, str], field: str = "--directions") -> dict[str, np.ndarray]:
    """Return {address name: direction [w_dim] float64, one slider step long} for ``files`` ({name: .npy path}) and
    model ``G`` (a w space needed). A [k, w_dim] file gives NAME0..NAME{k-1}. UserError naming ``field`` and the
    file for a missing or unreadable file, a wrong shape or an all-zero vector."""
    if not files:
        return {}
    if int(getattr(G, "num_ws", 0)) <= 0:
        raise UserError("direction files move w: this model has no w space", field=field)
    step = model_directions(G).step
    out: dict[str, np.ndarray] = {}
    for name, path in files.items():
        try:
            arr, _ = read_latent(path, field=field)
        except TimelineError as exc:
            raise UserError(exc.message, file=str(path), field=field) from None
        w_dim = int(G.w_dim)
        if arr.ndim == 1 and arr.shape[0] == w_dim:
            rows = {name: arr}
        elif arr.ndim == 2 and arr.shape[1] == w_dim and arr.shape[0] >= 1:
            rows = {f"{name}{i}": row for i, row in enumerate(arr)}
        else:
            raise UserError(f"{Path(path).name} has shape {list(arr.shape)}; a direction file for this model is "
                            f"[{w_dim}] or [k, {w_dim}]", file=str(path), field=field)
        for key, row in rows.items():
            norm = float(np.linalg.norm(row))
            if norm == 0:
                raise UserError(f"direction '{key}' in {Path(path).name} is all zeros", file=str(path), field=field)
            out[key] = np.asarray(row, dtype=np.float64) / norm * step
    return out


__all__ = ["parse_direction_specs", "load_user_directions"]
