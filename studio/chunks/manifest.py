"""The chunk manifest: a small JSON file beside the temporary output recording what a render is and which chunks
are done, so ``--resume`` continues it and refuses a manifest made for other settings.

Layout: a video, GIF or zip output ``renders/x.mp4`` keeps its work in the hidden folder ``renders/.x.mp4.chunks/``
(manifest + segments or cached PNG frames), removed once the output is renamed into place. A PNG sequence keeps the
manifest inside its own folder (``frames/.studio-chunks.json``) until the last frame is written. The manifest is
always replaced atomically (temp name + rename), so a kill leaves the old or the new one, never half of one; the
temporary files a killed render left go with ``ganlib.io_utils.remove_stale_temps`` (the driver calls it).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path

MANIFEST_NAME = ".studio-chunks.json"
VERSION = 1
# Key fields and how a mismatch is described.
KEY_LABELS = {"timeline_sha": "timeline", "model_sha": "model file", "n_frames": "frame count",
              "chunk_frames": "output.chunk_frames", "batch": "--batch", "size": "size", "format": "output format",
              "codec": "codec", "crf": "crf", "preset": "preset", "fps": "fps", "dtype": "--dtype",
              "device": "device type", "version": "manifest version"}


def timeline_sha256(tl) -> str:
    """Return the hex SHA-256 of a Timeline's validated fields (canonical JSON; the source file name and line map
    are not part of it, so a moved but unchanged timeline has the same hash)."""
    text = json.dumps(tl.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def render_key(job, kind: str, chunk_frames: int, size: tuple[int, int] | None) -> dict:
    """Return the key a manifest records for ``job`` (a ChunkJob) writing an output of ``kind`` in chunks of
    ``chunk_frames`` at frame ``size`` (None: the model's own): what must be the same to resume."""
    enc = job.encode
    return {"timeline_sha": timeline_sha256(job.timeline), "model_sha": job.model_sha, "n_frames": job.n_frames,
            "chunk_frames": chunk_frames, "batch": job.batch, "size": list(size) if size else None,
            "format": kind if kind != "video" else enc.suffix, "codec": enc.codec, "crf": enc.crf,
            "preset": enc.preset, "fps": enc.fps, "dtype": job.dtype, "device": job.device.split(":")[0]}


def work_dir(target: str | Path, kind: str) -> Path:
    """Return the folder holding the manifest (and segments or cached frames) of a render to ``target``: the PNG
    folder itself for ``kind`` "png", else the hidden ``.NAME.chunks`` folder beside the output file."""
    target = Path(target)
    if kind == "png":
        return target
    return target.parent / f".{target.name}.chunks"


@dataclass
class Manifest:
    """A render's manifest: its ``key`` (what must match to resume), the ``chunks`` planned ([start, stop] per
    chunk index), the ``done`` chunks (index → the file holding it, "" for PNG frames) and the torch ``threads``
    every chunk is rendered on (CPU; a resumed render uses these, not its own). ``mark_done`` may be called from
    several threads (a lock keeps the saves in order)."""

    path: Path
    key: dict
    chunks: dict[int, tuple[int, int]]
    done: dict[int, str] = field(default_factory=dict)
    frame_size: tuple[int, int] | None = None
    threads: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def save(self) -> None:
        """Write the manifest atomically (temp name + rename). Returns None."""
        body = {"version": VERSION, "key": self.key, "state": "complete" if self.complete else "rendering",
                "chunks": {str(i): list(c) for i, c in sorted(self.chunks.items())},
                "done": {str(i): f for i, f in sorted(self.done.items())},
                "frame_size": list(self.frame_size) if self.frame_size else None, "threads": self.threads}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(body, indent=1))

    @property
    def complete(self) -> bool:
        """True when every planned chunk is done."""
        return set(self.done) >= set(self.chunks)

    def mark_done(self, index: int, file: str, size: tuple[int, int]) -> None:
        """Record chunk ``index`` as done (held in ``file``, relative to the manifest's folder; "" for PNG frames)
        with its frame ``size`` (width, height), and save (atomically, one save at a time)."""
        with self._lock:
            self.done[index] = file
            self.frame_size = tuple(size)
            self.save()


def load_manifest(folder: Path) -> Manifest | None:
    """Return the manifest in ``folder``, or None when there is none. Raises UserError for an unreadable one."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text())
        return Manifest(path=path, key=dict(body["key"], version=body.get("version")),
                        chunks={int(i): tuple(c) for i, c in body["chunks"].items()},
                        done={int(i): f for i, f in body["done"].items()},
                        frame_size=tuple(body["frame_size"]) if body.get("frame_size") else None,
                        threads=body.get("threads"))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"the render manifest is damaged ({err.__class__.__name__}); render without --resume to "
                        f"start over", file=path) from None


def check_key(manifest: Manifest, key: dict, target: Path) -> None:
    """Refuse (UserError, one line) to resume ``target`` from ``manifest`` when its key differs from ``key``."""
    want = dict(key, version=VERSION)
    differs = [KEY_LABELS.get(k, k) for k in want if manifest.key.get(k) != want[k]]
    if differs:
        raise UserError(f"cannot resume {target}: its render manifest was made with a different "
                        f"{', '.join(differs)}; render without --resume to start over", file=manifest.path)


def remove_work_dir(folder: Path, kind: str) -> None:
    """Delete a finished render's work: the hidden work folder, or (PNG sequence) only its manifest."""
    if kind == "png":
        (Path(folder) / MANIFEST_NAME).unlink(missing_ok=True)
    elif Path(folder).is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def start_manifest(folder: Path, key: dict, chunks, threads: int | None = None) -> Manifest:
    """Create, save and return a fresh manifest in ``folder`` for ``chunks`` (a list of Chunk) rendered on
    ``threads`` torch threads."""
    os.makedirs(folder, exist_ok=True)
    m = Manifest(path=Path(folder) / MANIFEST_NAME, key=dict(key, version=VERSION),
                 chunks={c.index: (c.start, c.stop) for c in chunks}, threads=threads)
    m.save()
    return m
