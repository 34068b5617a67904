"""The one format table: output suffix → kind, container, codecs, CRF range, frame-rate limit, channels.

The timeline schema, the sinks and the renderer all read this table, so a format, codec or limit is accepted or
refused in one place and the same way everywhere (at parse time, with the file and line, by the schema). Pure:
no I/O, no torch, no ffmpeg run (importing it through the package loads the sink modules too, which only import
OpenCV and imageio-ffmpeg; nothing is started).

Public API::

    FORMATS: dict[str, OutputFormat]      # by name: mp4 mov mkv webm gif png zip
    CODECS: dict[str, Codec]              # by canonical name: h264 h265 vp9 prores
    output_format(path) -> OutputFormat   # from a path: a suffix, or a folder (PNG sequence)
    resolve_codec(fmt, codec) -> Codec    # None → the format's default; aliases (x264, hevc, ...) accepted
    check_crf(codec, crf) -> int
    parse_fps(value, fmt=None) -> Fraction
    FPS_MAX, CRF_DEFAULT, PRESETS

Every refusal raises :class:`FormatError`, a ``UserError`` that is also a ``ValueError`` (so a pydantic validator
may let it through and the schema layer turns it into ``file:line: 'field': message``). ``FormatError.field`` names
the option it is about (``path``, ``codec``, ``crf``, ``fps``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePath
from typing import Any, Literal

from ganlib.errors import UserError

FPS_MAX = Fraction(1000)          # no output is written faster than this
GIF_FPS_MAX = Fraction(50)        # GIF delays are in 10 ms units and browsers slow delays under 20 ms down
CRF_DEFAULT = 18
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
Kind = Literal["video", "gif", "png", "zip"]


class FormatError(UserError, ValueError):
    """An output path, codec, CRF or frame rate that the format table refuses."""


@dataclass(frozen=True)
class Codec:
    """One video codec: ``name`` (canonical), ``label`` (for messages), the ffmpeg ``encoder``, the CRF range
    (``crf_max`` None: no CRF, e.g. ProRes), ``pix_fmt``, extra encoder ``args``, the MP4/MOV ``tag``, the
    ``aliases`` users type, and ``even_width``/``even_height`` (what its chroma subsampling needs)."""

    name: str
    label: str
    encoder: str
    crf_max: int | None
    pix_fmt: str
    args: tuple[str, ...] = ()
    tag: str | None = None
    aliases: tuple[str, ...] = ()
    even_width: bool = True
    even_height: bool = True
    has_preset: bool = False
    audio_codec: tuple[str, ...] | None = None  # overrides the container's audio codec (ProRes: PCM, as editors expect)


@dataclass(frozen=True)
class OutputFormat:
    """One output format: ``name``, ``kind`` (video, gif, png folder, zip), the file ``suffix`` ("" for a folder),
    the ffmpeg ``muxer``, the ``codecs`` it can hold (the first is the default), its ``fps_max``, the audio codec
    and its ffmpeg arguments (None: no audio), whether it keeps a grey or alpha channel (else frames become RGB:
    grey is repeated, alpha is dropped), whether it is an MP4/MOV file (``faststart``: the index moves to the
    front and the codec's ``tag`` applies) and the ``label`` a menu shows."""

    name: str
    kind: Kind
    suffix: str
    muxer: str | None = None
    codecs: tuple[str, ...] = ()
    fps_max: Fraction = FPS_MAX
    audio_codec: tuple[str, ...] | None = None
    keeps_grey: bool = False
    keeps_alpha: bool = False
    faststart: bool = False
    label: str = ""  # what a menu calls it (the studio's format picker)

    @property
    def default_codec(self) -> str | None:
        """The codec used when none is given (None for GIF, PNG and zip)."""
        return self.codecs[0] if self.codecs else None


CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("h264", "H.264", "libx264", 51, "yuv420p", aliases=("avc", "x264", "libx264"), has_preset=True),
    Codec("h265", "H.265", "libx265", 51, "yuv420p", ("-x265-params", "log-level=error"), tag="hvc1",
          aliases=("hevc", "x265", "libx265"), has_preset=True),
    Codec("vp9", "VP9", "libvpx-vp9", 63, "yuv420p", ("-b:v", "0", "-row-mt", "1", "-deadline", "good",
                                                       "-cpu-used", "2"), aliases=("libvpx-vp9", "vp09")),
    Codec("prores", "ProRes", "prores_ks", None, "yuv422p10le", ("-profile:v", "3", "-vendor", "apl0"),
          aliases=("prores_ks",), even_height=False, audio_codec=("pcm_s16le",)),
)}

_AAC = ("aac", "-b:a", "192k")
_OPUS = ("libopus", "-b:a", "160k")
FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("mp4", "video", ".mp4", "mp4", ("h264", "h265", "vp9"), audio_codec=_AAC, faststart=True,
                 label="MP4 video"),
    OutputFormat("mov", "video", ".mov", "mov", ("h264", "h265", "prores"), audio_codec=_AAC, faststart=True,
                 label="MOV video"),
    OutputFormat("mkv", "video", ".mkv", "matroska", ("h264", "h265", "vp9", "prores"), audio_codec=_AAC,
                 label="Matroska video (MKV)"),
    OutputFormat("webm", "video", ".webm", "webm", ("vp9",), audio_codec=_OPUS, label="WebM video"),
    OutputFormat("gif", "gif", ".gif", "gif", fps_max=GIF_FPS_MAX, label="GIF animation"),
    OutputFormat("png", "png", "", keeps_grey=True, keeps_alpha=True, label="PNG sequence (folder)"),
    OutputFormat("zip", "zip", ".zip", keeps_grey=True, keeps_alpha=True, label="PNG sequence (zip)"),
)}
SUFFIXES: dict[str, OutputFormat] = {f.suffix: f for f in FORMATS.values() if f.suffix}
VIDEO_SUFFIXES = tuple(f.suffix for f in FORMATS.values() if f.kind == "video")
_ALIASES = {alias: c.name for c in CODECS.values() for alias in (c.name, *c.aliases)}


