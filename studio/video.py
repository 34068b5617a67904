"""Frame sinks: stream uint8 RGB frames (H×W×3 numpy arrays) to a video, a GIF, a PNG sequence or a zip.

``open_sink(path, fps=...)`` picks the sink from the path:

============================  =====================================================================
``.mp4`` ``.mov`` ``.mkv``    :class:`VideoSink`: an ffmpeg pipe (the ffmpeg inside imageio-ffmpeg).
``.webm``                     H.264 by default (VP9 for ``.webm``), yuv420p, BT.709 tags, CRF.
``.gif``                      :class:`GifSink`: Pillow, one adaptive palette per frame, loops forever.
``.zip``                      :class:`ZipSink`: one PNG (or JPEG) per frame, named by the caller.
a folder (``out/`` or no      :class:`PngSequenceSink`: ``frame_000000.png``, ``frame_000001.png`` …
suffix)                       resumable with ``start_index``.
============================  =====================================================================

Every sink is a context manager with ``write(frame)``, ``close() -> Path`` and ``abort()``:

* Encoding runs in a background thread fed by a bounded queue (8 frames by default), so the generator and
  the encoder overlap; ``write`` blocks while the queue is full, and frames are never all held in memory.
  ``write`` copies the frame, so the caller may reuse its buffer at once.
* An error in the encoder thread is raised again in the caller's thread by the next ``write`` or ``close``.
* Videos, GIFs and zips are written to a hidden temporary name in the same folder
  (``.name.mp4.XXXX.part.mp4``) and renamed to the final name only by ``close()``. ``abort()`` (run by
  ``__exit__`` when the ``with`` block raises) deletes the temporary file, so no file that looks finished is
  left. A PNG sequence writes every frame to a temporary name and renames it when complete, so each
  ``frame_NNNNNN.png`` on disk is whole; ``abort()`` keeps those frames for ``--resume``.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import queue
import re
import struct
import subprocess
import tempfile
import threading
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from ganlib.errors import UserError
from ganlib.io_utils import temp_path_for

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv")
DEFAULT_QUEUE_SIZE = 8
PNG_PATTERN = "frame_{:06d}.png"
_PNG_RE = re.compile(r"^frame_(\d{6,})\.png$")
_PNG_TRAILER = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_STOP = object()


class EncoderError(UserError):
    """The encoder (ffmpeg, Pillow, the file system) failed while writing an output file."""


# --------------------------------------------------------------------------------------------------------------
# Helpers


def parse_fps(fps: Any) -> Fraction:
    """Turn a frame rate (int, float, ``Fraction`` or a string such as ``"30000/1001"``) into an exact Fraction.

    Floats are read as the nearest fraction with a denominator up to 10000, so 29.97 → 2997/100 exactly and
    ``30000/1001`` given as a float stays 30000/1001. Raises ``UserError`` (field ``fps``) for values that are
    not positive and finite.
    """
    try:
        if isinstance(fps, Fraction):
            value = fps
        elif isinstance(fps, str):
            value = Fraction(fps.strip())
        elif isinstance(fps, (int, np.integer)):
            value = Fraction(int(fps))
        else:
            f = float(fps)
            if not math.isfinite(f):
                raise ValueError
            value = Fraction(f).limit_denominator(10000)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"frame rate must be a positive number, got {fps!r}", field="fps") from None
    if value <= 0 or value > 1000:
        raise UserError(f"frame rate must be between 0 and 1000, got {fps!r}", field="fps")
    return value


def _check_frame(frame: Any) -> np.ndarray:
    """Validate one frame (uint8, H×W×3) and return a private C-contiguous copy of it."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"a frame must be H×W×3 (RGB), got shape {frame.shape}")
    return np.array(frame, dtype=np.uint8, order="C", copy=True)


def _encode_image(frame: np.ndarray, ext: str = ".png", png_compression: int = 3, jpeg_quality: int = 95) -> bytes:
    """Encode an RGB uint8 frame to PNG or JPEG bytes with OpenCV (which releases the GIL)."""
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    if ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, png_compression]
    elif ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        ext = ".jpg"
    else:
        raise ValueError(f"unsupported image type {ext!r} (use .png or .jpg)")
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:  # pragma: no cover - OpenCV reports no reason
        raise EncoderError(f"could not encode a {ext} image")
    return buf.tobytes()


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame by one pixel (edge copy) on the right and/or bottom so both sides are even."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


