"""Schema and parsing of timeline YAML files.

A timeline names a model, a frame rate and a list of keyframes (a seed or a latent file at a time); see
``docs/contracts.md`` and the README for the whole format. Every problem is reported as ONE
:class:`studio.errors.TimelineError` naming the file, the 1-based line (taken from the YAML node marks) and the field
path (``keyframes[2].time``), and saying what is allowed. Pydantic's own messages never reach the user.

Public API::

    parse_timeline(text, source="<string>", base_dir=None) -> Timeline
    load_timeline(path) -> Timeline                     # also checks that latent/feature files exist
    timeline_from_dict(d, source="<dict>", base_dir=None) -> Timeline
    timeline_to_yaml(tl, relative_to=None) -> str        # parse_timeline(timeline_to_yaml(tl)) == tl
    check_files(tl) -> None
    parse_layers(spec, num_ws) -> list[int]

Decisions worth knowing:

* Keyframes keep what was written (``time`` or ``frame``); :attr:`Timeline.keyframe_times` gives seconds.
* ``duration`` keeps what was written (``None`` when absent); :attr:`Timeline.total_duration` gives the duration
  actually rendered: the last keyframe time for non-loops, ``t_last + average spacing`` for loops.
* Relative ``latent`` / ``features`` paths are resolved against ``base_dir`` (the timeline file's folder for
  :func:`load_timeline`) and stored absolute. Without a ``base_dir`` they are kept as written.
* ``output.path`` is kept as written (relative to the working directory); :attr:`Timeline.output_path` gives
  ``renders/<timeline stem>.mp4`` when it is absent. ``output.codec`` is ``None`` unless given;
  :attr:`Output.codec_name` gives the codec to use (``vp9`` for ``.webm``, else ``h264``).
"""
from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path, PurePath
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from studio.errors import TimelineError

SEED_MAX = 2**32 - 1
SIZE_MIN, SIZE_MAX = 16, 4096
OUTPUT_EXTENSIONS = {".mp4": "mp4", ".mov": "mov", ".webm": "webm", ".gif": "gif"}
CODECS = ("h264", "h265", "vp9", "prores")
LATENT_EXTENSIONS = (".npy", ".npz")
EASES = ("linear", "in", "out", "in-out")
INTERPOLATIONS = ("linear", "slerp", "cubic")

_AT = "_at_"  # key in a PydanticCustomError's ctx: extra path below the error's loc
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=False)


def _fail(message: str, *at: str | int) -> PydanticCustomError:
    """Build the error our validators raise: ``message`` already user-ready, ``at`` a sub-path below the loc."""
    return PydanticCustomError("timeline", message, {_AT: tuple(at)})


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _resolve_path(value: str, info: ValidationInfo) -> str:
    """Expand ``~`` and make ``value`` absolute against ``info.context['base_dir']`` when one is given."""
    base = (info.context or {}).get("base_dir") if info is not None else None
    p = Path(os.path.expanduser(value))
    if base is not None and not p.is_absolute():
        p = Path(base) / p
    if base is not None or p.is_absolute():
        return os.path.normpath(str(p.absolute()))
    return value


# --------------------------------------------------------------------------------------------------- layer specs
_LAYER_ITEM = re.compile(r"^\s*(\d+)?\s*(-)?\s*(\d+)?\s*$")


def _layer_ranges(spec: str) -> list[tuple[int, int | None]]:
    """Parse a layer spec such as ``"8-"``, ``"0-3"`` or ``"4,5,6"`` into (first, last or None) ranges.

    Raises ValueError with a user-ready message when the text is not a layer spec.
    """
    ranges: list[tuple[int, int | None]] = []
    for item in spec.split(","):
        m = _LAYER_ITEM.match(item)
        if not m or (m.group(1) is None and m.group(3) is None) or (m.group(2) is None and m.group(3) is not None
                                                                     and m.group(1) is not None):
            raise ValueError(f"'{spec}' is not a layer list; write layers like '8-' (8 to the last), '0-3' or "
                             f"'4,5,6'")
        lo, dash, hi = m.group(1), m.group(2), m.group(3)
        if dash is None:
            first = int(lo if lo is not None else hi)
            ranges.append((first, first))
            continue
        first = int(lo) if lo is not None else 0
        last = int(hi) if hi is not None else None
        if last is not None and last < first:
            raise ValueError(f"layer range '{item.strip()}' runs backwards; write it as '{last}-{first}'")
        ranges.append((first, last))
    return ranges


