"""The machinery every sink shares: a bounded queue, one encoder thread, temp-then-rename commit, abort.

Every sink is a context manager with ``write(frame)``, ``close() -> Path`` and ``abort()``:

* Encoding runs in a background thread fed by a bounded queue (8 frames by default), so the generator and the
  encoder overlap; ``write`` blocks while the queue is full, and frames are never all held in memory. ``write``
  copies the frame, so the caller may reuse its buffer at once.
* An error in the encoder thread is raised again in the caller's thread by the next ``write`` or ``close``.
* Single-file outputs are written to a hidden temporary name in the same folder (``.name.mp4.XXXX.part.mp4``)
  and renamed to the final name only by ``close()``. ``abort()`` (run by ``__exit__`` when the ``with`` block
  raises) deletes the temporary file, so no file that looks finished is left.

Frames are uint8 arrays H×W×C with C = 1 (grey), 3 (RGB) or 4 (RGBA); an H×W array is grey. Formats that do not
keep grey or alpha (``OutputFormat.keeps_grey``/``keeps_alpha``: video and GIF) get RGB: grey is repeated into R, G and B, and alpha is
dropped (the colour channels are kept as they are, not composited), which is what a video player does with it.
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ganlib.errors import UserError
from ganlib.io_utils import temp_path_for
from ganlib.paths import os_error_text

DEFAULT_QUEUE_SIZE = 8
CHANNELS = (1, 3, 4)
_STOP = object()


class EncoderError(UserError):
    """The encoder (ffmpeg, the image codec, the file system) failed while writing an output file."""


def check_frame(frame: Any) -> np.ndarray:
    """Validate one frame (uint8, H×W or H×W×C with C in 1, 3, 4) and return a private C-contiguous H×W×C copy.

    Raises ``TypeError`` for a non-array or a dtype other than uint8, ``ValueError`` for any other shape.
    """
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {frame.dtype}")
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.ndim != 3 or frame.shape[2] not in CHANNELS or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"a frame must be H×W×C with C = 1 (grey), 3 (RGB) or 4 (RGBA), got shape {frame.shape}")
    return np.array(frame, dtype=np.uint8, order="C", copy=True)


def unlink_quietly(path: Path | None) -> None:
    """Delete ``path`` if it exists (None: nothing). Returns None."""
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


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
        self.channels: int | None = None  # channels of the frames (1, 3 or 4)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._error: BaseException | None = None
        self._state = "open"  # open → closed | aborted | failed
        self._thread: threading.Thread | None = None

    # -- public API ---------------------------------------------------------------------------------------------

    def write(self, frame: np.ndarray, name: str | None = None) -> None:
        """Queue one uint8 frame (H×W, or H×W×C with C = 1, 3, 4) for encoding; blocks while the queue is full.

        ``name`` is only used by the zip sink (the member name). Returns None. Raises the encoder thread's error,
        if one happened since the last call; ``ValueError``/``TypeError`` for a malformed frame or a frame whose
        size or channel count differs from the first one.
        """
        self._raise_if_failed()
        if self._state != "open":
            raise RuntimeError(f"write() on a sink that is {self._state}: {self.path}")
        frame = check_frame(frame)
        h, w, c = frame.shape
        if self.channels is None:
            self.channels = c
        elif c != self.channels:
            raise ValueError(f"frame {self.frames_written} has {c} channels, but the first frame had {self.channels}")
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
            return EncoderError(f"cannot write: {os_error_text(err)}; the partial output was removed", file=self.path)
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


class TempFileSink(FrameSink):
    """A sink that writes one file to a temporary name in the same folder and renames it in ``close()``."""

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
        unlink_quietly(self.temp_path)