# --------------------------------------------------------------------------------------------------------------
# The common sink


class FrameSink:
    """Base class of all sinks: a bounded queue, one encoder thread, temp-then-rename finalisation.

    Subclasses implement ``_consume(frame, name)`` (encoder thread), ``_finish()`` (after the last frame,
    caller thread), ``_commit() -> Path`` (the rename) and ``_discard()`` (delete partial output).
    """

    #: the final path (a file, or a folder for a PNG sequence)
    path: Path

    def __init__(self, path: str | Path, *, queue_size: int = DEFAULT_QUEUE_SIZE):
        self.path = Path(path)
        self.frames_written = 0  # frames accepted by write()
        self.frame_size: tuple[int, int] | None = None  # (width, height) of the frames
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._error: BaseException | None = None
        self._state = "open"  # open → closed | aborted | failed
        self._thread: threading.Thread | None = None

    # -- public API ---------------------------------------------------------------------------------------------

    def write(self, frame: np.ndarray, name: str | None = None) -> None:
        """Queue one uint8 RGB frame H×W×3 for encoding; blocks while the queue is full. Returns None.

        ``name`` is only used by :class:`ZipSink` (the member name). Raises the encoder thread's error, if
        one happened since the last call; ``ValueError``/``TypeError`` for a malformed frame or a frame whose
        size differs from the first one.
        """
        self._raise_if_failed()
        if self._state != "open":
            raise RuntimeError(f"write() on a sink that is {self._state}: {self.path}")
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        if self.frame_size is None:
            self._first_frame(w, h)
            self.frame_size = (w, h)
        elif (w, h) != self.frame_size:
            raise ValueError(f"frame {self.frames_written} is {w}x{h}, but the first frame was "
                             f"{self.frame_size[0]}x{self.frame_size[1]}")
        name = self._check_name(name)
        self._ensure_thread()
        self._put((frame, name))
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding, flush, and rename the temporary output to its final name. Returns the final path.

        Safe to call twice (returns the same path). If the encoder failed, the partial output is deleted and
        the error is raised here.
        """
        if self._state == "closed":
            return self.path
        if self._state == "aborted":
            raise RuntimeError(f"close() on an aborted sink: {self.path}")
        try:
            self._raise_if_failed()
            if self._thread is not None:
                self._put(_STOP)
                self._thread.join()
            self._raise_if_failed()
            self._finish()
            final = self._commit()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        return final

    def abort(self) -> None:
        """Stop encoding and delete the partial output (temporary files). Returns None; never raises."""
        if self._state in ("closed", "aborted"):
            return
        self._state = "aborted"
        try:
            self._interrupt()
        finally:
            if self._thread is not None and self._thread.is_alive():
                self._drain()
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(_STOP)
                self._thread.join(timeout=30)
            with contextlib.suppress(Exception):
                self._discard()

    def __enter__(self) -> "FrameSink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={self.frames_written}, state={self._state})"

    # -- machinery ----------------------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sink:{self.path.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is not None or self._state == "aborted":
                continue  # keep draining so that write() never blocks on a dead consumer
            try:
                self._consume(*item)
            except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
                self._error = self._wrap_error(err)

    def _put(self, item: Any) -> None:
        while True:
            if item is not _STOP:
                self._raise_if_failed()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._thread is not None and not self._thread.is_alive():
                    raise RuntimeError("the encoder thread stopped unexpectedly") from None

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            err = self._error
            if self._state == "open":
                self._state = "failed"
            raise err

    def _wrap_error(self, err: BaseException) -> BaseException:
        """Turn an error of the encoder thread into the exception the caller sees."""
        if isinstance(err, OSError) and not isinstance(err, UserError):
            return EncoderError(f"cannot write {self.path}: {err}", file=self.path)
        return err

    # -- hooks --------------------------------------------------------------------------------------------------

    def _first_frame(self, width: int, height: int) -> None:
        """Called in the caller's thread with the size of the first frame (may raise UserError)."""

    def _check_name(self, name: str | None) -> str | None:
        return name

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Flush after the last frame (caller thread)."""

    def _commit(self) -> Path:
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Make a blocked encoder thread return quickly (abort)."""

    def _discard(self) -> None:
        raise NotImplementedError


