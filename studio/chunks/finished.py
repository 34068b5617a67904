"""Which outputs are finished renders: after the final rename the driver records the output (its render key's hash,
its size and modification time) under ``$STUDIO_CACHE_DIR/renders/`` (default ``~/.cache/latent-studio``), one
small JSON file per output path. ``--resume`` of an output whose record matches (same key, the file unchanged
since) says it is finished instead of rendering again; anything else (no record, another key, a file changed or
replaced since) is not finished. Nothing is written beside the outputs.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from ganlib.io_utils import atomic_path, cache_folder
from studio.sinks.images import PNG_PATTERN, existing_png_frames


def records_dir() -> Path:
    """Return the folder of finished-render records: ``$STUDIO_CACHE_DIR/renders`` or
    ``~/.cache/latent-studio/renders``."""
    return cache_folder("renders")


def _record_file(target: Path) -> Path:
    name = hashlib.sha256(str(Path(target).absolute()).encode()).hexdigest()[:32]
    return records_dir() / f"{name}.json"


def key_sha(key: dict) -> str:
    """Return the hex SHA-256 of a render key (canonical JSON)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _state(target: Path, kind: str) -> dict | None:
    """What identifies ``target`` as written: size and mtime (a PNG folder: its frame count and newest frame's
    mtime, not the folder's, which removing the manifest after the record changes)."""
    try:
        if kind != "png":
            st = os.stat(target)
            return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        n = existing_png_frames(target)
        newest = max((os.stat(Path(target) / PNG_PATTERN.format(i)).st_mtime_ns for i in range(n)), default=0)
    except OSError:
        return None
    return {"size": n, "mtime_ns": newest} if n else None


def record_finished(target: Path, kind: str, key: dict) -> None:
    """Record ``target`` (an output of ``kind`` just renamed into place) as the finished render of ``key``.
    Returns None; a record that cannot be written only means a later ``--resume`` renders again."""
    state = _state(target, kind)
    if state is None:
        return
    with contextlib.suppress(OSError):
        path = _record_file(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"path": str(Path(target).absolute()), "key": key_sha(key), **state}))


def is_finished(target: Path, kind: str, key: dict) -> bool:
    """True when ``target`` is the finished render of ``key``, unchanged since it was recorded."""
    try:
        record = json.loads(_record_file(target).read_text())
    except (OSError, ValueError):
        return False
    state = _state(target, kind)
    return (state is not None and record.get("key") == key_sha(key)
            and record.get("path") == str(Path(target).absolute())
            and all(record.get(k) == v for k, v in state.items()))
