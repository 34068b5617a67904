"""Inception feature sets from a folder / zip of images, an HDF5 dataset, a generator or a cached ``.npz``.

A ``FeatureSet`` holds the raw ``[N, 2048]`` float32 features (KID and MiFID need them, FID needs only their mean
and covariance, computed on demand in float64). Feature sets are cached as ``.npz`` files with the keys
``features`` (float32), ``mu`` (float64) and ``meta`` (a JSON string naming the source, a fingerprint of its files,
the Inception file and the resize mode); a cache is reused only when that metadata still matches.

Image sources:

* a folder (recursively, sorted paths) or a ``.zip`` of ``.png .jpg .jpeg .bmp .webp .tif .tiff`` images, read with
  PIL and converted to RGB; unreadable files are skipped with one warning giving the count;
* an HDF5 file (``.h5``/``.hdf5``) with a uint8 dataset (default ``images``) laid out N×H×W×C or N×C×H×W (C in
  1, 3, 4), read lazily in batches;
* ``procedural[:N[:SEED]]``: the procedural landscapes of ``ganlib.data.memory`` at ``procedural_size`` pixels (the
  images a training run on that spec sees; dataset seeds share no images, so ``procedural:1000:1`` is held out from
  a run trained on seed 0);
* a generator, sampled through ``ganlib.synth`` (seed → z, one-hot labels, NVlabs pixels): sample ``i`` uses seed
  ``seed_start + i``; label-conditioned models cycle through the classes (one-hot ``c`` for class ``i % c_dim``).
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import h5py
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from ganlib.data.memory import is_procedural, iter_procedural, parse_procedural
from ganlib.errors import DataError, UserError
from ganlib.io_utils import atomic_path
from ganlib.metrics.inception import RESIZE_MODE, InceptionExtractor
from ganlib.synth import cond_kind, one_hot, seed_batch, to_rgb

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
HDF5_EXTS = (".h5", ".hdf5", ".hdf")
CACHE_VERSION = 1


@dataclass
class FeatureSet:
    """Inception features ``[N, D]`` (float32) of one image source, with ``meta`` describing where they came from."""

    features: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def num(self) -> int:
        """Number of images (rows)."""
        return int(self.features.shape[0])

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(mu, sigma)`` in float64 (unbiased covariance)."""
        a = self.features.astype(np.float64)
        return a.mean(axis=0), np.cov(a, rowvar=False)


def save_feature_set(path: str | Path, fs: FeatureSet) -> Path:
    """Write ``fs`` atomically to ``path`` (``.npz`` with ``features``, ``mu`` and JSON ``meta``); return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, features=fs.features.astype(np.float32), mu=fs.features.astype(np.float64).mean(axis=0),
                     meta=np.array(json.dumps(fs.meta, sort_keys=True)))
    return path


def load_feature_set(path: str | Path) -> FeatureSet:
    """Read a feature ``.npz`` written by ``save_feature_set`` (or any ``.npz`` with a 2-D ``features`` array).

    Raises ``DataError`` when the file is missing or has no usable ``features``.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "features" not in data:
                raise DataError("no 'features' array in this .npz", file=path, field="features")
            feats = np.asarray(data["features"], np.float32)
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read feature file: {exc}", file=path) from exc
    if feats.ndim != 2:
        raise DataError(f"'features' must be 2-D, got shape {feats.shape}", file=path, field="features")
    return FeatureSet(feats, meta)


# ---------------------------------------------------------------------------------------------------- image sources

def _decode(data: bytes | Path) -> np.ndarray:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(src) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def list_image_files(folder: str | Path) -> list[Path]:
    """Return the image files under ``folder`` (recursive, sorted); raises ``DataError`` if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("not a folder", file=folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_EXTS)}) in this folder", file=folder)
    return files


def _iter_decoded(items: Iterable, loader: Callable, where: Path, limit: int | None) -> Iterator[np.ndarray]:
    bad = 0
    count = 0
    for item in items:
        if limit is not None and count >= limit:
            break
        try:
            img = loader(item)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
            bad += 1
            continue
        count += 1
        yield img
    if bad:
        warnings.warn(f"{where}: skipped {bad} unreadable image(s)", stacklevel=2)
    if count == 0:
        raise DataError("no readable images", file=where)


def iter_folder_images(folder: str | Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """Yield H×W×3 uint8 RGB images from ``folder`` (recursive, sorted), at most ``limit``; skips unreadable ones."""
    folder = Path(folder)
    return _iter_decoded(list_image_files(folder), _decode, folder, limit)


def iter_zip_images(path: str | Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """Yield H×W×3 uint8 RGB images from a ``.zip`` (sorted member names), at most ``limit``."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot open zip: {exc}", file=path) from exc
    names = sorted(n for n in zf.namelist() if n.lower().endswith(IMAGE_EXTS) and not n.endswith("/"))
    if not names:
        zf.close()
        raise DataError("no images in this zip", file=path)

    def gen() -> Iterator[np.ndarray]:
        with zf:
            yield from _iter_decoded(names, lambda n: _decode(zf.read(n)), path, limit)

    return gen()


