"""The studio's render queue: every render, batch or saved timeline gets its own folder under the output folder.

``<output>/<job-id>/`` with a job id made of the time and 8 random hex digits, created with ``mkdir(exist_ok=False)``,
so two users (or two tabs) can never write the same file; inside, files are written through the sinks'
temp-then-rename (``studio.sinks``) or :func:`ganlib.io_utils.atomic_path`, so nobody ever downloads half a file.
At most ``concurrency`` heavy jobs (renders, batches) run at once; the others wait their turn in "queued" state.
Gradio's own queue (``Blocks.queue`` with a shared ``concurrency_id``) limits the same jobs again in the server.

A job started for a browser session (``session``: Gradio's session hash) can be cancelled from that session
(:meth:`JobManager.cancel`): it stops at its next frame, its folder is removed (no partial output is left) and its
row says "cancelled". Each new render or batch first prunes old job folders and Gradio's cached copies
(:mod:`studio.ui.prune`, by age and total size).
"""
from __future__ import annotations

import io
import secrets
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.batch import contact_sheet, write_seed_images
from studio.render import render_timeline
from studio.sinks.formats import output_format
from studio.timeline import timeline_to_yaml
from studio.ui.models import safe_name
from studio.ui.prune import PrunePolicy, Pruned, prune

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
    status: str = "queued"   # queued → running → done | failed | cancelled; "pruned" once its folder is removed
    created: float = 0.0
    seconds: float = 0.0
    frames: int = 0
    output: Path | None = None
    error: str | None = None
    session: str | None = None   # the browser session that started it (may cancel it)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    ended: threading.Event = field(default_factory=threading.Event, repr=False)  # done, failed or cancelled

    def cancelled_line(self) -> str:
        """The status line of a cancelled job (the same whichever of the render and the cancel shows it)."""
        return f"Cancelled job `{self.id}`: nothing was kept"


def cancel_line(jobs: list[Job]) -> str:
    """Return the status line for a cancel that asked ``jobs`` to stop and waited for them: when one job stopped,
    the line its render or batch shows (so whichever of the two events the browser gets last, the status reads the
    same); jobs that ended on their own before the stop took effect are said to have finished (their output is
    kept) or failed; jobs still running are counted as stopping."""
    if not jobs:
        return "Nothing to cancel"
    stopped = [j for j in jobs if j.status == "cancelled"]
    done = [j for j in jobs if j.status == "done"]
    failed = [j for j in jobs if j.status == "failed"]
    running = len(jobs) - len(stopped) - len(done) - len(failed)
    if len(jobs) == 1:
        j = jobs[0]
        if stopped:
            return j.cancelled_line()
        if done:
            return f"Job `{j.id}` had already finished: its output is kept"
        if failed:
            return f"Job `{j.id}` had already failed: {j.error or 'see its row'}"
    if running:
        return f"Cancelling {len(jobs)} job{'s' if len(jobs) != 1 else ''}… ({len(stopped)} stopped so far)"
    if not done and not failed:
        return f"Cancelled {len(stopped)} jobs: nothing was kept"
    ended = [f"{len(done)} had already finished (kept)"] if done else []
    ended += [f"{len(failed)} had already failed"] if failed else []
    return f"Cancelled {len(stopped)} of {len(jobs)} jobs (nothing of theirs was kept); {', '.join(ended)}"


class Cancelled(Exception):
    """Raised inside a job's progress callback once the job is cancelled; the job ends "cancelled"."""


def output_name(name: str, tl) -> str:
    """The file (or PNG folder, ending in '/') a render of ``tl`` called ``name`` writes: ``name`` and the
    suffix of the format its ``output.path`` names (MP4 when none)."""
    fmt = output_format(tl.output.path)
    return f"{name}/" if fmt.kind == "png" else f"{name}{fmt.suffix}"


