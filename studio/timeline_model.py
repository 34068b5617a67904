"""The timeline schema: the pydantic model of a whole timeline file (``Timeline``).

Its parts live beside it: ``studio.keyframe_model`` (``Keyframe``, ``MixSpec`` and the shared bounds),
``studio.output_model`` (``Output``), ``studio.react_model`` (audio and react rules). Fields keep what was written,
except paths: ``model`` (unless ``builtin:NAME``) is resolved against the ``base_dir`` in the validation context (the
timeline file's folder) and stored absolute. Parsing YAML and turning validation errors into ``TimelineError`` is done
by ``studio.timeline`` with ``ganlib.schema``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from ganlib import limits
from ganlib.schema import fail, line_of, show
from studio.errors import TimelineError
from studio.keyframe_model import (BUILTIN_PREFIX, EASES, INTERPOLATIONS, KEYFRAME_FIELDS, LATENT_EXTENSIONS,
                                   MAX_FEATURE, MAX_FRAMES, MAX_SECONDS, MAX_STRENGTH, MIN_GAP, SEED_MAX, SIZE_MAX,
                                   SIZE_MIN, WHEN_FIELDS, _STRICT, Keyframe, MixSpec, _is_int, _resolve)
from studio.layer_specs import parse_layers
from studio.output_model import Output
from studio.react_model import AudioSpec, ReactRule, check_audio_fields
from studio.sinks.formats import FormatError, parse_fps

# The names of timelines that came from no file (``studio.timeline``'s text and data defaults, the studio's editor).
TEXT_SOURCE, DATA_SOURCE, STUDIO_SOURCE = "timeline text", "timeline data", "timeline (edited in the studio)"
IN_MEMORY_SOURCES = (TEXT_SOURCE, DATA_SOURCE, STUDIO_SOURCE)

__all__ = ["DATA_SOURCE", "IN_MEMORY_SOURCES", "STUDIO_SOURCE", "TEXT_SOURCE", "BUILTIN_PREFIX", "EASES", "INTERPOLATIONS", "KEYFRAME_FIELDS", "LATENT_EXTENSIONS", "MAX_FEATURE",
           "MAX_FRAMES", "MAX_SECONDS", "MAX_STRENGTH", "SEED_MAX", "TIMELINE_FIELDS", "WHEN_FIELDS", "Keyframe",
           "MixSpec", "Output", "Timeline"]

class Timeline(BaseModel):
    """A whole timeline: model, frame rate, interpolation settings, keyframes and output.

    Fields keep what was written; use the properties ``keyframe_times``, ``total_duration``, ``n_frames``,
    ``frame_size``, ``output_path`` and ``source`` for resolved values.
    """

    model_config = _STRICT
    model: str = "builtin:default"
    fps: float = Field(30.0, gt=0, le=1000)
    size: int | list[int] | None = None
    duration: float | None = Field(None, gt=0, le=MAX_SECONDS)
    space: Literal["w", "z"] = "w"
    interpolation: Literal["linear", "slerp", "cubic"] = "cubic"
    truncation: float = Field(1.0, ge=0, le=2)
    truncation_cutoff: int | None = Field(None, ge=0)
    loop: bool = False
    noise: Literal["fixed", "random", "loop"] = "fixed"
    seed: int = Field(0, ge=0, le=SEED_MAX)
    label: int | None = Field(None, ge=0)
    stabilize: bool = False   # StyleGAN3: the input's w-driven transform taken at w_avg (no viewpoint drift)
    keyframes: list[Keyframe] = Field(min_length=1)
    output: Output = Field(default_factory=Output)
    audio: AudioSpec | None = None
    beats_per_bar: int = Field(4, ge=1, le=64)
    react: list[ReactRule] = Field(default_factory=list)

    _source: str = PrivateAttr(default=TEXT_SOURCE)
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _track: Any = PrivateAttr(default=None)  # the analysed audio (studio.timeline_audio.AudioTrack), when attached

    @field_validator("keyframes", mode="before")
    @classmethod
    def _check_count(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v) > limits.get("keyframes"):
            raise fail(limits.exceeded("keyframes", len(v), "the timeline"))
        return v

    @field_validator("model")
    @classmethod
    def _check_model(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise fail("must name a model: 'builtin:default' or a path to a checkpoint")
        return v if v.startswith(BUILTIN_PREFIX) else _resolve(v, info)

    @field_validator("size", mode="before")
    @classmethod
    def _check_size(cls, v: Any) -> Any:
        if v is None:
            return v

        def one(x: Any, *at: int) -> int:
            if not _is_int(x):
                raise fail(f"must be a whole number of pixels (got {show(x)})", *at)
            if not SIZE_MIN <= x <= SIZE_MAX:
                raise fail(f"must be between {SIZE_MIN} and {SIZE_MAX} pixels (got {x})", *at)
            if x % 2:
                raise fail(f"must be even, as H.264 video needs even frame sizes (got {x})", *at)
            return x

        if _is_int(v):
            return one(v)
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return [one(v[0], 0), one(v[1], 1)]
        raise fail(f"must be a size in pixels like 512, or [width, height] like [768, 512] (got {show(v)})")

    @field_validator("output", mode="before")
    @classmethod
    def _null_output(cls, v: Any) -> Any:
        return Output() if v is None else v

    @field_validator("audio", mode="before")
    @classmethod
    def _audio_path(cls, v: Any) -> Any:
        return {"path": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check_times(self, info: ValidationInfo) -> Timeline:
        try:
            parse_fps(self.fps, self.output.output_format)
        except FormatError as exc:
            raise fail(exc.message, "fps") from None
        check_audio_fields(self)
        self._track = (info.context or {}).get("audio_track")
        if self._track is None and (self.has_beat_keyframes or (self.audio is not None and self.duration is None)):
            return self  # beat times and the audio's length are known once it is analysed: with_audio checks again
        times = self.keyframe_times
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                raise fail(f"keyframes[{i}] is at {self._when(i)} but keyframes[{i - 1}] is at {self._when(i - 1)}; "
                            f"keyframe times must strictly increase", "keyframes", i, self._time_field(i))
            if times[i] - times[i - 1] < MIN_GAP:
                raise fail(f"keyframes[{i}] is only {times[i] - times[i - 1]:.3g} s after keyframes[{i - 1}]; "
                            f"keyframes must be at least {MIN_GAP:g} s apart", "keyframes", i, self._time_field(i))
        if self.n_frames > limits.get("frames"):
            raise fail(limits.exceeded("frames", self.n_frames, f"the timeline ({self.total_duration:g} s at "
                                                                f"{self.fps:g} fps)"),
                       "duration" if self.duration is not None else "keyframes")
        last = times[-1]
        if self.loop:
            if self.duration is None and len(times) == 1 and not self.audio_driven:
                raise fail("a loop with a single keyframe needs 'duration' (seconds) to know how long to run",
                            "loop")
            if self.duration is not None and self.duration <= last:
                raise fail(f"must be longer than the last keyframe time ({last:g} s) for a loop: the closing "
                            f"segment runs from the last keyframe back to the first", "duration")
            if self.n_frames / self.fps <= last:
                where = "duration" if self.duration is not None else "loop"
                raise fail(f"a loop must run at least one frame past its last keyframe ({last:g} s): at "
                            f"{self.fps:g} fps it has only {self.n_frames} frames; raise 'duration'", where)
        elif self.duration is not None or self.audio_driven:
            end = self.total_duration
            what = f"duration: {end:g} s" if self.duration is not None else f"the audio lasts {end:g} s"
            for i, t in enumerate(times):
                if t > end + 1e-9:
                    raise fail(f"keyframes[{i}] is at {self._when(i)}, after the end of the timeline ({what}); "
                               f"raise 'duration' or remove the keyframe", "keyframes", i, self._time_field(i))
        for i, kf in enumerate(self.keyframes):
            if self.space == "z" and kf.latent_space == "w":
                raise fail("a w latent cannot be used in a timeline with space: z (w cannot be mapped back to z); "
                            "use space: w", "keyframes", i, "latent_space")
        return self

    def _time_field(self, i: int) -> str:
        kf = self.keyframes[i]
        return next((name for name in WHEN_FIELDS if getattr(kf, name) is not None), "time")

    def _when(self, i: int) -> str:
        kf = self.keyframes[i]
        if kf.time is not None:
            return f"{kf.time:g} s"
        name = self._time_field(i)
        return f"{name} {getattr(kf, name):g} ({self.keyframe_times[i]:g} s)"

    def __eq__(self, other: object) -> bool:
        """Two timelines are equal when their fields are (the source file and line map are not compared)."""
        if not isinstance(other, Timeline):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------------------------------- resolved values
    @property
    def source(self) -> str:
        """The file the timeline came from (or "timeline text" / "timeline data" when it came from no file)."""
        return self._source

    @property
    def has_beat_keyframes(self) -> bool:
        """True when a keyframe is placed with ``beat`` or ``bar`` (its time comes from the audio's beats)."""
        return any(kf.beat is not None or kf.bar is not None for kf in self.keyframes)

    @property
    def audio_track(self):
        """The analysed audio (``studio.timeline_audio.AudioTrack``) once attached by ``with_audio``, else None."""
        return self._track

    @property
    def keyframe_times(self) -> list[float]:
        """Keyframe times in seconds (``frame`` keyframes converted with ``fps``, ``beat``/``bar`` ones with the
        attached audio's beats), strictly increasing."""
        return [kf.time_s(self.fps, self._track, self.beats_per_bar) for kf in self.keyframes]

    @property
    def audio_driven(self) -> bool:
        """True when the length comes from the audio: ``audio`` given and analysed, no ``duration``."""
        return self.duration is None and self._track is not None

    @property
    def total_duration(self) -> float:
        """Seconds rendered: ``duration`` if given; else the audio's length after its offset (when analysed); else
        the last keyframe time, or for a loop the last keyframe time plus the average keyframe spacing (so the
        closing segment is as long as an average one)."""
        if self.duration is not None:
            return float(self.duration)
        if self._track is not None:
            return float(self._track.duration)
        times = self.keyframe_times
        if self.loop and len(times) > 1:
            return times[-1] + (times[-1] - times[0]) / (len(times) - 1)
        return times[-1]

    @property
    def n_frames(self) -> int:
        """Frames rendered: round(duration*fps) for loops (no duplicated seam frame), that + 1 otherwise."""
        if self.audio_driven:  # every frame starts inside the audio: the sound is cut to n_frames / fps
            return max(1, int(math.floor(self._track.duration * self.fps + 1e-9)))
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
        """Where to write: ``output.path`` (absolute when the timeline came from a file: resolved against its
        folder), else ``renders/<timeline file stem>.mp4`` relative to the working folder."""
        if self.output.path is not None:
            return Path(self.output.path)
        in_memory = self._source.startswith("<") or self._source in IN_MEMORY_SOURCES
        stem = "timeline" if in_memory else (Path(self._source).stem or "timeline")
        return Path("renders") / f"{stem}.mp4"

    def line_of(self, field: str) -> int | None:
        """Return the 1-based line of a field path such as ``"keyframes[2].latent"`` (or of its nearest parent
        that appears in the file), or None when the timeline did not come from YAML text."""
        return line_of(self._lines, field)

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




TIMELINE_FIELDS = tuple(Timeline.model_fields)
