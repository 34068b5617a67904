"""Animated GIFs through the bundled ffmpeg: one adaptive palette per frame, error-diffused delays, loops forever.

ffmpeg's ``palettegen`` (``stats_mode=single``) makes a 256-colour palette for every frame and ``paletteuse``
(``new=1``, Floyd-Steinberg) maps the frame onto it; the GIF muxer stores each frame's delay as the difference of
its rounded start times, which is exactly the error diffusion of :func:`gif_delays_cs`. Frames stream through
ffmpeg one at a time, so memory does not grow with the length.
"""
from __future__ import annotations

import math
import os
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

from studio.sinks.base import DEFAULT_QUEUE_SIZE, EncoderError, unlink_quietly
from studio.sinks.formats import FORMATS, parse_fps
from studio.sinks.pipe import FfmpegPipeSink, ffmpeg_exe, rawvideo_input

_PALETTES = ("split[a][b];[a]palettegen=stats_mode=single:max_colors=256:reserve_transparent=0[p];"
             "[b][p]paletteuse=new=1:dither={dither}")


def gif_delays_cs(n_frames: int, fps: Any) -> list[int]:
    """Per-frame GIF delays in centiseconds (GIF's 10 ms unit) for ``n_frames`` at ``fps``.

    GIF cannot store e.g. 33.3 ms, so the delays are rounded with error diffusion: frame i lasts
    ``round((i+1)·100/fps) − round(i·100/fps)`` cs, so each frame is within 10 ms of its exact time, and the
    total duration is exact to within 5 ms (30 fps → 3, 4, 3, 3, 4, 3 … cs; 24 fps → 4, 4, 4, 5, 4, 4 … cs).
    Returns a list of ints, each at least 2 (browsers show delays under 20 ms as 100 ms).
    """
    step = Fraction(100) / parse_fps(fps, FORMATS["gif"])
    return [_gif_delay(i, step) for i in range(n_frames)]


def _gif_delay(i: int, step: Fraction) -> int:
    """Delay of frame ``i`` in cs when frames are ``step`` cs apart (error diffusion, round half up, >= 2)."""
    start = math.floor(i * step + Fraction(1, 2))
    end = math.floor((i + 1) * step + Fraction(1, 2))
    return max(2, end - start)


class GifSink(FfmpegPipeSink):
    """Stream an animated GIF: one adaptive 256-colour palette per frame, loops forever.

    Timing is in GIF's 10 ms units, rounded with error diffusion (see :func:`gif_delays_cs`): the total duration
    is exact to 5 ms; a single frame is off by at most 10 ms. Frame rates above the format table's limit (50 fps)
    are refused, because browsers slow delays under 20 ms down to 100 ms. Grey frames are repeated into RGB and an
    alpha channel is dropped.
    """

    def __init__(self, path: str | Path, *, fps: Any, overwrite: bool = True, dither: bool = True,
                 queue_size: int = DEFAULT_QUEUE_SIZE):
        self.format = FORMATS["gif"]
        self.fps = parse_fps(fps, self.format)
        self.dither = dither
        super().__init__(path, overwrite=overwrite, queue_size=queue_size)

    def build_command(self, width: int, height: int) -> list[str]:
        """Return the ffmpeg command line (list of str) that encodes ``width``×``height`` rgb24 frames to a GIF."""
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        palettes = _PALETTES.format(dither="floyd_steinberg" if self.dither else "none")
        return [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y",
                *rawvideo_input(width, height, rate), "-vf", palettes, "-fps_mode", "passthrough",
                "-loop", "0", "-f", self.format.muxer, str(self.temp_path)]

    def _finish(self) -> None:
        super()._finish()
        self._fix_final_delay()

    def _fix_final_delay(self) -> None:
        """The muxer gives the last frame the delay of the one before it; when error diffusion wants another
        delay, copy the frames (no re-encoding) into a GIF whose final delay is set. Returns None."""
        n = self.frames_written
        step = Fraction(100) / self.fps
        last = _gif_delay(n - 1, step)
        if n >= 2 and last == _gif_delay(n - 2, step):
            return
        fixed = self.temp_path.with_name(self.temp_path.name + ".gif")
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-i", str(self.temp_path),
               "-c", "copy", "-loop", "0", "-final_delay", str(last), "-f", self.format.muxer, str(fixed)]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except BaseException:  # Ctrl-C while copying: leave no second temporary file
            unlink_quietly(fixed)
            raise
        if proc.returncode != 0:
            unlink_quietly(fixed)
            tail = " | ".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-6:])
            raise EncoderError(f"ffmpeg failed writing {self.path} (setting the last delay, exit code "
                               f"{proc.returncode}): {tail}", file=self.path)
        os.replace(fixed, self.temp_path)
