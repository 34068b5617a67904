"""Projection targets: an image file (or array) of any size and aspect, centre-cropped to a square and resized to
the model's resolution and channel count."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganlib.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def fit_to_model(img: np.ndarray, resolution: int, channels: int) -> tuple[np.ndarray, str]:
    """Return (uint8 [resolution, resolution, channels] pixels, a note saying what was done) for a uint8 image
    H×W, H×W×1, H×W×3 or H×W×4: the largest centred square is cut out, resized with Lanczos (area-like when
    shrinking) and converted to grey (1 channel), RGB (3) or RGBA (4, opaque where the image has no alpha)."""
    a = np.asarray(img)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise UserError(f"a target must be uint8 H×W[×1|3|4], got {a.dtype} of shape {a.shape}", field="image")
    pil = Image.fromarray(a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    w, h = pil.size
    side = min(w, h)
    notes = []
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        pil = pil.crop((left, top, left + side, top + side))
        notes.append(f"centre-cropped {w}x{h} to {side}x{side}")
    if side != resolution:
        pil = pil.resize((resolution, resolution), Image.LANCZOS)
        notes.append(f"resized {side}x{side} to {resolution}x{resolution}")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[int(channels)]
    if pil.mode != mode:
        notes.append(f"converted {pil.mode} to {mode}")
        pil = pil.convert(mode)
    out = np.asarray(pil, dtype=np.uint8)
    if out.ndim == 2:
        out = out[:, :, None]
    return np.ascontiguousarray(out), "; ".join(notes) or f"already {resolution}x{resolution} {mode}"


def read_image(path: str | Path) -> np.ndarray:
    """Return the uint8 pixels (H×W grey, H×W×3 RGB or H×W×4 RGBA) of the image file ``path``. Raises UserError
    naming the file when it is missing, a folder or not an image PIL can read."""
    p = Path(path)
    if p.is_dir():
        raise UserError("is a folder, not an image", file=p)
    if not p.is_file():
        raise UserError("image not found", file=p)
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode not in ("L", "RGB", "RGBA"):
                im = im.convert("RGBA" if "A" in im.getbands() or im.mode == "P" and "transparency" in im.info
                                else "RGB")
            return np.asarray(im, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        reason = "not an image (PNG, JPEG, WebP, BMP, TIFF or GIF)" if isinstance(exc, UnidentifiedImageError) \
            else f"cannot be read as an image ({exc})"
        raise UserError(reason, file=p) from None


def load_target(path: str | Path, resolution: int, channels: int) -> tuple[np.ndarray, str]:
    """Return (uint8 [resolution, resolution, channels] target, note) for the image file ``path`` (see
    :func:`read_image` and :func:`fit_to_model`)."""
    return fit_to_model(read_image(path), resolution, channels)


def expand_images(paths: list[str | Path]) -> list[Path]:
    """Return the image files named by ``paths`` in order: files as given, folders expanded to their images
    (suffixes in IMAGE_SUFFIXES, sorted by name). Raises UserError for a missing path, a folder with no images, or
    no images at all."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UserError(f"the folder has no images (allowed: {', '.join(IMAGE_SUFFIXES)})", file=p)
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise UserError("image not found", file=p)
    if not out:
        raise UserError("no images given: name image files or folders of images", field="IMAGE")
    return out


def side_by_side(target: np.ndarray, image: np.ndarray, gap: int = 0) -> np.ndarray:
    """Return uint8 H×(2W+gap)×C: ``target`` on the left, ``image`` (same shape) on the right, ``gap`` white
    columns between them."""
    if target.shape != image.shape:
        raise ValueError(f"shapes differ: {target.shape} and {image.shape}")
    h, _, c = target.shape
    parts = [target] + ([np.full((h, gap, c), 255, np.uint8)] if gap else []) + [image]
    return np.ascontiguousarray(np.concatenate(parts, axis=1))