def parse_layers(spec: str | list[int], num_ws: int) -> list[int]:
    """Turn a mix layer spec (``"8-"``, ``"0-3"``, ``"4,5,6"`` or a list of ints) into sorted layer indices.

    Takes the spec and the model's number of w layers; returns a sorted list of distinct indices in
    ``range(num_ws)``. Raises ValueError (user-ready text) for a bad spec or a layer the model does not have.
    """
    if isinstance(spec, str):
        idx: set[int] = set()
        for first, last in _layer_ranges(spec):
            end = num_ws - 1 if last is None else last
            if first > num_ws - 1:
                raise ValueError(f"layer {first} does not exist: this model has {num_ws} w layers (0-{num_ws - 1})")
            idx.update(range(first, end + 1))
    else:
        idx = set(int(i) for i in spec)
    bad = sorted(i for i in idx if i >= num_ws)
    if bad:
        raise ValueError(f"layer {bad[0]} does not exist: this model has {num_ws} w layers (0-{num_ws - 1})")
    if not idx:
        raise ValueError("selects no layers")
    return sorted(idx)


# --------------------------------------------------------------------------------------------------------- models
class MixSpec(BaseModel):
    """Style mixing for one keyframe: the w of ``seed`` replaces the keyframe's w on ``layers``."""

    model_config = _STRICT
    seed: int = Field(ge=0, le=SEED_MAX)
    layers: str | list[int]

    @field_validator("layers", mode="before")
    @classmethod
    def _check_layers(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                _layer_ranges(v)
            except ValueError as exc:
                raise _fail(str(exc)) from None
            return v
        if isinstance(v, (list, tuple)):
            if not v:
                raise _fail("must name at least one layer, e.g. '8-' or [8, 9, 10]")
            for i, item in enumerate(v):
                if not _is_int(item) or item < 0:
                    raise _fail(f"must be a layer index (a whole number >= 0), got {_show(item)}", i)
            return list(v)
        raise _fail(f"must be a layer list like '8-', '0-3', '4,5,6' or [4, 5, 6] (got {_show(v)})")


class Keyframe(BaseModel):
    """One keyframe: when (``time`` in seconds or ``frame``) and what (``seed`` or ``latent`` file), plus options."""

    model_config = _STRICT
    time: float | None = Field(None, ge=0)
    frame: int | None = Field(None, ge=0)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    latent: str | None = None
    latent_space: Literal["z", "w"] | None = None
    truncation: float | None = Field(None, ge=0, le=2)
    ease: Literal["linear", "in", "out", "in-out"] = "linear"
    label: int | None = Field(None, ge=0)
    features: list[float] | str | None = None
    mix: MixSpec | None = None
    directions: dict[str, float] | None = None

    @field_validator("latent")
    @classmethod
    def _check_latent(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise _fail("must be a path to a .npy or .npz file (got an empty string)")
        if PurePath(v).suffix.lower() not in LATENT_EXTENSIONS:
            raise _fail(f"must be a .npy or .npz file (got '{v}')")
        return _resolve_path(v, info)

    @field_validator("features", mode="before")
    @classmethod
    def _check_features(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return v
        if isinstance(v, str):
            if PurePath(v).suffix.lower() not in LATENT_EXTENSIONS:
                raise _fail(f"must be a list of numbers or a path to a .npy/.npz file (got '{v}')")
            return _resolve_path(v, info)
        if isinstance(v, (list, tuple)):
            if not v:
                raise _fail("must not be an empty list")
            for i, item in enumerate(v):
                if not _is_number(item) or not math.isfinite(item):
                    raise _fail(f"must be a finite number (got {_show(item)})", i)
            return [float(x) for x in v]
        raise _fail(f"must be a list of numbers or a path to a .npy file (got {_show(v)})")

    @model_validator(mode="after")
    def _check_choices(self) -> Keyframe:
        if self.time is not None and self.frame is not None:
            raise _fail("give either 'time' (seconds) or 'frame' (a frame number), not both", "frame")
        if self.time is None and self.frame is None:
            raise _fail("needs 'time' (seconds) or 'frame' (a frame number), e.g. {time: 0, seed: 12}")
        if self.seed is not None and self.latent is not None:
            raise _fail("give either 'seed' (a number) or 'latent' (a .npy/.npz file), not both", "latent")
        if self.seed is None and self.latent is None:
            raise _fail("needs 'seed' (a whole number 0..4294967295) or 'latent' (a .npy/.npz file)")
        if self.latent_space is not None and self.latent is None:
            raise _fail("only applies to a 'latent' file (a seed always gives a z vector)", "latent_space")
        return self

    def time_s(self, fps: float) -> float:
        """Return this keyframe's time in seconds, converting ``frame`` with ``fps`` (frames per second)."""
        return float(self.time) if self.time is not None else self.frame / fps


def _output_format(path: str | None) -> str:
    """Return "mp4", "mov", "webm", "gif" or "png" (a folder of PNG frames) for an output path; ValueError if none."""
    if path is None:
        return "mp4"
    if path.endswith(("/", "\\")):
        return "png"
    suffix = PurePath(path).suffix.lower()
    if suffix == "":
        return "png"
    if suffix in OUTPUT_EXTENSIONS:
        return OUTPUT_EXTENSIONS[suffix]
    hint = " (for PNG frames give a folder such as 'renders/frames/')" if suffix == ".png" else ""
    raise ValueError(f"unsupported file type '{suffix}'{hint}; use .mp4, .mov, .webm, .gif, or a folder ending in '/' "
                     f"for a PNG sequence")


class Output(BaseModel):
    """Where and how to write the video: ``path`` (format from its extension), ``codec`` and ``crf``."""

    model_config = _STRICT
    path: str | None = None
    codec: Literal["h264", "h265", "vp9", "prores"] | None = None
    crf: int = Field(18, ge=0, le=51)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                    "veryslow"] = "medium"  # x264/x265 speed: faster encodes leave more CPU to the generator

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise _fail("must not be empty; leave it out to write renders/<timeline name>.mp4")
        try:
            _output_format(v)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _check_codec(self) -> Output:
        fmt = self.format
        if self.codec is None or fmt in ("gif", "png"):
            return self
        if fmt == "webm" and self.codec != "vp9":
            raise _fail(f"a .webm file holds vp9 video, not {self.codec}; use codec: vp9 or a .mp4/.mov path", "codec")
        if self.codec == "prores" and fmt != "mov":
            raise _fail(f"prores needs a .mov file (the path is a .{fmt}); use codec: h264, h265 or vp9", "codec")
        return self

    @property
    def format(self) -> str:
        """The container: "mp4", "mov", "webm", "gif" or "png" (a folder of numbered PNG frames)."""
        return _output_format(self.path)

    @property
    def codec_name(self) -> str | None:
        """The video codec to use: the given one, else "vp9" for .webm and "h264" otherwise; None for gif/png."""
        if self.format in ("gif", "png"):
            return None
        if self.codec is not None:
            return self.codec
        return "vp9" if self.format == "webm" else "h264"


class Timeline(BaseModel):
    """A whole timeline: model, frame rate, interpolation settings, keyframes and output.

    Fields keep what was written; use the properties ``keyframe_times``, ``total_duration``, ``n_frames``,
    ``frame_size``, ``output_path`` and ``source`` for resolved values.
    """

    model_config = _STRICT
    model: str = "builtin:default"
    fps: float = Field(30.0, gt=0)
    size: int | list[int] | None = None
    duration: float | None = Field(None, gt=0)
    space: Literal["w", "z"] = "w"
    interpolation: Literal["linear", "slerp", "cubic"] = "cubic"
    truncation: float = Field(1.0, ge=0, le=2)
    truncation_cutoff: int | None = Field(None, ge=0)
    loop: bool = False
    noise: Literal["fixed", "random", "loop"] = "fixed"
    seed: int = Field(0, ge=0, le=SEED_MAX)
    label: int | None = Field(None, ge=0)
    keyframes: list[Keyframe] = Field(min_length=1)
    output: Output = Field(default_factory=Output)

    _source: str = PrivateAttr(default="<string>")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("model")
    @classmethod
    def _check_model(cls, v: str) -> str:
        if not v.strip():
            raise _fail("must name a model: 'builtin:default' or a path to a checkpoint")
        return v

    @field_validator("size", mode="before")
    @classmethod
    def _check_size(cls, v: Any) -> Any:
        if v is None:
            return v

        def one(x: Any, *at: int) -> int:
            if not _is_int(x):
                raise _fail(f"must be a whole number of pixels (got {_show(x)})", *at)
            if not SIZE_MIN <= x <= SIZE_MAX:
                raise _fail(f"must be between {SIZE_MIN} and {SIZE_MAX} pixels (got {x})", *at)
            if x % 2:
                raise _fail(f"must be even, as H.264 video needs even frame sizes (got {x})", *at)
            return x

        if _is_int(v):
            return one(v)
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return [one(v[0], 0), one(v[1], 1)]
        raise _fail(f"must be a size in pixels like 512, or [width, height] like [768, 512] (got {_show(v)})")

    @field_validator("output", mode="before")
    @classmethod
    def _null_output(cls, v: Any) -> Any:
        return Output() if v is None else v

    @model_validator(mode="after")
    def _check_times(self) -> Timeline:
        times = self.keyframe_times
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                raise _fail(f"keyframes[{i}] is at {self._when(i)} but keyframes[{i - 1}] is at {self._when(i - 1)}; "
                            f"keyframe times must strictly increase", "keyframes", i, self._time_field(i))
        last = times[-1]
        if self.loop:
            if self.duration is None and len(times) == 1:
                raise _fail("a loop with a single keyframe needs 'duration' (seconds) to know how long to run",
                            "loop")
            if self.duration is not None and self.duration <= last:
                raise _fail(f"must be longer than the last keyframe time ({last:g} s) for a loop: the closing "
                            f"segment runs from the last keyframe back to the first", "duration")
            if self.n_frames / self.fps <= last:
                where = "duration" if self.duration is not None else "loop"
                raise _fail(f"a loop must run at least one frame past its last keyframe ({last:g} s): at "
                            f"{self.fps:g} fps it has only {self.n_frames} frames; raise 'duration'", where)
        elif self.duration is not None:
            for i, t in enumerate(times):
                if t > self.duration + 1e-9:
                    raise _fail(f"keyframes[{i}] is at {self._when(i)}, after the end of the timeline (duration: "
                                f"{self.duration:g} s); raise 'duration' or remove the keyframe",
                                "keyframes", i, self._time_field(i))
        for i, kf in enumerate(self.keyframes):
            if self.space == "z" and kf.latent_space == "w":
                raise _fail("a w latent cannot be used in a timeline with space: z (w cannot be mapped back to z); "
                            "use space: w", "keyframes", i, "latent_space")
        return self

    def _time_field(self, i: int) -> str:
        return "time" if self.keyframes[i].time is not None else "frame"

    def _when(self, i: int) -> str:
        kf = self.keyframes[i]
        if kf.time is not None:
            return f"{kf.time:g} s"
        return f"frame {kf.frame} ({kf.frame / self.fps:g} s)"

    def __eq__(self, other: object) -> bool:
        """Two timelines are equal when their fields are (the source file and line map are not compared)."""
        if not isinstance(other, Timeline):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------------------------------- resolved values
    @property
    def source(self) -> str:
        """The file the timeline came from (or "<string>" / "<dict>")."""
        return self._source

    @property
    def keyframe_times(self) -> list[float]:
        """Keyframe times in seconds (``frame`` keyframes converted with ``fps``), strictly increasing."""
        return [kf.time_s(self.fps) for kf in self.keyframes]

    @property
    def total_duration(self) -> float:
        """Seconds rendered: ``duration`` if given; else the last keyframe time, or for a loop the last keyframe
        time plus the average keyframe spacing (so the closing segment is as long as an average one)."""
        if self.duration is not None:
            return float(self.duration)
        times = self.keyframe_times
        if self.loop and len(times) > 1:
            return times[-1] + (times[-1] - times[0]) / (len(times) - 1)
        return times[-1]

    @property
    def n_frames(self) -> int:
        """Frames rendered: round(duration*fps) for loops (no duplicated seam frame), that + 1 otherwise."""
        n = int(round(self.total_duration * self.fps))
        return max(1, n) if self.loop else n + 1

    @property
    def period(self) -> float:
        """Seconds covered by the frames: ``n_frames / fps`` for a loop (its duration snapped to whole frames; the
        first keyframe comes back at ``period + t_first``), ``(n_frames - 1) / fps`` otherwise."""
        return (self.n_frames if self.loop else self.n_frames - 1) / self.fps

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """Output (width, height) in pixels, or None for the model's native size."""
        if self.size is None:
            return None
        if isinstance(self.size, int):
            return (self.size, self.size)
        return (self.size[0], self.size[1])

    @property
    def output_path(self) -> Path:
        """Where to write: ``output.path``, else ``renders/<timeline file stem>.mp4`` (relative to the cwd)."""
        if self.output.path is not None:
            return Path(os.path.expanduser(self.output.path))
        stem = "timeline" if self._source.startswith("<") else (Path(self._source).stem or "timeline")
        return Path("renders") / f"{stem}.mp4"

    def line_of(self, field: str) -> int | None:
        """Return the 1-based line of a field path such as ``"keyframes[2].latent"`` (or of its nearest parent
        that appears in the file), or None when the timeline did not come from YAML text."""
        path = field
        while True:
            if path in self._lines:
                return self._lines[path]
            if not path:
                return None
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""

    def error(self, message: str, field: str | None = None) -> TimelineError:
        """Build (not raise) a TimelineError for ``field`` of this timeline, with its file and line filled in."""
        return TimelineError(message, file=self._source, line=self.line_of(field or ""), field=field)

    def mix_layers(self, index: int, num_ws: int) -> list[int]:
        """Return the sorted w-layer indices keyframe ``index`` mixes for a model with ``num_ws`` layers.

        Raises TimelineError naming the line when the keyframe has no mix or names a layer the model lacks.
        """
        mix = self.keyframes[index].mix
        field = f"keyframes[{index}].mix.layers"
        if mix is None:
            raise self.error("this keyframe has no 'mix'", f"keyframes[{index}].mix")
        if num_ws <= 0:
            raise self.error("style mixing needs a model with a w space (this one has none)", field)
        try:
            return parse_layers(mix.layers, num_ws)
        except ValueError as exc:
            raise self.error(str(exc), field) from None


KEYFRAME_FIELDS = tuple(Keyframe.model_fields)
TIMELINE_FIELDS = tuple(Timeline.model_fields)


# ---------------------------------------------------------------------------------------------- error messages
def _show(v: Any) -> str:
    """Short user-facing rendering of a YAML value."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, (list, tuple)):
        return "a list"
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(v: Any) -> str:
    """A bound for a message: 0 not 0.0, 4294967295 not 4.29e+09."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _path_str(loc: tuple) -> str:
    """Render a loc tuple as a field path: ``('keyframes', 2, 'time')`` → ``keyframes[2].time``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def _model_at(parent: tuple) -> type[BaseModel] | None:
    """The model whose fields live at ``parent`` (a loc tuple), for unknown-field suggestions."""
    shape = tuple("#" if isinstance(p, int) and not isinstance(p, bool) else p for p in parent)
    return {(): Timeline, ("keyframes", "#"): Keyframe, ("output",): Output,
            ("keyframes", "#", "mix"): MixSpec}.get(shape)


def _unknown_field(loc: tuple) -> str:
    key, parent = str(loc[-1]), loc[:-1]
    model = _model_at(parent)
    if model is None:
        return f"unknown field '{key}'"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field '{key}'; did you mean '{close[0]}'?"
    if model is Timeline and key in KEYFRAME_FIELDS:
        return f"unknown field '{key}' at the top level; '{key}' belongs inside a keyframe"
    if model is Keyframe and key in TIMELINE_FIELDS:
        return f"unknown keyframe field '{key}'; '{key}' is set once at the top level of the timeline"
    return f"unknown field '{key}'; allowed fields: {', '.join(allowed)}"


def _describe(err: dict, loc: tuple) -> str:
    """One user-facing sentence for one pydantic error dict."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f" (got {_show(value)})"
    if kind == "timeline":
        return err["msg"]
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind == "missing":
        if loc == ("keyframes",):
            return "is required: a list of keyframes such as [{time: 0, seed: 12}, {time: 4, seed: 345}]"
        return "is required"
    if kind in ("float_type", "float_parsing"):
        return "must be a number" + got
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number" + got
    if kind == "finite_number":
        return "must be a finite number" + got
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if kind in ("string_type", "string_too_short"):
        return "must be text" + got
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.7)
            if close:
                hint = f"; did you mean '{close[0]}'?"
        return f"must be one of {', '.join(repr(o) for o in options)}{got}{hint}"
    if kind == "greater_than":
        return f"must be greater than {_num(ctx.get('gt'))}{got}"
    if kind == "greater_than_equal":
        return f"must be at least {_num(ctx.get('ge'))}{got}"
    if kind == "less_than":
        return f"must be less than {_num(ctx.get('lt'))}{got}"
    if kind == "less_than_equal":
        return f"must be at most {_num(ctx.get('le'))}{got}"
    if kind == "too_short":
        if loc == ("keyframes",):
            return "needs at least one keyframe, e.g. keyframes: [{time: 0, seed: 12}]"
        return f"must have at least {ctx.get('min_length', 1)} item(s)"
    if kind == "list_type":
        if loc == ("keyframes",):
            return "must be a list of keyframes such as [{time: 0, seed: 12}]" + got
        return "must be a list" + got
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if len(loc) == 2 and loc[0] == "keyframes":
            return "each keyframe must be a mapping such as {time: 0, seed: 12}" + got
        return "must be a mapping of fields" + got
    return err["msg"]


def _translate(exc: ValidationError, source: str, lines: dict[str, int]) -> TimelineError:
    """Turn a ValidationError into one TimelineError: the problem that comes first in the file."""
    found: list[tuple[float, int, TimelineError]] = []
    for n, err in enumerate(exc.errors()):
        loc = tuple(err["loc"]) + tuple((err.get("ctx") or {}).get(_AT, ()))
        if "[key]" in loc:
            loc = loc[:loc.index("[key]")]
            message = f"names must be text (got {_show(err.get('input'))})"
        elif err["type"] == "invalid_key":
            key = err.get("input")
            loc = loc[:-1]
            message = f"field names must be text, got {_show(key)}"
            if isinstance(key, bool):
                message += " (YAML reads on/off/yes/no as true/false: quote the name)"
        else:
            message = _describe(err, loc)
        line = None
        for k in range(len(loc), -1, -1):
            key = _path_str(loc[:k])
            if key in lines:
                line = lines[key]
                break
        found.append((line if line is not None else math.inf, n,
                      TimelineError(message, file=source, line=line, field=_path_str(loc) or None)))
    found.sort(key=lambda x: (x[0], x[1]))
    return found[0][2]


# --------------------------------------------------------------------------------------------------- YAML layer
def _decode(text: str | bytes, source: str) -> str:
    """Return the text of a timeline, refusing binary data (NUL bytes, not UTF-8)."""
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
        if b"\x00" in raw:
            line = raw[:raw.index(b"\x00")].count(b"\n") + 1
            raise TimelineError("is not a YAML text file: it contains binary data (NUL bytes)", file=source,
                                line=line)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise TimelineError(f"is not a YAML text file: it is not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                                f"offset {exc.start})", file=source, line=line) from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise TimelineError("is not a YAML text file: it contains binary data (NUL bytes)", file=source, line=line)
    return text[1:] if text.startswith("\ufeff") else text


def _line_map(root: yaml.Node, source: str) -> dict[str, int]:
    """Map each field path (``keyframes[2].time``) to its 1-based line; reject duplicate keys and alias loops."""
    lines: dict[str, int] = {"": root.start_mark.line + 1}
    stack: set[int] = set()

    def walk(node: yaml.Node, loc: tuple) -> None:
        if id(node) in stack:
            raise TimelineError("a YAML alias refers to itself; timelines cannot be recursive", file=source,
                                line=node.start_mark.line + 1, field=_path_str(loc) or None)
        stack.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                line = key_node.start_mark.line + 1
                if key == "<<":  # a merge key: its fields are merged in by the constructor
                    continue
                if key in seen:
                    raise TimelineError(f"'{key}' is given twice (first on line {seen[key]}); give each field once",
                                        file=source, line=line, field=_path_str(loc + (key,)))
                seen[key] = line
                lines[_path_str(loc + (key,))] = line
                walk(value_node, loc + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[_path_str(loc + (i,))] = item.start_mark.line + 1
                walk(item, loc + (i,))
        stack.discard(id(node))

    walk(root, ())
    return lines


def _load_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """Compose and construct YAML text; return (data, line map). Errors become TimelineErrors with a line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = _line_map(node, source)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError):
            detail = f"unsupported YAML: {problem}; timelines use plain YAML (no tags such as !!python)"
        elif exc.context and exc.problem and exc.problem.startswith("but "):
            detail = f"YAML syntax error: {exc.context}, {exc.problem}"
            if "single document" in exc.context:
                detail += "; a timeline file holds one YAML document (remove the extra '---')"
        else:
            detail = f"YAML syntax error: {problem}"
            if exc.context and exc.problem:
                detail += f" ({exc.context}"
                cm = exc.context_mark
                if cm is not None and mark is not None and cm.line != mark.line:
                    detail += f" started on line {cm.line + 1}"
                detail += ")"
        if "'\\t'" in problem:
            detail += "; YAML does not allow tabs for indentation, use spaces"
        raise TimelineError(detail, file=source, line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1
        raise TimelineError(f"is not a YAML text file: it contains a control character (#x{exc.character:04x})",
                            file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise TimelineError(f"YAML error: {exc}", file=source) from None
    except RecursionError:
        raise TimelineError("YAML is nested too deeply", file=source) from None
    finally:
        loader.dispose()


def _build(data: Any, source: str, base_dir: Path | str | None, lines: dict[str, int]) -> Timeline:
    """Validate constructed YAML data into a Timeline, translating every error."""
    if data is None:
        raise TimelineError("is empty; a timeline needs at least 'keyframes', e.g. keyframes: [{time: 0, seed: 12}]",
                            file=source, line=1)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({_show(data)})"
        raise TimelineError(f"the top level must be a mapping of fields (model, fps, keyframes, ...), not {kind}",
                            file=source, line=lines.get("", 1))
    context = {"base_dir": Path(base_dir).absolute() if base_dir is not None else None}
    try:
        tl = Timeline.model_validate(data, context=context)
    except ValidationError as exc:
        raise _translate(exc, source, lines) from None
    tl._source = source
    tl._lines = dict(lines)
    return tl


# ------------------------------------------------------------------------------------------------- public API
def parse_timeline(text: str | bytes, source: str = "<string>", base_dir: Path | str | None = None) -> Timeline:
    """Parse timeline YAML ``text`` (str or bytes).

    ``source`` names the file in error messages; ``base_dir`` resolves relative latent/feature paths (stored
    absolute). Returns a validated Timeline; raises TimelineError (file, line, field, what is allowed) otherwise.
    Does not check that latent files exist (see :func:`check_files`).
    """
    source = str(source)
    data, lines = _load_yaml(_decode(text, source), source)
    return _build(data, source, base_dir, lines)


def timeline_from_dict(d: Any, source: str = "<dict>", base_dir: Path | str | None = None) -> Timeline:
    """Validate a plain dict (e.g. built by the UI) into a Timeline; TimelineError (no line numbers) otherwise."""
    return _build(d, str(source), base_dir, {})


def check_files(tl: Timeline) -> None:
    """Check that every latent and feature file a timeline names exists; raise TimelineError naming the path,
    the line and the field otherwise. Returns None."""
    for i, kf in enumerate(tl.keyframes):
        for name, value in (("latent", kf.latent), ("features", kf.features)):
            if not isinstance(value, str):
                continue
            path = Path(value)
            what = "latent" if name == "latent" else "feature"
            if path.is_dir():
                raise tl.error(f"{what} file {value} is a folder, not a .npy/.npz file", f"keyframes[{i}].{name}")
            if not path.is_file():
                raise tl.error(f"{what} file not found: {value}", f"keyframes[{i}].{name}")


def load_timeline(path: str | Path) -> Timeline:
    """Read and parse a timeline file; relative latent/feature paths resolve against its folder.

    Takes a path; returns the Timeline (``source`` = the path). Raises TimelineError for an unreadable file, bad
    content, or a latent/feature file that does not exist.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise TimelineError("timeline file not found", file=str(path)) from None
    except IsADirectoryError:
        raise TimelineError("is a folder, not a timeline file", file=str(path)) from None
    except OSError as exc:
        raise TimelineError(f"cannot read the timeline file: {exc.strerror or exc}", file=str(path)) from None
    tl = parse_timeline(raw, source=str(path), base_dir=p.parent)
    check_files(tl)
    return tl


class _FlowMap(dict):
    pass


class _FlowList(list):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                                   flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def timeline_to_yaml(tl: Timeline, relative_to: Path | str | None = None) -> str:
    """Write a Timeline as YAML text, one keyframe per line.

    ``parse_timeline(timeline_to_yaml(tl)) == tl``. With ``relative_to`` (a folder) latent/feature paths are
    written relative to it; parse the text with ``base_dir=relative_to`` to get the same timeline back.
    """
    def rel(p: Any) -> Any:
        if relative_to is None or not isinstance(p, str) or not os.path.isabs(p):
            return p
        try:
            return os.path.relpath(p, Path(relative_to).absolute())
        except ValueError:  # another drive on Windows
            return p

    out: dict[str, Any] = {}
    for name in Timeline.model_fields:
        value = getattr(tl, name)
        if value is None or name in ("keyframes", "output"):
            continue
        out[name] = _FlowList(value) if isinstance(value, list) else value
    keyframes = []
    for kf in tl.keyframes:
        d = kf.model_dump(exclude_none=True, exclude_defaults=True)
        for key in ("latent", "features"):
            if key in d:
                d[key] = rel(d[key])
        keyframes.append(_FlowMap(d))
    out["keyframes"] = keyframes
    output = tl.output.model_dump(exclude_none=True)
    out["output"] = output
    return yaml.dump(out, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


__all__ = ["Timeline", "Keyframe", "MixSpec", "Output", "parse_timeline", "load_timeline", "timeline_from_dict",
           "timeline_to_yaml", "check_files", "parse_layers", "SEED_MAX", "EASES", "INTERPOLATIONS", "CODECS"]
