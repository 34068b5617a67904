"""Helpers for the sink tests: small test frames, a WAV maker, and reading videos back (frames through
imageio-ffmpeg's ``read_frames``; stream facts from the header the bundled ffmpeg prints for ``ffmpeg -i FILE``)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

from ganlib.errors import UserError
from tests import audio_support

W, H = 64, 48


def solid(rgb, w=W, h=H) -> np.ndarray:
    """A w×h frame of one colour."""
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def indexed(i: int, w=W, h=H) -> np.ndarray:
    """Frame i: red encodes the index, green a horizontal ramp, blue constant."""
    f = np.empty((h, w, 3), np.uint8)
    f[..., 0] = min(255, 16 + 8 * i)
    f[..., 1] = np.linspace(0, 255, w).astype(np.uint8)[None, :]
    f[..., 2] = 128
    return f


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    """Write ``seconds`` of a 440 Hz mono 16-bit tone to ``path``; returns the path."""
    return audio_support.write_wav(path, audio_support.tone([440.0], 0.0, seconds, seconds, rate, amp=0.25), rate)


def leftovers(folder: Path) -> list[str]:
    """The sorted names in ``folder`` (what a sink left behind)."""
    return sorted(p.name for p in folder.iterdir())


def grey_and_alpha_frames(i: int) -> dict[str, np.ndarray]:
    """Frame i as H×W grey, H×W×1 grey, RGB, and RGBA with a transparent half (alpha must not darken it)."""
    rgb = indexed(i)
    grey = np.full((H, W), 40 + 10 * i, np.uint8)
    rgba = np.dstack([rgb, np.where(np.arange(W) < W // 2, 0, 255).astype(np.uint8)[None, :].repeat(H, 0)])
    return {"HxW": grey, "HxWx1": grey[:, :, None], "HxWx3": rgb, "HxWx4": rgba}


_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+)[^,]*, (\w+)(\(([^)]*)\))?.*?, (\d+)x(\d+)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_FPS = re.compile(r"([\d.]+) fps")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")


def video_header(path: str | Path) -> dict:
    """Return what ``ffmpeg -i path`` says about the first video stream: ``codec, pix_fmt, color`` (the
    parenthesised tags, e.g. "tv, bt709, progressive"), ``width, height, fps, duration`` and ``audio_codec``
    (None without audio). Raises ``UserError`` for a missing file or one without a video stream."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"video not found: {path}", file=path)
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = proc.stderr.decode("utf-8", "replace")
    line = next((ln for ln in text.splitlines() if _VIDEO.search(ln)), None)
    if line is None:
        raise UserError(f"cannot read video {path}: no video stream", file=path)
    video, fps = _VIDEO.search(line), _FPS.search(line)
    dur = _DURATION.search(text)
    audio = _AUDIO.search(text)
    return {"codec": video.group(1), "pix_fmt": video.group(2), "color": video.group(4) or "",
            "width": int(video.group(5)), "height": int(video.group(6)),
            "fps": float(fps.group(1)) if fps else 0.0,
            "duration": (int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))) if dur else None,
            "audio_codec": audio.group(1) if audio else None}


def read_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode the first video stream of ``path``; yield its frames as uint8 RGB arrays H×W×3, one at a time."""
    frames = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    w, h = next(frames)["size"]
    for data in frames:
        yield np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)


def probe_video(path: str | Path) -> dict:
    """:func:`video_header` plus ``n_frames``, counted by decoding every frame (exact)."""
    info = video_header(path)
    info["n_frames"] = sum(1 for _ in read_video_frames(path))
    return info
