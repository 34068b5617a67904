"""Where chunks run: in this process (``--workers 1``), in N local processes (``--workers N``), or as Ray tasks
(``--ray``, in ``ray_backend.py``). Every backend takes a picklable task ``task(job, chunk, progress=None) ->
ChunkResult`` and yields results as chunks finish (in any order); the driver writes the outputs.

Local processes are started with ``spawn`` (no forked torch state). On the CPU this process's torch threads are
split between them (threads // N each); with ``--device cuda`` each process gets its own GPU (``cuda:0``, ...).
Frames are bit-identical across backends when every process runs the same number of torch threads (always on a
GPU); on the CPU a different thread count can change a pixel by 1 of 255 in a few frames (torch's reductions are
split differently). A
process that dies (killed, out of memory) breaks the pool: the pool is started again and the chunks in flight are
retried, each at most ``retries`` times.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch

from ganlib.errors import UserError
from studio.chunks.plan import Chunk, ChunkJob, ChunkResult

RETRIES = 3
# Fault injection for tests: "INDEX:MARKER" makes the worker rendering chunk INDEX kill itself with SIGKILL the
# first time (when the file MARKER does not exist yet; it is created first), so retries can be tested.
FAULT_ENV = "STUDIO_CHUNK_FAULT"
_ASSIGNED_DEVICE: str | None = None  # the GPU this worker process was given, if any


def worker_device(device: str) -> str:
    """Return the device a chunk runs on in this process: the GPU assigned to this worker (``cuda:K``) when the
    job asks for ``cuda``, else ``device`` itself."""
    if _ASSIGNED_DEVICE is not None and device.startswith("cuda"):
        return _ASSIGNED_DEVICE
    return device


def inject_fault(chunk: Chunk) -> None:
    """Kill this process with SIGKILL when the ``STUDIO_CHUNK_FAULT`` test hook names ``chunk`` and its marker
    file does not exist yet (it is created first, so the retry succeeds). Returns None otherwise."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    index, _, marker = spec.partition(":")
    if int(index) == chunk.index and marker and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)


def run_in_worker(task: Callable, job: ChunkJob, chunk: Chunk) -> ChunkResult:
    """Run ``task(job, chunk)`` in a worker process (after the fault-injection hook). Returns its ChunkResult."""
    inject_fault(chunk)
    return task(job, chunk)


def _init_worker(threads: int, devices) -> None:
    global _ASSIGNED_DEVICE
    torch.set_num_threads(threads)
    if devices is not None:
        _ASSIGNED_DEVICE = devices.get()


class InlineBackend:
    """Run chunks one after another in this process, with per-frame progress."""

    slots = 1
    in_process = True

    def run(self, task: Callable, job: ChunkJob, chunks: Iterable[Chunk],
            progress: Callable[[int], None] | None = None) -> Iterator[ChunkResult]:
        """Yield ``task(job, chunk, progress)`` for each chunk in order."""
        for chunk in chunks:
            yield task(job, chunk, progress)

    def close(self) -> None:
        """Nothing to release."""


class ProcessBackend:
    """Run chunks in ``workers`` local processes (spawned), at most two chunks queued per process."""

    def __init__(self, workers: int, device: str = "cpu", retries: int = RETRIES):
        if workers < 1:
            raise UserError("must be at least 1", field="--workers")
        self.slots = workers
        self.device = device
        self.retries = retries
        self._ctx = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        threads = max(1, torch.get_num_threads() // self.slots)
        devices = None
        if self.device.startswith("cuda") and torch.cuda.is_available():
            devices = self._ctx.Queue()
            for k in range(self.slots):
                devices.put(f"cuda:{k % torch.cuda.device_count()}")
        self._pool = ProcessPoolExecutor(self.slots, mp_context=self._ctx, initializer=_init_worker,
                                         initargs=(threads, devices))
        return self._pool

    def run(self, task: Callable, job: ChunkJob, chunks: Iterable[Chunk],
            progress: Callable[[int], None] | None = None) -> Iterator[ChunkResult]:
        """Yield ChunkResults as the processes finish them (any order); a chunk whose process died is retried."""
        todo = list(chunks)[::-1]
        attempts: dict[int, int] = {}
        running: dict[Future, Chunk] = {}
        pool = self._pool or self._start()
        while todo or running:
            while todo and len(running) < 2 * self.slots:
                chunk = todo.pop()
                running[pool.submit(run_in_worker, task, job, chunk)] = chunk
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                chunk = running.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    broken = True
                    todo.append(self._retry(chunk, attempts))
            if broken:  # every chunk of a broken pool fails: run them again in a fresh pool
                for fut, chunk in list(running.items()):
                    fut.cancel()
                    todo.append(self._retry(chunk, attempts))
                running.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = self._start()

    def _retry(self, chunk: Chunk, attempts: dict[int, int]) -> Chunk:
        attempts[chunk.index] = attempts.get(chunk.index, 0) + 1
        if attempts[chunk.index] > self.retries:
            raise UserError(f"chunk {chunk.index} (frames {chunk.start}-{chunk.stop - 1}) failed {self.retries + 1} "
                            f"times: its worker process died each time (out of memory?)", field="--workers")
        return chunk

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def in_order(results: Iterable[ChunkResult]) -> Iterator[ChunkResult]:
    """Yield ``results`` (ChunkResults arriving in any order, indices 0, 1, 2, ...) in index order, holding back
    those that come early."""
    waiting: dict[int, ChunkResult] = {}
    want = 0
    for result in results:
        waiting[result.index] = result
        while want in waiting:
            yield waiting.pop(want)
            want += 1


def open_backend(workers: int = 1, ray: str | None = None, device: str = "cpu"):
    """Return the backend for ``--workers N`` / ``--ray ADDRESS`` (``ray`` wins; "local" starts Ray here with
    ``workers`` CPUs when more than 1). Raises UserError when Ray is asked for but not installed."""
    if ray is not None:
        from studio.chunks.ray_backend import RayBackend  # optional extra: imported only when asked for
        return RayBackend(ray, workers=workers if workers > 1 else None)
    if workers < 1:
        raise UserError("must be at least 1", field="--workers")
    return InlineBackend() if workers == 1 else ProcessBackend(workers, device)
