"""The audio part of the timeline schema: ``audio:`` (:class:`AudioSpec`), ``react:`` rules (:class:`ReactRule`)
and the checks that tie them to the rest of a timeline (:func:`check_audio_fields`). Validation only: no I/O.

```yaml
audio: music/track.wav            # or {path: music/track.wav, offset: 12.5}; relative to the timeline file
beats_per_bar: 4                  # for keyframes placed with `bar:`
keyframes:
  - {time: 0, seed: 7}
  - {beat: 16, seed: 21}          # the 17th detected beat (beats count from 0 at `offset`)
react:
  - {feature: onsets, band: low, target: pulse, seed: 99, amount: 0.8, decay: 0.25}
  - {feature: rms, band: high, target: direction, direction: sefa2, amount: 3.0, smooth: {attack: 0.02, release: 0.3}}
```
"""
from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ganlib.schema import fail, resolve_path, show
from studio.audio.names import BAND_NAMES, BANDED_FEATURES, FEATURES
from studio.modulation import DEFAULT_DECAY, DEFAULT_PERCENTILE, TARGETS

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=False)
VECTOR_FILES = (".npy", ".npz")
SEED_MAX = 2**32 - 1


def _resolve(value: str, info: ValidationInfo | None) -> str:
    base = (info.context or {}).get("base_dir") if info is not None else None
    return resolve_path(value, base)


class AudioSpec(BaseModel):
    """The timeline's music: ``path`` (any format the bundled ffmpeg decodes; relative to the timeline file) and
    ``offset`` (seconds of the file skipped: frame 0 plays the audio at ``offset``)."""

    model_config = _STRICT
    path: str
    offset: float = Field(0.0, ge=0)

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise fail("must be a path to an audio file (WAV, FLAC, MP3, OGG, M4A, ...)")
        return _resolve(v, info)


class Smoothing(BaseModel):
    """Attack and release times in seconds of a rule's envelope follower (0 = follow at once)."""

    model_config = _STRICT
    attack: float = Field(0.0, ge=0)
    release: float = Field(0.0, ge=0)


