"""Pixel arrays without torch: the one grey/alpha → RGB conversion shared by generation, sinks and metrics."""
from __future__ import annotations

import numpy as np


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Return uint8 pixels [..., H, W, 3] from [..., H, W, C] with C in 1, 3, 4: grey (C=1) is repeated into R, G
    and B, alpha (C=4) is dropped (the colours are kept as they are), RGB is returned unchanged. The result is
    C-contiguous whenever a conversion happened. Raises ValueError for any other channel count."""
    c = pixels.shape[-1]
    if c == 3:
        return pixels
    if c == 1:
        return np.ascontiguousarray(np.repeat(pixels, 3, axis=-1))
    if c == 4:
        return np.ascontiguousarray(pixels[..., :3])
    raise ValueError(f"images must have 1, 3 or 4 channels, not {c}")
