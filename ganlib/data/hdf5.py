"""HDF5 datasets: uint8 images (N×H×W×C or N×C×H×W) plus optional ``labels`` [N] and ``features`` [N, F].

The file is opened lazily and once per process (each DataLoader worker opens its own handle; h5py handles must not
cross a fork). Small files are read into memory once (``cache``).
"""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch

from ganlib.data.base import DEFAULT_CACHE_LIMIT_MB, ImageDataset, should_cache
from ganlib.data.folder import array_labels
from ganlib.data.transforms import convert_channels, fit_image, to_chw_uint8
from ganlib import limits
from ganlib.errors import DataError

LAYOUTS = ("auto", "NHWC", "NCHW")


def list_datasets(h5) -> list[str]:
    """Return "name [shape dtype]" for every dataset in an open h5py file, recursively."""
    found: list[str] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            found.append(f"{name} {list(obj.shape)} {obj.dtype}")
    h5.visititems(visit)
    return found


def detect_layout(shape: tuple[int, ...], hint: str | None = None) -> str:
    """Return "NHWC" or "NCHW" for a 4-D image array shape (a 3-D shape is N×H×W grey → "NHW");
    ``hint`` (from the ``layout`` attribute or the user) wins. Raises DataError when it cannot tell."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) != 4:
        raise DataError(f"images must be 4-D (N,H,W,C or N,C,H,W), got shape {list(shape)}")
    if hint in ("NHWC", "NCHW"):
        return hint
    if shape[3] in (1, 3, 4):
        return "NHWC"
    if shape[1] in (1, 3, 4):
        return "NCHW"
    raise DataError(f"cannot tell the channel axis of images shaped {list(shape)}; set data.layout")


class HDF5Dataset(ImageDataset):
    """Images from the HDF5 dataset ``images_key`` of ``path``; labels/features from ``labels_key``/``features_key``
    when present (set a key to None to ignore it).

    Args: ``resolution`` (images of another size are fitted), ``channels``, ``fit``, ``layout`` "auto"/"NHWC"/
    "NCHW", ``cache`` True/False/"auto". Class names come from a ``class_names`` attribute of the labels dataset or
    the file, else "0".."K-1". Raises DataError for a missing/unreadable file or a missing images dataset (listing
    the datasets the file has).
    """

    def __init__(self, path: str | Path, resolution: int, channels: int = 3, fit: str = "crop",
                 images_key: str = "images", labels_key: str | None = "labels",
                 features_key: str | None = "features", layout: str = "auto", cache: bool | str = "auto",
                 cache_limit_mb: float = DEFAULT_CACHE_LIMIT_MB):
        self.path, self.source = Path(path), str(path)
        self.resolution, self.channels, self.fit, self.images_key = resolution, channels, fit, images_key
        self._h5 = None
        self._pid = None
        if not self.path.is_file():
            raise DataError("file not found", file=path)
        try:
            h5 = self._file()
        except OSError as exc:
            raise DataError(f"not a readable HDF5 file ({exc})", file=path) from exc
        if images_key not in h5 or not isinstance(h5[images_key], h5py.Dataset):
            have = list_datasets(h5)
            raise DataError(f"no dataset named {images_key!r}; the file has: {', '.join(have) or 'no datasets'} "
                            f"(choose one with --set data.images_key=NAME)", file=path)
        ds = h5[images_key]
        if ds.dtype != np.uint8:
            raise DataError(f"dataset {images_key!r} has dtype {ds.dtype}; expected uint8 pixels", file=path)
        hint = layout if layout != "auto" else _attr_str(ds.attrs.get("layout") or h5.attrs.get("layout"))
        self.layout = detect_layout(ds.shape, hint)
        self._count = int(ds.shape[0])
        if self._count == 0:
            raise DataError(f"dataset {images_key!r} is empty", file=path)
        check_declared_shape(ds, images_key, path)
        if labels_key and labels_key in h5:
            self.labels = array_labels(read_small(h5[labels_key], labels_key, self._count, path, numeric="iu"))
            names = h5[labels_key].attrs.get("class_names")
            if names is None:
                names = h5.attrs.get("class_names")
            k = int(self.labels.max()) + 1 if self.labels.size else 0
            limits.check("label_classes", max(k, len(names) if names is not None else 0), f"{labels_key!r}",
                         error=DataError, file=path)
            self.class_names = [_attr_str(n) for n in names] if names is not None else [str(i) for i in range(k)]
            if len(self.class_names) < k:
                self.class_names += [str(i) for i in range(len(self.class_names), k)]
            if len(self.labels) != self._count:
                raise DataError(f"{labels_key!r} has {len(self.labels)} rows but {images_key!r} has {self._count}",
                                file=path)
        if features_key and features_key in h5:
            feats = np.asarray(read_small(h5[features_key], features_key, self._count, path, numeric="iuf"),
                               dtype=np.float32)
            if not np.isfinite(feats).all():
                raise DataError(f"{features_key!r} holds NaN or infinite values", file=path)
            self.features_shape = tuple(int(n) for n in feats.shape[1:])  # (F,), or (T, F) for sequences
            self.features = feats.reshape(feats.shape[0], -1)
            if len(self.features) != self._count:
                raise DataError(f"{features_key!r} has {len(self.features)} rows but {images_key!r} has "
                                f"{self._count}", file=path)
        if should_cache(cache, self._count, channels, resolution, cache_limit_mb):
            chunk = 256
            parts = [self._fit_block(ds[s:s + chunk]) for s in range(0, self._count, chunk)]
            self.cache = torch.cat(parts)
            self.close()

    def _file(self):
        if self._h5 is None or self._pid != os.getpid():
            self._h5 = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._h5

    def _fit_block(self, block: np.ndarray) -> torch.Tensor:
        if self.layout == "NCHW":
            block = block.transpose(0, 2, 3, 1)
        elif self.layout == "NHW":
            block = block[..., None]
        out = [to_chw_uint8(fit_image(convert_channels(img, self.channels), self.resolution, self.fit))
               for img in block]
        return torch.stack(out)

    def _read(self, i: int) -> torch.Tensor:
        return self._fit_block(self._file()[self.images_key][i:i + 1])[0]

    def images_uint8(self, indices) -> torch.Tensor:
        """Return the fitted uint8 images [B, C, R, R] at ``indices`` (reads sorted, unique rows from the file)."""
        if self.cache is not None:
            return super().images_uint8(indices)
        idx = np.asarray(list(indices), dtype=np.int64)
        uniq, inverse = np.unique(idx, return_inverse=True)
        rows = self._file()[self.images_key][uniq.tolist()]
        return self._fit_block(rows)[torch.from_numpy(inverse.astype(np.int64))]

    def close(self) -> None:
        """Close this process's file handle (it reopens on the next read)."""
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None

    def __getstate__(self) -> dict:
        """Pickle without the open file handle (each worker opens its own)."""
        state = self.__dict__.copy()
        state["_h5"] = None
        state["_pid"] = None
        return state