class _TempFileSink(FrameSink):
    """A sink that writes one file to a temporary name and renames it in ``close()``."""

    def __init__(self, path: str | Path, *, overwrite: bool = True, queue_size: int = DEFAULT_QUEUE_SIZE):
        super().__init__(path, queue_size=queue_size)
        if self.path.is_dir():
            raise UserError(f"{self.path} is a folder; give a file name", file=self.path)
        if self.path.exists() and not overwrite:
            raise UserError(f"{self.path} already exists (allow overwriting to replace it)", file=self.path)
        try:
            self.temp_path: Path = temp_path_for(self.path)
        except OSError as err:
            raise UserError(f"cannot write to {self.path.parent}: {err.strerror or err}", file=self.path) from None

    def _commit(self) -> Path:
        os.replace(self.temp_path, self.path)
        return self.path

    def _discard(self) -> None:
        _unlink(self.temp_path)


# --------------------------------------------------------------------------------------------------------------
# Video through ffmpeg


class _Codec:
    def __init__(self, label: str, encoder: str, containers: tuple[str, ...], crf_max: int | None,
                 pix_fmt: str, args: tuple[str, ...] = (), tag: str | None = None):
        self.label, self.encoder, self.containers = label, encoder, containers
        self.crf_max, self.pix_fmt, self.args, self.tag = crf_max, pix_fmt, args, tag


CODECS: dict[str, _Codec] = {
    "h264": _Codec("H.264", "libx264", (".mp4", ".mov", ".mkv"), 51, "yuv420p"),
    "h265": _Codec("H.265", "libx265", (".mp4", ".mov", ".mkv"), 51, "yuv420p",
                   ("-x265-params", "log-level=error"), tag="hvc1"),
    "vp9": _Codec("VP9", "libvpx-vp9", (".webm", ".mkv", ".mp4"), 63, "yuv420p",
                  ("-b:v", "0", "-row-mt", "1", "-deadline", "good", "-cpu-used", "2")),
    "prores": _Codec("ProRes", "prores_ks", (".mov", ".mkv"), None, "yuv422p10le",
                     ("-profile:v", "3", "-vendor", "apl0")),
}
_CODEC_ALIASES = {"avc": "h264", "x264": "h264", "libx264": "h264", "hevc": "h265", "x265": "h265",
                  "libx265": "h265", "libvpx-vp9": "vp9", "prores_ks": "prores"}
_MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


def resolve_codec(codec: str | None, suffix: str) -> str:
    """Return the canonical codec name (h264, h265, vp9, prores) for ``codec`` in a ``suffix`` container.

    ``None`` picks the default: vp9 for ``.webm``, h264 otherwise. Raises ``UserError`` (field ``codec``) for an
    unknown codec or one the container cannot hold.
    """
    suffix = suffix.lower()
    if codec is None or codec == "":
        return "vp9" if suffix == ".webm" else "h264"
    key = str(codec).lower().replace(".", "")
    key = _CODEC_ALIASES.get(key, key)
    if key not in CODECS:
        raise UserError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}", field="codec")
    if suffix not in CODECS[key].containers:
        fits = [s for s in VIDEO_SUFFIXES if s in CODECS[key].containers]
        raise UserError(f"a {suffix} file cannot hold {CODECS[key].label}; use {' or '.join(fits)} "
                        f"or another codec", field="codec")
    return key


