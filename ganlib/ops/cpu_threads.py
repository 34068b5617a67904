"""How many intra-op threads torch uses for CPU inference: torch's own choice, or on request the cores that other
work leaves free.

Measured on a 2-core machine shared with other jobs (load 10-17): a 256 px StyleGAN2 frame on 1 thread took less
wall time than on 2 (the OpenMP workers wait for each other at every barrier while the OS gives one of them to
another process), 1.8× less in an earlier measurement; on an idle machine 2 threads are faster. A thread count
that follows the load would make the same render round differently from one run to the next (a resumed render, a
live recording rendered again), so it is opt-in: with ``STUDIO_THREADS=auto``, once per process before the first
CPU inference, ``apply_inference_threads`` sets ``torch.set_num_threads`` to the cores minus the rounded 1-minute
load average of the other processes (the load less this process's own average CPU use since ``ganlib`` was
imported; at least 1 thread). ``STUDIO_THREADS=N`` fixes N threads; unset (or ``torch``) leaves torch's own choice,
as do ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and a ``torch.set_num_threads`` call made after ``ganlib`` was
imported (the chunk workers' per-worker share, tests).
"""
from __future__ import annotations

import os
import time

import torch

from ganlib.errors import UserError

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
_AT_IMPORT = torch.get_num_threads()
_START = (time.monotonic(), time.process_time())
_DONE: list[int] = []


def cores() -> int:
    """Return the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def free_threads(n_cores: int, load: float) -> int:
    """Return the thread count for ``n_cores`` CPUs under a 1-minute ``load`` average: the cores left free by the
    rounded load, between 1 and ``n_cores``."""
    return max(1, min(n_cores, n_cores - int(round(max(load, 0.0)))))


def _load() -> float:
    """The 1-minute load average less this process's own average CPU use since import (0 where unknown)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return 0.0
    wall = time.monotonic() - _START[0]
    own = (time.process_time() - _START[1]) / wall if wall > 5 else 0.0
    return max(0.0, load - own)


def inference_threads() -> int | None:
    """Return the thread count the policy picks now, or None where the user's choice stands (see the module
    docstring). Raises UserError for a ``STUDIO_THREADS`` that is neither a positive number nor 'torch'."""
    value = os.environ.get("STUDIO_THREADS", "").strip()
    if not value or value == "torch":
        return None
    if value == "auto":
        if any(os.environ.get(name) for name in THREAD_ENV) or torch.get_num_threads() != _AT_IMPORT:
            return None
        return free_threads(cores(), _load())
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"{value!r} is not a thread count; allowed a positive number, 'auto' or 'torch'",
                        field="STUDIO_THREADS")
    return int(value)


def apply_inference_threads() -> int:
    """Set torch's intra-op threads by ``inference_threads`` the first time it is called in this process (later
    calls change nothing, so a long job keeps one setting). Returns the thread count torch now uses."""
    if not _DONE:
        n = inference_threads()
        if n is not None and n != torch.get_num_threads():
            torch.set_num_threads(n)
        _DONE.append(torch.get_num_threads())
    return torch.get_num_threads()
