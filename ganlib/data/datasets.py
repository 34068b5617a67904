"""Open any supported dataset by path: a folder of images, a .zip of images, or an HDF5 file (.h5/.hdf5) — or
``procedural[:N[:SEED]]`` for landscapes made in memory.

    ds = open_dataset("monet/", resolution=64)          # class sub-folders → labels
    ds = open_dataset("letters.h5", resolution=32, channels=1, hdf5={"images_key": "x"})
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from ganlib.data.archive import ImageZipDataset
from ganlib.data.base import DEFAULT_CACHE_LIMIT_MB, BatchKeys, DataWarning, ImageDataset
from ganlib.data.folder import ImageFolderDataset
from ganlib.data.hdf5 import HDF5Dataset
from ganlib.data.memory import is_procedural, procedural_dataset
from ganlib.errors import DataError

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")

__all__ = ["open_dataset", "ImageDataset", "ImageFolderDataset", "ImageZipDataset", "HDF5Dataset", "BatchKeys",
           "DataWarning"]


def open_dataset(path: str | Path, resolution: int, channels: int = 3, fit: str = "crop",
                 cache: bool | str = "auto", cache_limit_mb: float = DEFAULT_CACHE_LIMIT_MB,
                 hdf5: dict | None = None) -> ImageDataset:
    """Return the dataset at ``path``: a folder → ImageFolderDataset, a zip → ImageZipDataset, an HDF5 file →
    HDF5Dataset (``hdf5`` holds its extra arguments: images_key, labels_key, features_key, layout).

    ``path`` may also be "procedural[:N[:SEED]]": N procedural landscapes made in memory (``ganlib.data.memory``).
    Raises DataError when the path is missing or of an unsupported kind.
    """
    if is_procedural(path):
        return procedural_dataset(str(path), resolution, channels, fit)
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("data path not found (give an image folder, a .zip of images or an HDF5 file)", file=path)
    if p.is_dir():
        return ImageFolderDataset(p, resolution, channels, fit, cache, cache_limit_mb)
    if p.suffix.lower() in HDF5_SUFFIXES or _is_hdf5(p):
        return HDF5Dataset(p, resolution, channels, fit, cache=cache, cache_limit_mb=cache_limit_mb,
                           **(hdf5 or {}))
    if zipfile.is_zipfile(p):
        return ImageZipDataset(p, resolution, channels, fit, cache, cache_limit_mb)
    raise DataError("unsupported data file: give an image folder, a .zip of images or an HDF5 file", file=path)


def _is_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False
