"""Image transforms without torchvision: decode, channel conversion, resize (shorter side) + center crop or stretch,
horizontal flip and the uint8 → [-1, 1] float conversion used by every dataset."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

FIT_MODES = ("crop", "stretch")


def decode_image(data: bytes | str, channels: int = 3) -> np.ndarray:
    """Decode image bytes (or a file path) to uint8 H×W×channels (channels 1 or 3); raises OSError/ValueError
    (from PIL) when the data is not a readable image."""
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    with Image.open(src) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def convert_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """Return uint8 H×W×``channels`` from H×W×{1,3,4}: grey is repeated, alpha dropped, RGB → luminance for 1."""
    if img.ndim == 2:
        img = img[:, :, None]
    have = img.shape[2]
    if have == 4:
        img, have = img[:, :, :3], 3
    if have == channels:
        return img
    if channels == 3 and have == 1:
        return np.repeat(img, 3, axis=2)
    if channels == 1 and have == 3:
        lum = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(np.rint(lum), 0, 255).astype(np.uint8)[:, :, None]
    raise ValueError(f"cannot convert {have}-channel images to {channels} channels")


def fit_image(img: np.ndarray, size: int, fit: str = "crop") -> np.ndarray:
    """Return uint8 ``size``×``size``×C from uint8 H×W×C.

    ``fit="crop"``: scale so the shorter side is ``size`` (bicubic, antialiased by PIL), then center-crop;
    ``fit="stretch"``: resize both sides to ``size``. An image already ``size``×``size`` is returned unchanged.
    """
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")
    h, w = img.shape[:2]
    if h == size and w == size:
        return img
    squeeze = img.shape[2] == 1
    pil = Image.fromarray(img[:, :, 0] if squeeze else img)
    if fit == "stretch":
        pil = pil.resize((size, size), Image.BICUBIC)
    else:
        scale = size / min(h, w)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        if (nw, nh) != (w, h):
            pil = pil.resize((nw, nh), Image.BICUBIC)
        left, top = (nw - size) // 2, (nh - size) // 2
        pil = pil.crop((left, top, left + size, top + size))
    out = np.asarray(pil, dtype=np.uint8)
    return out[:, :, None] if squeeze else out


def to_chw_uint8(img: np.ndarray) -> torch.Tensor:
    """Return a contiguous uint8 tensor C×H×W from a uint8 numpy H×W×C array."""
    arr = img.transpose(2, 0, 1)
    if not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, dtype=np.uint8, order="C")
    return torch.from_numpy(arr)


def flip_rows(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Return ``images`` [N, C, H, W] with the rows where ``flips`` [N] (bool) is true mirrored left-right."""
    if not bool(flips.any()):
        return images
    return torch.where(flips.view(-1, 1, 1, 1), images.flip(-1), images)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """Return uint8 images as float32 in [-1, 1] (0 → -1, 255 → 1)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)