class VideoSink(_TempFileSink):
    """Encode frames with ffmpeg through a pipe (rawvideo rgb24 in; H.264/H.265/VP9/ProRes out).

    Output: exact frame rate (a rational), exactly one output frame per input frame, constant quality (CRF),
    ``yuv420p`` (``yuv422p10le`` for ProRes) tagged BT.709, ``+faststart`` for MP4/MOV, no resizing.
    H.264/H.265/VP9 need even sizes: an odd size raises ``UserError`` unless ``pad_to_even`` (one pixel,
    edge copy, right/bottom). With ``audio_path`` the audio is muxed (AAC; Opus in WebM) and the output is cut
    to the shorter of the two streams (``-shortest``).
    """

    def __init__(self, path: str | Path, *, fps: Any, codec: str | None = None, crf: int = 18,
                 size: tuple[int, int] | None = None, audio_path: str | Path | None = None,
                 overwrite: bool = True, pad_to_even: bool = False, preset: str = "medium",
                 queue_size: int = DEFAULT_QUEUE_SIZE):
        suffix = Path(path).suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise UserError(f"not a video file name: {path} (use {', '.join(VIDEO_SUFFIXES)})", file=path)
        self.fps = parse_fps(fps)
        self.codec = resolve_codec(codec, suffix)
        spec = CODECS[self.codec]
        if spec.crf_max is not None:
            if isinstance(crf, bool) or not isinstance(crf, (int, np.integer)) or not 0 <= crf <= spec.crf_max:
                raise UserError(f"crf for {spec.label} must be an integer from 0 to {spec.crf_max}, got {crf!r}",
                                field="crf")
        self.crf = int(crf)
        self.preset = preset
        self.pad_to_even = bool(pad_to_even)
        self.audio_path = Path(audio_path) if audio_path is not None else None
        if self.audio_path is not None and not self.audio_path.is_file():
            raise UserError(f"audio file not found: {self.audio_path}", file=self.audio_path, field="audio")
        self._suffix = suffix
        self._proc: subprocess.Popen | None = None
        self._stderr = None
        self.command: list[str] | None = None
        super().__init__(path, overwrite=overwrite, queue_size=queue_size)
        if size is not None:
            w, h = (int(v) for v in size)
            try:
                self._first_frame(w, h)
            except BaseException:
                self.abort()
                raise
            self.frame_size = (w, h)

    # the caller's thread -------------------------------------------------------------------------------------

    def _first_frame(self, width: int, height: int) -> None:
        if (width % 2 or height % 2) and not self.pad_to_even and self.codec != "prores":
            raise UserError(f"{CODECS[self.codec].label} video (yuv420p) needs an even width and height, got "
                            f"{width}x{height}; render at an even size (e.g. {width + width % 2}x"
                            f"{height + height % 2}) or pad the frames by one pixel (pad_to_even)",
                            file=self.path, field="size")
        if self.codec == "prores" and width % 2 and not self.pad_to_even:
            raise UserError(f"ProRes (4:2:2) needs an even width, got {width}x{height}", file=self.path,
                            field="size")
        self._start(width, height)

    def _out_size(self, width: int, height: int) -> tuple[int, int]:
        if self.pad_to_even:
            return width + width % 2, height + height % 2
        return width, height

    def build_command(self, width: int, height: int) -> list[str]:
        """Return the ffmpeg command line (list of str) that encodes ``width``×``height`` rgb24 frames."""
        import imageio_ffmpeg

        spec = CODECS[self.codec]
        out_w, out_h = self._out_size(width, height)
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{out_w}x{out_h}",
               "-framerate", f"{self.fps.numerator}/{self.fps.denominator}", "-i", "pipe:0"]
        if self.audio_path is not None:
            cmd += ["-i", str(self.audio_path)]
        cmd += ["-map", "0:v:0"]
        if self.audio_path is not None:
            cmd += ["-map", "1:a:0"]
        cmd += ["-c:v", spec.encoder]
        if self.codec in ("h264", "h265"):
            cmd += ["-preset", self.preset]
        if spec.crf_max is not None:
            cmd += ["-crf", str(self.crf)]
        cmd += list(spec.args)
        # RGB → YUV with the BT.709 matrix, limited range, and say so in the stream (players then agree).
        cmd += ["-vf", "scale=out_color_matrix=bt709:out_range=tv,"
                       "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709",
                "-pix_fmt", spec.pix_fmt, "-fps_mode", "passthrough"]
        if spec.tag and self._suffix in (".mp4", ".mov"):
            cmd += ["-tag:v", spec.tag]
        if self.audio_path is not None:
            if self._suffix == ".webm":
                cmd += ["-c:a", "libopus", "-b:a", "160k"]
            else:
                cmd += ["-c:a", "aac", "-b:a", "192k"]
            cmd += ["-shortest"]
        else:
            cmd += ["-an"]
        if self._suffix in (".mp4", ".mov"):
            cmd += ["-movflags", "+faststart"]
        cmd += ["-f", _MUXERS[self._suffix], str(self.temp_path)]
        return cmd

    def _start(self, width: int, height: int) -> None:
        self.command = self.build_command(width, height)
        self._stderr = tempfile.TemporaryFile()
        try:
            # Own session: a Ctrl-C reaches Python (which aborts or closes the sink), not ffmpeg directly.
            self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=self._stderr, start_new_session=(os.name == "posix"))
        except OSError as err:
            raise EncoderError(f"cannot start ffmpeg: {err}", file=self.path) from None

    # the encoder thread --------------------------------------------------------------------------------------

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        if self.pad_to_even:
            frame = _pad_even(frame)
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
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
        rc = self._proc.wait()
        if rc != 0:
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


