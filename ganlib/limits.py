"""Every resource limit of the project, declared once: what a file or option may declare before anything is allocated.

The limits stop absurd declarations (a 700-byte YAML that expands to gigabytes, a ``.npy`` header declaring 10^11
values, a pickle whose references form an exponential DAG), not real work: each is far above what a real timeline,
checkpoint or dataset needs, and those a real user could outgrow can be raised, per run, with the root option
``studio --limit NAME=VALUE`` (repeatable) or the environment variable ``STUDIO_LIMITS="NAME=VALUE,NAME=VALUE"``.
``docs/robustness.md`` lists them.

Public API::

    LIMITS: dict[str, Limit]               # name → Limit(name, default, unit, doc, raisable)
    get(name) -> int                       # the limit in force (default, environment, or --limit)
    set_limit(name, value) -> None         # raise (or lower) one limit for this process
    set_from_text("name=value") -> None    # parse a --limit value; UserError naming --limit when bad
    check(name, value, what, error=, file=, field=, line=) -> None   # UserError when value > limit
    exceeded(name, value, what) -> str     # the one-line message for a refusal
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ganlib.errors import UserError


@dataclass(frozen=True)
class Limit:
    """One limit: its ``name`` (as ``--limit`` takes it), ``default`` value, ``unit`` and a one-line ``doc``;
    ``raisable`` says whether ``--limit`` may raise it (a few are safety bounds with no real use beyond them)."""

    name: str
    default: int
    unit: str
    doc: str
    raisable: bool = True


_MiB = 1 << 20
_GiB = 1 << 30

_DECLARED = [
    Limit("yaml_bytes", 16 * _MiB, "bytes", "size of one YAML document (timeline, training config, experiment)"),
    Limit("yaml_alias_nodes", 100_000, "nodes", "YAML nodes reached again through aliases ('billion laughs')",
          raisable=False),
    Limit("yaml_depth", 64, "levels", "nesting depth of a YAML document", raisable=False),
    Limit("keyframes", 10_000, "keyframes", "keyframes in one timeline"),
    Limit("frames", 10_000_000, "frames", "frames in one timeline (46 hours at 60 fps); frames stream to disk"),
    Limit("layer_index", 1023, "index", "largest style layer index a mix layer spec may name", raisable=False),
    Limit("seed_range", 1_000_000_000, "seeds", "seeds in one --seeds list (the list is never built in memory)"),
    Limit("grid_images", 1_024, "images", "images in one contact sheet (studio grid)"),
    Limit("pickle_nodes", 2_000_000, "objects", "objects visited walking an unpickled checkpoint, shared references "
          "counted each time they are reached (stops reference DAGs)"),
    Limit("pickle_depth", 200, "levels", "nesting depth of an unpickled checkpoint", raisable=False),
    Limit("tensor_bytes", 16 * _GiB, "bytes", "total bytes of the arrays a checkpoint declares"),
    Limit("safetensors_header", 100 * _MiB, "bytes", "size of a .safetensors JSON header"),
    Limit("npy_values", 1 << 24, "values", "values a latent/feature .npy/.npz array may declare"),
    Limit("archive_bytes", 64 * _GiB, "bytes", "total uncompressed size of a zip dataset"),
    Limit("archive_ratio", 200, "x", "uncompressed/compressed size ratio of a zip dataset member"),
    Limit("archive_member_bytes", 256 * _MiB, "bytes", "uncompressed size of one image inside a zip dataset"),
    Limit("dataset_images", 100_000_000, "images", "images a dataset (HDF5, procedural) may declare"),
    Limit("memory_dataset_bytes", 8 * _GiB, "bytes", "pixels of a dataset generated in memory (procedural:N)"),
    Limit("image_pixels", 1 << 28, "pixels", "pixels of one dataset image (HDF5 declared shape, decoded file)"),
    Limit("label_classes", 65_536, "classes", "classes of a labelled dataset or a conditional model"),
    Limit("model_resolution", 8192, "pixels", "largest model resolution"),
    Limit("model_channels", 16_384, "channels", "largest channel count or latent size of a model"),
    Limit("encoder_stall_s", 300, "seconds", "time an encoder may take to accept one frame before the render stops"),
    Limit("ui_request_bytes", 64 * _MiB, "bytes", "size of one upload or text sent to the UI server"),
    Limit("ui_request_s", 300, "seconds", "time one UI request (a preview, an edit, a model load) may run"),
    Limit("ui_job_s", 86_400, "seconds", "time one UI render or batch request may run"),
    Limit("ui_request_memory", 4 * _GiB, "bytes", "memory the UI server may grow by during one request"),
    Limit("text_chars", 4096, "characters", "length of a name or path given as text", raisable=False),
]

LIMITS: dict[str, Limit] = {lim.name: lim for lim in _DECLARED}
_overrides: dict[str, int] = {}


def _parse_value(text: str) -> int:
    """An integer limit value: ``100000``, ``1e6``, ``16G``/``512M``/``64K`` (binary units); ValueError if bad."""
    t = str(text).strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": _MiB, "G": _GiB, "T": 1 << 40}.get(t[-1:], 1)
    if scale != 1:
        t = t[:-1]
    value = float(t)
    if not value == value or value in (float("inf"), float("-inf")) or value < 0 or value * scale > 2 ** 62:
        raise ValueError(text)
    return int(value * scale)


def set_limit(name: str, value: int) -> None:
    """Set limit ``name`` to ``value`` for this process; UserError for an unknown or fixed limit."""
    lim = LIMITS.get(name)
    if lim is None:
        raise UserError(f"unknown limit {name!r}; the limits are: {', '.join(n for n in LIMITS if LIMITS[n].raisable)}",
                        field="--limit")
    if not lim.raisable and value > lim.default:
        raise UserError(f"the limit {name!r} ({lim.default} {lim.unit}) is a fixed safety bound", field="--limit")
    _overrides[name] = int(value)


def set_from_text(text: str) -> None:
    """Apply one ``NAME=VALUE`` (a ``--limit`` value); UserError naming ``--limit`` when it is malformed."""
    name, sep, value = str(text).partition("=")
    try:
        parsed = _parse_value(value) if sep else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise UserError(f"{text!r} is not NAME=VALUE with a non-negative number (e.g. keyframes=50000)",
                        field="--limit")
    set_limit(name.strip(), parsed)


def _from_environment() -> None:
    for item in os.environ.get("STUDIO_LIMITS", "").split(","):
        if item.strip():
            try:
                set_from_text(item)
            except UserError:
                pass  # a bad environment entry is ignored; --limit reports its own errors


def get(name: str) -> int:
    """Return the limit ``name`` now in force (KeyError for an undeclared name: a bug, not user input)."""
    if name in _overrides:
        return _overrides[name]
    return LIMITS[name].default


def _human(value: int, unit: str) -> str:
    if unit == "bytes":
        for suffix, size in (("GiB", _GiB), ("MiB", _MiB), ("KiB", 1 << 10)):
            if value >= size:
                return f"{value / size:g} {suffix}"
    return f"{value:,} {unit}"


def exceeded(name: str, value: float, what: str) -> str:
    """The message for ``what`` declaring ``value`` against limit ``name`` (says how to raise it if it can be)."""
    lim = LIMITS[name]
    text = f"{what} declares {_human(int(value), lim.unit)}, above the limit of {_human(get(name), lim.unit)}"
    if lim.raisable:
        text += f" (raise it with --limit {name}=N if this is real)"
    return text


def check(name: str, value: float, what: str, error: type[UserError] = UserError, file=None, field=None,
          line=None) -> None:
    """Raise ``error`` (one line naming ``file``/``field``/``line``, the value and the limit) when ``value``
    exceeds the limit ``name``; return None otherwise."""
    if value > get(name):
        raise error(exceeded(name, value, what), file=file, field=field, line=line)


_from_environment()
