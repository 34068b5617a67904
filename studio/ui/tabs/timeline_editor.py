"""The keyframe panel of the Timeline tab as plain data: what its fields show for a keyframe, the changes their
values mean, and refusals worded for the panel (the field's label in words, never an HTML-like ``<source>``).

The panel's fields, in :data:`EDITOR_FIELDS` order: index, time, seed, latent (file name, read-only), latent
space, easing, own truncation (checkbox), truncation, class, features, mix seed, mix layers, translate, rotate.
"""
from __future__ import annotations

import html
import math
import re
from typing import Any

from ganlib.errors import UserError
from studio.timeline import Timeline
from studio.ui import state

EDITOR_FIELDS = ("index", "time", "seed", "latent", "latent_space", "ease", "own_truncation", "truncation",
                 "label", "features", "mix_seed", "mix_layers", "translate", "rotate")
LATENT_SPACES = ["as the file says", "z", "w"]
# What the panel calls each keyframe field (for messages next to it).
LABELS = {"time": "Time (s)", "frame": "Time (s)", "beat": "Time (s)", "bar": "Time (s)", "seed": "Seed",
          "latent": "Latent file", "latent_space": "Latent space", "ease": "Easing", "truncation": "Truncation ψ",
          "label": "Class", "features": "Features", "mix": "Mix", "mix.seed": "Mix seed",
          "mix.layers": "Mix layers", "translate": "Translate", "rotate": "Rotate", "directions": "Sliders",
          "keyframe": "Keyframe", "keyframes": "Keyframes", "ruler": "Ruler"}
_KEYFRAME_FIELD = re.compile(r"^keyframes\[\d+\]\.?")


def _numbers(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        values = [float(v) for v in re.split(r"[,\s]+", text.strip().strip("[]")) if v]
    except ValueError:
        raise UserError(f"{what} must be numbers separated by commas, e.g. "
                        f"{'0.1, -0.05' if count == 2 else '0.5, 0, 1'} (got {text!r})",
                        field=what.lower()) from None
    if count is not None and len(values) != count:
        raise UserError(f"{what} needs {count} numbers, x and y in image widths (got {len(values)})",
                        field=what.lower())
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"{what} must be finite numbers (got {text!r})", field=what.lower())
    return values


def editor_values(tl: Timeline, index: int) -> tuple:
    """What the panel's fields show for keyframe ``index`` (:data:`EDITOR_FIELDS` order); empty fields for -1."""
    if not 0 <= index < len(tl.keyframes):
        return (-1, 0, None, "", LATENT_SPACES[0], "linear", False, float(tl.truncation), None, "", None, "", "",
                None)
    f = state.keyframe_fields(tl, index)
    own = f["truncation"] is not None
    features = f["features"]
    if isinstance(features, list):
        features = ", ".join(f"{v:g}" for v in features)
    mix = f["mix"] or {}
    layers = mix.get("layers", "")
    if isinstance(layers, list):
        layers = ", ".join(str(v) for v in layers)
    translate = ", ".join(f"{v:g}" for v in f["translate"]) if f["translate"] else ""
    return (index, f["time"], f["seed"], f["latent"], f["latent_space"] or LATENT_SPACES[0], f["ease"], own,
            f["truncation"] if own else float(tl.truncation), f["label"], features or "", mix.get("seed"),
            layers, translate, f["rotate"])


def editor_changes(tl: Timeline, index: int, time_s: Any, seed: Any, latent_space: Any, ease: Any,
                   own_truncation: Any, truncation: Any, label: Any, features: Any, mix_seed: Any,
                   mix_layers: Any, translate: Any, rotate: Any) -> dict[str, Any]:
    """The keyframe fields (for :func:`studio.ui.state.edit_keyframe`) that the panel's values mean for keyframe
    ``index`` of ``tl``: empty boxes remove optional fields; a seed is kept only for a seed keyframe or when it
    was typed over a latent. Raises UserError (naming the field) for text that is not what the field takes."""
    kf = tl.keyframes[index] if 0 <= index < len(tl.keyframes) else None
    changes: dict[str, Any] = {"ease": ease or "linear",
                               "truncation": truncation if own_truncation else None,
                               "label": label, "rotate": rotate if rotate not in (None, 0) else None}
    if time_s is not None:
        changes["time"] = time_s
    if seed is not None and (kf is None or kf.seed != state.whole_number(seed) or kf.latent is None):
        changes["seed"] = seed
    if kf is not None and kf.latent is not None and "seed" not in changes:
        changes["latent_space"] = latent_space if latent_space in ("z", "w") else None
    text = str(features or "").strip()
    if not text:
        changes["features"] = None
    elif re.fullmatch(r"[\[\]\d\s.,eE+-]+", text):
        changes["features"] = _numbers(text, "Features")
    else:
        changes["features"] = text
    layers = str(mix_layers or "").strip()
    if mix_seed is None and not layers:
        changes["mix"] = None
    elif mix_seed is None:
        raise UserError("mix layers need a mix seed: the seed whose styles replace this keyframe's", field="mix.seed")
    else:
        spec: Any = [int(v) for v in _numbers(layers, "Mix layers")] if re.fullmatch(r"[\d\s,\[\]]+", layers) \
            else layers
        if not layers:
            raise UserError("a mix seed needs its layers, e.g. 8- (from layer 8 on) or 0-3", field="mix.layers")
        changes["mix"] = {"seed": state.whole_number(mix_seed), "layers": spec}
    tr = str(translate or "").strip()
    changes["translate"] = _numbers(tr, "Translate", 2) if tr else None
    return changes


def field_of(err: UserError) -> str:
    """The keyframe field a UserError is about (``keyframes[2].mix.layers`` → 'mix.layers'), or its own field."""
    return _KEYFRAME_FIELD.sub("", str(err.field or "")) or str(err.field or "")


def refusal(err: UserError) -> tuple[str, str]:
    """(message for beside the field: its label and the problem; message for the status line: the whole error),
    both HTML-escaped so nothing in them is taken for a tag."""
    name = field_of(err)
    label = LABELS.get(name) or LABELS.get(name.split(".")[0]) or name.replace("_", " ")
    text = html.escape(err.message, quote=False)
    beside = f"⚠️ **{html.escape(label, quote=False)}**: {text}" if label else f"⚠️ {text}"
    return beside, f"⚠️ Refused: {html.escape(str(err), quote=False)}"