def allowed_outputs() -> str:
    """A phrase listing every output the table accepts, for messages: ".mp4, .mov, ... or a folder (PNG frames)"."""
    return ", ".join(SUFFIXES) + " or a folder ending in '/' (PNG frames)"


def output_format(path: str | PurePath | None, *, is_dir: bool = False) -> OutputFormat:
    """Return the :class:`OutputFormat` for an output ``path``: by suffix, or the PNG-sequence folder for a path
    ending in ``/``, a name without a suffix or an existing folder (``is_dir``). None means the default (MP4).
    Raises :class:`FormatError` (field ``path``) for any other suffix."""
    if path is None:
        return FORMATS["mp4"]
    text = str(path)
    if is_dir or text.endswith(("/", "\\")):
        return FORMATS["png"]
    suffix = PurePath(text).suffix.lower()
    if suffix == "":
        return FORMATS["png"]
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    hint = " (for PNG frames give a folder such as 'renders/frames/')" if suffix in (".png", ".jpg") else ""
    raise FormatError(f"unsupported output type {suffix!r}{hint}; use {allowed_outputs()}", field="path")


def audio_codec_args(fmt: OutputFormat, codec: Codec | None) -> tuple[str, ...] | None:
    """Return the ffmpeg audio encoder and its arguments for video ``codec`` in format ``fmt``: the codec's own
    (ProRes: PCM) else the container's (AAC; Opus in WebM); None when the format holds no audio."""
    if fmt.audio_codec is None:
        return None
    return codec.audio_codec if codec is not None and codec.audio_codec is not None else fmt.audio_codec


def resolve_codec(fmt: OutputFormat, codec: str | None) -> Codec | None:
    """Return the :class:`Codec` for ``codec`` (a name or alias such as x264, hevc; None: the format's default) in
    format ``fmt``; None for formats without a video codec (GIF, PNG, zip), which ignore ``codec``. Raises
    :class:`FormatError` (field ``codec``) for an unknown codec or one the container cannot hold."""
    if not fmt.codecs:
        return None
    if codec is None or str(codec).strip() == "":
        return CODECS[fmt.default_codec]
    key = _ALIASES.get(str(codec).strip().lower())
    if key is None:
        raise FormatError(f"unknown codec {codec!r}; allowed: {', '.join(CODECS)}", field="codec")
    if key not in fmt.codecs:
        fits = [f.suffix for f in FORMATS.values() if key in f.codecs]
        raise FormatError(f"a {fmt.suffix} file cannot hold {CODECS[key].label}; allowed there: "
                          f"{', '.join(fmt.codecs)} (or write {' / '.join(fits)} for {key})", field="codec")
    return CODECS[key]


def check_crf(codec: Codec | None, crf: Any) -> int:
    """Return ``crf`` as an int after checking it against ``codec``'s range (0..crf_max); a codec without CRF
    (ProRes) or no codec (GIF, PNG) accepts any integer and ignores it. Raises :class:`FormatError` (field ``crf``)."""
    if isinstance(crf, bool) or not isinstance(crf, int) and not (isinstance(crf, float) and crf.is_integer()):
        raise FormatError(f"must be a whole number, got {crf!r}", field="crf")
    crf = int(crf)
    if codec is not None and codec.crf_max is not None and not 0 <= crf <= codec.crf_max:
        raise FormatError(f"{codec.label} takes a crf from 0 (best) to {codec.crf_max}, got {crf}", field="crf")
    return crf


def parse_fps(value: Any, fmt: OutputFormat | None = None) -> Fraction:
    """Return a frame rate (int, float, Fraction or a string such as "30000/1001") as an exact Fraction, checked
    against ``fmt``'s limit (else :data:`FPS_MAX`). Floats are read as the nearest fraction with a denominator up
    to 10000 (29.97 → 2997/100; 30000/1001 as a float stays 30000/1001). Raises :class:`FormatError` (``fps``)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, Fraction):
            rate = value
        elif isinstance(value, str):
            rate = Fraction(value.strip())
        elif isinstance(value, int):
            rate = Fraction(value)
        else:
            f = float(value)
            if not math.isfinite(f):
                raise ValueError
            rate = Fraction(f).limit_denominator(10000)
    except (TypeError, ValueError, ZeroDivisionError):
        raise FormatError(f"a frame rate must be a positive number, got {value!r}", field="fps") from None
    limit = fmt.fps_max if fmt is not None else FPS_MAX
    if rate <= 0 or rate > limit:
        why = (f" for a {fmt.name.upper()} (its delays are in 10 ms units and browsers slow delays under 20 ms)"
               if fmt is not None and fmt.kind == "gif" else "")
        raise FormatError(f"must be above 0 and at most {float(limit):g} fps{why}; got {float(rate):g}", field="fps")
    return rate
