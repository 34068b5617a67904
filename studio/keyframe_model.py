"""The keyframe schema: pydantic models of one timeline keyframe (``Keyframe``) and its style mix (``MixSpec``),
plus the bounds and small validators every timeline model shares.

Paths (``latent``, ``features``) are resolved against the ``base_dir`` in the validation context (the timeline file's
folder) and stored absolute; without a ``base_dir`` they stay as written. ``studio.timeline_model`` builds the whole
``Timeline`` from these.
"""
from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ganlib.schema import fail, resolve_path, show
from studio.layer_specs import layer_ranges


SEED_MAX = 2**32 - 1
MAX_NOISE_STRENGTH = 10.0  # a keyframe's noise_strength (× the model's own noise)
MAX_SECONDS = 1e7  # times and durations (115 days): beyond it frame counts overflow and nothing renders
MAX_FRAMES = 10**9
MIN_GAP = 1e-3  # seconds between keyframes: closer ones make the spline's tangents explode (flat frames)
MAX_STRENGTH = 1e4  # a direction's strength (SeFa sliders are ±10 or so)
MAX_FEATURE = 1e6  # one value of a feature vector
MAX_DIM_OFFSET = 1e3  # one latent dimension's offset (z is N(0, 1): ±10 is already far out)
MAX_DIM_INDEX = 2**20  # a latent index beyond any network's width (the model checks the real range)
SIZE_MIN, SIZE_MAX = 16, 4096
LATENT_EXTENSIONS = (".npy", ".npz")
EASES = ("linear", "in", "out", "in-out")
INTERPOLATIONS = ("linear", "slerp", "cubic")
BUILTIN_PREFIX = "builtin:"  # model specs that name a shipped model, not a path (ganlib.checkpoints.registry)

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=False)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _resolve(value: str, info: ValidationInfo | None) -> str:
    """The one path rule of a timeline: ``value`` resolved against ``info.context['base_dir']`` (if any)."""
    base = (info.context or {}).get("base_dir") if info is not None else None
    return resolve_path(value, base)

WHEN_FIELDS = ("time", "frame", "beat", "bar")


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
                layer_ranges(v)
            except ValueError as exc:
                raise fail(str(exc)) from None
            return v
        if isinstance(v, (list, tuple)):
            if not v:
                raise fail("must name at least one layer, e.g. '8-' or [8, 9, 10]")
            for i, item in enumerate(v):
                if not _is_int(item) or item < 0:
                    raise fail(f"must be a layer index (a whole number >= 0), got {show(item)}", i)
            return list(v)
        raise fail(f"must be a layer list like '8-', '0-3', '4,5,6' or [4, 5, 6] (got {show(v)})")


