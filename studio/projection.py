"""What ``studio project`` (and the UI) write for a projection: ``<stem>.npz`` (the latent as NVlabs' projector
writes it, plus the settings and final losses), ``<stem>.png`` (target | projection), ``<stem>.mp4`` (the
optimisation as a video, through ``studio.sinks.open_sink``) and a timeline whose keyframes are the projections.

Every file is written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ganlib.io_utils import atomic_path
from ganlib.projection import Projection, side_by_side
from studio.sinks import open_sink
from studio.timeline import timeline_from_dict, timeline_to_yaml

VIDEO_FPS = 30


def write_npz(proj: Projection, path: str | Path, note: str = "") -> Path:
    """Write ``proj`` to ``path`` (.npz): ``w`` [1, num_ws, w_dim] (or ``z`` [1, z_dim]) float32, ``space``,
    ``settings`` and ``losses`` (JSON text), ``loss_history`` [steps] float32 and ``target_note`` (how the image was
    fitted to the model). Returns the path. Readable with ``numpy.load(allow_pickle=False)``."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{proj.key: proj.latent.astype(np.float32)}, space=np.str_(proj.space),
                 settings=np.str_(json.dumps(proj.config.as_dict())), losses=np.str_(json.dumps(proj.losses)),
                 loss_history=np.asarray(proj.history, np.float32), target_note=np.str_(note))
    return path


def write_png(image: np.ndarray, path: str | Path) -> Path:
    """Write the uint8 H×W×C ``image`` (grey, RGB or RGBA) as a PNG at ``path``; returns the path."""
    path = Path(path)
    arr = image[:, :, 0] if image.shape[2] == 1 else image
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
    return path


def comparison(proj: Projection) -> np.ndarray:
    """Return target | projection side by side (uint8 H×2W×C, no gap: the right half is the projection)."""
    return side_by_side(proj.target, proj.image)


class OptimisationVideo:
    """A context manager streaming target | current estimate frames to ``path`` (any format ``open_sink`` takes;
    .mp4 for the command). Its ``on_frame`` fits :func:`ganlib.projection.project`'s ``on_frame``."""

    def __init__(self, path: str | Path, target: np.ndarray, fps: int = VIDEO_FPS):
        self.target = target
        self.sink = open_sink(path, fps=fps, pad_to_even=True, preset="veryfast")

    def on_frame(self, step: int, loss: float, frame: np.ndarray) -> None:
        """Write one frame: the target beside ``frame`` (the estimate after ``step`` steps)."""
        self.sink.write(side_by_side(self.target, frame))

    def __enter__(self) -> "OptimisationVideo":
        self.sink.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.sink.__exit__(exc_type, exc, tb)


def projection_timeline(npz_paths: list[Path], model: str, *, space: str, seconds: float = 3.0, loop: bool = False,
                        label: int | None = None, fps: float = 30.0):
    """Return a validated Timeline whose keyframes are the projections ``npz_paths`` in order, ``seconds`` apart,
    rendered as stored (truncation 1, the network's fixed noise); ``space`` is "w" or "z" (z-only models);
    ``loop`` closes the path back to the first. ``model``: builtin:NAME or a checkpoint path (made absolute)."""
    if not model.startswith("builtin:"):
        model = os.path.abspath(model)
    keyframes = [{"time": i * float(seconds), "latent": str(Path(p).absolute())} for i, p in enumerate(npz_paths)]
    data = {"model": model, "fps": fps, "space": "w" if space in ("w", "w+") else "z", "interpolation": "cubic",
            "truncation": 1.0, "loop": bool(loop), "noise": "fixed", "keyframes": keyframes}
    if label is not None:
        data["label"] = int(label)
    if loop or len(npz_paths) == 1:
        data["duration"] = float(seconds) * (len(npz_paths) if loop else 1)
    return timeline_from_dict(data)


def write_timeline(tl, path: str | Path) -> Path:
    """Write the Timeline ``tl`` as YAML at ``path`` with its paths relative to the file's folder (so the folder
    can move); returns the path."""
    path = Path(path)
    text = timeline_to_yaml(tl, relative_to=path.absolute().parent)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
