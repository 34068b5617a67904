"""The chunk driver: plans a render's chunks, resumes from its manifest, sends the missing chunks to a backend
(this process, N processes or Ray), writes each finished chunk and records it, then joins the output.

Order of a render to ``renders/x.mp4`` (likewise MOV, MKV, WebM; GIF and zip cache PNG frames instead of segments):

1. the work folder ``renders/.x.mp4.chunks/`` gets a manifest (the job's key and the chunk plan);
2. every chunk is rendered and encoded by a worker; the driver writes it (``seg_00003.mp4``, temp + rename) and
   only then marks it done in the manifest, as soon as it is finished (in this process: from the thread whose
   encoder finished it, while the next chunk is generated), so a kill at any point loses at most the chunks in
   flight: those being generated or encoded, never a finished one;
3. when all are done the segments are joined (stream copy) into a temporary file renamed to ``renders/x.mp4``,
   and the work folder is removed. Until that rename the final name holds nothing new; after it, the output is
   complete (a kill before the work folder is gone only means ``--resume`` joins again).

A PNG sequence is written frame by frame into its own folder, with the manifest inside until the last chunk is in.

The whole render holds the output's lock (``lock.py``: a second render of the same output is refused with one
line); once the output is in place it is recorded as finished (``finished.py``), so ``--resume`` of a finished
render says so instead of rendering it again.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from ganlib.errors import UserError
from ganlib.io_utils import remove_stale_temps
from studio.chunks.finished import is_finished, record_finished
from studio.chunks.lock import render_lock
from studio.chunks.manifest import Manifest, check_key, load_manifest, remove_work_dir, start_manifest, work_dir
from studio.chunks.plan import Chunk, ChunkJob, ChunkResult, plan_chunks
from studio.chunks.segments import (chunk_on_disk, encode_from_frames, join_segments, remove_frames_from,
                                    store_chunk)
from studio.sinks.images import existing_png_frames


@dataclass
class ChunkedRender:
    """What a chunked render did: the final ``path``, the frame ``size`` (width, height), ``done_before`` (frames
    already done by an earlier run), ``first_todo`` (the first frame this run rendered; ``n_frames`` when none),
    the number of ``chunks`` planned and ``rendered`` by this run, and the wall-clock ``seconds``;
    ``finished_before`` is True when ``--resume`` found the render already finished (nothing was done);
    ``threads``: the torch thread count every chunk ran on (CPU; None on a GPU)."""

    path: Path
    size: tuple[int, int]
    done_before: int
    first_todo: int
    chunks: int
    rendered: int
    seconds: float
    finished_before: bool = False
    threads: int | None = None


def render_chunks(job: ChunkJob, task: Callable, target: Path, kind: str, *, key: dict, chunk_frames: int,
                  backend, resume: bool = False, progress: bool = True,
                  on_progress: Callable[[int, int], None] | None = None, audio: tuple | None = None,
                  label: str | None = None) -> ChunkedRender:
    """Render ``job`` to ``target`` (``kind``: "video", "gif", "zip" or "png" for a folder) in chunks of
    ``chunk_frames`` through ``backend``, resuming from the manifest when ``resume`` (refused with one line when
    its ``key`` differs; without ``resume`` an earlier job's work is discarded). ``task(job, chunk, progress)``
    renders one chunk, on ``job.threads`` torch threads (a resumed render: those its manifest records);
    ``audio`` (path, offset in seconds) is muxed into a video at the join. Returns a ChunkedRender."""
    t0 = time.time()
    target = Path(target)
    with render_lock(target, field="--frames" if kind == "png" else "--out"):
        folder = work_dir(target, kind)
        manifest = load_manifest(folder) if resume else None
        if manifest is None and resume and is_finished(target, kind, key):
            return ChunkedRender(path=target, size=(0, 0), done_before=job.n_frames, first_todo=job.n_frames,
                                 chunks=0, rendered=0, seconds=time.time() - t0, finished_before=True)
        if manifest is not None:
            check_key(manifest, key, target)
        elif kind != "png":
            remove_work_dir(folder, kind)
        remove_stale_temps(target)  # what killed renders left: temporary outputs, segments, frames
        remove_stale_temps(folder, every_name=True)
        if manifest is None:
            legacy = min(existing_png_frames(target), job.n_frames) if resume and kind == "png" else 0
            manifest = start_manifest(folder, key, plan_chunks(job.n_frames, chunk_frames, job.batch, start=legacy),
                                      threads=job.threads)
        elif manifest.threads is not None and job.threads is not None:  # the frames so far were made on these
            job = dataclasses.replace(job, threads=manifest.threads)
        chunks = [Chunk(i, start, stop) for i, (start, stop) in sorted(manifest.chunks.items())]
        for c in chunks:  # a chunk whose files vanished is done again
            if c.index in manifest.done and not chunk_on_disk(folder, c, manifest.done[c.index], job.encode):
                del manifest.done[c.index]
        todo = [c for c in chunks if c.index not in manifest.done]
        done_before = job.n_frames - sum(c.n_frames for c in todo)
        _run(job, task, backend, todo, folder, manifest, done_before, progress, on_progress,
             label or f"render {target.name}")
        final = _finish(job, target, kind, folder, manifest, chunks, audio)
        record_finished(final, kind, key)  # first: a kill between the two still leaves a state --resume reads
        remove_work_dir(folder, kind)
    return ChunkedRender(path=final, size=tuple(manifest.frame_size or (0, 0)), done_before=done_before,
                         first_todo=min((c.start for c in todo), default=job.n_frames), chunks=len(chunks),
                         rendered=len(todo), seconds=time.time() - t0, threads=job.threads)


def _run(job: ChunkJob, task: Callable, backend, todo: list[Chunk], folder: Path, manifest: Manifest,
         done_before: int, progress: bool, on_progress, label: str) -> None:
    """Render ``todo`` through ``backend``; store and record each chunk as it arrives; show progress with ETA."""
    n = job.n_frames
    count = [done_before]
    bar = tqdm(total=n, initial=done_before, desc=label, unit="frame", dynamic_ncols=True, disable=not progress)

    def advance(k: int) -> None:
        count[0] += k
        bar.update(k)
        if on_progress is not None:
            on_progress(count[0], n)

    per_frame = getattr(backend, "reports_progress", False)
    recorder = ChunkRecorder(folder, manifest, todo, job)
    try:
        # every backend passes each finished chunk to on_finished (which stores and records it) before yielding it
        for result in backend.run(task, job, todo, progress=advance if per_frame else None,
                                  on_finished=recorder.keep):
            if not per_frame:
                advance(recorder.chunks[result.index].n_frames)
    finally:
        bar.close()


class ChunkRecorder:
    """Stores finished chunks of ``job`` in ``folder`` and marks them done in ``manifest``, each exactly once,
    from any thread (the encoder thread that finished a segment, or the driver's loop)."""

    def __init__(self, folder: Path, manifest: Manifest, chunks: list[Chunk], job: ChunkJob):
        self.folder, self.manifest, self.job = folder, manifest, job
        self.chunks = {c.index: c for c in chunks}
        self.kept: set[int] = set()
        self._lock = threading.Lock()

    def keep(self, result: ChunkResult) -> None:
        """Write ``result``'s chunk (temp + rename) and record it in the manifest, unless it was kept already.
        Raises UserError when the chunk ran on another torch thread count than the job's (its frames could
        differ from the rest). Returns None."""
        with self._lock:
            if result.index in self.kept:
                return
            threads = self.job.threads
            if threads is not None and result.threads is not None and result.threads != threads:
                raise UserError(f"chunk {result.index} was rendered on {result.threads} torch threads, not the "
                                f"render's {threads}; its frames could differ from the others")
            chunk = self.chunks[result.index]
            self.manifest.mark_done(chunk.index, store_chunk(self.folder, chunk, result, self.job.encode),
                                    result.size)
            self.kept.add(result.index)


def _finish(job: ChunkJob, target: Path, kind: str, folder: Path, manifest: Manifest, chunks: list[Chunk],
            audio: tuple | None) -> Path:
    """Join the finished chunks into ``target`` (video: stream copy; GIF/zip: encode the cached frames; PNG:
    drop frames of an earlier, longer render). Returns the final path."""
    n = job.n_frames
    if kind == "video":
        segments = [folder / manifest.done[c.index] for c in chunks]
        path, offset = audio if audio is not None else (None, 0.0)
        return join_segments(segments, target, codec=job.encode.codec, audio_path=path, audio_offset=offset,
                             seconds=float(n / Fraction(job.encode.fps)), frames=n)
    if kind in ("gif", "zip"):
        return encode_from_frames(folder, n, target, job.encode.fps)
    remove_frames_from(target, n)
    return target

