"""Projection: how well images are recovered, how long it takes, and which loss option recovers best.

Usage: python benchmarks/project.py [--model builtin:default] [--steps N] [--compare-steps 100] [--seeds 5]
                                    [--landscape-seeds 777] [--options pixel,inception+pixel,...] [--threads 2]
                                    [--picture docs/images/projection.png] [--only default|compare]

1. Targets the model generated itself (``--seeds``) are projected with the default settings and steps: PSNR
   (target: >= 28 dB at 64 px) and time per image.
2. Procedural landscapes the model never saw (``ganlib.data.landscapes``, ``--landscape-seeds``, not the training
   data's seeds) with the default settings: PSNR and a perceptual distance (1 - cosine similarity of the FID
   Inception pool-3 features of target and projection at 299 px; the loss options use only the network's stem).
3. One table: the loss options (default: every preset, plus w instead of w+ and NVlabs-style optimised noise) on all
   targets with ``--compare-steps`` steps each, averaged over the targets of each kind.
``--picture`` writes target | projection of the first landscape, 3× enlarged (the README's before/after).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from PIL import Image

from ganlib.checkpoints import load_generator
from ganlib.data.landscapes import landscape
from ganlib.metrics.inception import load_inception
from ganlib.projection import DEFAULT_LOSS, LOSS_PRESETS, make_config, project, side_by_side
from ganlib.projection.config import ProjectionConfig
from ganlib.synth import seed_batch

VARIANTS = {**{name: (name, {}) for name in LOSS_PRESETS},
            "w": (DEFAULT_LOSS, {"space": "w"}), "noise": (DEFAULT_LOSS, {"noise": "optimise"})}


def pool3_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return 1 - cosine similarity of the FID Inception pool-3 features of two uint8 images."""
    f = load_inception().features(np.stack([a, b]))
    fa, fb = f[0].astype(np.float64), f[1].astype(np.float64)
    return float(1 - fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb)))


def run(G, target: np.ndarray, cfg: ProjectionConfig) -> tuple[float, float, float, np.ndarray, float]:
    """Project ``target``; return (PSNR dB, pool-3 distance, wall seconds, projection image, CPU seconds of this
    process: on a shared machine the CPU time says more than the wall clock)."""
    t0, c0 = time.perf_counter(), time.process_time()
    p = project(G, target, cfg, progress=False)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return p.losses["psnr"], pool3_distance(target, p.image), seconds, p.image, cpu


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    """Run the measurements and print them (markdown tables)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="builtin:default")
    ap.add_argument("--steps", type=int, default=ProjectionConfig().steps)
    ap.add_argument("--compare-steps", type=int, default=100)
    ap.add_argument("--seeds", type=_ints, default=[5], help="seeds of the generated targets")
    ap.add_argument("--landscape-seeds", type=_ints, default=[777])
    ap.add_argument("--options", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--picture", default=None)
    ap.add_argument("--only", choices=["default", "compare"], default=None,
                    help="run only the default-settings figures or only the comparison table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    G = load_generator(args.model).G
    res = int(G.img_resolution)
    generated = [(f"generated, seed {s}", seed_batch(G, [s])[0]) for s in args.seeds]
    scenes = [(f"landscape {s}", landscape(s, size=res)) for s in args.landscape_seeds]
    if G.img_channels == 1:
        scenes = [(n, img.mean(axis=2, keepdims=True).astype(np.uint8)) for n, img in scenes]
    print(f"model {args.model} ({res} px), torch threads {args.threads}, load average {os.getloadavg()[0]:.1f} "
          f"at start")
    if args.only != "compare":
        default = make_config(DEFAULT_LOSS, steps=args.steps)
        print(f"default: loss {DEFAULT_LOSS}, space {default.space}, noise {default.noise}, {default.steps} steps\n")
        print("| target | PSNR (dB) | pool-3 distance | seconds per image | CPU seconds per image | s/step |")
        print("| --- | --- | --- | --- | --- | --- |")
        for i, (name, target) in enumerate(generated + scenes):
            db, dist, sec, image, cpu = run(G, target, default)
            print(f"| {name} | {db:.2f} | {dist:.4f} | {sec:.1f} | {cpu:.1f} | {sec / default.steps:.3f} |",
                  flush=True)
            if args.picture and i == len(generated):
                big = side_by_side(target, image, gap=1).squeeze()
                Image.fromarray(big).resize((big.shape[1] * 3, big.shape[0] * 3), Image.NEAREST).save(args.picture)
    if args.only == "default":
        return
    print(f"\nloss options, {args.compare_steps} steps each, mean over {len(generated)} generated and {len(scenes)} "
          f"landscape targets:\n")
    print("| loss | space | noise | PSNR generated | PSNR landscape | pool-3 distance landscape | s/step |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key in args.options.split(","):
        loss, extra = VARIANTS[key]
        cfg = make_config(loss, steps=args.compare_steps, **extra)
        gen = [run(G, t, cfg) for _, t in generated]
        land = [run(G, t, cfg) for _, t in scenes]
        step = sum(r[2] for r in gen + land) / (len(gen + land) * cfg.steps)
        print(f"| {loss} | {cfg.space} | {cfg.noise} | {np.mean([r[0] for r in gen]):.2f} | "
              f"{np.mean([r[0] for r in land]):.2f} | {np.mean([r[1] for r in land]):.4f} | {step:.3f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
