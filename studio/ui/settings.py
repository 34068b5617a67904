"""The timeline-wide settings the studio shows as components, with their choices and defaults from the schema.

:data:`SETTINGS` names the nine :class:`studio.timeline.Timeline` fields the Timeline tab edits (the model picker
lives in the Explore tab). Their choice lists, defaults and ranges are read from the schema's ``Literal`` types and
``Field`` definitions, never repeated here, so the UI offers exactly what ``studio render`` accepts.
:func:`apply_settings` turns the components' values into a new validated Timeline; :func:`settings_of` gives them
back for a Timeline (after loading a file).
"""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping, get_args, get_origin

from annotated_types import Ge, Le

from studio.output_model import Output
from studio.sinks.formats import CODECS, FORMATS, PRESETS, output_format, resolve_codec
from studio.timeline import Keyframe, Timeline
from studio.ui.models import safe_name
from studio.ui.state import MAX_UI_SIZE, StateError, tidy_number, rebuild

# The timeline-wide settings, in the order the components are listed (see apply_settings / settings_of).
SETTINGS = ("model", "fps", "size", "duration", "interpolation", "loop", "truncation", "space", "noise")
NATIVE_SIZE = "model"   # the size choice meaning "the model's own resolution"
# (label, value) pairs for a dropdown: square sides, then landscape 16:9 and portrait 9:16 (output.fit says how a
# square model's frames meet them)
SIZE_CHOICES = [("model's own", NATIVE_SIZE)] + [(f"{n} × {n}", str(n)) for n in (128, 256, 512, 768, 1024)] + \
    [(f"{w} × {h} ({'16:9' if w > h else '9:16'})", f"{w}x{h}")
     for w, h in ((640, 360), (1280, 720), (1920, 1080), (360, 640), (720, 1280), (1080, 1920))]
# The render options the Render tab edits: the timeline's output block, in the order of its components.
OUTPUT_OPTIONS = ("format", "codec", "crf", "preset", "fit")


def _field(name: str, model: type = Timeline):
    return model.model_fields[name]


def choices(name: str, model: type = Timeline) -> list[str]:
    """The values a ``Literal`` field of the schema allows (``Timeline`` by default; pass ``Keyframe`` for
    keyframe fields), in the schema's order; ``None`` is left out."""
    found: list[str] = []

    def walk(tp: Any) -> None:
        if get_origin(tp) is Literal:
            found.extend(a for a in get_args(tp) if a not in found)
        else:
            for arg in get_args(tp):
                walk(arg)

    walk(_field(name, model).annotation)
    if not found:
        raise KeyError(f"{model.__name__}.{name} is not a choice field")
    return found


def default(name: str, model: type = Timeline) -> Any:
    """The schema's default value of a field."""
    return _field(name, model).get_default(call_default_factory=True)


def bounds(name: str, model: type = Timeline) -> tuple[float | None, float | None]:
    """(lowest, highest) value the schema allows for a number field (``ge`` / ``le``); None where unbounded."""
    lo = hi = None
    for meta in _field(name, model).metadata:
        if isinstance(meta, Ge):
            lo = meta.ge
        elif isinstance(meta, Le):
            hi = meta.le
    return lo, hi


EASES = choices("ease", Keyframe)
INTERPOLATIONS = choices("interpolation")
SPACES = choices("space")
NOISES = choices("noise")


def parse_size(value: Any) -> int | list[int] | None:
    """Turn the size choice ("model", "512", "768x512", 512, [w, h]) into the timeline's ``size`` (None = native).
    Raises StateError for anything else or a side over the UI limit; the schema checks the rest."""
    if value is None or value == "" or value == 0 or str(value).strip().lower() in (NATIVE_SIZE, "native"):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        sides = list(value)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*(?:px)?\s*", str(value))
        if not m:
            raise StateError(f"size must be 'model', a number of pixels like 512, or WIDTHxHEIGHT like 768x512 "
                             f"(got {value!r})", field="size")
        sides = [m.group(1)] + ([m.group(2)] if m.group(2) else [])
    try:
        ints = [int(float(s)) for s in sides]
    except (TypeError, ValueError):
        raise StateError(f"size must be whole numbers of pixels (got {value!r})", field="size") from None
    if any(s > MAX_UI_SIZE for s in ints):
        raise StateError(f"the studio renders at most {MAX_UI_SIZE} pixels a side (got {value!r}); use "
                         f"'studio render' for larger videos", field="size")
    return ints[0] if len(ints) == 1 else ints


