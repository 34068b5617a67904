"""Procedural "impressionist landscape" images: the real data of every test and of the shipped default model.

Each image is a sky gradient (dawn, day, dusk or night palette), a sun or moon with a soft glow, clouds, two to
four layers of hills or mountains with atmospheric perspective, sometimes a lake with a rippled reflection, trees
and flowers, all finished with a brush-stroke pass: thousands of short oriented strokes whose colours are sampled
from the picture underneath and jittered, drawn at 2x or 4x and area-downsampled.

Everything is numpy + OpenCV (no torch) and deterministic: the same seed gives the same bytes. This module holds
seeds, labels and batches; ``landscape_params`` what a landscape is and how its parameters are drawn;
``landscape_paint`` how they become pixels.

    params = sample_params(np.random.default_rng(7))   # every random choice lives in the params
    img = render_landscape(params, size=64)            # uint8 H x W x 3 RGB
    img, label = landscape_with_label(7, 64)           # label indexes LANDSCAPE_CLASSES
    batch = landscape_batch(16, 64, seed=0)            # [16, 64, 64, 3]; image i is landscape((0, i), label=i % 4)

Class labels are the palette family. ``LANDSCAPE_CLASSES`` is in sorted order, so a loader that numbers class
folders alphabetically gets the same indices.
"""
from __future__ import annotations

import numpy as np

from ganlib.data.landscape_paint import render_landscape
from ganlib.data.landscape_params import (LANDSCAPE_CLASSES, MAX_SIZE, MIN_SIZE, HillLayer, LandscapeParams, Seed,
                                          check_size, sample_params)
from ganlib.errors import UserError

__all__ = [
    "LANDSCAPE_CLASSES", "HillLayer", "LandscapeParams", "sample_params", "render_landscape", "landscape",
    "landscape_with_label", "landscape_params", "landscape_batch", "batch_seed", "batch_label", "check_count",
    "check_size", "MIN_SIZE", "MAX_SIZE",
]


# --------------------------------------------------------------------------------------------- convenience
def _rng(seed: Seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise UserError(f"seed must be a non-negative integer (or a sequence of them), got {seed!r}",
                        field="seed") from exc


def landscape_params(seed: Seed, label: int | None = None) -> LandscapeParams:
    """The parameters of the landscape of ``seed`` (an int >= 0 or a tuple of them), optionally forcing ``label``;
    returns ``LandscapeParams`` (``sample_params(np.random.default_rng(seed), label)``)."""
    return sample_params(_rng(seed), label)


def landscape_with_label(seed: Seed, size: int = 64, label: int | None = None) -> tuple[np.ndarray, int]:
    """Render the landscape of ``seed`` (an int >= 0 or a tuple of them) at ``size``; ``label`` forces the class.

    Returns ``(image, label)``: uint8 [size, size, 3] RGB and the index of its class in ``LANDSCAPE_CLASSES``.
    """
    params = landscape_params(seed, label)
    return render_landscape(params, size), params.label


def landscape(seed: Seed, size: int = 64, label: int | None = None) -> np.ndarray:
    """Render the landscape of ``seed`` (an int >= 0 or a tuple of them); returns uint8 [size, size, 3] RGB."""
    return landscape_with_label(seed, size, label)[0]


def batch_seed(seed: int, index: int) -> tuple[int, int]:
    """The per-image seed of image ``index`` in a batch or dataset made with ``seed``: ``(seed, index)``.

    Batches from different seeds share no images (unlike ``seed + index`` numbering).
    """
    return (int(seed), int(index))


def batch_label(index: int, balanced: bool) -> int | None:
    """The forced class of image ``index`` of a batch: ``index % 4`` when ``balanced``, else None (drawn)."""
    return int(index) % len(LANDSCAPE_CLASSES) if balanced else None


def landscape_batch(n: int, size: int = 64, seed: int = 0, with_labels: bool = False, balanced: bool = True):
    """Render ``n`` landscapes; image ``i`` is ``landscape(batch_seed(seed, i), size, batch_label(i, balanced))``.

    With ``balanced`` (the default) the classes cycle dawn, day, dusk, night, so every class appears once ``n >= 4``.
    Returns a uint8 array [n, size, size, 3]; with ``with_labels=True`` returns ``(images, labels)`` where
    labels is int64 [n].
    """
    n = check_count(n, minimum=0)
    size = check_size(size)
    out = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    for i in range(n):
        out[i], labels[i] = landscape_with_label(batch_seed(seed, i), size, batch_label(i, balanced))
    return (out, labels) if with_labels else out


def check_count(n, minimum: int = 1, field: str = "n") -> int:
    """Validate an image count; returns it as int or raises ``UserError`` naming ``field``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise UserError(f"number of images must be an integer >= {minimum}, got {n!r}", field=field)
    return int(n)
