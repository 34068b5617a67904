"""Analyse each audio file once: analyses are cached on disk by the file's content hash and the analysis
parameters, so a renamed or copied file is a hit and an edited one is analysed again.

The cache folder is ``$STUDIO_CACHE_DIR/audio`` (default ``~/.cache/latent-studio/audio``); entries are ``.npz``
files written under a temporary name and renamed when complete, so an interrupted write never leaves a bad entry.
A damaged entry is analysed again and replaced.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ganlib.io_utils import atomic_path, cache_folder, file_sha256
from studio.audio.analysis import AnalysisParams, AudioAnalysis, analyse
from studio.audio.decode import decode_audio


def cache_dir() -> Path:
    """Return the folder of cached analyses: ``$STUDIO_CACHE_DIR/audio`` or ``~/.cache/latent-studio/audio``."""
    return cache_folder("audio")


def cache_key(digest: str, params: AnalysisParams) -> str:
    """Return the cache entry name for file content ``digest`` analysed with ``params``."""
    blob = json.dumps({"sha256": digest, **params.key()}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def analyse_file(path: str | Path, params: AnalysisParams | None = None, *, use_cache: bool = True,
                 field: str = "audio") -> tuple[AudioAnalysis, bool]:
    """Return (analysis of the whole file ``path``, whether it came from the cache). Decodes (UserError naming the
    file for missing or undecodable audio), analyses and stores the result when it is not cached yet."""
    params = params or AnalysisParams()
    path = Path(path)
    if not path.is_file():
        decode_audio(path, rate=params.rate, field=field)  # raises the UserError for a missing file or folder
    entry = cache_dir() / f"{cache_key(file_sha256(path), params)}.npz"
    if use_cache and entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as data:
                return AudioAnalysis.from_arrays(data, params), True
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged entry: analyse again and overwrite it
    analysis = analyse(decode_audio(path, rate=params.rate, field=field), params)
    if use_cache:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(entry) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **analysis.to_arrays())
    return analysis, False
