"""The studio's render queue: every render, batch or saved timeline gets its own folder under the output folder.

``<output>/<job-id>/`` with a job id made of the time and 8 random hex digits, created with ``mkdir(exist_ok=False)``,
so two users (or two tabs) can never write the same file; inside, files are written through the sinks'
temp-then-rename (``studio.sinks``) or :func:`ganlib.io_utils.atomic_path`, so nobody ever downloads half a file.
At most ``concurrency`` heavy jobs (renders, batches) run at once; the others wait their turn in "queued" state.
Gradio's own queue (``Blocks.queue`` with a shared ``concurrency_id``) limits the same jobs again in the server.
"""
from __future__ import annotations

import io
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.batch import contact_sheet, write_seed_images
from studio.render import render_timeline
from studio.timeline import timeline_to_yaml
from studio.ui.models import safe_name

RENDER_CONCURRENCY = 2
MAX_BATCH = 1000
SHEET_IMAGES = 16
ProgressFn = Callable[[int, int], None]


@dataclass
class Job:
    """One unit of work and where its files go."""

    id: str
    kind: str            # "render" | "batch" | "timeline"
    name: str
    folder: Path
    status: str = "queued"   # queued → running → done | failed
    created: float = 0.0
    seconds: float = 0.0
    frames: int = 0
    output: Path | None = None
    error: str | None = None


def new_job_id() -> str:
    """A fresh job id: ``YYYYmmdd-HHMMSS-<8 hex>``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)


class JobManager:
    """Creates job folders under ``output_dir`` and runs renders / batches with limited concurrency."""

    def __init__(self, output_dir: str | Path, device: str = "auto", concurrency: int = RENDER_CONCURRENCY,
                 keep: int = 200):
        self.output_dir = Path(output_dir).resolve()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.device = device
        self._slots = threading.BoundedSemaphore(max(1, int(concurrency)))
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._keep = keep

    def new_job(self, kind: str, name: str) -> Job:
        """Create a job with its own new folder ``<output>/<job-id>/`` and record it."""
        while True:
            job_id = new_job_id()
            folder = self.output_dir / job_id
            try:
                folder.mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits in the same second
                continue
        job = Job(id=job_id, kind=kind, name=safe_name(name, default=kind), folder=folder, created=time.time())
        with self._lock:
            self._jobs.append(job)
            del self._jobs[:-self._keep]
        return job

    def _run(self, job: Job, work: Callable[[], None]) -> Job:
        with self._slots:
            job.status = "running"
            t0 = time.time()
            try:
                work()
            except BaseException as exc:
                job.status = "failed"
                job.error = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
                raise
            finally:
                job.seconds = time.time() - t0
        job.status = "done"
        return job

    # ------------------------------------------------------------------------------------------- work
    def save_timeline(self, tl, name: str = "timeline") -> Path:
        """Write ``tl`` as YAML to ``<output>/<job-id>/<name>.yaml`` (atomically); return the path."""
        job = self.new_job("timeline", name)
        path = job.folder / f"{job.name}.yaml"
        with atomic_path(path) as tmp:
            tmp.write_text(timeline_to_yaml(tl), encoding="utf-8")
        job.output, job.status = path, "done"
        return path

    def render(self, tl, name: str = "timeline", on_progress: ProgressFn | None = None) -> Job:
        """Render timeline ``tl`` to ``<output>/<job-id>/<name>.mp4`` (H.264) next to ``<name>.yaml``.

        Uses :func:`studio.render.render_timeline` with the CLI's defaults (batch 8), so the frames equal those of
        ``studio render <name>.yaml``. Returns the finished Job (``output`` = the MP4); raises UserError on failure.
        """
        job = self.new_job("render", name)
        with atomic_path(job.folder / f"{job.name}.yaml") as tmp:
            tmp.write_text(timeline_to_yaml(tl), encoding="utf-8")

        def work() -> None:
            result = render_timeline(tl, out=job.folder / f"{job.name}.mp4", device=self.device, batch=8,
                                     progress=False, on_progress=on_progress)
            job.output, job.frames = result.path, result.n_frames

        return self._run(job, work)

    def batch(self, model, seeds: list[int], truncation: float = 1.0, class_idx: int | None = None,
              on_progress: ProgressFn | None = None) -> tuple[Job, np.ndarray | None]:
        """Write one PNG per seed into ``<output>/<job-id>/seeds_<first>-<last>.zip``; return (job, contact sheet of
        the first images or None)."""
        if not seeds:
            raise UserError("no seeds given", field="seeds")
        if len(seeds) > MAX_BATCH:
            raise UserError(f"{len(seeds)} images asked for; the studio makes at most {MAX_BATCH} per batch",
                            field="seeds")
        job = self.new_job("batch", f"seeds_{seeds[0]}-{seeds[-1]}")
        sheet: list[np.ndarray] = []

        def work() -> None:
            out = write_seed_images(model, seeds, job.folder / f"{job.name}.zip", progress=False,
                                    on_progress=on_progress, truncation=float(truncation), class_idx=class_idx)
            job.output, job.frames = Path(out), len(seeds)
            sheet.append(_sheet_from_zip(Path(out)))

        self._run(job, work)
        return job, (sheet[0] if sheet else None)

    # --------------------------------------------------------------------------------------------- view
    def recent(self, count: int = 10) -> list[list]:
        """Rows [job id, "name (kind)", status, frames, seconds] of the latest ``count`` renders and batches."""
        with self._lock:
            jobs = [j for j in self._jobs if j.kind != "timeline"][-count:]
        return [[j.id, f"{j.name} ({j.kind})", j.status if not j.error else f"failed: {j.error}", j.frames,
                 round(j.seconds, 1)] for j in reversed(jobs)]


def _sheet_from_zip(path: Path) -> np.ndarray | None:
    """A captioned contact sheet of the first :data:`SHEET_IMAGES` PNGs in a zip written by the batch."""
    images, captions = [], []
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist()[:SHEET_IMAGES]:
            with zf.open(member) as f:
                images.append(np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB")))
            captions.append(Path(member).stem)
    if not images:
        return None
    scale = max(1, 128 // max(images[0].shape[:2]))  # small models: enlarge (nearest) to 128 px tiles
    return contact_sheet(images, captions, cols=min(8, len(images)), scale=scale)
