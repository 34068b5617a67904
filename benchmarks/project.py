"""Projection: how well images are recovered, how long it takes, and which loss option recovers best.

Usage: python benchmarks/project.py [--model builtin:default] [--steps N] [--compare-steps 100] [--seed 5]
                                    [--landscape-seed 777] [--threads 2] [--picture docs/images/projection.png]
                                    [--only default|compare]

1. A target the model generated itself (seed ``--seed``) is projected with the default settings and steps: PSNR
   (target: >= 28 dB at 64 px) and time per image.
2. A procedural landscape the model never saw (``ganlib.data.landscapes``, seed ``--landscape-seed``) with the
   default settings: PSNR and a perceptual distance (cosine distance of the FID Inception pool-3 features of target
   and projection at 299 px, a network the loss options use only the stem of).
3. One table: every loss option, plus w instead of w+ and NVlabs-style optimised noise, on both targets with
   ``--compare-steps`` steps each.
``--picture`` writes target | projection of the landscape (the README's before/after).
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


def pool3_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return 1 - cosine similarity of the FID Inception pool-3 features of two uint8 images."""
    f = load_inception().features(np.stack([a, b]))
    fa, fb = f[0].astype(np.float64), f[1].astype(np.float64)
    return float(1 - fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb)))


def run(G, target: np.ndarray, cfg: ProjectionConfig) -> tuple[float, float, float, np.ndarray]:
    """Project ``target``; return (PSNR dB, pool-3 distance, seconds, projection image)."""
    t0 = time.perf_counter()
    p = project(G, target, cfg, progress=False)
    seconds = time.perf_counter() - t0
    return p.losses["psnr"], pool3_distance(target, p.image), seconds, p.image


def main() -> None:
    """Run the three measurements and print them (markdown tables)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="builtin:default")
    ap.add_argument("--steps", type=int, default=ProjectionConfig().steps)
    ap.add_argument("--compare-steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5, help="seed of the generated target")
    ap.add_argument("--landscape-seed", type=int, default=777)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--picture", default=None)
    ap.add_argument("--only", choices=["default", "compare"], default=None,
                    help="run only the default-settings figures or only the comparison table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    G = load_generator(args.model).G
    res = int(G.img_resolution)
    generated = seed_batch(G, [args.seed])[0]
    scene = landscape(args.landscape_seed, size=res)
    if G.img_channels == 1:
        scene = scene.mean(axis=2, keepdims=True).astype(np.uint8)
    load = os.getloadavg()[0]
    print(f"model {args.model} ({res} px), torch threads {args.threads}, load average {load:.1f} at start")
    default = make_config(DEFAULT_LOSS, steps=args.steps)
    print(f"default: loss {DEFAULT_LOSS}, space {default.space}, noise {default.noise}, {default.steps} steps\n")
    print("| target | PSNR (dB) | pool-3 distance | seconds per image | s/step |")
    print("| --- | --- | --- | --- | --- |")
    targets = (("generated, seed %d" % args.seed, generated), ("landscape %d" % args.landscape_seed, scene))
    for name, target in targets if args.only != "compare" else ():
        db, dist, sec, image = run(G, target, default)
        print(f"| {name} | {db:.2f} | {dist:.4f} | {sec:.1f} | {sec / default.steps:.3f} |", flush=True)
        if args.picture and target is scene:
            Image.fromarray(side_by_side(target, image, gap=2).squeeze()).save(args.picture)
    if args.only == "default":
        return
    variants = [(loss, {}) for loss in LOSS_PRESETS]
    variants += [(DEFAULT_LOSS, {"space": "w"}), (DEFAULT_LOSS, {"noise": "optimise"})]
    print(f"\nloss options, {args.compare_steps} steps each:\n")
    print("| loss | space | noise | PSNR generated | PSNR landscape | pool-3 distance landscape | s/step |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for loss, extra in variants:
        cfg = make_config(loss, steps=args.compare_steps, **extra)
        db_g, _, sec_g, _ = run(G, generated, cfg)
        db_l, dist_l, sec_l, _ = run(G, scene, cfg)
        step = (sec_g + sec_l) / (2 * cfg.steps)
        print(f"| {loss} | {cfg.space} | {cfg.noise} | {db_g:.2f} | {db_l:.2f} | {dist_l:.4f} | {step:.3f} |",
              flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
