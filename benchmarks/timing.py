"""Side-by-side timing for the benchmarks: variants take turns call by call, so a change in the machine's load
hits all of them alike, and the median of each is reported."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def interleaved_seconds(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 0) -> dict[str, float]:
    """Return the median seconds per call of each ``fns[name]()`` over ``repeats`` rounds (each round calls every
    variant once, in order), after ``warmup`` untimed rounds; runs under ``torch.no_grad``."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.no_grad():
        for _ in range(warmup):
            for fn in fns.values():
                fn()
        for _ in range(repeats):
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}
