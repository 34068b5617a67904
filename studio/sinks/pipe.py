"""A sink that streams raw RGB frames into the ffmpeg bundled with imageio-ffmpeg, through a pipe.

The executable comes from ``imageio_ffmpeg.get_ffmpeg_exe()`` (no system ffmpeg is needed). ffmpeg runs in its own
session, so a Ctrl-C reaches Python (which aborts or closes the sink), not ffmpeg. Its stderr goes to a temporary
file, and the last lines of it are quoted in the :class:`EncoderError` when ffmpeg fails; the exit status is
checked when the output is finished. ``abort()`` kills ffmpeg at once.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np

from ganlib.errors import UserError
from ganlib.pixels import to_rgb
from studio.sinks.base import EncoderError, TempFileSink


def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg executable bundled with imageio-ffmpeg (a str)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def rawvideo_input(width: int, height: int, rate: str) -> list[str]:
    """Return ffmpeg's input arguments for rgb24 frames of ``width``×``height`` at ``rate`` ("30000/1001") on stdin."""
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", rate, "-i", "pipe:0"]


class FfmpegPipeSink(TempFileSink):
    """Write frames (converted to RGB) into an ffmpeg process that encodes ``temp_path``; renamed on close.

    Subclasses implement ``build_command(width, height) -> list[str]`` and may override ``_prepare(frame)``
    (encoder thread: the array written for one frame) and ``_check_size(width, height)`` (caller thread).
    """

    _proc: subprocess.Popen | None = None
    _stderr = None  # a temporary file holding ffmpeg's stderr while it runs
    command: list[str] | None = None

    def _first_frame(self, width: int, height: int) -> None:
        self._check_size(width, height)
        self._start(width, height)

    def _check_size(self, width: int, height: int) -> None:
        """Refuse a frame size the encoder cannot take (UserError). Returns None."""

    def build_command(self, width: int, height: int) -> list[str]:
        """Return the ffmpeg command line (list of str) that encodes ``width``×``height`` rgb24 frames."""
        raise NotImplementedError

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        return to_rgb(frame)

    def _start(self, width: int, height: int) -> None:
        self.command = self.build_command(width, height)
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=self._stderr, start_new_session=(os.name == "posix"))
        except OSError as err:
            raise EncoderError(f"cannot start ffmpeg: {err}", file=self.path) from None

    # the encoder thread --------------------------------------------------------------------------------------

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        data = np.ascontiguousarray(self._prepare(frame))
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(memoryview(data).cast("B"))
        except (BrokenPipeError, ValueError, OSError) as err:
            if self._state == "aborted":
                return
            self._proc.wait()
            raise self._ffmpeg_error(f"the encoder stopped ({err.__class__.__name__})") from None

    def _ffmpeg_error(self, what: str) -> EncoderError:
        tail = ""
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                self._stderr.seek(0)
                text = self._stderr.read().decode("utf-8", "replace").strip()
                tail = " | ".join(text.splitlines()[-6:])
        rc = self._proc.returncode if self._proc is not None else None
        return EncoderError(f"ffmpeg failed writing {self.path} ({what}, exit code {rc})"
                            + (f": {tail}" if tail else ""), file=self.path)

    # finalisation --------------------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self._proc is None or self.frames_written == 0:
            raise UserError(f"no frames were written to {self.path}", file=self.path)
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise self._ffmpeg_error("while finishing")
        self._close_stderr()

    def _interrupt(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(Exception):
                self._proc.kill()

    def _discard(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.kill()
            with contextlib.suppress(Exception):
                self._proc.wait(timeout=10)
            with contextlib.suppress(Exception):
                self._proc.stdin.close()
        self._close_stderr()
        super()._discard()

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                self._stderr.close()
            self._stderr = None

    @property
    def process(self) -> subprocess.Popen | None:
        """The running (or finished) ffmpeg process, None before the first frame."""
        return self._proc


def pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad an H×W×C frame by one pixel (edge copy) on the right and/or bottom so both sides are even."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


__all__ = ["FfmpegPipeSink", "ffmpeg_exe", "rawvideo_input", "pad_even"]