class Keyframe(BaseModel):
    """One keyframe: when (``time`` in seconds or ``frame``) and what (``seed`` or ``latent`` file), plus options."""

    model_config = _STRICT
    time: float | None = Field(None, ge=0, le=MAX_SECONDS)
    frame: int | None = Field(None, ge=0, le=MAX_FRAMES)
    beat: float | None = Field(None, ge=0, le=MAX_SECONDS)
    bar: float | None = Field(None, ge=0, le=MAX_SECONDS)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    latent: str | None = None
    latent_space: Literal["z", "w"] | None = None
    truncation: float | None = Field(None, ge=0, le=2)
    ease: Literal["linear", "in", "out", "in-out"] = "linear"
    label: int | None = Field(None, ge=0)
    features: list[float] | str | None = None
    mix: MixSpec | None = None
    directions: dict[str, float] | None = None
    dims: dict[int, float] | None = None   # latent index → offset added to that one dimension (z, or w in space w)
    translate: list[float] | None = None   # StyleGAN3 camera: [x, y] in image widths
    rotate: float | None = None            # StyleGAN3 camera: degrees (NVlabs gen_images.py --rotate)
    noise_strength: float | None = Field(None, ge=0, le=MAX_NOISE_STRENGTH)  # × the model's noise (1 = as is)

    @field_validator("translate", mode="before")
    @classmethod
    def _check_translate(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise fail(f"must be [x, y] in image widths, like [0.25, 0] (got {show(v)})")
        for i, item in enumerate(v):
            if not _is_number(item) or not math.isfinite(item):
                raise fail(f"must be a finite number (got {show(item)})", i)
        return [float(x) for x in v]

    @field_validator("rotate", mode="before")
    @classmethod
    def _check_rotate(cls, v: Any) -> Any:
        if v is not None and (not _is_number(v) or not math.isfinite(v)):
            raise fail(f"must be an angle in degrees, like 90 (got {show(v)})")
        return None if v is None else float(v)

    @field_validator("directions")
    @classmethod
    def _check_strengths(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for name, strength in (v or {}).items():
            if abs(strength) > MAX_STRENGTH:
                raise fail(f"strength {strength:g} is out of range: a direction's strength must lie within "
                           f"±{MAX_STRENGTH:g} (larger ones overflow the network and render flat frames)", name)
        return v

    @field_validator("dims", mode="before")
    @classmethod
    def _check_dims(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, dict):
            raise fail(f"must map latent indices to offsets, like {{5: 2.5, 12: -1}} (got {show(v)})")
        out: dict[int, float] = {}
        for key, value in v.items():
            index = int(key) if isinstance(key, str) and key.strip().isdigit() else key
            if not _is_int(index) or not 0 <= index <= MAX_DIM_INDEX:
                raise fail(f"keys are latent indices (whole numbers >= 0), got {show(key)}", str(key))
            if not _is_number(value) or not math.isfinite(value) or abs(value) > MAX_DIM_OFFSET:
                raise fail(f"an offset must be a finite number within ±{MAX_DIM_OFFSET:g} (got {show(value)})",
                           str(key))
            out[index] = float(value)
        return out

    @field_validator("latent")
    @classmethod
    def _check_latent(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise fail("must be a path to a .npy or .npz file (got an empty string)")
        if PurePath(v).suffix.lower() not in LATENT_EXTENSIONS:
            raise fail(f"must be a .npy or .npz file (got '{v}')")
        return _resolve(v, info)

    @field_validator("features", mode="before")
    @classmethod
    def _check_features(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return v
        if isinstance(v, str):
            if PurePath(v).suffix.lower() not in LATENT_EXTENSIONS:
                raise fail(f"must be a list of numbers or a path to a .npy/.npz file (got '{v}')")
            return _resolve(v, info)
        if isinstance(v, (list, tuple)):
            if not v:
                raise fail("must not be an empty list")
            for i, item in enumerate(v):
                if not _is_number(item) or not math.isfinite(item) or abs(item) > MAX_FEATURE:
                    raise fail(f"must be a finite number within ±{MAX_FEATURE:g} (got {show(item)})", i)
            return [float(x) for x in v]
        raise fail(f"must be a list of numbers or a path to a .npy file (got {show(v)})")

    @model_validator(mode="after")
    def _check_choices(self) -> Keyframe:
        when = [name for name in WHEN_FIELDS if getattr(self, name) is not None]
        if len(when) > 1:
            raise fail(f"give either '{when[0]}' or '{when[1]}' (a keyframe is placed by one of time in seconds, "
                       f"frame, beat or bar), not both", when[1])
        if not when:
            raise fail("needs 'time' (seconds), 'frame' (a frame number), or with audio 'beat' or 'bar', "
                       "e.g. {time: 0, seed: 12}")
        if self.seed is not None and self.latent is not None:
            raise fail("give either 'seed' (a number) or 'latent' (a .npy/.npz file), not both", "latent")
        if self.seed is None and self.latent is None:
            raise fail("needs 'seed' (a whole number 0..4294967295) or 'latent' (a .npy/.npz file)")
        if self.latent_space is not None and self.latent is None:
            raise fail("only applies to a 'latent' file (a seed always gives a z vector)", "latent_space")
        return self

    def time_s(self, fps: float, track=None, beats_per_bar: int = 4) -> float:
        """Return this keyframe's time in seconds: ``time``, ``frame`` / ``fps``, or for ``beat``/``bar`` the beat's
        time in the audio ``track`` (a ``studio.timeline_audio.AudioTrack``; ValueError without one)."""
        if self.time is not None:
            return float(self.time)
        if self.frame is not None:
            return self.frame / fps
        if track is None:
            raise ValueError("beat and bar keyframes need the timeline's audio analysed (studio.timeline.with_audio)")
        beats = self.beat if self.beat is not None else self.bar * beats_per_bar
        return track.beat_time(beats)



KEYFRAME_FIELDS = tuple(Keyframe.model_fields)
