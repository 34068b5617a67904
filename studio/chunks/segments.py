"""Chunk storage: encode one chunk's frames (a self-contained video segment, or PNG bytes per frame), store a
finished chunk in the work folder, and join the chunks into the final output.

A video segment is a complete file of the output's container and codec, encoded by its own ffmpeg run, so it starts
with a keyframe and no frame refers to another segment (closed GOP). Segments are joined with ffmpeg's concat
demuxer and stream copy (no re-encoding); audio, when given, is muxed at the join and cut to the video's length.
GIF and zip outputs cache their chunks as PNG frames and are encoded from them at the join (a GIF needs one pass
over all frames; frames are the resumable form).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.chunks.plan import Chunk, ChunkResult, EncodeSpec
from studio.sinks import PNG_PATTERN, EncoderError, open_sink
from studio.sinks.formats import CODECS, audio_codec_args, output_format
from studio.sinks.images import encode_image, existing_png_frames
from studio.sinks.pipe import ffmpeg_exe, probe_frames

SEGMENT_PATTERN = "seg_{:05d}{}"


def encode_chunk(chunk: Chunk, frames: Iterable[np.ndarray], spec: EncodeSpec,
                 progress: Callable[[int], None] | None = None) -> ChunkResult | Future:
    """Encode ``frames`` (uint8 H×W×C, the chunk's frames in order) as ``spec`` says. Returns a ChunkResult whose
    ``data`` is a list of PNG bytes (kind "png"), or, for a video segment, a Future of the ChunkResult holding the
    segment's bytes: the encoder's tail (flushing, exit, reading the file) finishes in a thread, so the caller may
    start generating the next chunk meanwhile (``resolve_result`` waits for it). ``progress(1)`` after each frame."""
    size = (0, 0)
    if spec.kind == "png":
        pngs = []
        for frame in frames:
            size = (frame.shape[1], frame.shape[0])
            pngs.append(encode_image(frame if frame.ndim == 3 else frame[:, :, None], ".png"))
            if progress is not None:
                progress(1)
        return ChunkResult(chunk.index, size, pngs)
    tmp = Path(tempfile.mkdtemp(prefix="studio-chunk-"))
    path = tmp / SEGMENT_PATTERN.format(chunk.index, spec.suffix)
    try:
        sink = open_sink(path, fps=spec.fps, codec=spec.codec, crf=spec.crf, preset=spec.preset)
        sink.verify_frames = False  # the joined output is counted once instead (join_segments)
        try:
            for frame in frames:
                size = (frame.shape[1], frame.shape[0])
                sink.write(frame)
                if progress is not None:
                    progress(1)
        except BaseException:
            sink.abort()
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    def finish() -> ChunkResult:
        try:
            sink.close()
            return ChunkResult(chunk.index, size, path.read_bytes())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return finish_in_thread(finish)


def finish_in_thread(fn: Callable[[], ChunkResult]) -> Future:
    """Run ``fn`` in a new (daemon) thread; return the Future of its result."""
    fut: Future = Future()

    def run() -> None:
        try:
            fut.set_result(fn())
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
            fut.set_exception(err)

    threading.Thread(target=run, name="segment-finish", daemon=True).start()
    return fut


def resolve_result(result: ChunkResult | Future) -> ChunkResult:
    """Return ``result`` itself, or the ChunkResult a Future from :func:`encode_chunk` holds (waiting for it)."""
    return result.result() if isinstance(result, Future) else result


def store_chunk(folder: Path, chunk: Chunk, result: ChunkResult, spec: EncodeSpec) -> str:
    """Write a finished chunk into ``folder`` (atomically: temp name + rename): the segment file, or PNG frames
    ``frame_NNNNNN.png`` at the chunk's indices. Returns the file name to record in the manifest ("" for frames)."""
    if spec.kind == "png":
        if len(result.data) != chunk.n_frames:
            raise EncoderError(f"chunk {chunk.index} came back with {len(result.data)} of {chunk.n_frames} frames")
        for i, data in enumerate(result.data):
            with atomic_path(folder / PNG_PATTERN.format(chunk.start + i)) as tmp:
                tmp.write_bytes(data)
        return ""
    name = SEGMENT_PATTERN.format(chunk.index, spec.suffix)
    with atomic_path(folder / name) as tmp:
        tmp.write_bytes(result.data)
    return name


def chunk_on_disk(folder: Path, chunk: Chunk, file: str, spec: EncodeSpec) -> bool:
    """True when a chunk the manifest lists as done is still complete in ``folder`` (segment file present, or
    every PNG frame of it whole)."""
    if spec.kind == "png":
        return all((folder / PNG_PATTERN.format(i)).is_file() for i in range(chunk.start, chunk.stop))
    return bool(file) and (folder / file).is_file() and (folder / file).stat().st_size > 0


def join_segments(segments: list[Path], target: Path, *, codec: str | None = None,
                  audio_path: str | Path | None = None, audio_offset: float = 0.0,
                  seconds: float | None = None, frames: int | None = None) -> Path:
    """Join video ``segments`` (same ``codec`` and settings, in order) into ``target`` with ffmpeg's concat demuxer
    and stream copy, written under a temporary name and renamed into place. With ``audio_path`` the audio from
    ``audio_offset`` seconds on is encoded with the format table's audio codec and lasts exactly ``seconds`` (cut,
    or padded with silence), as the video sink muxes it. With ``frames`` the joined file must hold that many
    frames (counted without decoding) before it is renamed; one segment without audio is renamed into place as
    it is (no ffmpeg run: it is already a complete file of the output's format). Returns ``target``."""
    fmt = output_format(target)
    target = Path(target)
    if len(segments) == 1 and audio_path is None:
        _check_frames(Path(segments[0]), frames, target)
        os.replace(segments[0], target)
        return target
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix=".concat-", dir=segments[0].parent,
                                     delete=False) as lst:
        for seg in segments:
            lst.write("file '{}'\n".format(str(Path(seg).resolve()).replace("'", "'\\''")))
    try:
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
               "-i", lst.name]
        audio_codec = audio_codec_args(fmt, CODECS.get(codec or ""))
        if audio_path is not None and audio_codec is not None:
            if audio_offset > 0:
                cmd += ["-ss", f"{audio_offset:.6f}"]
            cmd += ["-i", str(audio_path), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]
            if seconds is not None:
                cmd += ["-af", f"apad=whole_dur={seconds:.6f},atrim=end={seconds:.6f}"]
            cmd += ["-c:a", *audio_codec]
        else:
            cmd += ["-map", "0:v:0", "-c", "copy", "-an"]
        if fmt.faststart:
            cmd += ["-movflags", "+faststart"]
        with atomic_path(target) as tmp:
            proc = subprocess.run(cmd + ["-f", fmt.muxer, str(tmp)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-6:])
                raise EncoderError(f"ffmpeg failed joining {len(segments)} segments into {target} (exit code "
                                   f"{proc.returncode}): {tail}", file=target)
            _check_frames(tmp, frames, target)
    finally:
        os.unlink(lst.name)
    return target


