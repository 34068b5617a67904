"""Resizing rendered frames to the output size with a good filter (OpenCV).

Shrinking uses area averaging (``cv2.INTER_AREA``: no aliasing, no ringing); enlarging uses Lanczos
(``cv2.INTER_LANCZOS4``: sharp, results saturated to 0..255). A resize that shrinks one axis and enlarges
the other is done in two passes, each with the filter that suits it. Equal sizes are returned unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np

Size = tuple[int, int]


def _parse_size(size: int | Size) -> Size:
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height) or an int, got {size!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got {w}x{h}")
    return w, h


def _filter(src: int, dst: int) -> int:
    return cv2.INTER_AREA if dst < src else cv2.INTER_LANCZOS4


def resize_frame(frame: np.ndarray, size: int | Size) -> np.ndarray:
    """Resize one uint8 frame H×W×C to ``size`` = (width, height) (an int means square).

    Returns a new uint8 array of shape (height, width, C); the input itself when the size already matches.
    """
    w, h = _parse_size(size)
    if frame.ndim != 3:
        raise ValueError(f"expected a frame H×W×C, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise TypeError(f"expected uint8 frames, got {frame.dtype}")
    src_h, src_w = frame.shape[:2]
    if (src_w, src_h) == (w, h):
        return frame
    squeeze = frame.shape[2] == 1  # cv2 drops a single channel axis
    if (w <= src_w) == (h <= src_h) or w == src_w or h == src_h:
        # Both axes shrink, or both enlarge (or one stays): one pass.
        interp = cv2.INTER_AREA if (w <= src_w and h <= src_h) else cv2.INTER_LANCZOS4
        out = cv2.resize(frame, (w, h), interpolation=interp)
    else:
        # Mixed: width first, then height, each with its own filter.
        out = cv2.resize(frame, (w, src_h), interpolation=_filter(src_w, w))
        out = cv2.resize(out, (w, h), interpolation=_filter(src_h, h))
    if squeeze and out.ndim == 2:
        out = out[:, :, None]
    return out


def resize_frames(batch: np.ndarray, size: int | Size) -> np.ndarray:
    """Resize a batch of uint8 frames [N, H, W, C] to ``size`` = (width, height) (an int means square).

    Filters: ``INTER_AREA`` when shrinking, ``INTER_LANCZOS4`` when enlarging (saturated to uint8), two passes
    when one axis shrinks and the other grows. Returns a uint8 array [N, height, width, C]; the input array
    itself when the size already matches. A single frame H×W×C is accepted too and returns H'×W'×C.
    """
    batch = np.asarray(batch)
    if batch.dtype != np.uint8:
        raise TypeError(f"expected uint8 frames, got {batch.dtype}")
    if batch.ndim == 3:
        return resize_frame(batch, size)
    if batch.ndim != 4:
        raise ValueError(f"expected frames [N, H, W, C], got shape {batch.shape}")
    w, h = _parse_size(size)
    n, src_h, src_w, c = batch.shape
    if (src_w, src_h) == (w, h):
        return batch
    out = np.empty((n, h, w, c), dtype=np.uint8)
    for i in range(n):
        out[i] = resize_frame(batch[i], (w, h))
    return out


def even_size(width: int, height: int) -> Size:
    """Round a (width, height) down to even numbers (at least 2 each), as H.264 with yuv420p needs.

    Takes two positive ints; returns the tuple (even_width, even_height).
    """
    width, height = int(width), int(height)
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    return max(2, width - width % 2), max(2, height - height % 2)


def fit_frames(batch: np.ndarray, size: int | Size, fit: str = "crop") -> np.ndarray:
    """Bring uint8 frames [N, H, W, C] to ``size`` = (width, height) when their aspect differs, as ``fit`` says:
    "crop" scales them to cover the size and cuts the middle out (nothing is distorted, the edges go), "pad" scales
    them to fit inside and centres them on black (transparent where there is alpha), "stretch" resizes each axis on
    its own (the picture is distorted). Returns a uint8 array [N, height, width, C]; the input when it already has
    that size. The resizes use :func:`resize_frames`' filters."""
    if fit not in ("crop", "pad", "stretch"):  # the choices of studio.output_model.Output.fit
        raise ValueError(f"fit must be crop, pad or stretch, got {fit!r}")
    batch = np.asarray(batch)
    w, h = _parse_size(size)
    src_h, src_w = batch.shape[1:3]
    if (src_w, src_h) == (w, h) or fit == "stretch" or src_w * h == src_h * w:
        return resize_frames(batch, (w, h))
    scale = (max if fit == "crop" else min)(w / src_w, h / src_h)
    sw, sh = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    if fit == "crop":
        sw, sh = max(sw, w), max(sh, h)
        scaled = resize_frames(batch, (sw, sh))
        x0, y0 = (sw - w) // 2, (sh - h) // 2
        return np.ascontiguousarray(scaled[:, y0:y0 + h, x0:x0 + w])
    sw, sh = min(sw, w), min(sh, h)
    scaled = resize_frames(batch, (sw, sh))
    out = np.zeros((batch.shape[0], h, w, batch.shape[3]), dtype=np.uint8)
    x0, y0 = (w - sw) // 2, (h - sh) // 2
    out[:, y0:y0 + sh, x0:x0 + sw] = scaled
    return out


__all__ = ["fit_frames", "resize_frames", "resize_frame", "even_size"]