# --------------------------------------------------------------------------------------------------------------
# GIF


def gif_delays_cs(n_frames: int, fps: Any) -> list[int]:
    """Per-frame GIF delays in centiseconds (GIF's 10 ms unit) for ``n_frames`` at ``fps``.

    GIF cannot store e.g. 33.3 ms, so the delays are rounded with error diffusion: frame i lasts
    ``round((i+1)·100/fps) − round(i·100/fps)`` cs, so each frame is within 10 ms of its exact time, and the
    total duration is exact to within 5 ms (30 fps → 3, 4, 3, 3, 4, 3 … cs; 24 fps → 4, 4, 4, 5, 4, 4 … cs).
    Returns a list of ints, each at least 2 (browsers show delays under 20 ms as 100 ms).
    """
    step = Fraction(100) / parse_fps(fps)
    return [_gif_delay(i, step) for i in range(n_frames)]


def _gif_delay(i: int, step: Fraction) -> int:
    """Delay of frame ``i`` in cs when frames are ``step`` cs apart (error diffusion, round half up, >= 2)."""
    start = math.floor(i * step + Fraction(1, 2))
    end = math.floor((i + 1) * step + Fraction(1, 2))
    return max(2, end - start)


class GifSink(_TempFileSink):
    """Stream an animated GIF: one adaptive 256-colour palette per frame, loops forever.

    Frames are quantised and LZW-encoded one at a time (Pillow), so memory does not grow with the length.
    Timing is in GIF's 10 ms units, rounded with error diffusion (see :func:`gif_delays_cs`): the total
    duration is exact; a single frame is off by at most 10 ms. Frame rates above 50 fps are refused, because
    browsers slow delays under 20 ms down to 100 ms.
    """

    def __init__(self, path: str | Path, *, fps: Any, overwrite: bool = True, dither: bool = True,
                 queue_size: int = DEFAULT_QUEUE_SIZE):
        self.fps = parse_fps(fps)
        if self.fps > 50:
            raise UserError(f"a GIF cannot play faster than 50 fps (its delays are in 10 ms units and browsers "
                            f"slow down delays under 20 ms); got {float(self.fps):g} fps", field="fps")
        self.dither = dither
        self._step = Fraction(100) / self.fps
        self._index = 0
        self._fh = None
        super().__init__(path, overwrite=overwrite, queue_size=queue_size)

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        from PIL import GifImagePlugin, Image

        h, w = frame.shape[:2]
        if self._fh is None:
            self._fh = open(self.temp_path, "wb")
            # Header, logical screen (no global colour table), NETSCAPE2.0 loop forever.
            self._fh.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0))
            self._fh.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00")
        im = Image.fromarray(frame, "RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT,
            dither=Image.Dither.FLOYDSTEINBERG if self.dither else Image.Dither.NONE)
        delay_ms = 10 * _gif_delay(self._index, self._step)
        for chunk in GifImagePlugin.getdata(im, (0, 0), duration=delay_ms, include_color_table=True,
                                            disposal=1):
            self._fh.write(chunk)
        self._index += 1

    def _finish(self) -> None:
        if self._fh is None or self.frames_written == 0:
            raise UserError(f"no frames were written to {self.path}", file=self.path)
        self._fh.write(b";")
        self._fh.close()

    def _discard(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(Exception):
                self._fh.close()
        super()._discard()


# --------------------------------------------------------------------------------------------------------------
# PNG sequence


def _png_is_complete(path: Path) -> bool:
    try:
        size = path.stat().st_size
        if size < 57:
            return False
        with open(path, "rb") as fh:
            if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                return False
            fh.seek(-12, os.SEEK_END)
            return fh.read(12) == _PNG_TRAILER
    except OSError:
        return False


def _png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None if unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
        if len(head) == 24 and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
    except OSError:
        pass
    return None


def existing_png_frames(folder: str | Path) -> int:
    """Count the consecutive complete ``frame_NNNNNN.png`` files from ``frame_000000.png`` in ``folder``.

    A frame counts when it exists and is a whole PNG (signature and IEND trailer). Returns an int (0 when the
    folder is missing or empty): the index to resume rendering at.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    while _png_is_complete(folder / PNG_PATTERN.format(n)):
        n += 1
    return n


def _frame_indices(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    out = []
    for entry in os.scandir(folder):
        m = _PNG_RE.match(entry.name)
        if m:
            out.append(int(m.group(1)))
    return sorted(out)


class PngSequenceSink(FrameSink):
    """Write ``frame_000000.png``, ``frame_000001.png`` … into a folder, each via a temp name and a rename.

    ``start_index`` resumes: the first frame written gets that index, frames below it stay as they are
    (``existing_png_frames`` says where to resume; a gap is refused, and so is a frame size that differs from
    the frames on disk). ``close()`` removes stale ``frame_NNNNNN.png`` files numbered past the last frame
    written (left by an earlier, longer render), so the folder holds exactly this sequence. ``abort()`` keeps the
    complete frames (they are what ``--resume`` continues from) and deletes only a half-written temp file.
    """

    def __init__(self, path: str | Path, *, start_index: int = 0, overwrite: bool = True,
                 compression: int = 3, queue_size: int = DEFAULT_QUEUE_SIZE):
        super().__init__(path, queue_size=queue_size)
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} is a file, not a folder for a PNG sequence", file=self.path)
        start_index = int(start_index)
        if start_index < 0:
            raise UserError(f"start index must be >= 0, got {start_index}", field="start_index")
        if start_index > 0:
            have = existing_png_frames(self.path)
            if have < start_index:
                raise UserError(f"cannot resume at frame {start_index}: only {have} complete frames from "
                                f"{PNG_PATTERN.format(0)} are in {self.path}", file=self.path)
        if not overwrite and any(i >= start_index for i in _frame_indices(self.path)):
            raise UserError(f"{self.path} already holds frames (resume, or allow overwriting)", file=self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot create the folder {self.path}: {err.strerror or err}",
                            file=self.path) from None
        self.start_index = start_index
        self.compression = int(compression)
        self._next = start_index
        self._tmp: Path | None = None

    @property
    def next_index(self) -> int:
        """Index the next written frame will get (``start_index + frames_written``)."""
        return self.start_index + self.frames_written

    def frame_path(self, index: int) -> Path:
        """Path of frame ``index`` in this sequence."""
        return self.path / PNG_PATTERN.format(index)

    def _first_frame(self, width: int, height: int) -> None:
        if self.start_index > 0:
            prev = _png_size(self.frame_path(self.start_index - 1))
            if prev is not None and prev != (width, height):
                raise UserError(f"cannot resume: the frames on disk are {prev[0]}x{prev[1]} but the new frames "
                                f"are {width}x{height}", file=self.path)

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        data = _encode_image(frame, ".png", png_compression=self.compression)
        final = self.frame_path(self._next)
        self._tmp = temp_path_for(final)
        with open(self._tmp, "wb") as fh:
            fh.write(data)
        os.replace(self._tmp, final)
        self._tmp = None
        self._next += 1

    def _commit(self) -> Path:
        end = self.start_index + self.frames_written
        for i in _frame_indices(self.path):
            if i >= end:
                _unlink(self.path / PNG_PATTERN.format(i))
        return self.path

    def _discard(self) -> None:
        _unlink(self._tmp)


# --------------------------------------------------------------------------------------------------------------
# Zip of images


class ZipSink(_TempFileSink):
    """A zip of images, one member per frame, named by the caller: ``write(frame, name="seed0001.png")``.

    The name's extension picks the format (``.png``, ``.jpg``/``.jpeg``); without a name, frames are called
    ``frame_000000.png`` …. Members are stored uncompressed (PNG/JPEG are compressed already). Duplicate or
    unsafe names (absolute, ``..``) raise ``ValueError``.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = True, compression: int = 3,
                 queue_size: int = DEFAULT_QUEUE_SIZE):
        super().__init__(path, overwrite=overwrite, queue_size=queue_size)
        self.compression = int(compression)
        self.names: list[str] = []
        self._seen: set[str] = set()
        self._zip: zipfile.ZipFile | None = None
        self._stamp = _dt.datetime.now().timetuple()[:6]

    def _check_name(self, name: str | None) -> str:
        if name is None:
            name = PNG_PATTERN.format(self.frames_written)
        name = str(name).replace("\\", "/")
        parts = name.split("/")
        if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
            raise ValueError(f"unsafe or empty member name for a zip: {name!r}")
        ext = os.path.splitext(name)[1].lower()
        if ext not in (".png", ".jpg", ".jpeg"):
            raise ValueError(f"zip member names must end in .png or .jpg, got {name!r}")
        if name in self._seen:
            raise ValueError(f"duplicate member name in zip: {name!r}")
        self._seen.add(name)
        self.names.append(name)
        return name

    def _consume(self, frame: np.ndarray, name: str | None) -> None:
        assert name is not None
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.temp_path, "w", compression=zipfile.ZIP_STORED)
        data = _encode_image(frame, os.path.splitext(name)[1].lower(), png_compression=self.compression)
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def _finish(self) -> None:
        if self._zip is None:  # no frames: an empty, valid archive
            self._zip = zipfile.ZipFile(self.temp_path, "w")
        self._zip.close()

    def _discard(self) -> None:
        if self._zip is not None:
            with contextlib.suppress(Exception):
                self._zip.close()
        super()._discard()


