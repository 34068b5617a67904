"""A training folder from a video: decode with the ffmpeg bundled in imageio-ffmpeg, keep every K-th frame, crop
and resize it, and write ``frame_NNNNNN.png`` files atomically (each complete file under its final name).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np
from PIL import Image
from tqdm import tqdm

from ganlib.data.transforms import fit_image
from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.sinks.images import encode_image

CROPS = ("center", "none")


def shape_frame(frame: np.ndarray, crop: str = "center", size: int | None = None) -> np.ndarray:
    """Return uint8 H×W×C ``frame`` cropped and resized: ``crop`` "center" takes the centred square (then
    ``size``×``size`` when ``size`` is given), "none" keeps the whole frame (its shorter side scaled to ``size``
    when given, aspect kept)."""
    h, w = frame.shape[:2]
    if crop == "center":
        return fit_image(frame, size or min(h, w), "crop")
    if crop != "none":
        raise UserError(f"unknown crop {crop!r}; allowed: {', '.join(CROPS)}", field="--crop")
    if size is None or min(h, w) == size:
        return frame
    scale = size / min(h, w)
    resized = Image.fromarray(frame).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def video_frames(path: str | Path) -> tuple[dict, Iterator[np.ndarray]]:
    """Return (ffmpeg's metadata: size, fps, duration, …; an iterator of uint8 RGB H×W×3 frames) for the video at
    ``path``; UserError naming the file when it is missing or ffmpeg cannot read it as a video."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such video file", file=path)
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        reader.close()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no video stream"
        raise UserError(f"not a video ffmpeg can read ({reason})", file=path) from None
    w, h = meta["size"]

    def frames() -> Iterator[np.ndarray]:
        try:
            for data in reader:
                yield np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)
        finally:
            reader.close()

    return meta, frames()


def extract_frames(video: str | Path, out: str | Path, *, every: int = 1, crop: str = "center",
                   size: int | None = None, progress: bool = True) -> int:
    """Write every ``every``-th frame of ``video`` (the first included), shaped by :func:`shape_frame`, as
    ``out/frame_NNNNNN.png`` (numbered 0, 1, 2, … in the kept order; each written under a temporary name and then
    renamed); returns the number of files written. A progress bar with ETA estimates the total from fps × duration."""
    if every < 1:
        raise UserError(f"--every must be 1 or more, got {every}", field="--every")
    if crop not in CROPS:
        raise UserError(f"unknown crop {crop!r}; allowed: {', '.join(CROPS)}", field="--crop")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError("is a file; give a folder for the frames", file=out, field="--out")
    meta, frames = video_frames(video)
    estimate = round(float(meta.get("fps") or 0) * float(meta.get("duration") or 0))
    total = -(-estimate // every) if estimate else None
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with tqdm(total=total, desc=f"frames {Path(video).name}", unit="img", disable=not progress,
              dynamic_ncols=True) as bar:
        for index, frame in enumerate(frames):
            if index % every:
                continue
            data = encode_image(shape_frame(frame, crop, size), ".png")
            with atomic_path(out / f"frame_{written:06d}.png") as tmp:
                tmp.write_bytes(data)
            written += 1
            bar.update(1)
    if not written:
        raise UserError("the video has no frames", file=video)
    return written
