"""Chunk planning: which frames each chunk renders, and the job a chunk needs (pure data, no I/O, no torch).

A render of ``n`` frames is cut into chunks of ``chunk_frames`` frames (the last may be shorter). Chunk sizes are
rounded up to a multiple of the batch size, so every chunk starts on a batch boundary and the generator batches the
frames exactly as one uninterrupted render does: the decoded frames do not depend on how chunks were scheduled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

VIDEO_CHUNK_SECONDS = 10.0   # default chunk of a video output: about 10 s
FRAMES_CHUNK_SECONDS = 2.0   # default chunk of PNG / GIF / zip outputs (their frames travel as PNG bytes)


@dataclass(frozen=True)
class Chunk:
    """Frames ``start``..``stop``-1 of a render, the ``index``-th chunk of its plan."""

    index: int
    start: int
    stop: int

    @property
    def n_frames(self) -> int:
        """How many frames the chunk holds."""
        return self.stop - self.start


@dataclass(frozen=True)
class EncodeSpec:
    """How a chunk's frames are stored: ``kind`` "segment" (a self-contained video file with ``suffix``, ``codec``,
    ``crf``, ``preset``) or "png" (one PNG per frame); ``fps`` is the exact rate as a string ("30000/1001")."""

    kind: str
    fps: str
    suffix: str = ""
    codec: str | None = None
    crf: int = 18
    preset: str = "medium"


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to render any chunk of one render: the validated ``timeline`` (a picklable
    Timeline), the model file (``model_path``; ``model_sha`` identifies its bytes), the ``device`` ("cpu",
    "cuda"), ``batch``, synthesis ``dtype``, ``compile``, the total ``n_frames`` and the ``encode`` spec.
    ``threads``: the torch thread count every process runs this job's chunks on (a CPU job's frames depend on it;
    None on a GPU). ``extra`` holds job-specific settings (e.g. the seeds of ``studio random``)."""

    timeline: Any
    model_path: str
    model_sha: str
    device: str
    batch: int
    dtype: str
    n_frames: int
    encode: EncodeSpec | None = None
    compile: bool = False
    threads: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ChunkResult:
    """What a worker returns for one chunk: its ``index``, the frame ``size`` (width, height) and the encoded
    ``data``: the bytes of a video segment, or a list of PNG bytes (one per frame), or any picklable payload;
    ``threads``: the torch thread count the chunk was generated on (set by the backend for CPU jobs)."""

    index: int
    size: tuple[int, int]
    data: Any
    threads: int | None = None


def default_chunk_frames(fps: float, kind: str) -> int:
    """Return the default chunk length in frames at ``fps`` for an output of ``kind`` ("video" or another kind):
    about 10 s of video, 2 s of PNG/GIF/zip frames; at least 1."""
    seconds = VIDEO_CHUNK_SECONDS if kind == "video" else FRAMES_CHUNK_SECONDS
    return max(1, int(round(seconds * float(fps))))


def plan_chunks(n_frames: int, chunk_frames: int, batch: int = 1, start: int = 0) -> list[Chunk]:
    """Return the chunks of a render of ``n_frames`` frames: ``chunk_frames`` rounded up to a multiple of
    ``batch``, the last chunk shorter. With ``start`` > 0 (frames already on disk) chunks ending at or before it
    are left out and the one holding it starts there; chunk indices stay those of the full plan."""
    if n_frames < 0 or chunk_frames < 1 or batch < 1:
        raise ValueError(f"bad plan: n_frames={n_frames}, chunk_frames={chunk_frames}, batch={batch}")
    size = math.ceil(chunk_frames / batch) * batch
    chunks = []
    for index, b0 in enumerate(range(0, n_frames, size)):
        b1 = min(b0 + size, n_frames)
        if b1 <= start:
            continue
        chunks.append(Chunk(index, max(b0, start), b1))
    return chunks


def rounded_chunk_frames(chunk_frames: int, batch: int) -> int:
    """Return ``chunk_frames`` rounded up to a multiple of ``batch`` (the chunk length a plan really uses)."""
    return math.ceil(chunk_frames / batch) * batch
