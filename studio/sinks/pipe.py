"""A sink that streams raw RGB frames into the ffmpeg bundled with imageio-ffmpeg, through a pipe.

The executable comes from ``imageio_ffmpeg.get_ffmpeg_exe()`` (no system ffmpeg is needed). ffmpeg runs in its own
session, so a Ctrl-C reaches Python (which aborts or closes the sink), not ffmpeg. Its stderr goes to a temporary
file, and the last lines of it are quoted in the :class:`EncoderError` when ffmpeg fails; the exit status is
checked when the output is finished. ``abort()`` kills ffmpeg at once.

The encoder is not trusted blindly: frames are written to a non-blocking pipe, so an ffmpeg that stops reading for
longer than the ``encoder_stall_s`` limit (``ganlib.limits``) stops the render with a message instead of hanging it;
and before the rename the finished file is probed (it must exist, be non-empty and hold the frames sent), so an
encoder that exits 0 without writing never leaves a file under the final name.
"""
from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np

from ganlib import limits
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
    #: count the frames of the finished file before the rename (False: the caller checks them, e.g. once after
    #: joining chunk segments)
    verify_frames = True
    _waited = 0.0  # seconds the encoder has accepted nothing (stall watchdog)

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
            self._write_all(memoryview(data).cast("B"))
        except (BrokenPipeError, ValueError, OSError) as err:
            if self._state == "aborted":
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=limits.get("encoder_stall_s"))
            raise self._ffmpeg_error(f"the encoder stopped ({err.__class__.__name__})") from None

    def _write_all(self, data: memoryview) -> None:
        """Write ``data`` to ffmpeg's stdin; raise EncoderError when ffmpeg accepts nothing for ``encoder_stall_s``
        seconds (a stalled encoder), OSError when the pipe breaks."""
        fd = self._proc.stdin.fileno()
        os.set_blocking(fd, False)
        stall = limits.get("encoder_stall_s")
        while len(data):
            if self._state == "aborted":
                return
            _, ready, _ = select.select([], [fd], [], min(stall, 1.0))
            if not ready:
                self._waited += min(stall, 1.0)
                waited = self._waited
                if self._proc.poll() is not None:
                    raise BrokenPipeError("the encoder exited")
                if waited >= stall:
                    self._interrupt()
                    raise EncoderError(f"the encoder stalled: ffmpeg accepted no data for {stall} s (raise the "
                                       f"limit with --limit encoder_stall_s=N); the partial output was removed",
                                       file=self.path)
                continue
            self._waited = 0.0
            try:
                n = os.write(fd, data[:1 << 20])
            except BlockingIOError:
                continue
            data = data[n:]

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
        try:
            rc = self._proc.wait(timeout=limits.get("encoder_stall_s"))
        except subprocess.TimeoutExpired:
            self._interrupt()
            raise EncoderError(f"the encoder did not finish within {limits.get('encoder_stall_s')} s after the last "
                               f"frame; the partial output was removed", file=self.path) from None
        if rc != 0:
            raise self._ffmpeg_error("while finishing")
        self._close_stderr()
        self._probe()

    def _probe(self) -> None:
        """Check the finished temporary file before it is renamed: it must exist, be non-empty and (when ffmpeg
        can count them) hold as many frames as were sent. Raises EncoderError otherwise."""
        try:
            size = os.path.getsize(self.temp_path)
        except OSError:
            size = 0
        if size == 0:
            raise EncoderError(f"the encoder exited without writing {self.path} (an empty file); nothing was "
                               f"written under the final name", file=self.path)
        if not self.verify_frames:
            return
        found = probe_frames(self.temp_path)
        if found is not None and found < self.frames_written:
            raise EncoderError(f"the encoded file holds {found} frames but {self.frames_written} were sent; the "
                               f"output was not kept", file=self.path)

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


def probe_frames(path, timeout: float = 60.0) -> int | None:
    """Return the number of video frames in the file ``path``, counted by the bundled ffmpeg reading the stream
    without decoding it (``-c copy -f null``); None when ffmpeg gives no count (an exotic container)."""
    try:
        out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c",
                              "copy", "-f", "null", "-"], capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    counts = re.findall(rb"frame=\s*(\d+)", out.stderr)
    if out.returncode != 0:
        return 0
    return int(counts[-1]) if counts else None


def pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad an H×W×C frame by one pixel (edge copy) on the right and/or bottom so both sides are even."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


__all__ = ["FfmpegPipeSink", "ffmpeg_exe", "rawvideo_input", "pad_even", "probe_frames"]
