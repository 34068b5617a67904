"""Write procedural landscape datasets to disk: image folders, zip archives and HDF5 files.

Every writer is deterministic from ``seed`` (image ``i`` is ``landscape(batch_seed(seed, i), size,
batch_label(i, balanced))``) and atomic: files are written under a temporary name and renamed when complete, a folder
is filled as a hidden temporary folder and renamed, so a crash never leaves something that looks finished.

Class layout: ``<root>/<class>/<index:06d>.<ext>`` with the class names of ``LANDSCAPE_CLASSES`` (dawn, day, dusk,
night: sorted, so loaders that number class folders alphabetically get the same indices). A ``dataset.json`` in the
NVlabs format (``{"labels": [[relpath, label], ...]}``, plus ``class_names``) sits at the root.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import cv2
import h5py
import numpy as np

from ganlib.data.landscapes import (LANDSCAPE_CLASSES, LandscapeParams, batch_label, batch_seed, check_count,
                                    check_size, landscape_params, render_landscape)
from ganlib.errors import UserError
from ganlib.io_utils import atomic_path

__all__ = ["FEATURES_BASE_DIM", "IMAGE_EXTS", "procedural_features", "iter_landscapes", "write_image_folder",
           "write_image_zip", "write_hdf5"]

FEATURES_BASE_DIM = 16
IMAGE_EXTS = ("png", "jpg", "jpeg", "bmp", "webp")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entry timestamps, so the same seed gives the same archive bytes


# --------------------------------------------------------------------------------------------- features
def _base_features(p: LandscapeParams) -> np.ndarray:
    col = lambda c: np.asarray(c, np.float64) / 127.5 - 1.0  # noqa: E731
    far = p.layers[0]
    mountains = far.amp / 0.13 - 1.0 if far.kind == "mountains" else -1.0
    return np.concatenate([
        col(p.sky_top),                                        # 0-2 sky colour at the top
        col(p.sky_horizon),                                    # 3-5 sky colour at the horizon
        col(p.layers[-1].color),                               # 6-8 nearest ground colour
        [p.sun_x * 2 - 1,                                      # 9   sun / moon x
         p.sun_y * 2 - 1,                                      # 10  sun / moon y
         1.0 if p.sun_visible else -1.0,                       # 11  sun / moon shown
         (p.horizon - 0.54) / 0.18,                            # 12  horizon height
         1.0 if p.water else -1.0,                             # 13  lake in the foreground
         min(1.0, p.clouds * p.cloud_cover / 4.0) * 2 - 1,     # 14  cloudiness
         float(np.clip(mountains, -1, 1))],                    # 15  mountain height
    ])


def procedural_features(params: LandscapeParams, dim: int = FEATURES_BASE_DIM) -> np.ndarray:
    """A deterministic feature vector of a landscape's parameters, about in [-1, 1]; returns float32 [dim].

    The first 16 values are: sky top RGB, sky horizon RGB, nearest ground RGB, sun x, sun y, sun shown (+-1),
    horizon height, water (+-1), cloudiness and mountain height. ``dim`` < 16 keeps the first ``dim``; ``dim`` > 16
    appends tanh of fixed random projections of those 16, so any width stays a function of the image's content.
    """
    dim = check_count(dim, minimum=1, field="features_dim")
    base = _base_features(params)
    if dim <= FEATURES_BASE_DIM:
        return base[:dim].astype(np.float32)
    proj = np.random.default_rng(20240611).normal(0.0, 1.0, (dim - FEATURES_BASE_DIM, FEATURES_BASE_DIM))
    extra = np.tanh(proj @ base / np.sqrt(FEATURES_BASE_DIM))
    return np.concatenate([base, extra]).astype(np.float32)


# --------------------------------------------------------------------------------------------- iteration
def iter_landscapes(n: int, size: int = 64, seed: int = 0,
                    balanced: bool = True) -> Iterator[tuple[int, np.ndarray, int, LandscapeParams]]:
    """Yield ``(index, image uint8 [size,size,3], label, params)`` for the ``n`` images of dataset ``seed``.

    Image ``i`` uses seed ``batch_seed(seed, i)``; with ``balanced`` its class is ``i % 4``.
    """
    n = check_count(n, minimum=0)
    size = check_size(size)
    for i in range(n):
        params = landscape_params(batch_seed(seed, i), batch_label(i, balanced))
        yield i, render_landscape(params, size), params.label, params


def _check_ext(ext: str) -> str:
    e = str(ext).lower().lstrip(".")
    if e not in IMAGE_EXTS:
        raise UserError(f"image extension must be one of {', '.join(IMAGE_EXTS)}, got {ext!r}", field="ext")
    return e


def _encode(img: np.ndarray, ext: str) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext in ("jpg", "jpeg") else (
        [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == "webp" else [])
    ok, buf = cv2.imencode("." + ext, np.ascontiguousarray(img[..., ::-1]), params)
    if not ok:  # pragma: no cover - OpenCV always encodes these formats
        raise UserError(f"could not encode a .{ext} image", field="ext")
    return buf.tobytes()


def _relpath(i: int, label: int, with_classes: bool, ext: str) -> str:
    name = f"{i:06d}.{ext}"
    return f"{LANDSCAPE_CLASSES[label]}/{name}" if with_classes else name


def _index_json(entries: list[list], with_classes: bool) -> bytes:
    doc = {"labels": entries if with_classes else None, "class_names": list(LANDSCAPE_CLASSES),
           "generator": "ganlib.data.landscapes"}
    return (json.dumps(doc, indent=0) + "\n").encode()


# --------------------------------------------------------------------------------------------- writers
def write_image_folder(root: str | Path, n: int, size: int = 64, seed: int = 0, with_classes: bool = True,
                       ext: str = "png", balanced: bool = True, overwrite: bool = False) -> Path:
    """Write ``n`` landscapes as image files under ``root``; returns ``root`` as a ``Path``.

    With ``with_classes`` files go to ``root/<class>/<index:06d>.<ext>``, else ``root/<index:06d>.<ext>``; a
    ``dataset.json`` (NVlabs labels format) is written too. ``ext`` is one of ``IMAGE_EXTS``. The folder is built
    as a hidden temporary sibling and renamed into place. An existing non-empty ``root`` is an error unless
    ``overwrite``, which replaces it.
    """
    root = Path(root)
    n = check_count(n)
    size = check_size(size)
    ext = _check_ext(ext)
    if root.exists():
        if not root.is_dir():
            raise UserError("exists and is not a folder", file=root)
        if any(root.iterdir()) and not overwrite:
            raise UserError("the folder exists and is not empty (pass overwrite=True to replace it)", file=root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".part", dir=root.parent))
    os.chmod(tmp, 0o755)
    try:
        entries = []
        if with_classes:
            for name in LANDSCAPE_CLASSES:
                (tmp / name).mkdir()
        for i, img, label, _ in iter_landscapes(n, size, seed, balanced):
            rel = _relpath(i, label, with_classes, ext)
            (tmp / rel).write_bytes(_encode(img, ext))
            entries.append([rel, label])
        (tmp / "dataset.json").write_bytes(_index_json(entries, with_classes))
        if root.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".old", dir=root.parent))
            os.replace(root, old / "x")
            try:
                os.replace(tmp, root)
            except BaseException:
                os.replace(old / "x", root)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def write_image_zip(path: str | Path, n: int, size: int = 64, seed: int = 0, with_classes: bool = True,
                    ext: str = "png", balanced: bool = True) -> Path:
    """Write ``n`` landscapes into the zip archive ``path`` (same layout as ``write_image_folder``, stored
    uncompressed since PNGs are compressed already); returns ``path`` as a ``Path``. Written atomically; the same
    arguments give the same bytes."""
    path = Path(path)
    n = check_count(n)
    size = check_size(size)
    ext = _check_ext(ext)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            entries = []
            for i, img, label, _ in iter_landscapes(n, size, seed, balanced):
                rel = _relpath(i, label, with_classes, ext)
                zf.writestr(zipfile.ZipInfo(rel, _FIXED_TIME), _encode(img, ext))
                entries.append([rel, label])
            zf.writestr(zipfile.ZipInfo("dataset.json", _FIXED_TIME), _index_json(entries, with_classes),
                        zipfile.ZIP_DEFLATED)
    return path


def write_hdf5(path: str | Path, n: int, size: int = 64, seed: int = 0, layout: str = "NHWC",
               with_labels: bool = True, with_features: bool = True, features_dim: int = FEATURES_BASE_DIM,
               balanced: bool = True) -> Path:
    """Write ``n`` landscapes to the HDF5 file ``path``; returns ``path`` as a ``Path``.

    Datasets: ``images`` uint8 [n,H,W,3] ("NHWC") or [n,3,H,W] ("NCHW"), with a ``layout`` attribute;
    ``labels`` int64 [n] (attribute ``class_names``) when ``with_labels``; ``features`` float32
    [n, features_dim] (``procedural_features`` of each image's parameters) when ``with_features``.
    Written atomically.
    """

    path = Path(path)
    n = check_count(n)
    size = check_size(size)
    if layout not in ("NHWC", "NCHW"):
        raise UserError(f"layout must be 'NHWC' or 'NCHW', got {layout!r}", field="layout")
    if with_features:
        features_dim = check_count(features_dim, minimum=1, field="features_dim")
    shape = (n, size, size, 3) if layout == "NHWC" else (n, 3, size, size)
    block = max(1, min(n, 256))
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["layout"] = layout
            f.attrs["class_names"] = list(LANDSCAPE_CLASSES)
            f.attrs["generator"] = "ganlib.data.landscapes"
            f.attrs["seed"] = int(seed)
            images = f.create_dataset("images", shape=shape, dtype=np.uint8, chunks=(min(n, 64),) + shape[1:],
                                      track_times=False)
            images.attrs["layout"] = layout
            labels = np.empty(n, np.int64)
            feats = np.empty((n, features_dim if with_features else 0), np.float32)
            buf = np.empty((block,) + shape[1:], np.uint8)
            for i, img, label, params in iter_landscapes(n, size, seed, balanced):
                buf[i % block] = img if layout == "NHWC" else img.transpose(2, 0, 1)
                labels[i] = label
                if with_features:
                    feats[i] = procedural_features(params, features_dim)
                if i % block == block - 1 or i == n - 1:
                    start = i - i % block
                    images[start:i + 1] = buf[:i + 1 - start]
            if with_labels:
                ds = f.create_dataset("labels", data=labels, track_times=False)
                ds.attrs["class_names"] = list(LANDSCAPE_CLASSES)
            if with_features:
                f.create_dataset("features", data=feats, track_times=False)
    return path