# --------------------------------------------------------------------------------------------------------------
# Choosing a sink


def sink_kind(path: str | Path) -> str:
    """Which sink ``open_sink`` would use for ``path``: ``"video"``, ``"gif"``, ``"zip"`` or ``"png"`` (a folder).

    A path ending in ``/``, an existing folder, or a name without a suffix is a PNG-sequence folder. Raises
    ``UserError`` for an unsupported suffix.
    """
    s = str(path)
    p = Path(s)
    if s.endswith(("/", os.sep)) or p.is_dir() or p.suffix == "":
        return "png"
    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix == ".gif":
        return "gif"
    if suffix == ".zip":
        return "zip"
    raise UserError(f"unsupported output type {suffix!r}: use .mp4, .mov, .webm, .mkv, .gif, .zip or a folder "
                    f"for PNG frames", file=s, field="output")


def open_sink(path: str | Path, *, fps: Any, codec: str | None = None, crf: int = 18,
              size: tuple[int, int] | None = None, audio_path: str | Path | None = None, start_index: int = 0,
              overwrite: bool = True, pad_to_even: bool = False, preset: str = "medium",
              queue_size: int = DEFAULT_QUEUE_SIZE) -> FrameSink:
    """Open the sink that suits ``path`` (see :func:`sink_kind`) and return it (a context manager).

    Takes: ``fps`` (int, float, Fraction or "30000/1001"; used by video and GIF); ``codec`` (h264, h265, vp9,
    prores; None = h264, or vp9 for .webm; ignored by non-video sinks); ``crf`` (constant quality, lower is
    better); ``size`` (width, height) of the frames to come, checked at once instead of at the first frame
    (video only; later frames must match); ``audio_path`` (video only: muxed, cut to the shorter stream);
    ``start_index`` (PNG sequence resume); ``overwrite`` (False: an existing output is a ``UserError``);
    ``pad_to_even`` (video: pad odd sizes by one pixel instead of refusing them); ``preset`` (x264/x265 speed);
    ``queue_size`` (frames buffered between the caller and the encoder thread).
    """
    kind = sink_kind(path)
    if audio_path is not None and kind != "video":
        raise UserError(f"audio can only be added to a video file (.mp4, .mov, .webm, .mkv), not {path}",
                        field="audio")
    if kind == "video":
        return VideoSink(path, fps=fps, codec=codec, crf=crf, size=size, audio_path=audio_path,
                         overwrite=overwrite, pad_to_even=pad_to_even, preset=preset, queue_size=queue_size)
    if kind == "gif":
        return GifSink(path, fps=fps, overwrite=overwrite, queue_size=queue_size)
    if kind == "zip":
        return ZipSink(path, overwrite=overwrite, queue_size=queue_size)
    return PngSequenceSink(path, start_index=start_index, overwrite=overwrite, queue_size=queue_size)


