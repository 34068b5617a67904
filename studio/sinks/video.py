"""Video files (MP4, MOV, MKV, WebM) through the bundled ffmpeg: exact frame rate, CRF, BT.709, optional audio.

Everything format-specific (muxer, codecs and their CRF ranges, audio codec, +faststart) comes from the one
format table, :mod:`studio.sinks.formats`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganlib.errors import UserError
from ganlib.pixels import to_rgb
from studio.sinks.base import DEFAULT_QUEUE_SIZE
from studio.sinks.formats import (CRF_DEFAULT, PRESETS, FormatError, audio_codec_args, check_crf, output_format,
                                  parse_fps, resolve_codec)
from studio.sinks.pipe import FfmpegPipeSink, ffmpeg_exe, pad_even, rawvideo_input

# RGB → YUV with the BT.709 matrix, limited range, and say so in the stream (players then agree).
_BT709 = ("scale=out_color_matrix=bt709:out_range=tv,"
          "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709")


class VideoSink(FfmpegPipeSink):
    """Encode frames with ffmpeg through a pipe (rawvideo rgb24 in; H.264/H.265/VP9/ProRes out).

    Output: exact frame rate (a rational), exactly one output frame per input frame, constant quality (CRF),
    ``yuv420p`` (``yuv422p10le`` for ProRes) tagged BT.709, ``+faststart`` for MP4/MOV, no resizing. Grey frames
    are repeated into RGB and an alpha channel is dropped. H.264/H.265/VP9 need even sizes (ProRes an even
    width): an odd size raises ``UserError`` unless ``pad_to_even`` (one pixel, edge copy, right/bottom). With
    ``audio_path`` the audio is muxed (the format table's audio codec: AAC; Opus in WebM; PCM with ProRes) from
    ``audio_offset`` seconds into the file; with ``audio_duration`` it lasts exactly that long (cut, or padded with
    silence), else the output is cut to the shorter of the two streams (``-shortest``).
    """

    def __init__(self, path: str | Path, *, fps: Any, codec: str | None = None, crf: int = CRF_DEFAULT,
                 size: tuple[int, int] | None = None, audio_path: str | Path | None = None,
                 audio_offset: float = 0.0, audio_duration: float | None = None,
                 overwrite: bool = True, pad_to_even: bool = False, preset: str = "medium",
                 queue_size: int = DEFAULT_QUEUE_SIZE):
        self.format = output_format(path)
        if self.format.kind != "video":
            raise FormatError(f"not a video file name: {path}", file=path, field="path")
        self.fps = parse_fps(fps, self.format)
        self.spec = resolve_codec(self.format, codec)
        self.codec = self.spec.name
        self.crf = check_crf(self.spec, crf)
        if self.spec.has_preset and preset not in PRESETS:
            raise FormatError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}", field="preset")
        self.preset = preset
        self.pad_to_even = bool(pad_to_even)
        self.audio_path = Path(audio_path) if audio_path is not None else None
        if self.audio_path is not None and not self.audio_path.is_file():
            raise UserError(f"audio file not found: {self.audio_path}", file=self.audio_path, field="audio")
        self.audio_offset = float(audio_offset)
        self.audio_duration = None if audio_duration is None else float(audio_duration)
        super().__init__(path, overwrite=overwrite, queue_size=queue_size)
        if size is not None:
            w, h = (int(v) for v in size)
            try:
                self._first_frame(w, h)
            except BaseException:
                self.abort()
                raise
            self.frame_size = (w, h)

    def _check_size(self, width: int, height: int) -> None:
        if self.pad_to_even:
            return
        odd_w, odd_h = width % 2 and self.spec.even_width, height % 2 and self.spec.even_height
        if odd_w or odd_h:
            need = "an even width and height" if self.spec.even_height else "an even width"
            raise UserError(f"{self.spec.label} video ({self.spec.pix_fmt}) needs {need}, got {width}x{height}; "
                            f"render at an even size (e.g. {width + width % 2}x{height + height % 2}) or pad the "
                            f"frames by one pixel (pad_to_even)", file=self.path, field="size")

    def _out_size(self, width: int, height: int) -> tuple[int, int]:
        if self.pad_to_even:
            return width + width % 2, height + height % 2
        return width, height

    def build_command(self, width: int, height: int) -> list[str]:
        """Return the ffmpeg command line (list of str) that encodes ``width``×``height`` rgb24 frames."""
        spec, fmt = self.spec, self.format
        out_w, out_h = self._out_size(width, height)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y",
               *rawvideo_input(out_w, out_h, f"{self.fps.numerator}/{self.fps.denominator}")]
        if self.audio_path is not None:
            if self.audio_offset > 0:
                cmd += ["-ss", f"{self.audio_offset:.6f}"]
            cmd += ["-i", str(self.audio_path)]
        cmd += ["-map", "0:v:0"]
        if self.audio_path is not None:
            cmd += ["-map", "1:a:0"]
        cmd += ["-c:v", spec.encoder]
        if spec.has_preset:
            cmd += ["-preset", self.preset]
        if spec.crf_max is not None:
            cmd += ["-crf", str(self.crf)]
        cmd += [*spec.args, "-vf", _BT709, "-pix_fmt", spec.pix_fmt, "-fps_mode", "passthrough"]
        if spec.tag and fmt.faststart:
            cmd += ["-tag:v", spec.tag]
        audio_codec = audio_codec_args(fmt, spec)
        if self.audio_path is not None and audio_codec is not None and self.audio_duration is not None:
            d = f"{self.audio_duration:.6f}"
            cmd += ["-af", f"apad=whole_dur={d},atrim=end={d}", "-c:a", *audio_codec]
        elif self.audio_path is not None and audio_codec is not None:
            cmd += ["-c:a", *audio_codec, "-shortest"]
        else:
            cmd += ["-an"]
        if fmt.faststart:
            cmd += ["-movflags", "+faststart"]
        return cmd + ["-f", fmt.muxer, str(self.temp_path)]

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        frame = to_rgb(frame)
        return pad_even(frame) if self.pad_to_even else frame
