"""Where chunks run: in this process (``--workers 1``), in N local processes (``--workers N``), or as Ray tasks
(``--ray``, in ``ray_backend.py``). Every backend takes a picklable task ``task(job, chunk, progress=None) ->
ChunkResult`` (or a Future of one: a video segment's encoder finishes in a thread) and yields results as chunks
finish (in any order); the driver writes the outputs. ``progress(k)`` is called as frames are done, in every
backend: worker processes send their counts over a queue, summed here per chunk (a retried chunk counts again
from 0, never past its length). ``on_finished(result)``, when given, is called with each finished chunk as soon as
it is finished, before it is yielded (in this process: from the thread whose encoder finished it), so the driver
records a segment the moment it is complete, not when the next chunk is generated.

In this process, chunks are pipelined: chunk k+1 is generated while chunk k's encoder flushes and exits. Local
processes are forked from a ``forkserver``: one clean process started once (no torch state of this one: no threads,
no CUDA) that imports the task's module once, so a pool starts (and restarts after a crash) without every worker
importing torch again; each worker takes this process's environment as of the pool's start, as a spawned one would.
With ``--device cuda`` each process gets its own GPU (``cuda:0``, ...). Threads: on the CPU a different torch thread
count can change a pixel by 1 of 255 (torch and oneDNN split some sums and pick some kernels by thread count), so a
CPU job carries one thread count (``ChunkJob.threads``, from :func:`render_threads` in the driver, recorded in the
manifest) and every backend runs each chunk on exactly that many threads (:func:`apply_job_threads`): the frames do
not depend on ``--workers`` or ``--ray``. N CPU processes of T threads use N·T threads: set ``STUDIO_THREADS`` to
cores / N for the driver too.
A process that dies (killed, out of memory) breaks the pool: the pool is started again and the chunks in flight are
retried, each at most ``retries`` times.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch

from ganlib.errors import UserError
from ganlib.ops.cpu_threads import apply_inference_threads
from studio.chunks.plan import Chunk, ChunkJob, ChunkResult
from studio.chunks.segments import resolve_result

RETRIES = 3
# Fault injection for tests: "INDEX:MARKER" makes the worker rendering chunk INDEX kill itself with SIGKILL the
# first time (when the file MARKER does not exist yet; it is created first), so retries can be tested.
FAULT_ENV = "STUDIO_CHUNK_FAULT"
_ASSIGNED_DEVICE: str | None = None  # the GPU this worker process was given, if any
_PROGRESS = None  # the queue this worker process sends (chunk index, frames) on, if any
SEND_EVERY_S = 0.2  # a worker sends its frame count at most this often (and at the end of each chunk)


def worker_device(device: str) -> str:
    """Return the device a chunk runs on in this process: the GPU assigned to this worker (``cuda:K``) when the
    job asks for ``cuda``, else ``device`` itself."""
    if _ASSIGNED_DEVICE is not None and device.startswith("cuda"):
        return _ASSIGNED_DEVICE
    return device


def render_threads(device: str) -> int | None:
    """Return the torch thread count every process of a render on ``device`` runs its chunks on: on the CPU the
    count this process's thread policy gives (``STUDIO_THREADS``; torch's own by default), None on a GPU."""
    if not str(device).startswith("cpu"):
        return None
    return apply_inference_threads()


def apply_job_threads(job: ChunkJob) -> int:
    """Make torch in this process run ``job.threads`` intra-op threads (CPU jobs; None changes nothing), after the
    thread policy's one-time choice so that it cannot change them later. Returns the thread count now in use."""
    if job.threads is not None:
        apply_inference_threads()
        if torch.get_num_threads() != job.threads:
            torch.set_num_threads(job.threads)
    return torch.get_num_threads()


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


