"""The output schema: the pydantic model of a timeline's ``output:`` block (``Output``).

Formats, codecs, CRF ranges and presets come from the one format table, ``studio.sinks.formats``; ``path`` is
resolved against the ``base_dir`` in the validation context like every timeline path.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from ganlib.schema import fail
from studio.keyframe_model import _STRICT, _resolve
from studio.sinks.formats import (CRF_DEFAULT, PRESETS, FormatError, OutputFormat, check_crf, output_format,
                                  resolve_codec)

class Output(BaseModel):
    """Where and how to write the video: ``path`` (format from its extension, see ``studio.sinks.formats``),
    ``codec`` (a name or alias; stored as the canonical name), ``crf`` (checked against the codec's range), the
    x264/x265 ``preset``, ``fit`` (how frames meet a ``size`` whose aspect differs from the model's: crop the
    middle, pad with black or stretch) and ``chunk_frames`` (frames per resumable chunk, rounded up to a multiple
    of the batch; None: the default of ``studio.chunks.plan``)."""

    model_config = _STRICT
    path: str | None = None
    codec: str | None = None
    crf: int = Field(CRF_DEFAULT, ge=0)
    preset: Literal[PRESETS] = "medium"  # x264/x265 speed: faster encodes leave more CPU to the generator
    # A 16:9 or 9:16 size from a square model: cut the middle out, pad with black, or distort.
    fit: Literal["crop", "pad", "stretch"] = "crop"
    # Frames per chunk (a resumable unit; one video segment). None: about 10 s of video, 2 s of PNG/GIF/zip frames.
    chunk_frames: int | None = Field(None, ge=1, le=1_000_000)

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise fail("must not be empty; leave it out to write renders/<timeline name>.mp4")
        try:
            output_format(v)
        except FormatError as exc:
            raise fail(exc.message) from None
        return _resolve(v, info)

    @model_validator(mode="after")
    def _check_codec(self) -> Output:
        fmt = self.output_format
        try:
            codec = resolve_codec(fmt, self.codec)
        except FormatError as exc:
            raise fail(exc.message, "codec") from None
        if self.codec is not None and codec is not None:
            self.codec = codec.name
        try:
            check_crf(codec, self.crf)
        except FormatError:
            raise fail(f"must be at most {codec.crf_max} for {codec.label} video (0 is best), got {self.crf}",
                       "crf") from None
        return self

    @property
    def output_format(self) -> OutputFormat:
        """The format table's entry for ``path`` (MP4 when no path is given)."""
        return output_format(self.path)

    @property
    def format(self) -> str:
        """The format's name: "mp4", "mov", "mkv", "webm", "gif", "png" (a folder of numbered PNG frames) or
        "zip" (PNG frames in a zip file)."""
        return self.output_format.name

    @property
    def codec_name(self) -> str | None:
        """The video codec to use: the given one, else the format's default (h264; vp9 for .webm); None for
        gif/png/zip."""
        codec = resolve_codec(self.output_format, self.codec)
        return codec.name if codec is not None else None

