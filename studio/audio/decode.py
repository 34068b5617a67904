"""Decode any audio (or video) file the bundled ffmpeg reads into mono float32 PCM at a chosen sample rate.

There is no system ffmpeg: the static one inside the ``imageio-ffmpeg`` wheel is used
(``imageio_ffmpeg.get_ffmpeg_exe()``). Every failure is a ``UserError`` naming the file.
"""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from ganlib.errors import UserError

DEFAULT_RATE = 22050


def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg executable shipped inside the imageio-ffmpeg wheel."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg_reason(stderr: bytes) -> str:
    """The most telling line of ffmpeg's error output (its last non-empty line), for a one-line message."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "ffmpeg gave no reason"


def decode_audio(path: str | Path, *, rate: int = DEFAULT_RATE, offset: float = 0.0,
                 duration: float | None = None, field: str = "audio") -> np.ndarray:
    """Return the audio of ``path`` as mono float32 samples in [-1, 1] at ``rate`` Hz.

    ``offset`` seconds are skipped at the start and at most ``duration`` seconds are returned (None: to the end).
    Any format ffmpeg decodes is accepted (WAV, FLAC, MP3, OGG, M4A, the audio track of a video...). Raises
    ``UserError`` (naming the file and ``field``) when the file is missing, is not audio, or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError("audio file not found" if not path.exists() else "is a folder, not an audio file",
                        file=path, field=field)
    if not (isinstance(rate, int) and rate > 0):
        raise UserError(f"sample rate must be a positive whole number, got {rate!r}", field="rate")
    if not math.isfinite(offset) or offset < 0:
        raise UserError(f"offset must be 0 or more seconds, got {offset!r}", file=path, field=f"{field}.offset")
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error"]
    if offset > 0:
        cmd += ["-ss", f"{offset:.6f}"]
    cmd += ["-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate)]
    if duration is not None:
        cmd += ["-t", f"{float(duration):.6f}"]
    cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        reason = _ffmpeg_reason(proc.stderr)
        if "matches no streams" in reason:
            reason = "it has no audio stream"
        raise UserError(f"cannot decode audio ({reason}); give a WAV, FLAC, MP3, OGG, M4A or another file "
                        "with an audio stream", file=path, field=field)
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32, copy=True)
    if samples.size == 0:
        at = f" after offset {offset:g} s" if offset > 0 else ""
        raise UserError(f"no audio samples{at}", file=path, field=field)
    return samples


def audio_duration(path: str | Path, *, rate: int = DEFAULT_RATE) -> float:
    """Return the duration in seconds of the audio in ``path`` (decoded at ``rate``; UserError as decode_audio)."""
    return decode_audio(path, rate=rate).size / float(rate)
