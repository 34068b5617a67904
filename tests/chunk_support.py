"""Helpers for the chunk tests: tiny timelines, decoded frames, interrupting a render at a chunk boundary, and a
render that SIGKILLs itself at a chosen chunk (run in a subprocess by ``kill_at_chunk``)."""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from tests.video_tools import read_video_frames

TIMELINE = """
model: builtin:tiny
fps: 12
size: 32
{extra}
output: {{chunk_frames: {chunk}, preset: ultrafast}}
keyframes:
  - {{time: 0, seed: {seeds[0]}}}
  - {{time: {middle}, seed: {seeds[1]}, ease: in-out}}
  - {{time: {end}, seed: {seeds[2]}}}
"""
PLAIN = dict(extra="noise: random", seeds=(1, 2, 3))
LOOP = dict(extra="loop: true", seeds=(4, 5, 6))  # a loop: the last frame leads back to the first


def write_timeline(folder: Path, chunk: int = 4, end: float = 1.0, name: str = "t.yaml", kind: dict = PLAIN):
    """Write a tiny timeline (32 px, 12 fps, chunks of ``chunk`` frames, three keyframes, the last at ``end`` s;
    ``kind``: PLAIN with random noise, or LOOP) and load it; returns (path, Timeline)."""
    from studio.timeline import load_timeline
    path = folder / name
    path.write_text(TIMELINE.format(chunk=chunk, end=end, middle=min(0.5, end / 2), **kind))
    return path, load_timeline(path)


def decoded(path: Path) -> np.ndarray:
    """All frames of a video file (or a GIF), decoded to RGB, stacked N×H×W×3."""
    return np.stack(list(read_video_frames(path)))


def png_frames(folder: Path) -> list[bytes]:
    """The bytes of every frame_*.png in ``folder``, in order."""
    return [p.read_bytes() for p in sorted(folder.glob("frame_*.png"))]


class Interrupt(Exception):
    """Raised by :func:`stop_after` to break off a render."""


def stop_after(frames: int):
    """An ``on_progress`` callback that raises Interrupt once ``frames`` frames are done."""
    def callback(done: int, total: int) -> None:
        if done >= frames:
            raise Interrupt(done)
    return callback


KILL_SCRIPT = "import sys; from tests.chunk_support import kill_at_chunk; kill_at_chunk(*sys.argv[1:])"
WAIT_S = 60.0  # how long the killed render waits for the previous chunk's record (only reached when it is missing)


def kill_at_chunk(timeline: str, out: str, index: str, batch: str = "2") -> None:
    """Render ``timeline`` to ``out`` in this process and SIGKILL it when chunk ``index`` is about to be
    generated, once the chunk before it is recorded in the manifest (waiting at most WAIT_S seconds: the encoder
    thread records it while this chunk would be generated). Prints "recorded" or "missing" first. Never returns."""
    import studio.render
    from studio.chunks.manifest import Manifest
    from studio.timeline import load_timeline
    k, recorded = int(index), threading.Event()
    mark_done, render_chunk = Manifest.mark_done, studio.render.render_chunk

    def mark_and_tell(self, i, file, size):
        mark_done(self, i, file, size)
        if i == k - 1:
            recorded.set()

    def task(job, chunk, progress=None):
        if chunk.index == k:
            print("recorded" if recorded.wait(WAIT_S) else "missing", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return render_chunk(job, chunk, progress)

    Manifest.mark_done, studio.render.render_chunk = mark_and_tell, task
    studio.render.render_timeline(load_timeline(timeline), out=out, progress=False, batch=int(batch))
    sys.exit(f"the render finished before chunk {k}")
