"""Reading latent and feature vectors from .npy / .npz files, and checking their shapes against a model.

The I/O half of keyframe resolution (the engine itself never touches files). Every problem is a
:class:`studio.errors.TimelineError` naming the timeline file and line when given (``source``, ``line``, ``field``),
else the latent file itself. Pickled data is always refused (``allow_pickle=False``).

Accepted files:

* ``.npy`` holding one numeric array;
* ``.npz`` holding an array named ``w`` or ``z`` (the name tells the space; NVlabs projector output is
  ``w`` of shape [1, num_ws, w_dim]) or exactly one array of any name.

Shapes (see :func:`check_latent_shape`): z → ``[z_dim]``; w → ``[num_ws, w_dim]``, accepting ``[D]``, ``[1, D]``,
``[num_ws, D]``, ``[1, num_ws, D]`` (and ``[1, 1, D]``); a single w row is broadcast to all layers.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

from ganlib import limits
from ganlib.errors import UserError
from ganlib.io_utils import npy_declared_values
from ganlib.paths import input_file
from studio.errors import TimelineError

# Latents are ~N(0, 1) and features are normalised measurements: values beyond these overflow the network's float32
# maths (a latent of 1e300 renders black frames), so they are refused at the file.
MAX_ABS = {"latent": 1e4, "feature": 1e6}

Space = Literal["z", "w"]


def _error(message: str, path: str | Path, line: int | None, source: str | None, field: str | None,
           what: str = "latent") -> TimelineError:
    """A TimelineError about file ``path``; located in the timeline when ``source`` is given."""
    if source is not None:
        return TimelineError(f"{what} file {path}: {message}", file=source, line=line, field=field)
    return TimelineError(message, file=str(path), line=None, field=field)


def _shape(a: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(x)) for x in a) + "]"


def _load_array(path: str | Path, line: int | None, source: str | None, field: str | None, what: str,
                keys: tuple[str, ...]) -> tuple[np.ndarray, str | None]:
    """Load one numeric array from .npy/.npz; return (float64 array, the npz key used or None)."""
    try:
        p = input_file(path, ".npy/.npz file")  # a folder, FIFO or device: refused without opening it
    except UserError as exc:
        raise _error("not found" if exc.message.endswith("not found") else exc.message, path, line, source, field,
                     what) from None
    key: str | None = None
    try:
        with open(p, "rb") as fh:
            magic = fh.read(6)
            fh.seek(0)
            if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
                kind = "a Python pickle" if magic[:1] == b"\x80" else "not a .npy/.npz file"
                raise _error(f"cannot be read as a .npy/.npz array ({kind}); save one with numpy.save",
                             path, line, source, field, what)
            _check_declared(fh, magic, path, line, source, field, what)
            loaded = np.load(fh, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    names = list(loaded.files)
                    key = next((k for k in keys if k in names), None)
                    if key is None and len(names) == 1:
                        key = names[0]
                    if key is None:
                        listed = ", ".join(repr(n) for n in names) or "nothing"
                        wanted = " or ".join(repr(k) for k in keys)
                        raise _error(f"the .npz holds {listed}; expected an array named {wanted}, or a single array",
                                     path, line, source, field, what)
                    arr = loaded[key]
            else:
                arr = loaded
    except TimelineError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise _error("holds Python objects (pickled data), which are refused for safety; save a plain numeric "
                         "array with numpy.save", path, line, source, field, what) from None
        raise _error(f"cannot be read as a .npy/.npz array ({exc})", path, line, source, field, what) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise _error(f"cannot be read as a .npy/.npz array ({exc})", path, line, source, field, what) from None
    if not isinstance(arr, np.ndarray):
        raise _error("does not hold an array", path, line, source, field, what)
    if arr.dtype.kind not in "fiu":
        raise _error(f"holds {arr.dtype} data; expected numbers (float or int)", path, line, source, field, what)
    if arr.size == 0:
        raise _error(f"holds an empty array (shape {_shape(arr.shape)})", path, line, source, field, what)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise _error("contains NaN or infinite values", path, line, source, field, what)
    peak = float(np.abs(arr).max())
    if peak > MAX_ABS[what]:
        raise _error(f"holds the value {peak:.3g}; {what} values must lie within ±{MAX_ABS[what]:g} (larger ones "
                     f"overflow the network and render flat frames)", path, line, source, field, what)
    return arr, key


def _check_declared(fh, magic: bytes, path, line, source, field, what: str) -> None:
    """Refuse a .npy (or each array of a .npz) whose header declares more than the ``npy_values`` limit, before
    numpy allocates it; leave ``fh`` at its start."""
    limit = limits.get("npy_values")
    try:
        if magic == b"\x93NUMPY":
            declared = npy_declared_values(fh)
        else:
            declared = 0
            with zipfile.ZipFile(fh) as zf:
                for info in zf.infolist()[:1000]:
                    if info.filename.endswith(".npy"):
                        with zf.open(info) as member:
                            declared = max(declared, npy_declared_values(member))
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        declared = 0  # np.load reports the corrupt header in its own words below
    finally:
        fh.seek(0)
    if declared > limit:
        raise _error(limits.exceeded("npy_values", declared, "its header"), path, line, source, field, what)


def read_latent(path: str | Path, line: int | None = None, source: str | None = None, *,
                field: str | None = None) -> tuple[np.ndarray, Space | None]:
    """Read a latent vector from a .npy or .npz file.

    Takes the file path and, for error messages, the timeline ``source`` file, ``line`` and ``field``.
    Returns (array as float64 with the file's shape, space hint): the hint is "w" or "z" when an .npz names its
    array so, else None. Raises TimelineError for a missing/unreadable file, pickled objects, non-numeric data,
    NaN/inf.
    """
    arr, key = _load_array(path, line, source, field, "latent", ("w", "z"))
    hint: Space | None = key if key in ("w", "z") else None  # type: ignore[assignment]
    return arr, hint


def read_features(path: str | Path, line: int | None = None, source: str | None = None, *,
                  field: str | None = None, c_dim: int | None = None) -> np.ndarray:
    """Read a conditioning feature vector from .npy/.npz (an .npz array named 'features' or 'c', or its only one).

    Takes the path, error-location details and optionally the model's ``c_dim`` to check against. Returns a
    float64 array of shape [C] (``[1, C]`` is flattened). Raises TimelineError otherwise.
    """
    arr, _ = _load_array(path, line, source, field, "feature", ("features", "c"))
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise _error(f"has shape {_shape(arr.shape)}; a feature vector must be [C] or [1, C]", path, line, source,
                     field, "feature")
    if c_dim is not None and arr.shape[0] != c_dim:
        raise _error(f"has {arr.shape[0]} features; this model takes {c_dim}", path, line, source, field, "feature")
    return arr


def check_latent_shape(arr: np.ndarray, space: Space, *, z_dim: int, w_dim: int, num_ws: int,
                       file: str | None = None, line: int | None = None, field: str | None = None) -> np.ndarray:
    """Normalise a latent to the model's shape for ``space``.

    Takes the array, "z" or "w", the model's ``z_dim``, ``w_dim`` and ``num_ws`` (0 when it has no w space) and
    error-location details. Returns a new float64 array of shape [z_dim] for z or [num_ws, w_dim] for w (a single
    w row is broadcast to every layer). Raises TimelineError stating the shape found and the shapes allowed.
    """
    a = np.asarray(arr, dtype=np.float64)
    found = _shape(a.shape)
    if space == "z":
        if a.shape in ((z_dim,), (1, z_dim)):
            return a.reshape(z_dim).copy()
        msg = f"has shape {found}; a z latent for this model must be [{z_dim}] or [1, {z_dim}]"
        if num_ws and a.ndim >= 2 and a.shape[-1] == w_dim:
            msg += " (this looks like a w latent: set latent_space: w, or space: w)"
        raise TimelineError(msg, file=file, line=line, field=field)
    if space != "w":
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    if not num_ws or not w_dim:
        raise TimelineError("this model has no w space, so a w latent cannot be used; use space: z", file=file,
                            line=line, field=field)
    if a.shape in ((w_dim,), (1, w_dim), (1, 1, w_dim)):
        return np.broadcast_to(a.reshape(1, w_dim), (num_ws, w_dim)).copy()
    if a.shape in ((num_ws, w_dim), (1, num_ws, w_dim)):
        return a.reshape(num_ws, w_dim).copy()
    msg = (f"has shape {found}; a w latent for this model ({num_ws} layers of {w_dim}) must be [{w_dim}], "
           f"[1, {w_dim}], [{num_ws}, {w_dim}] or [1, {num_ws}, {w_dim}]")
    if a.ndim in (2, 3) and a.shape[-1] == w_dim:
        msg += f" (it looks like a w from a model with {a.shape[-2]} layers)"
    elif a.ndim == 1 and a.shape[0] == z_dim and z_dim != w_dim:
        msg += " (it looks like a z latent: set latent_space: z)"
    raise TimelineError(msg, file=file, line=line, field=field)


def latent_space_of(arr: np.ndarray, hint: Space | None, declared: Space | None, default: Space, *,
                    file: str | None = None, line: int | None = None, field: str | None = None) -> Space:
    """Decide which space a latent file holds.

    Takes the array, the file's hint (from :func:`read_latent`), the keyframe's ``latent_space`` (or None) and
    the timeline's ``space``. Returns "z" or "w": the declared space, else the hint, else "w" for a per-layer
    array ([num_ws, D] or [1, num_ws, D] with more than one layer), else ``default``. Raises TimelineError when
    the declared space contradicts the .npz array name.
    """
    if declared is not None and hint is not None and declared != hint:
        raise TimelineError(f"latent_space is {declared} but the .npz file holds an array named '{hint}'",
                            file=file, line=line, field=field)
    if declared is not None:
        return declared
    if hint is not None:
        return hint
    shape = np.shape(arr)
    if (len(shape) == 2 and shape[0] > 1) or (len(shape) == 3 and shape[1] > 1):
        return "w"
    return default


def _w_shapes(w_dim: int, num_ws: int) -> tuple[tuple[int, ...], ...]:
    return ((w_dim,), (1, w_dim), (1, 1, w_dim), (num_ws, w_dim), (1, num_ws, w_dim))


def keyframe_latent_space(arr: np.ndarray, hint: Space | None, declared: Space | None, *, space: Space,
                          z_dim: int, w_dim: int, num_ws: int, file: str | None = None, line: int | None = None,
                          where: str = "keyframes[0]", path: str | Path = "") -> Space:
    """Decide which space a keyframe's latent file holds, for a model (``z_dim``, ``w_dim``, ``num_ws``; 0 = no w
    space) and the timeline's interpolation ``space``.

    Order: the keyframe's ``latent_space`` (``declared``), else the .npz array name (``hint``), else the shape where
    it fits only one of z ([z_dim], [1, z_dim]) and w (see :func:`check_latent_shape`). Returns "z" or "w".
    Raises TimelineError (at ``file``:``line``) when the model has no w space but a w latent is named ("this model
    has no w space"), when declared and hint disagree, or when the shape fits both (z_dim == w_dim): then
    ``<where>.latent_space`` must say which.
    """
    field = f"{where}.latent_space"
    named = latent_space_of(arr, hint, declared, "z", file=file, line=line, field=field) \
        if declared is not None or hint is not None else None
    if not num_ws or not w_dim:
        if named == "w":
            how = "latent_space: w" if declared == "w" else "its array is named 'w'"
            raise TimelineError(f"latent file {path}: this model has no w space, so a w latent ({how}) cannot be "
                                f"used; give a z latent of shape [{z_dim}]", file=file, line=line,
                                field=field if declared == "w" else f"{where}.latent")
        return "z"
    if named is not None:
        return named
    shape = tuple(np.shape(arr))
    fits_z = shape in ((z_dim,), (1, z_dim))
    fits_w = shape in _w_shapes(w_dim, num_ws)
    if space == "z":
        return "z"
    if fits_z and fits_w:
        raise TimelineError(f"latent file {path} has shape {_shape(shape)}, which fits both a z and a w latent of "
                            f"this model (z_dim = w_dim = {z_dim}); set {field}: z or w", file=file, line=line,
                            field=field)
    if fits_z:
        return "z"
    return "w"


__all__ = ["read_latent", "read_features", "check_latent_shape", "latent_space_of", "keyframe_latent_space"]