def _attr_str(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def check_declared_shape(ds, key: str, path) -> None:
    """Refuse an images dataset whose declared shape is absurd (more than ``dataset_images`` images, one image
    above ``image_pixels``, or a zero-size image) before any pixel is read. Returns None."""
    shape = [int(d) for d in ds.shape]
    limits.check("dataset_images", shape[0], f"dataset {key!r}", error=DataError, file=path)
    if any(d == 0 for d in shape[1:]):
        raise DataError(f"dataset {key!r} holds zero-size images (shape {shape})", file=path)
    limits.check("image_pixels", int(np.prod(shape[1:], dtype=np.int64)), f"one image of dataset {key!r}",
                 error=DataError, file=path)


def read_small(ds, key: str, count: int, path, numeric: str) -> np.ndarray:
    """Read a per-image dataset (labels, features) after checking its declared size (at most 4096 values per image,
    as many rows as images) and that its dtype kind is in ``numeric`` ("iu" integers, "iuf" numbers)."""
    shape = [int(d) for d in ds.shape]
    if ds.dtype.kind not in numeric:
        kinds = "integers" if numeric == "iu" else "numbers"
        raise DataError(f"{key!r} holds {ds.dtype} values; expected {kinds}", file=path)
    rows = shape[0] if shape else 1
    per_row = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    if rows > count or per_row > 4096:
        raise DataError(f"{key!r} declares shape {shape}; expected {count} rows of at most 4096 values", file=path)
    return ds[()]