def size_label(size: Any) -> str:
    """The size choice shown for a timeline ``size`` value (inverse of :func:`parse_size`)."""
    if size is None:
        return NATIVE_SIZE
    if isinstance(size, (list, tuple)):
        return f"{size[0]}x{size[1]}"
    return str(size)


def apply_settings(tl: Timeline, values: Mapping[str, Any]) -> Timeline:
    """Return a new Timeline with the timeline-wide settings ``values`` (names from :data:`SETTINGS`) applied.

    ``model`` empty leaves the model; ``size`` "model" means native; ``duration`` 0 means automatic; any other
    value None leaves that setting as it is. The schema validates the result (TimelineError with its message).
    """
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise StateError(f"unknown setting {unknown[0]!r}; the settings are {', '.join(SETTINGS)}", field=unknown[0])
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name == "model":
            if value and str(value).strip():
                changes["model"] = str(value).strip()
        elif name == "size":
            changes["size"] = parse_size(value)  # None: native
        elif name == "duration":
            changes["duration"] = None if value in (None, "", 0, 0.0) else value
        elif name == "truncation":
            changes["truncation"] = tidy_number(value)  # a slider's 0.7000000000000001
        elif value is not None:
            changes[name] = value
    return rebuild(tl, **changes)


def format_choices() -> list[tuple[str, str]]:
    """(label, name) of every output format of the one format table (``studio.sinks.formats.FORMATS``)."""
    return [(f.label or f.name, f.name) for f in FORMATS.values()]


def codec_choices(fmt: str) -> list[tuple[str, str]]:
    """(label, name) of the video codecs format ``fmt`` can hold, its default first; [] for GIF, PNG and zip."""
    return [(CODECS[c].label, c) for c in FORMATS[fmt].codecs]


def apply_output(tl: Timeline, name: str, values: Mapping[str, Any]) -> Timeline:
    """Return a new Timeline whose ``output`` block has the render options ``values`` (names from
    :data:`OUTPUT_OPTIONS`): ``format`` (a name of the format table) becomes ``output.path`` = ``name`` + its suffix
    (a folder ``name/`` for PNG frames); a ``codec`` the format cannot hold becomes its default; ``crf`` is
    clamped to the codec's range; ``preset`` and ``fit`` are stored as given. The schema validates the result."""
    unknown = sorted(set(values) - set(OUTPUT_OPTIONS))
    if unknown:
        raise StateError(f"unknown render option {unknown[0]!r}; the options are {', '.join(OUTPUT_OPTIONS)}",
                         field=unknown[0])
    out = tl.output.model_dump(exclude_none=True)
    fmt_name = values.get("format") or output_format(tl.output.path).name
    if fmt_name not in FORMATS:
        raise StateError(f"unknown format {fmt_name!r}; allowed: {', '.join(FORMATS)}", field="format")
    fmt = FORMATS[fmt_name]
    base = safe_name(name, "walk")
    out["path"] = f"{base}/" if fmt.kind == "png" else f"{base}{fmt.suffix}"
    codec = values.get("codec", out.get("codec"))
    if not fmt.codecs or not codec or codec not in fmt.codecs:
        codec = fmt.default_codec
    out.pop("codec", None)
    if codec is not None:
        out["codec"] = codec
    if values.get("crf") is not None:
        crf = int(round(float(values["crf"])))
        top = resolve_codec(fmt, codec).crf_max if codec else None
        out["crf"] = max(0, min(crf, top)) if top is not None else max(0, crf)
    for key in ("preset", "fit"):
        if values.get(key):
            out[key] = values[key]
    return rebuild(tl, output=out)


def output_options(tl: Timeline) -> dict[str, Any]:
    """The render options of ``tl`` (its ``output`` block) by :data:`OUTPUT_OPTIONS` name."""
    o = tl.output
    return dict(format=o.format, codec=o.codec_name, crf=int(o.crf), preset=o.preset, fit=o.fit)


PRESET_CHOICES = list(PRESETS)
FIT_CHOICES = choices("fit", Output)


def settings_of(tl: Timeline) -> tuple:
    """Return the values the settings components show for ``tl``, in :data:`SETTINGS` order."""
    return (tl.model, float(tl.fps), size_label(tl.size), float(tl.duration or 0), tl.interpolation, bool(tl.loop),
            float(tl.truncation), tl.space, tl.noise)
