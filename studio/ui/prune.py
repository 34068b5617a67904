"""Housekeeping for the studio's output folder: old job folders and Gradio's cached copies are pruned by age and by
total size, as a :class:`PrunePolicy` says (``studio ui --keep-hours/--keep-gb``, or the Render tab's "Old jobs").

Only two kinds of folder are ever removed: job folders (``<output>/<job-id>/``, the id pattern of
:func:`studio.ui.jobs.new_job_id`) and the per-file folders in Gradio's cache (``<output>/_gradio/<hash>/``); a job
still queued or running is never touched, nor are ``uploads/``, ``latents/`` or anything else. Gradio's copies are
disposable (previews, gallery pages, downloads), so they are kept at most :data:`CACHE_MAX_AGE_S` even when the
jobs are kept longer.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ganlib.errors import UserError

JOB_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")
CACHE_MAX_AGE_S = 3600.0  # Gradio's cached copies live at most an hour (less when the policy says so)
DEFAULT_KEEP_HOURS = 72.0
DEFAULT_KEEP_GB = 5.0


@dataclass
class PrunePolicy:
    """How much the studio keeps: job folders younger than ``keep_hours`` hours, within ``keep_gb`` GB in all (the
    oldest go first); 0 hours keeps no finished job, 0 GB keeps nothing beyond running jobs."""

    keep_hours: float = DEFAULT_KEEP_HOURS
    keep_gb: float = DEFAULT_KEEP_GB

    def __post_init__(self) -> None:
        for name in ("keep_hours", "keep_gb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
                raise UserError(f"must be a number of {name[5:]} from 0 up, got {value!r}",
                                field=f"--{name.replace('_', '-')}")
            setattr(self, name, float(value))

    @property
    def max_age_s(self) -> float:
        """The age in seconds beyond which a job folder goes."""
        return self.keep_hours * 3600.0

    @property
    def max_bytes(self) -> int:
        """The total size in bytes the job folders and Gradio's copies may take."""
        return int(self.keep_gb * 1e9)


@dataclass
class Pruned:
    """What one pruning removed: ``jobs`` folders, ``cached`` Gradio copies and the ``bytes`` they held."""

    jobs: int = 0
    cached: int = 0
    bytes: int = 0

    def describe(self) -> str:
        """One line such as "removed 3 job folders and 12 cached previews (41.2 MB)"."""
        return (f"removed {self.jobs} job folder{'s' if self.jobs != 1 else ''} and {self.cached} cached "
                f"preview{'s' if self.cached != 1 else ''} ({self.bytes / 1e6:.1f} MB)")


def _size_and_mtime(folder: Path) -> tuple[int, float]:
    """(bytes under ``folder``, newest modification time of it or anything in it); (0, 0) when it vanished."""
    total, newest = 0, 0.0
    try:
        newest = folder.stat().st_mtime
        for root, _, files in os.walk(folder):
            for name in files:
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                total += st.st_size
                newest = max(newest, st.st_mtime)
    except OSError:
        return 0, 0.0
    return total, newest


def prune(output_dir: Path, cache_dir: Path | None, policy: PrunePolicy, active: Iterable[str] = (),
          now: float | None = None) -> tuple[Pruned, set[str]]:
    """Remove job folders of ``output_dir`` (not those named in ``active``) and per-file folders of ``cache_dir``
    that are older than ``policy`` allows, then the oldest ones while all of them together are over its size.
    Returns (what was removed, the ids of the job folders removed)."""
    now = time.time() if now is None else now
    active = set(active)
    entries: list[tuple[float, int, Path, bool]] = []  # (mtime, bytes, folder, is a job)
    for child in _children(output_dir):
        if JOB_ID.fullmatch(child.name) and child.name not in active:
            size, mtime = _size_and_mtime(child)
            entries.append((mtime, size, child, True))
    kept_active = sum(_size_and_mtime(output_dir / a)[0] for a in active)
    if cache_dir is not None:
        for child in _children(cache_dir):
            size, mtime = _size_and_mtime(child)
            entries.append((mtime, size, child, False))
    entries.sort(key=lambda e: e[0])
    total = kept_active + sum(e[1] for e in entries)
    done, removed = Pruned(), set()
    cache_age = min(policy.max_age_s, CACHE_MAX_AGE_S)
    for mtime, size, folder, is_job in entries:
        too_old = now - mtime > (policy.max_age_s if is_job else cache_age)
        if not too_old and total <= policy.max_bytes:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            continue
        total -= size
        done.bytes += size
        if is_job:
            done.jobs += 1
            removed.add(folder.name)
        else:
            done.cached += 1
    return done, removed


def _children(folder: Path | None) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()] if folder else []
    except OSError:
        return []