def hdf5_layout(shape: tuple[int, ...]) -> str:
    """Return "NHWC" or "NCHW" for a 4-D image dataset shape (channels 1, 3 or 4); raises ``DataError`` otherwise."""
    if len(shape) != 4:
        raise DataError(f"image dataset must be 4-D (N×H×W×C or N×C×H×W), got shape {shape}", field="images")
    if shape[3] in (1, 3, 4):
        return "NHWC"
    if shape[1] in (1, 3, 4):
        return "NCHW"
    raise DataError(f"cannot tell the channel axis of shape {shape} (need 1, 3 or 4 channels)", field="images")


def iter_hdf5_images(path: str | Path, dataset: str = "images", limit: int | None = None,
                     chunk: int = 64) -> Iterator[np.ndarray]:
    """Yield H×W×C uint8 images from HDF5 ``dataset`` (NHWC or NCHW), reading ``chunk`` images at a time."""
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"cannot open HDF5 file: {exc}", file=path) from exc
    if dataset not in fh or not isinstance(fh[dataset], h5py.Dataset):
        names = ", ".join(sorted(fh.keys())) or "none"
        fh.close()
        raise DataError(f"no dataset named '{dataset}' (datasets: {names})", file=path, field=dataset)
    ds = fh[dataset]
    if ds.dtype != np.uint8:
        fh.close()
        raise DataError(f"images must be uint8, got {ds.dtype}", file=path, field=dataset)
    try:
        layout = hdf5_layout(ds.shape)
    except DataError as exc:
        fh.close()
        raise DataError(exc.message, file=path, field=dataset) from None
    n = ds.shape[0] if limit is None else min(limit, ds.shape[0])
    if n == 0:
        fh.close()
        raise DataError("the image dataset is empty", file=path, field=dataset)

    def gen() -> Iterator[np.ndarray]:
        with fh:
            for start in range(0, n, chunk):
                block = ds[start:min(n, start + chunk)]
                if layout == "NCHW":
                    block = block.transpose(0, 2, 3, 1)
                yield from block

    return gen()


def source_kind(path: str | Path) -> str:
    """Classify an image source: "procedural" (a ``procedural[:N[:SEED]]`` spec), "folder", "zip", "hdf5" or
    "features" (``.npz``); ``DataError`` naming it otherwise."""
    if is_procedural(path):
        return "procedural"
    p = Path(path)
    if str(path).startswith("procedural:") and not p.exists():
        parse_procedural(str(path))  # a mistyped spec: say how it is written
    if p.is_dir():
        return "folder"
    if not p.exists():
        raise DataError("no such file or folder", file=p)
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return "zip"
    if suffix in HDF5_EXTS:
        return "hdf5"
    if suffix == ".npz":
        return "features"
    raise DataError("expected an image folder, a .zip, an HDF5 file (.h5/.hdf5) or a feature cache (.npz)", file=p)


def iter_source_images(path: str | Path, *, limit: int | None = None, dataset: str = "images",
                       procedural_size: int = 64) -> Iterator[np.ndarray]:
    """Yield uint8 images from a folder, ``.zip``, HDF5 file or procedural spec (see ``source_kind``; procedural
    images are ``procedural_size`` pixels square), at most ``limit``."""
    kind = source_kind(path)
    if kind == "procedural":
        return itertools.islice((img for img, _, _ in iter_procedural(str(path), procedural_size)), limit)
    if kind == "folder":
        return iter_folder_images(path, limit)
    if kind == "zip":
        return iter_zip_images(path, limit)
    if kind == "hdf5":
        return iter_hdf5_images(path, dataset, limit)
    raise DataError("a feature cache holds no images", file=path)


