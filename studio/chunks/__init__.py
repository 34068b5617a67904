"""Chunked, resumable, distributed rendering: a render is cut into chunks of frames that are rendered anywhere
(this process, ``--workers N`` local processes, or Ray tasks with ``--ray``), recorded in a manifest and joined.

- ``plan.py``: chunks, the job a chunk needs, default chunk lengths (pure);
- ``manifest.py``: the manifest (key, plan, done chunks), stale temporary files, work folders;
- ``segments.py``: encoding a chunk (video segment or PNG frames), storing it, joining segments (stream copy);
- ``backends.py``: in-process and local multi-process backends (retry when a process dies);
- ``ray_backend.py``: Ray tasks (optional extra, imported only for ``--ray``);
- ``driver.py``: resume, scheduling, progress with ETA, writing outputs, the final join and rename.
"""
from __future__ import annotations

from studio.chunks.backends import (InlineBackend, ProcessBackend, in_order, open_backend, render_threads,
                                    worker_device)
from studio.chunks.driver import ChunkedRender, render_chunks
from studio.chunks.manifest import render_key, timeline_sha256, work_dir
from studio.chunks.plan import Chunk, ChunkJob, ChunkResult, EncodeSpec, default_chunk_frames, plan_chunks
from studio.chunks.segments import encode_chunk, join_segments

__all__ = ["Chunk", "ChunkJob", "ChunkResult", "EncodeSpec", "ChunkedRender", "InlineBackend", "ProcessBackend",
           "default_chunk_frames", "encode_chunk", "in_order", "join_segments", "open_backend", "plan_chunks",
           "render_chunks", "render_key", "render_threads", "timeline_sha256", "work_dir", "worker_device"]
