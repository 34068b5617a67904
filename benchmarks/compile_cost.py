"""torch.compile on the CPU fast path: its cost (the first call, with an empty and with a warm on-disk Inductor cache)
against its per-frame gain, for ``benchmarks/generator.py --compile``.

Each measurement runs in a fresh Python process (``benchmarks/generator.py --compile-child RES,BATCH,REPEATS``) so that
the second one finds only the on-disk cache of the first (``TORCHINDUCTOR_CACHE_DIR``, shared by both), as a later
render would; it prints one JSON line: the first compiled call (compile + one frame), then the eager and compiled
steady-state seconds per call, interleaved, medians of REPEATS.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from benchmarks.timing import interleaved_seconds
from ganlib.ops.fast_cpu import prepare_compile
from ganlib.synth import synthesize


def measure(G: torch.nn.Module, batch: int, repeats: int) -> dict:
    """Time torch.compile of ``G``'s synthesis (fp32, CPU), ``batch`` images per call, in this process:
    {first_call_s, eager_s, compiled_s, max_abs_diff} (seconds per call; medians of ``repeats``)."""
    z = torch.randn([batch, 512], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ws = G.mapping(z, None)
    prepare_compile()
    compiled = torch.compile(G.synthesis)

    def eager():
        return synthesize(G, ws, precision="float32")

    def comp():
        return synthesize(G, ws, precision="float32", synthesis=compiled)
    t0 = time.perf_counter()
    out_c = comp()
    first = time.perf_counter() - t0
    out_e = eager()
    seconds = interleaved_seconds({"eager": eager, "compiled": comp}, repeats)
    return {"first_call_s": first, "eager_s": seconds["eager"], "compiled_s": seconds["compiled"],
            "max_abs_diff": (out_c - out_e).abs().max().item()}


def compile_rows(script: str, sizes, batch: int, repeats: int, threads: int | None) -> list[dict]:
    """For each size: ``measure`` in a fresh process (``script --compile-child``) with an empty Inductor cache,
    then again in another fresh
    process with the cache the first left; returns rows {size, batch, cold_first_s, warm_first_s, eager_s,
    compiled_s, compile_cold_s, compile_warm_s, gain_s, break_even_frames_cold/warm, max_abs_diff} and prints one
    line per size."""
    rows = []
    for res in sizes:
        with tempfile.TemporaryDirectory(prefix="inductor-cache-") as cache:
            env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TMPDIR=cache)
            if threads:
                env["STUDIO_THREADS"] = str(threads)
            runs = []
            for _ in ("cold", "warm"):
                proc = subprocess.run([sys.executable, script, "--compile-child", f"{res},{batch},{repeats}"],
                                      env=env, capture_output=True, text=True)
                if proc.returncode != 0:  # say why the compiled run failed, then stop
                    sys.stderr.write(proc.stderr[-4000:])
                    raise SystemExit(f"torch.compile run at {res} px failed (exit {proc.returncode})")
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        cold, warm = runs
        eager = statistics.median([cold["eager_s"], warm["eager_s"]])
        compiled = statistics.median([cold["compiled_s"], warm["compiled_s"]])
        gain = (eager - compiled) / batch  # seconds saved per frame
        row = {"size": res, "batch": batch, "cold_first_s": cold["first_call_s"],
               "warm_first_s": warm["first_call_s"], "eager_s": eager, "compiled_s": compiled,
               "compile_cold_s": cold["first_call_s"] - compiled, "compile_warm_s": warm["first_call_s"] - compiled,
               "gain_s_per_frame": gain, "max_abs_diff": max(cold["max_abs_diff"], warm["max_abs_diff"]),
               "load": os.getloadavg()[0]}
        for kind in ("cold", "warm"):
            row[f"break_even_frames_{kind}"] = (row[f"compile_{kind}_s"] / gain) if gain > 0 else None
        rows.append(row)

        def frames(v):
            return f"{v:.0f} frames" if v is not None else "never (compiled is not faster)"
        print(f"{res:>5} px  batch {batch}  torch.compile: first call {row['cold_first_s']:.1f} s cold, "
              f"{row['warm_first_s']:.1f} s with a warm cache; s/call eager {eager:.3f}, compiled {compiled:.3f} "
              f"(gain {gain:+.3f} s/frame, {eager / compiled:.2f}x); "
              f"pays after {frames(row['break_even_frames_cold'])} cold, {frames(row['break_even_frames_warm'])} warm; max|diff| {row['max_abs_diff']:.1e}  "
              f"(load {row['load']:.1f})", flush=True)
    return rows