def new_job_id() -> str:
    """A fresh job id: ``YYYYmmdd-HHMMSS-<8 hex>``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)


class JobManager:
    """Creates job folders under ``output_dir`` and runs renders / batches with limited concurrency."""

    def __init__(self, output_dir: str | Path, device: str = "auto", concurrency: int = RENDER_CONCURRENCY,
                 keep: int = 200, policy: PrunePolicy | None = None, cache_dir: str | Path | None = None):
        self.output_dir = Path(output_dir).resolve()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.device = device
        self.policy = policy or PrunePolicy()
        self.cache_dir = Path(cache_dir).resolve() if cache_dir is not None else None
        self._slots = threading.BoundedSemaphore(max(1, int(concurrency)))
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._keep = keep

    def prune(self, policy: PrunePolicy | None = None) -> Pruned:
        """Remove old job folders and Gradio's cached copies as ``policy`` (else the manager's own) says; queued
        and running jobs are kept. Returns what was removed; the removed jobs' rows say "pruned"."""
        with self._lock:
            active = [j.id for j in self._jobs if j.status in ("queued", "running")]
        done, removed = prune(self.output_dir, self.cache_dir, policy or self.policy, active)
        with self._lock:
            for j in self._jobs:
                if j.id in removed:
                    j.status = "pruned"
        return done

    def cancel(self, session: str | None, wait_s: float = 0.0) -> list[Job]:
        """Cancel the queued and running jobs that browser ``session`` started (each stops at its next frame or
        image) and wait up to ``wait_s`` seconds in all for them to end; return the jobs asked to stop."""
        if not session:
            return []
        with self._lock:
            jobs = [j for j in self._jobs if j.session == session and j.status in ("queued", "running")]
        for j in jobs:
            j.stop.set()
        deadline = time.monotonic() + wait_s
        for j in jobs:
            j.ended.wait(max(0.0, deadline - time.monotonic()))
        return jobs

    def new_job(self, kind: str, name: str, session: str | None = None) -> Job:
        """Create a job with its own new folder ``<output>/<job-id>/`` and record it (``session``: the browser
        session that may cancel it). Renders and batches prune old jobs first (:meth:`prune`)."""
        if kind != "timeline":
            self.prune()
        while True:
            job_id = new_job_id()
            folder = self.output_dir / job_id
            try:
                folder.mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits in the same second
                continue
        job = Job(id=job_id, kind=kind, name=safe_name(name, default=kind), folder=folder, created=time.time(),
                  session=session)
        with self._lock:
            self._jobs.append(job)
            del self._jobs[:-self._keep]
        return job

    @staticmethod
    def watch(job: Job, on_progress: ProgressFn | None) -> ProgressFn:
        """A progress callback for ``job`` that raises :class:`Cancelled` once the job is cancelled, else passes
        (done, total) on to ``on_progress``."""
        def progress(done: int, total: int) -> None:
            if job.stop.is_set():
                raise Cancelled
            if on_progress is not None:
                on_progress(done, total)
        return progress

    def _run(self, job: Job, work: Callable[[], None]) -> Job:
        """Run ``work`` when a slot is free (a job cancelled while queued never starts); a cancelled job's folder
        is removed and the job returned with status "cancelled"; failures are recorded and raised again. The
        job's ``ended`` event is set once its status is final."""
        try:
            return self._run_in_slot(job, work)
        finally:
            job.ended.set()

    def _run_in_slot(self, job: Job, work: Callable[[], None]) -> Job:
        while not self._slots.acquire(timeout=0.1):
            if job.stop.is_set():
                return self._cancelled(job)
        try:
            if job.stop.is_set():
                return self._cancelled(job)
            job.status = "running"
            t0 = time.time()
            try:
                work()
            except Cancelled:
                return self._cancelled(job)
            except BaseException as exc:
                job.status = "failed"
                job.error = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
                raise
            finally:
                job.seconds = time.time() - t0
        finally:
            self._slots.release()
        job.status = "done"
        return job

    @staticmethod
    def _cancelled(job: Job) -> Job:
        shutil.rmtree(job.folder, ignore_errors=True)
        job.status, job.output = "cancelled", None
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

    def render(self, tl, name: str = "timeline", on_progress: ProgressFn | None = None,
               session: str | None = None) -> Job:
        """Render timeline ``tl`` to ``<output>/<job-id>/<name>.<format>`` next to ``<name>.yaml``, in the format,
        codec, CRF, preset and fit of its ``output`` block (the YAML names the output relative to itself).

        Uses :func:`studio.render.render_timeline` with the CLI's defaults (batch 8), so the frames equal those of
        ``studio render <name>.yaml``. Returns the finished Job (``output`` = the video, GIF, zip or PNG folder;
        status "cancelled" when :meth:`cancel` stopped it); raises UserError on failure.
        """
        job = self.new_job("render", name, session)
        target = output_name(job.name, tl)
        saved = tl.model_copy(update={"output": tl.output.model_copy(update={"path": target})})
        tl = tl.model_copy(update={"output": tl.output.model_copy(update={"path": str(job.folder / target)})})
        with atomic_path(job.folder / f"{job.name}.yaml") as tmp:
            tmp.write_text(timeline_to_yaml(saved), encoding="utf-8")
        progress = self.watch(job, on_progress)

        def work() -> None:
            result = render_timeline(tl, device=self.device, batch=8, progress=False, on_progress=progress)
            job.output, job.frames = result.path, result.n_frames

        return self._run(job, work)

    def batch(self, model, seeds: list[int], truncation: float = 1.0, class_idx: int | None = None,
              on_progress: ProgressFn | None = None, session: str | None = None,
              features: np.ndarray | None = None) -> tuple[Job, np.ndarray | None]:
        """Write one PNG per seed into ``<output>/<job-id>/seeds_<first>-<last>.zip`` (class ``class_idx`` of a label
        model; ``features`` [len(seeds), c_dim] rows for a feature model); return (job, contact sheet of the first
        images or None)."""
        if not seeds:
            raise UserError("no seeds given", field="seeds")
        if len(seeds) > MAX_BATCH:
            raise UserError(f"{len(seeds):,} images asked for; the studio makes at most {MAX_BATCH:,} per batch "
                            f"(use 'studio random' for more)", field="seeds")
        job = self.new_job("batch", f"seeds_{seeds[0]}-{seeds[-1]}", session)
        sheet: list[np.ndarray] = []
        progress = self.watch(job, on_progress)

        def work() -> None:
            out = write_seed_images(model, seeds, job.folder / f"{job.name}.zip", progress=False,
                                    on_progress=progress, truncation=float(truncation), class_idx=class_idx,
                                    features=features)
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

    def running(self, session: str | None) -> list[Job]:
        """The queued and running jobs of browser ``session``."""
        with self._lock:
            return [j for j in self._jobs if session and j.session == session and j.status in ("queued", "running")]


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