class ReactRule(BaseModel):
    """One audio-reactive rule: a ``feature`` (per ``band`` for onsets/rms) shaped by ``percentile``, ``power``
    and ``smooth``, driving a ``target`` by ``amount``; ``seed``/``latent`` (pulse), ``direction`` (direction,
    motion: ``sefaN`` or a vector file), ``seeds`` (chroma-blend: twelve), ``decay`` (pulse, seconds)."""

    model_config = _STRICT
    feature: Literal[FEATURES]
    target: Literal[TARGETS]
    band: Literal[BAND_NAMES] | None = None
    amount: float = 1.0
    smooth: float | Smoothing | None = None
    percentile: float = Field(DEFAULT_PERCENTILE, gt=0, le=100)
    power: float = Field(1.0, gt=0)
    decay: float | None = Field(None, gt=0)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    latent: str | None = None
    direction: str | None = None
    seeds: list[int] | None = None

    @field_validator("smooth", mode="before")
    @classmethod
    def _check_smooth(cls, v: Any) -> Any:
        if v is None or isinstance(v, dict):
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise fail(f"must be seconds (attack and release) >= 0 or {{attack: 0.01, release: 0.3}}, got {show(v)}")
        return float(v)

    @field_validator("latent")
    @classmethod
    def _check_latent(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if PurePath(v).suffix.lower() not in VECTOR_FILES:
            raise fail(f"must be a .npy or .npz latent file (got '{v}')")
        return _resolve(v, info)

    @field_validator("direction")
    @classmethod
    def _check_direction(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if PurePath(v).suffix.lower() in VECTOR_FILES:
            return _resolve(v, info)
        if not (v.startswith("sefa") and v[4:].isdigit()):
            raise fail(f"must be a SeFa direction such as 'sefa0' or a .npy vector file (got {show(v)})")
        return v

    @field_validator("seeds", mode="before")
    @classmethod
    def _check_seeds(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, (list, tuple)) or len(v) != 12:
            raise fail(f"must be a list of 12 seeds, one per pitch class C, C#, ..., B (got {show(v)})")
        for i, s in enumerate(v):
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= SEED_MAX:
                raise fail(f"must be a seed (a whole number 0..{SEED_MAX}), got {show(s)}", i)
        return list(v)

    @model_validator(mode="after")
    def _check_combination(self) -> "ReactRule":
        f, t = self.feature, self.target
        if self.band is not None and f not in BANDED_FEATURES:
            raise fail(f"'{f}' has no bands (only {' and '.join(BANDED_FEATURES)} do); leave 'band' out", "band")
        if (f == "chroma") != (t == "chroma-blend"):
            raise fail("the 12-value chroma feature drives only target 'chroma-blend', and chroma-blend needs "
                       "feature 'chroma'", "target" if f == "chroma" else "feature")
        needs = {"pulse": ("seed", "latent"), "direction": ("direction",), "motion": ("direction",),
                 "chroma-blend": ("seeds",)}.get(t, ())
        given = [name for name in ("seed", "latent", "direction", "seeds") if getattr(self, name) is not None]
        if needs and not any(n in given for n in needs):
            example = {"pulse": "seed: 99", "direction": "direction: sefa2", "motion": "direction: sefa0",
                       "chroma-blend": "seeds: [1, 2, ..., 12]"}[t]
            raise fail(f"target '{t}' needs {' or '.join(repr(n) for n in needs)}, e.g. {example}")
        for name in given:
            if name not in needs:
                raise fail(f"does not apply to target '{t}'", name)
        if t == "pulse" and self.seed is not None and self.latent is not None:
            raise fail("give either 'seed' or 'latent' as the pulse's target, not both", "latent")
        if self.decay is not None and t != "pulse":
            raise fail("only applies to target 'pulse'", "decay")
        return self

    @property
    def band_name(self) -> str | None:
        """The band used: the given one, else 'all' for banded features; None for the others."""
        return (self.band or "all") if self.feature in BANDED_FEATURES else None

    @property
    def attack_release(self) -> tuple[float, float]:
        """(attack, release) seconds from ``smooth`` (a number sets both)."""
        if self.smooth is None:
            return 0.0, 0.0
        if isinstance(self.smooth, Smoothing):
            return self.smooth.attack, self.smooth.release
        return float(self.smooth), float(self.smooth)

    @property
    def pulse_decay(self) -> float:
        """The pulse's release in seconds (``decay``, default 0.25)."""
        return DEFAULT_DECAY if self.decay is None else float(self.decay)


def check_audio_fields(tl) -> None:
    """Check what ties ``audio``, ``react`` and beat/bar keyframes to the rest of timeline ``tl`` (inside the
    Timeline's model validator): beats, bars and react rules need ``audio``; directions, motion and mix need
    ``space: w``; a ``mix`` rule needs a keyframe with ``mix``. Raises the schema's ``fail`` errors."""
    for i, kf in enumerate(tl.keyframes):
        for name in ("beat", "bar"):
            if getattr(kf, name, None) is not None and tl.audio is None:
                raise fail(f"a keyframe placed with '{name}:' needs the timeline's 'audio:' (its beats are "
                           f"detected in the music); use 'time:' or add audio: path/to/track.wav",
                           "keyframes", i, name)
    for i, rule in enumerate(tl.react):
        if tl.audio is None:
            raise fail("react rules need the timeline's 'audio:' (e.g. audio: music/track.wav)", "react", i)
        if tl.space == "z" and rule.target in ("direction", "motion", "mix"):
            raise fail(f"target '{rule.target}' works in w space; set 'space: w'", "react", i, "target")
        if rule.target == "mix" and not any(kf.mix is not None for kf in tl.keyframes):
            raise fail("target 'mix' modulates the keyframes' style mixing, but no keyframe has 'mix' "
                       "(e.g. {time: 0, seed: 7, mix: {seed: 3, layers: '8-'}})", "react", i, "target")