def source_fingerprint(path: str | Path, dataset: str = "images", procedural_size: int = 64) -> str:
    """Return a short hash of a source's identity: paths, sizes and modification times of its files, or a
    procedural spec and its image size (its images are a pure function of both)."""
    if is_procedural(path):
        return hashlib.sha1(f"{path}:{int(procedural_size)}".encode()).hexdigest()[:20]
    p = Path(path).resolve()
    h = hashlib.sha1(str(p).encode())
    if p.is_dir():
        for f in list_image_files(p):
            st = f.stat()
            h.update(f"{f.relative_to(p)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    else:
        st = p.stat()
        h.update(f"{st.st_size}:{st.st_mtime_ns}:{dataset}".encode())
    return h.hexdigest()[:20]


# --------------------------------------------------------------------------------------------------------- features

def _progress(it: Iterator[np.ndarray], total: int | None, desc: str, enabled: bool) -> Iterator[np.ndarray]:
    if not enabled:
        return it
    return iter(tqdm(it, total=total, desc=desc, unit="img", leave=False))


def features_from_images(images: Iterable[np.ndarray], extractor: InceptionExtractor, *, batch_size: int = 32,
                         meta: dict | None = None) -> FeatureSet:
    """Return a ``FeatureSet`` of the given uint8 images (iterable or N×H×W×C array)."""
    feats = extractor.features(images, batch_size=batch_size)
    return FeatureSet(feats, dict(meta or {}, num=int(feats.shape[0])))


def features_from_source(path: str | Path, extractor: InceptionExtractor, *, limit: int | None = None,
                         cache: str | Path | None = None, dataset: str = "images", batch_size: int = 32,
                         progress: bool = False, procedural_size: int = 64) -> FeatureSet:
    """Inception features of an image folder / ``.zip`` / HDF5 file / ``procedural[:N[:SEED]]`` spec (images of
    ``procedural_size`` pixels), or the features stored in an ``.npz``.

    ``limit`` caps the number of images (first ones in sorted order). ``cache``: an ``.npz`` path reused when its
    metadata matches (same source fingerprint, Inception file, resize mode and limit) and (re)written otherwise.
    Returns a ``FeatureSet``; raises ``DataError`` for unusable sources.
    """
    kind = source_kind(path)
    if kind == "features":
        fs = load_feature_set(path)
        if limit is not None:
            fs = FeatureSet(fs.features[:limit], dict(fs.meta, limit=limit))
        return fs
    meta = {"version": CACHE_VERSION, "source": str(path) if kind == "procedural" else str(Path(path).resolve()),
            "kind": kind, "fingerprint": source_fingerprint(path, dataset, procedural_size),
            "dataset": dataset if kind == "hdf5" else None, "inception": extractor.identity, "resize": RESIZE_MODE,
            "limit": limit}
    if cache is not None and Path(cache).is_file():
        try:
            cached = load_feature_set(cache)
        except DataError:
            cached = None
        if cached is not None and all(cached.meta.get(k) == v for k, v in meta.items()):
            return cached
    images = iter_source_images(path, limit=limit, dataset=dataset, procedural_size=procedural_size)
    images = _progress(images, limit, "features", progress)
    fs = features_from_images(images, extractor, batch_size=batch_size, meta=meta)
    if cache is not None:
        save_feature_set(cache, fs)
    return fs


def generator_images(G: torch.nn.Module, num: int, *, seed_start: int = 0, batch_size: int = 16,
                     device: str | torch.device = "cpu", truncation_psi: float = 1.0,
                     conditions: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield ``num`` H×W×3 uint8 images from generator ``G`` through ``ganlib.synth``: image ``i`` uses seed
    ``seed_start + i`` (grey repeated to RGB, alpha dropped, as Inception takes RGB).

    ``z = RandomState(seed).randn(1, G.z_dim)``; label-conditioned models (``synth.cond_kind(G) == "label"``) get
    one-hot ``c`` for class ``i % c_dim`` unless ``conditions [num, c_dim]`` is given; feature-conditioned models need
    ``conditions``. ``G`` is expected on ``device``. Runs in eval mode and restores ``G``'s train/eval mode after.
    """
    c_dim = int(G.c_dim)
    kind = cond_kind(G)
    if conditions is not None:
        conditions = np.asarray(conditions, np.float32)
        if conditions.shape != (num, c_dim):
            raise UserError(f"conditions must have shape ({num}, {c_dim}), got {conditions.shape}",
                            field="conditions")
    elif kind == "features":
        raise UserError("this generator is conditioned on feature vectors: pass conditions to sample it",
                        field="conditions")
    was_training = G.training
    G.eval()
    try:
        for start in range(0, num, batch_size):
            idx = list(range(start, min(num, start + batch_size)))
            c = None
            if c_dim > 0:
                c = conditions[idx] if conditions is not None else one_hot([i % c_dim for i in idx], c_dim)
            pixels = seed_batch(G, [seed_start + i for i in idx], conds=c, psi=truncation_psi)
            yield from to_rgb(pixels)
    finally:
        G.train(was_training)


def features_from_generator(G: torch.nn.Module, num: int, extractor: InceptionExtractor, *, seed_start: int = 0,
                            batch_size: int = 16, device: str | torch.device = "cpu", truncation_psi: float = 1.0,
                            conditions: np.ndarray | None = None, progress: bool = False) -> FeatureSet:
    """Return the ``FeatureSet`` of ``num`` images sampled from ``G`` by seeds (see ``generator_images``)."""
    if num < 2:
        raise UserError("need at least 2 generated images", field="num")
    images = _progress(generator_images(G, num, seed_start=seed_start, batch_size=batch_size, device=device,
                                        truncation_psi=truncation_psi, conditions=conditions),
                       num, "generate", progress)
    meta = {"kind": "generator", "seed_start": seed_start, "num": num, "truncation_psi": truncation_psi,
            "inception": extractor.identity, "resize": RESIZE_MODE}
    return features_from_images(images, extractor, batch_size=max(batch_size, 16), meta=meta)
