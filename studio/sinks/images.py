"""Still-image outputs: a resumable PNG sequence in a folder, and a zip of PNG/JPEG members named by the caller.

Both keep the frame's channels: grey (C = 1) is written as a PNG of mode L, RGBA (C = 4) as an RGBA PNG, RGB as
RGB. A JPEG member cannot hold alpha, so it is dropped there. Images are encoded with OpenCV (which releases the
GIL, so encoding overlaps generation).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import struct
import zipfile
from pathlib import Path

import cv2
import numpy as np

from ganlib.errors import UserError
from ganlib.io_utils import temp_path_for
from studio.sinks.base import DEFAULT_QUEUE_SIZE, EncoderError, FrameSink, TempFileSink, unlink_quietly

PNG_PATTERN = "frame_{:06d}.png"
_PNG_RE = re.compile(r"^frame_(\d{6,})\.png$")
_PNG_TRAILER = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}


def encode_image(frame: np.ndarray, ext: str = ".png", png_compression: int = 3, jpeg_quality: int = 95) -> bytes:
    """Encode an H×W×C uint8 frame (C = 1, 3, 4) to PNG or JPEG bytes (``ext``: .png, .jpg, .jpeg); returns bytes.

    PNG keeps grey and alpha; JPEG keeps grey and drops alpha. Raises ``ValueError`` for another ``ext``.
    """
    c = frame.shape[2]
    if ext in (".jpg", ".jpeg") and c == 4:
        frame, c = frame[:, :, :3], 3
    image = frame[:, :, 0] if c == 1 else cv2.cvtColor(frame, _TO_BGR[c])
    if ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, png_compression]
    elif ext in (".jpg", ".jpeg"):
        params, ext = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality], ".jpg"
    else:
        raise ValueError(f"unsupported image type {ext!r} (use .png or .jpg)")
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:  # pragma: no cover - OpenCV reports no reason
        raise EncoderError(f"could not encode a {ext} image")
    return buf.tobytes()


def _png_is_complete(path: Path) -> bool:
    try:
        if path.stat().st_size < 57:
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
    return sorted(int(m.group(1)) for entry in os.scandir(folder) if (m := _PNG_RE.match(entry.name)))


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
        data = encode_image(frame, ".png", png_compression=self.compression)
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
                unlink_quietly(self.path / PNG_PATTERN.format(i))
        return self.path

    def _discard(self) -> None:
        unlink_quietly(self._tmp)


class ZipSink(TempFileSink):
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
        data = encode_image(frame, os.path.splitext(name)[1].lower(), png_compression=self.compression)
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