# --------------------------------------------------------------------------------------------------------------
# Reading videos back


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _video_meta(path: str | Path) -> dict:
    """Container metadata of a video, read from ffmpeg's header with imageio-ffmpeg's parser.

    Returns imageio-ffmpeg's meta dict (``size``, ``fps``, ``codec``, ``pix_fmt``, ``duration``, and
    ``audio_codec`` when there is audio). Raises ``UserError`` for a missing or unreadable file.
    """
    from imageio_ffmpeg._parsing import parse_ffmpeg_header

    path = Path(path)
    if not path.is_file():
        raise UserError(f"video not found: {path}", file=path)
    proc = subprocess.run([_ffmpeg_exe(), "-nostdin", "-noautorotate", "-i", str(path)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = proc.stderr.decode("utf-8", "replace")
    if " Video: " not in text:
        last = [ln.strip() for ln in text.splitlines() if ln.strip()][-1:] or ["no video stream"]
        raise UserError(f"cannot read video {path}: {last[0]}", file=path)
    try:
        return parse_ffmpeg_header(text)
    except Exception as err:  # noqa: BLE001 - a header we cannot parse is an unreadable file
        raise UserError(f"cannot read video {path}: unexpected ffmpeg header ({err})", file=path) from None


def read_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode a video file with imageio-ffmpeg's ffmpeg; yield its frames as uint8 RGB arrays H×W×3, one at a time.

    Only the first video stream is read. Raises ``UserError`` for a missing, unreadable or truncated file.
    """
    path = Path(path)
    w, h = _video_meta(path)["size"]
    frame_bytes = w * h * 3
    err_file = tempfile.TemporaryFile()
    proc = subprocess.Popen([_ffmpeg_exe(), "-nostdin", "-v", "error", "-noautorotate", "-i", str(path),
                             "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err_file)
    finished = False
    try:
        assert proc.stdout is not None
        while True:
            buf = bytearray(frame_bytes)
            view, got = memoryview(buf), 0
            while got < frame_bytes:
                n = proc.stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            if got == 0:
                break
            if got < frame_bytes:
                raise UserError(f"cannot read video {path}: the last frame is incomplete", file=path)
            yield np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
        finished = True
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        err_file.seek(0)
        err_text = err_file.read().decode("utf-8", "replace").strip()
        err_file.close()
    if finished and rc != 0:
        tail = " | ".join(err_text.splitlines()[-3:]) or f"ffmpeg exit code {rc}"
        raise UserError(f"cannot decode video {path}: {tail}", file=path)


def probe_video(path: str | Path) -> dict:
    """Describe a video file: returns a dict with ``n_frames, width, height, fps`` (and ``duration, codec,
    pix_fmt, audio_codec`` — the last is None without an audio stream).

    ``n_frames`` is counted by decoding every frame (exact); ``fps`` (float, as ffmpeg prints it, e.g. 29.97),
    size, ``duration`` (seconds) and codec come from the container's metadata. Raises ``UserError`` for a
    missing or unreadable file.
    """
    meta = _video_meta(path)
    n = sum(1 for _ in read_video_frames(path))
    w, h = meta["size"]
    return {"n_frames": n, "width": int(w), "height": int(h), "fps": float(meta.get("fps") or 0.0),
            "duration": meta.get("duration"), "codec": meta.get("codec"),
            "pix_fmt": str(meta.get("pix_fmt", "")).split("(")[0], "audio_codec": meta.get("audio_codec")}


__all__ = [
    "FrameSink", "VideoSink", "GifSink", "PngSequenceSink", "ZipSink", "EncoderError", "open_sink", "sink_kind",
    "probe_video", "read_video_frames", "existing_png_frames", "parse_fps", "gif_delays_cs", "resolve_codec",
    "CODECS", "VIDEO_SUFFIXES", "PNG_PATTERN",
]