class ProgressSender:
    """A worker's ``progress(k)`` callback for chunk ``index``: sums frames and passes (index, frames) to
    ``send`` at most every SEND_EVERY_S seconds; ``flush()`` sends the rest."""

    def __init__(self, index: int, send: Callable[[tuple[int, int]], None]):
        self.index, self.send, self.pending, self.last = index, send, 0, time.monotonic()

    def __call__(self, k: int) -> None:
        self.pending += k
        if time.monotonic() - self.last >= SEND_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Send the frames counted since the last send (if any). Returns None."""
        if self.pending:
            self.send((self.index, self.pending))
            self.pending, self.last = 0, time.monotonic()


def run_in_worker(task: Callable, job: ChunkJob, chunk: Chunk, send: Callable | None = None) -> ChunkResult:
    """Run ``task(job, chunk)`` in a worker process (after the fault-injection hook), reporting frames through
    ``send`` (default: this process's progress queue, when it has one). Returns its ChunkResult."""
    inject_fault(chunk)
    threads = apply_job_threads(job)
    send = send or (_PROGRESS.put if _PROGRESS is not None else None)
    sender = ProgressSender(chunk.index, send) if send is not None else None
    result = resolve_result(task(job, chunk, sender))
    if sender is not None:
        sender.flush()
    result.threads = threads if job.threads is not None else None
    return result


class ChunkProgress:
    """Frames done per chunk, reported to ``progress(k)`` as deltas: a chunk never counts past its length, a
    retried chunk starts again from 0, a finished chunk counts in full (late messages are ignored)."""

    def __init__(self, progress: Callable[[int], None] | None, chunks: Iterable[Chunk]):
        self.progress = progress
        self.size = {c.index: c.n_frames for c in chunks}
        self.count: dict[int, int] = {}
        self.finished: set[int] = set()

    def add(self, index: int, k: int) -> None:
        """Count ``k`` more frames of chunk ``index``. Returns None."""
        if index in self.finished or index not in self.size:
            return
        done = self.count.get(index, 0)
        k = min(k, self.size[index] - done)
        if k > 0:
            self.count[index] = done + k
            if self.progress is not None:
                self.progress(k)

    def restart(self, index: int) -> None:
        """Chunk ``index`` is run again: take back its frames. Returns None."""
        k = self.count.pop(index, 0)
        if k and self.progress is not None:
            self.progress(-k)

    def finish(self, index: int) -> None:
        """Chunk ``index`` is done: count the rest of its frames. Returns None."""
        self.add(index, self.size.get(index, 0))
        self.finished.add(index)


def _init_worker(threads: int, devices, progress, environ: dict) -> None:
    global _ASSIGNED_DEVICE, _PROGRESS
    os.environ.clear()
    os.environ.update(environ)
    torch.set_num_threads(threads)
    _PROGRESS = progress
    if devices is not None:
        _ASSIGNED_DEVICE = devices.get()


class InlineBackend:
    """Run chunks one after another in this process, with per-frame progress; chunk k+1 is generated while chunk
    k's encoder finishes (when the task returns a Future)."""

    slots = 1
    in_process = True
    reports_progress = True

    def run(self, task: Callable, job: ChunkJob, chunks: Iterable[Chunk],
            progress: Callable[[int], None] | None = None,
            on_finished: Callable[[ChunkResult], None] | None = None) -> Iterator[ChunkResult]:
        """Yield the ChunkResult of ``task(job, chunk, progress)`` for each chunk in order, on ``job.threads``
        torch threads (restored afterwards). A Future (a segment whose encoder is finishing) is passed to
        ``on_finished`` from the encoder's thread as soon as it is done, and yielded once the next chunk is
        generated. A chunk already rendered is still yielded (so it is kept) when the next one fails or is
        interrupted."""
        before = torch.get_num_threads()
        pending = None
        try:
            threads = apply_job_threads(job) if job.threads is not None else None
            for chunk in chunks:
                try:
                    result = task(job, chunk, progress)
                except BaseException:
                    if pending is not None:
                        yield resolve_result(pending)
                    raise
                if pending is not None:
                    yield resolve_result(pending)
                    pending = None
                if isinstance(result, Future):
                    pending = _stamped(result, threads, on_finished)
                else:  # nothing left to finish: kept at once
                    result.threads = threads
                    if on_finished is not None:
                        on_finished(result)
                    yield result
            if pending is not None:
                yield resolve_result(pending)
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    def close(self) -> None:
        """Nothing to release."""


def _stamped(fut: Future, threads: int | None, on_finished: Callable | None) -> Future:
    """Return a Future of ``fut``'s ChunkResult stamped with ``threads``, passed to ``on_finished`` (from the
    thread that finishes ``fut``) before the returned Future is done; an error of ``on_finished`` is that
    Future's error."""
    out: Future = Future()

    def done(f: Future) -> None:
        try:
            result = f.result()
            result.threads = threads
            if on_finished is not None:
                on_finished(result)
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
            out.set_exception(err)
        else:
            out.set_result(result)

    fut.add_done_callback(done)
    return out


class ProcessBackend:
    """Run chunks in ``workers`` local processes (from a forkserver), at most two chunks queued per process."""

    reports_progress = True

    def __init__(self, workers: int, device: str = "cpu", retries: int = RETRIES):
        if workers < 1:
            raise UserError("must be at least 1", field="--workers")
        self.slots = workers
        self.device = device
        self.retries = retries
        self._ctx = mp.get_context("forkserver")
        self._pool: ProcessPoolExecutor | None = None
        self._progress = self._ctx.Queue()

    def _start(self, task: Callable) -> ProcessPoolExecutor:
        self._ctx.set_forkserver_preload([task.__module__])  # used when the forkserver is not running yet
        threads = max(1, torch.get_num_threads() // self.slots)
        devices = None
        if self.device.startswith("cuda") and torch.cuda.is_available():
            devices = self._ctx.Queue()
            for k in range(self.slots):
                devices.put(f"cuda:{k % torch.cuda.device_count()}")
        self._pool = ProcessPoolExecutor(self.slots, mp_context=self._ctx, initializer=_init_worker,
                                         initargs=(threads, devices, self._progress, dict(os.environ)))
        return self._pool

    def run(self, task: Callable, job: ChunkJob, chunks: Iterable[Chunk],
            progress: Callable[[int], None] | None = None,
            on_finished: Callable[[ChunkResult], None] | None = None) -> Iterator[ChunkResult]:
        """Yield ChunkResults as the processes finish them (any order; each passed to ``on_finished`` first); a
        chunk whose process died is retried. ``progress(k)`` follows the frames the processes report."""
        todo = list(chunks)[::-1]
        counter = ChunkProgress(progress, todo)
        attempts: dict[int, int] = {}
        running: dict[Future, Chunk] = {}
        pool = self._pool or self._start(task)
        while todo or running:
            while todo and len(running) < 2 * self.slots:
                chunk = todo.pop()
                running[pool.submit(run_in_worker, task, job, chunk)] = chunk
            finished, _ = wait(running, timeout=SEND_EVERY_S, return_when=FIRST_COMPLETED)
            self._drain_progress(counter)
            broken = False
            for fut in finished:
                chunk = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    counter.restart(chunk.index)
                    todo.append(self._retry(chunk, attempts))
                    continue
                counter.finish(chunk.index)
                if on_finished is not None:
                    on_finished(result)
                yield result
            if broken:  # every chunk of a broken pool fails: run them again in a fresh pool
                for fut, chunk in list(running.items()):
                    fut.cancel()
                    counter.restart(chunk.index)
                    todo.append(self._retry(chunk, attempts))
                running.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = self._start(task)

    def _drain_progress(self, counter: ChunkProgress) -> None:
        while True:
            try:
                index, k = self._progress.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            counter.add(index, k)

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
