"""Frame sinks: stream uint8 frames (H×W×C, C = 1, 3, 4) to a video, a GIF, a PNG sequence or a zip.

``open_sink(path, fps=...)`` picks the sink from the path through the one format table
(:mod:`studio.sinks.formats`):

- ``.mp4`` ``.mov`` ``.mkv`` ``.webm``: :class:`VideoSink` (``video.py``), the ffmpeg bundled with imageio-ffmpeg;
  H.264 by default (VP9 for ``.webm``), yuv420p, BT.709 tags, CRF, optional audio.
- ``.gif``: :class:`GifSink` (``gif.py``), ffmpeg, one palette per frame, error-diffused delays, loops forever.
- ``.zip``: :class:`ZipSink` (``images.py``), one PNG (or JPEG) per frame, named by the caller.
- a folder (``out/`` or no suffix): :class:`PngSequenceSink` (``images.py``), ``frame_000000.png`` …, resumable.

The thread, the bounded queue and the temp-then-rename commit are in ``base.py``, the ffmpeg pipe in ``pipe.py``.
Video and GIF get RGB (grey is repeated, alpha dropped); PNG and zip keep grey (mode L) and alpha (RGBA).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ganlib.errors import UserError
from studio.sinks.base import DEFAULT_QUEUE_SIZE, EncoderError, FrameSink
from studio.sinks.formats import CRF_DEFAULT, FORMATS, FormatError, OutputFormat, output_format, parse_fps
from studio.sinks.gif import GifSink, gif_delays_cs
from studio.sinks.images import PNG_PATTERN, PngSequenceSink, ZipSink, existing_png_frames
from studio.sinks.video import VideoSink


def sink_format(path: str | Path) -> OutputFormat:
    """Return the :class:`OutputFormat` that ``open_sink`` uses for ``path`` (an existing folder is a PNG
    sequence). Raises :class:`FormatError` for an unsupported suffix, and UserError for an existing folder whose
    name asks for a file (``x.mp4/``): a folder is never taken for a file."""
    is_dir = os.path.isdir(path)
    if is_dir and not str(path).endswith(("/", os.sep)) and Path(path).suffix:
        named = output_format(path, is_dir=False)
        if named.kind != "png":
            raise UserError(f"is an existing folder, but its name asks for a {named.kind} file; remove the folder "
                            f"or choose another name", file=str(path))
    return output_format(path, is_dir=is_dir)


def sink_kind(path: str | Path) -> str:
    """Which sink ``open_sink`` would use for ``path``: ``"video"``, ``"gif"``, ``"zip"`` or ``"png"`` (a folder).

    A path ending in ``/``, an existing folder, or a name without a suffix is a PNG-sequence folder. Raises
    ``UserError`` (a :class:`FormatError`) for an unsupported suffix.
    """
    return sink_format(path).kind


def open_sink(path: str | Path, *, fps: Any, codec: str | None = None, crf: int = CRF_DEFAULT,
              size: tuple[int, int] | None = None, audio_path: str | Path | None = None, start_index: int = 0,
              audio_offset: float = 0.0, audio_duration: float | None = None,
              overwrite: bool = True, pad_to_even: bool = False, preset: str = "medium",
              queue_size: int = DEFAULT_QUEUE_SIZE) -> FrameSink:
    """Open the sink that suits ``path`` (see :func:`sink_kind`) and return it (a context manager).

    Takes: ``fps`` (int, float, Fraction or "30000/1001"; used by video and GIF, checked against the format's
    limit); ``codec`` (h264, h265, vp9, prores or an alias; None = the format's default; ignored by non-video
    sinks); ``crf`` (constant quality, lower is better); ``size`` (width, height) of the frames to come, checked at
    once instead of at the first frame (video only); ``audio_path`` (video only: muxed from ``audio_offset``
    seconds, lasting exactly ``audio_duration`` seconds when given, else cut to the shorter stream);
    ``start_index`` (PNG sequence resume); ``overwrite`` (False: an existing output is a ``UserError``);
    ``pad_to_even`` (video: pad odd sizes by one pixel instead of refusing them); ``preset`` (x264/x265 speed);
    ``queue_size`` (frames buffered between the caller and the encoder thread).
    """
    fmt = sink_format(path)
    if audio_path is not None and fmt.audio_codec is None:
        videos = ", ".join(f.suffix for f in _audio_formats())
        raise UserError(f"audio can only be added to a video file ({videos}), not {path}", field="audio")
    if fmt.kind == "video":
        return VideoSink(path, fps=fps, codec=codec, crf=crf, size=size, audio_path=audio_path,
                         audio_offset=audio_offset, audio_duration=audio_duration,
                         overwrite=overwrite, pad_to_even=pad_to_even, preset=preset, queue_size=queue_size)
    if fmt.kind == "gif":
        return GifSink(path, fps=fps, overwrite=overwrite, queue_size=queue_size)
    if fmt.kind == "zip":
        return ZipSink(path, overwrite=overwrite, queue_size=queue_size)
    return PngSequenceSink(path, start_index=start_index, overwrite=overwrite, queue_size=queue_size)


def _audio_formats() -> list[OutputFormat]:
    return [f for f in FORMATS.values() if f.audio_codec is not None]


__all__ = ["open_sink", "sink_kind", "sink_format", "output_format", "parse_fps", "FrameSink", "VideoSink",
           "GifSink", "PngSequenceSink", "ZipSink", "EncoderError", "FormatError", "existing_png_frames",
           "gif_delays_cs", "PNG_PATTERN"]
