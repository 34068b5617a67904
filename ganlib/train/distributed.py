"""Data-parallel training over ``torch.distributed``: ``studio train KIND --nproc N`` on one machine, or the same
command under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR`` in the environment) on several.

Every rank builds the same models from the same seed (rank 0's weights are broadcast to be sure), reads its own
contiguous slice of each global batch (``DataStream(shard=...)``), draws the global batch's noise from the shared
seed and keeps its slice, and averages gradients across ranks after every backward pass (a flat all-reduce per
parameter list, as NVlabs' StyleGAN3 training loop does: DistributedDataParallel's wrapper does not support the
double backward of R1 and path-length regularisation). Only rank 0 writes files. Backend: NCCL on CUDA, gloo on CPU.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganlib.errors import ConfigError, UserError


class Group:
    """This process's place in the process group: ``rank``, ``world`` and ``local_rank`` (its GPU index)."""

    def __init__(self, rank: int, world: int, local_rank: int):
        self.rank, self.world, self.local_rank = rank, world, local_rank

    @property
    def is_writer(self) -> bool:
        """Whether this rank writes files (rank 0)."""
        return self.rank == 0

    def check_batch(self, batch_size: int) -> int:
        """Return the per-rank batch; ConfigError unless ``batch_size`` splits evenly over the ranks."""
        if batch_size % self.world:
            raise ConfigError(f"batch_size {batch_size} does not split over {self.world} processes; use a "
                              f"multiple of {self.world}", field="batch_size")
        return batch_size // self.world

    def local_slice(self, n: int) -> slice:
        """Return this rank's contiguous part of a global batch of ``n`` (n divisible by world)."""
        k = n // self.world
        return slice(self.rank * k, (self.rank + 1) * k)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Replace every gradient in ``params`` by its mean over the ranks (missing gradients count as zeros)."""
        params = [p for p in params if p.requires_grad]
        if not params:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Return the mean of scalar tensor ``x`` over the ranks."""
        y = x.detach().clone()
        dist.all_reduce(y)
        return y / self.world

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Return the concatenation over the ranks of equally shaped tensors ``x``."""
        parts = [torch.empty_like(x) for _ in range(self.world)]
        dist.all_gather(parts, x.detach().contiguous())
        return torch.cat(parts)

    def mean_dict(self, values: dict[str, float | None]) -> dict[str, float | None]:
        """Return ``values`` averaged over the ranks (None stays None; every rank has the same keys)."""
        keys = [k for k, v in values.items() if v is not None]
        vec = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        dist.all_reduce(vec)
        out = dict(values)
        out.update({k: float(v) / self.world for k, v in zip(keys, vec.tolist())})
        return out

    def any(self, flag: bool) -> bool:
        """Return whether ``flag`` is true on any rank (used so that a Ctrl-C stops every rank at the same step)."""
        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t)
        return bool(t.item() > 0)

    def broadcast_modules(self, modules: list[torch.nn.Module]) -> None:
        """Copy rank 0's parameters and buffers into every rank's ``modules``."""
        with torch.no_grad():
            for m in modules:
                for t in list(m.parameters()) + list(m.buffers()):
                    dist.broadcast(t.data, src=0)

    def barrier(self) -> None:
        """Wait for every rank."""
        dist.barrier()


def in_group() -> bool:
    """Whether this process is one of several (``WORLD_SIZE`` > 1 in the environment)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_rank0() -> bool:
    """Whether this process is rank 0 of its group, or alone (the one that reports results)."""
    return int(os.environ.get("RANK", "0")) == 0


def from_env(device_type: str) -> Group | None:
    """Join the process group described by the environment (``WORLD_SIZE`` > 1, as set by ``torchrun`` or
    ``launch``) and return this process's Group; None when running alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=rank, world_size=world)
    return Group(rank, world, local)


def threads_per_rank(nproc: int) -> int:
    """Return the torch threads each of ``nproc`` local ranks gets: the cores this process may use (and at most its
    own thread setting) shared out, at least 1, so ranks never oversubscribe the cores (1 each when ranks >= cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, torch.get_num_threads()) // max(1, nproc))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(local_rank: int, nproc: int, port: int, result_dir: str, fn: Callable, args: tuple, kwargs: dict) -> None:
    os.environ.update({"RANK": str(local_rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(nproc),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(threads_per_rank(nproc))
    out: dict[str, Any]
    try:
        out = {"result": fn(*args, **kwargs)}
    except UserError as exc:
        out = {"error": str(exc)}
    except KeyboardInterrupt as exc:
        out = {"interrupted": str(exc)}
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    with open(Path(result_dir) / f"rank{local_rank}.json", "w") as f:
        json.dump(out, f)


def launch(nproc: int, fn: Callable[..., dict], *args, **kwargs) -> dict:
    """Run ``fn(*args, **kwargs)`` in ``nproc`` local processes forming one group (127.0.0.1, a free port) and
    return rank 0's result (a JSON-able dict). A UserError in any rank is raised here as one UserError;
    KeyboardInterrupt when the run was stopped with Ctrl-C."""
    with tempfile.TemporaryDirectory() as tmp:
        method = "fork" if "fork" in mp.get_all_start_methods() and not torch.cuda.is_initialized() else "spawn"
        try:
            mp.start_processes(_child, args=(nproc, _free_port(), tmp, fn, args, kwargs), nprocs=nproc,
                               start_method=method)
        except mp.ProcessExitedException as exc:
            raise UserError(f"a training process ended unexpectedly ({exc})".splitlines()[0]) from None
        results = [json.loads((Path(tmp) / f"rank{r}.json").read_text()) for r in range(nproc)]
    for res in results:
        if "error" in res:
            raise UserError(res["error"])
    if any("interrupted" in r for r in results):
        raise KeyboardInterrupt(next(r["interrupted"] for r in results if "interrupted" in r))
    return results[0]["result"]
