"""Image-folder datasets: every image under a folder (recursively); class sub-folders give labels.

``EncodedImageDataset`` holds the shared logic for collections of encoded image files (also used by zip archives):
scan, skip unreadable files with a count, derive labels, fit to the training resolution, and optionally keep every
decoded image in memory.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganlib import limits
from ganlib.data.base import DEFAULT_CACHE_LIMIT_MB, ImageDataset, labels_from_paths, should_cache, warn_data
from ganlib.data.transforms import decode_image, fit_image, to_chw_uint8
from ganlib.errors import DataError
from ganlib.paths import input_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def is_image_name(name: str) -> bool:
    """Return whether a file name has an image extension and is not hidden."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


class EncodedImageDataset(ImageDataset):
    """Images stored as encoded files (PNG/JPEG/…) named by relative paths; subclasses implement ``_bytes``.

    Args of ``_setup``: relative names, resolution, channels, fit ("crop"/"stretch"), cache (True/False/"auto").
    """

    fit: str = "crop"
    names: list[str]

    def _bytes(self, name: str) -> bytes | str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _setup(self, names: list[str], resolution: int, channels: int, fit: str, cache: bool | str,
               cache_limit_mb: float) -> None:
        if not names:
            raise DataError("no images found (looked for " + ", ".join(IMAGE_EXTENSIONS[:5]) + ", …)",
                            file=self.source)
        self.resolution, self.channels, self.fit = resolution, channels, fit
        class_names, labels, keep = labels_from_paths(names)
        limits.check("label_classes", len(class_names), "the class sub-folders", error=DataError, file=self.source,
                     field="classes")
        names = [names[i] for i in keep]
        preload = should_cache(cache, len(names), channels, resolution, cache_limit_mb)
        good: list[int] = []
        bad: list[str] = []
        decoded: list[torch.Tensor] = []
        for i, name in enumerate(names):
            try:
                if preload:
                    decoded.append(self._decode(name))
                else:
                    self._probe(name)
            except Exception:  # noqa: BLE001 - any decoder failure means "unreadable"
                bad.append(name)
                continue
            good.append(i)
        if bad:
            self.skipped = len(bad)
            warn_data(f"{self.source}: skipped {len(bad)} unreadable image(s), e.g. {bad[0]}")
        if not good:
            raise DataError(f"none of the {len(names)} image files could be read", file=self.source)
        self.names = [names[i] for i in good]
        self._count = len(self.names)
        if labels is not None:
            self.labels = labels[good]
            self.class_names = class_names
        if preload:
            self.cache = torch.stack(decoded)

    def _probe(self, name: str) -> None:
        data = self._bytes(name)
        src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        with Image.open(src) as im:
            im.size  # noqa: B018 - reads the header

    def _decode(self, name: str) -> torch.Tensor:
        img = decode_image(self._bytes(name), self.channels)
        return to_chw_uint8(fit_image(img, self.resolution, self.fit))

    def _read(self, i: int) -> torch.Tensor:
        name = self.names[i]
        try:
            return self._decode(name)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot decode image {name}: {exc}", file=self.source) from exc


def _visible_subfolders(folder: Path, stop: int) -> tuple[list[str], bool]:
    """(names of up to ``stop`` non-hidden sub-folders of ``folder``, whether it holds an image file), read lazily:
    the listing stops at ``stop`` sub-folders."""
    subs, has_images = [], False
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=True):
                subs.append(entry.name)
                if len(subs) >= stop:
                    break
            elif is_image_name(entry.name):
                has_images = True
    return subs, has_images


def check_class_folders(root: Path) -> None:
    """Refuse, before any listing of the whole tree, a folder with more class sub-folders than the
    ``label_classes`` limit: the class level is found as ``labels_from_paths`` finds it (single shared top folders
    are skipped) and its sub-folders are counted only up to one past the limit. DataError naming the folder."""
    limit = limits.get("label_classes")
    folder = root
    for _ in range(64):  # a chain of single folders deeper than this is not a dataset layout worth following
        subs, has_images = _visible_subfolders(folder, limit + 1)
        if len(subs) != 1 or has_images:
            break
        folder = folder / subs[0]
    if len(subs) > limit:
        raise DataError(limits.exceeded("label_classes", len(subs), "the folder (counted to one past the limit)"), file=folder, field="classes")


class ImageFolderDataset(EncodedImageDataset):
    """All images under ``root`` (recursively, hidden files skipped); ``root/<class>/...`` sub-folders give labels.

    Args: ``root``; ``resolution`` output size; ``channels`` 1 or 3; ``fit`` "crop" (resize shorter side + center
    crop) or "stretch"; ``cache`` True/False/"auto" (decode once and keep in memory when under ``cache_limit_mb``).
    Raises DataError for a missing or empty folder; unreadable images are skipped with one warning.
    """

    def __init__(self, root: str | Path, resolution: int, channels: int = 3, fit: str = "crop",
                 cache: bool | str = "auto", cache_limit_mb: float = DEFAULT_CACHE_LIMIT_MB):
        self.root = Path(root)
        self.source = str(root)
        if not self.root.is_dir():
            raise DataError("not a folder", file=root)
        check_class_folders(self.root)
        names = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = Path(dirpath).relative_to(self.root)
            for f in sorted(filenames):
                if is_image_name(f):
                    # a FIFO, socket or device named x.png would block or stream forever: refused from stat
                    input_file(Path(dirpath) / f, "image file", DataError)
                    names.append((rel / f).as_posix())
        if not names:
            raise DataError("the folder holds no images (png, jpg, bmp, gif, webp, tif; class sub-folders allowed)",
                            file=root)
        self._setup(names, resolution, channels, fit, cache, cache_limit_mb)

    def _bytes(self, name: str) -> str:
        return str(self.root / name)


def array_labels(labels: np.ndarray | None) -> np.ndarray | None:
    """Return labels as int64 [N] (or None), raising DataError for negative values."""
    if labels is None:
        return None
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if labels.size and labels.min() < 0:
        raise DataError("labels must be non-negative integers")
    return labels
