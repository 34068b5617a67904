"""MNIST/EMNIST idx files (``.idx``, ``*-idx3-ubyte`` and their ``.gz``) as an in-memory dataset.

An idx file is big-endian: two zero bytes, a type byte (0x08 = uint8), the number of dimensions, one int32 per
dimension, then the values. Images are ``*images-idx3*`` [N, H, W]; their labels are the sibling file with
``labels-idx1`` in its name [N]. EMNIST stores each image transposed (column-major), so files whose name starts
with ``emnist`` are transposed back; its ``emnist-<split>-mapping.txt`` (``label ascii [ascii]`` per line), when
beside the images, names the classes by their characters, else a class is named by its label number.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import torch

from ganlib import limits
from ganlib.data.memory import InMemoryDataset
from ganlib.data.transforms import convert_channels, fit_image, to_chw_uint8
from ganlib.errors import DataError

IDX_NAME_RE = re.compile(r"(\.idx\d?(\.gz)?$)|(-idx\d-ubyte(\.gz)?$)", re.IGNORECASE)


def is_idx(path: Path) -> bool:
    """Return whether ``path`` is named like an idx file (``.idx``, ``*-idx3-ubyte``, optionally ``.gz``)."""
    return bool(IDX_NAME_RE.search(Path(path).name))


def read_idx(path: str | Path) -> np.ndarray:
    """Return the uint8 array stored in the idx file at ``path`` (gzip-compressed or not); DataError naming the file
    for a bad header, another value type, or a size that does not match the header."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the idx file ({exc})", file=path) from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError("not an idx file: it must start with two zero bytes, a type byte and a rank", file=path)
    if raw[2] != 0x08:
        raise DataError(f"idx value type 0x{raw[2]:02x} is not supported (only 0x08, unsigned bytes)", file=path)
    rank = raw[3]
    if rank < 1 or len(raw) < 4 + 4 * rank:
        raise DataError(f"idx header names {rank} dimensions but the file is too short", file=path)
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise DataError(f"idx header says {'x'.join(map(str, dims))} = {int(np.prod(dims))} values, the file holds "
                        f"{body.size}", file=path)
    return body.reshape(dims)


def _labels_path(images: Path) -> Path | None:
    name = re.sub(r"images-idx3", "labels-idx1", images.name, flags=re.IGNORECASE)
    candidate = images.with_name(name)
    return candidate if name != images.name and candidate.exists() else None


def _mapping(images: Path) -> dict[int, str]:
    m = re.match(r"(emnist-[a-z]+)-", images.name, re.IGNORECASE)
    path = images.with_name(f"{m.group(1)}-mapping.txt") if m else None
    if path is None or not path.exists():
        return {}
    names = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            names[int(parts[0])] = chr(int(parts[1]))
    return names


def idx_dataset(path: str | Path, resolution: int, channels: int = 1, fit: str = "crop") -> InMemoryDataset:
    """Return the images of the idx file at ``path`` (fitted to ``resolution`` with ``channels``) with the labels of
    its ``labels-idx1`` sibling when present (remapped to 0..K−1 in label order, named by an EMNIST mapping file or
    by number). DataError for a file that is not an idx image file or labels that do not match it."""
    path = Path(path)
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"an idx image file holds [N, H, W] values; this one has {images.ndim} dimensions",
                        file=path)
    if path.name.lower().startswith("emnist"):
        images = images.transpose(0, 2, 1)
    labels = class_names = None
    labels_file = _labels_path(path)
    if labels_file is not None:
        raw = read_idx(labels_file)
        if raw.shape != (images.shape[0],):
            raise DataError(f"{raw.size} labels for {images.shape[0]} images", file=labels_file)
        values = np.unique(raw)
        limits.check("label_classes", len(values), "the labels", error=DataError, file=labels_file, field="classes")
        mapping = _mapping(path)
        labels = np.searchsorted(values, raw)
        class_names = [mapping.get(int(v), str(int(v))) for v in values]
    tensors = [to_chw_uint8(fit_image(convert_channels(img[:, :, None], channels), resolution, fit))
               for img in images]
    return InMemoryDataset(torch.stack(tensors), str(path), labels, class_names)
