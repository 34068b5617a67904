"""Chunks as Ray tasks (``--ray ADDRESS`` or ``--ray local``): Ray schedules them on the cluster, gives each task
a GPU where the cluster has GPUs (``num_gpus=1``) and retries a task whose worker died (``max_retries``).

The model file's bytes and the job (timeline included) travel through Ray's object store once (``ray.put``); each
worker writes the model to a local cache file named by its hash. Tasks return encoded chunks (segment or PNG
bytes) and the driver writes every output, so the workers need no shared storage for outputs (files the timeline
names, such as latent ``.npy`` files, must be readable at the same path on every node). Tasks report their frames
through a Ray queue (an actor) that the driver reads while it waits, so progress and ETA follow every worker. A
CPU task runs torch on the job's thread count (``ChunkJob.threads``, the driver's) and holds that many CPUs (at
most a node's), so its frames are those of ``--workers 1`` on the driver, whatever the node's cores.

Ray is an optional extra (``pip install "latent-studio[ray]"``); this module is imported only when ``--ray`` is
given.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ganlib.errors import UserError
from studio.chunks.backends import RETRIES, SEND_EVERY_S, ChunkProgress, run_in_worker
from studio.chunks.plan import Chunk, ChunkJob, ChunkResult

INSTALL_HINT = 'Ray is not installed: pip install "latent-studio[ray]" (or pip install ray)'


def import_ray():
    """Return the ``ray`` module, or raise UserError (field ``--ray``) saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT, field="--ray") from None
    return ray


def cached_model_file(data: bytes, sha: str, suffix: str) -> str:
    """Write model bytes to ``$TMPDIR/latent-studio-models/SHA.SUFFIX`` once (atomic rename) and return its path."""
    folder = Path(tempfile.gettempdir()) / "latent-studio-models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}{suffix}"
    if not path.is_file():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return str(path)


def ray_chunk(task: Callable, job: ChunkJob, chunk: Chunk, model_bytes: bytes, suffix: str,
              device: str, progress=None) -> ChunkResult:
    """The body of one Ray task: materialise the model file from the object store, then run ``task`` on
    ``device`` ("cuda" where Ray gave the task a GPU, else "cpu": the job's torch threads), sending (chunk index,
    frames) to the Ray queue ``progress`` when given. Returns the ChunkResult."""
    path = cached_model_file(model_bytes, job.model_sha, suffix)
    send = progress.put_nowait if progress is not None else None
    return run_in_worker(task, dataclasses.replace(job, model_path=path, device=device), chunk, send=send)


def _drain(frames, counter: ChunkProgress) -> None:
    """Pass the (chunk index, frames) messages waiting in the Ray queue ``frames`` to ``counter``."""
    if frames is None:
        return
    n = frames.qsize()
    if n:
        for index, k in frames.get_nowait_batch(n):
            counter.add(index, k)


class RayBackend:
    """Send chunks to a Ray cluster at ``address`` ("local": start Ray on this machine, with ``workers`` CPUs)."""

    reports_progress = True

    def __init__(self, address: str, workers: int | None = None, retries: int = RETRIES):
        self.ray = import_ray()
        self.retries = retries
        kwargs = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        try:
            if address == "local":
                self.ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
            else:
                self.ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise UserError(f"cannot reach the Ray cluster at {address!r}: {err}", field="--ray") from None
        resources = self.ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.slots = self.gpus or self.cpus

    @property
    def device(self) -> str:
        """The device the tasks run on: "cuda" when the cluster has GPUs, else "cpu"."""
        return "cuda" if self.gpus else "cpu"

    def task_cpus(self, threads: int | None) -> int:
        """Return the CPUs a CPU task of ``threads`` torch threads holds: that many, at most the largest node's."""
        largest = max((int(n.get("Resources", {}).get("CPU", 0)) for n in self.ray.nodes() if n.get("Alive")),
                      default=1)
        return max(1, min(threads or 1, largest))

    def run(self, task: Callable, job: ChunkJob, chunks: Iterable[Chunk],
            progress: Callable[[int], None] | None = None,
            on_finished: Callable[[ChunkResult], None] | None = None) -> Iterator[ChunkResult]:
        """Yield ChunkResults as Ray tasks finish (any order; each passed to ``on_finished`` first); at most two
        tasks per slot are in flight (a CPU slot: the CPUs one task holds)."""
        ray = self.ray
        from ray.util.queue import Queue  # optional extra, like ray itself
        model_ref = ray.put(Path(job.model_path).read_bytes())
        job_ref = ray.put(dataclasses.replace(job, model_path=""))
        cpus = 0 if self.gpus else self.task_cpus(job.threads)
        remote = ray.remote(ray_chunk).options(num_gpus=1 if self.gpus else 0, num_cpus=cpus,
                                               max_retries=self.retries, retry_exceptions=False)
        slots = self.gpus or max(1, self.cpus // max(cpus, 1))
        todo = list(chunks)[::-1]
        counter = ChunkProgress(progress, todo)
        frames = Queue() if progress is not None else None
        running: dict = {}
        suffix = Path(job.model_path).suffix
        try:
            while todo or running:
                while todo and len(running) < 2 * slots:
                    chunk = todo.pop()
                    running[remote.remote(task, job_ref, chunk, model_ref, suffix, self.device, frames)] = chunk
                ready, _ = ray.wait(list(running), num_returns=1, timeout=SEND_EVERY_S)
                _drain(frames, counter)
                for ref in ready:
                    chunk = running.pop(ref)
                    try:
                        result = ray.get(ref)
                        counter.finish(chunk.index)
                        if on_finished is not None:
                            on_finished(result)
                        yield result
                    except ray.exceptions.WorkerCrashedError:
                        raise UserError(f"chunk {chunk.index} failed {self.retries + 1} times: its Ray worker "
                                        f"died each time", field="--ray") from None
                    except ray.exceptions.RayTaskError as err:
                        cause = err.as_instanceof_cause()
                        if isinstance(cause, UserError):
                            raise UserError(cause.message, file=cause.file, line=cause.line,
                                            field=cause.field) from None
                        raise
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if frames is not None:
                frames.shutdown()

    def close(self) -> None:
        """Disconnect from (or stop the local) Ray runtime."""
        self.ray.shutdown()
