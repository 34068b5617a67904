"""Helpers for the chunk tests: tiny timelines, decoded frames, and interrupting a render at a chunk boundary."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.video_tools import read_video_frames

TIMELINE = """
model: builtin:tiny
fps: 12
size: 32
noise: random
output: {{chunk_frames: {chunk}, preset: ultrafast}}
keyframes:
  - {{time: 0, seed: 1}}
  - {{time: 0.5, seed: 2, ease: in-out}}
  - {{time: {end}, seed: 3}}
"""

LOOP = """
model: builtin:tiny
fps: 12
size: 32
loop: true
output: {{chunk_frames: {chunk}, preset: ultrafast}}
keyframes:
  - {{time: 0, seed: 4}}
  - {{time: 0.6, seed: 5}}
"""


def write_timeline(folder: Path, chunk: int = 4, end: float = 1.0, body: str = TIMELINE, name: str = "t.yaml"):
    """Write a tiny timeline (32 px, 12 fps, chunks of ``chunk`` frames, last keyframe at ``end`` s) and load it;
    returns (path, Timeline)."""
    from studio.timeline import load_timeline
    path = folder / name
    path.write_text(body.format(chunk=chunk, end=end))
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