def _check_frames(path: Path, frames: int | None, target: Path) -> None:
    """Raise EncoderError when the video ``path`` (to become ``target``) holds fewer than ``frames`` frames."""
    if frames is None:
        return
    found = probe_frames(path)
    if found is not None and found < frames:
        raise EncoderError(f"the joined video holds {found} frames but {frames} were rendered; the output was not "
                           f"kept", file=target)


def remove_frames_from(folder: Path, n_frames: int) -> None:
    """Delete ``frame_NNNNNN.png`` files numbered ``n_frames`` or more in ``folder`` (left by an earlier, longer
    render), so the folder holds exactly this sequence. Returns None."""
    for p in Path(folder).glob("frame_*.png"):
        digits = p.stem[len("frame_"):]
        if digits.isdigit() and int(digits) >= n_frames:
            p.unlink(missing_ok=True)


def read_png(path: Path) -> np.ndarray:
    """Read a PNG written by the PNG sink back as uint8 H×W×C (grey C=1, RGB, RGBA); UserError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError("cannot read a cached frame", file=path)
    if image.ndim == 2:
        return image[:, :, None]
    code = cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, code)


def encode_from_frames(folder: Path, n_frames: int, target: Path, fps: str) -> Path:
    """Encode the cached PNG frames ``frame_000000.png``.. of ``folder`` into ``target`` (a GIF or a zip) through
    its sink (temp name + rename). Returns the final path."""
    if existing_png_frames(folder) < n_frames:
        raise UserError(f"the cached frames of {target} are incomplete; render again", file=folder)
    with open_sink(target, fps=fps) as sink:
        for i in range(n_frames):
            sink.write(read_png(folder / PNG_PATTERN.format(i)))
        return sink.close()
