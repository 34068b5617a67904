"""Training overhead: DCGAN-64 (or StyleGAN2) on CPU through ``studio train`` (``ganlib.train.run.train``) and
through a plain, minimal PyTorch loop of the same model, batch and data, interleaved in one run.

Usage: python benchmarks/train.py [--steps 32] [--images 1024] [--batch 64] [--repeats 3] [--ngf 64]
       python benchmarks/train.py --kind stylegan2 [--steps 36] [--base-steps 4] [--batch 8] [--interleave] [--ranks]
(StyleGAN2: the plain loop is in ``benchmarks/train_stylegan2.py``, which times runs of ``--base-steps`` and
``--steps`` steps and reports the steady-state ratio of the steps in between, the fixed per-run cost apart;
``--ranks`` also times ``--nproc 2`` against one process at the same global batch.)
The ``train()`` side is timed as a whole call: opening the image folder, building the models, the sample grid at the
start and every epoch, CSV logging, the final evaluation, state checkpoint, generator export, loss plot and GIF.
The plain side is timed from reading the same PNG files to its last optimizer step. Both do the same maths per
step (D on real and fake, non-saturating G loss reusing the fake batch, D frozen during the G update).
Each run is timed by the wall clock and by the process's CPU time (all threads). On a shared machine, where other
jobs take the cores away at random, CPU time is the stable measure and is the default (``--clock cpu``); on a quiet
machine both agree. The last line is ``train/plain ratio: X.XX``: steps/s through train() ÷ steps/s of the plain loop,
the median over the interleaved rounds (each round pairs one run of each, so a burst of load from another job spoils
one round, not the estimate); target ≥ 0.95. Totals over all rounds are printed too.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


class Clock:
    """Wall and process-CPU seconds since creation."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        """Return (wall seconds, CPU seconds) elapsed."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def plain_loop(folder: Path, steps: int, batch: int, ngf: int, seed: int = 0) -> tuple[float, float]:
    """Train DCGAN-64 for ``steps`` steps with a minimal loop; returns (wall, CPU) seconds."""
    from PIL import Image
    from ganlib.networks.dcgan import DCGANDiscriminator, DCGANGenerator
    clock = Clock()
    files = sorted(p for p in folder.rglob("*.png"))
    data = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]))
    data = data.permute(0, 3, 1, 2).contiguous()
    torch.manual_seed(seed)
    G, D = DCGANGenerator(100, 64, 3, ngf=ngf), DCGANDiscriminator(64, 3, ndf=ngf)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(seed)
    perm, pos = torch.randperm(len(data), generator=g), 0
    for _ in range(steps):
        if pos + batch > len(data):
            perm, pos = torch.randperm(len(data), generator=g), 0
        idx = perm[pos:pos + batch]
        pos += batch
        real = data[idx]
        flip = torch.rand(batch, generator=g) < 0.5
        real = torch.where(flip.view(-1, 1, 1, 1), real.flip(-1), real).float() / 127.5 - 1
        fake = G(torch.randn(batch, 100, generator=g))
        D.requires_grad_(True)
        d_real, d_fake = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        out = D(fake)
        loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    loss_g.item()
    return clock.stop()


def studio_train(folder: Path, out: Path, steps: int, batch: int, ngf: int) -> tuple[float, float]:
    """Train the same model through ``ganlib.train.run.train`` (what ``studio train dcgan`` runs); returns (wall,
    CPU) seconds."""
    from ganlib.train.run import train
    clock = Clock()
    res = train("dcgan", folder, out, overrides={"batch_size": batch, "ngf": ngf, "ndf": ngf}, max_steps=steps,
                progress=False)
    assert res.steps == steps
    return clock.stop()


def main() -> None:
    """Run both paths ``--repeats`` times, alternating which goes first, and print the throughput ratio."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["dcgan", "stylegan2"], default="dcgan")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default 32 for dcgan, 36 stylegan2)")
    ap.add_argument("--base-steps", type=int, default=4,
                    help="stylegan2: steps of the short run whose time is subtracted (fixed per-run cost)")
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=None, help="batch (default 64 for dcgan, 8 for stylegan2)")
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--resolution", type=int, default=32, help="stylegan2 only")
    ap.add_argument("--interleave", action="store_true",
                    help="stylegan2: also alternate task.step and the plain step in one process (stable when busy)")
    ap.add_argument("--ranks", action="store_true", help="stylegan2: also time --nproc 2 against 1 process")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="which time the final ratio uses")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.kind == "stylegan2":
        from train_stylegan2 import run_benchmark
        run_benchmark(args)
        return
    args.steps = args.steps or 32
    args.batch = args.batch or 64
    from ganlib.data.procedural import write_image_folder
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_image_folder(tmp / "data", args.images, size=64, seed=0)
        print(f"DCGAN-64 (ngf=ndf={args.ngf}), batch {args.batch}, {args.steps} steps per run, {args.images} images "
              f"({args.images // args.batch} steps per epoch), torch threads {torch.get_num_threads()}", flush=True)
        plain_loop(folder, 2, args.batch, args.ngf)  # warm-up (imports, allocator)
        studio_train(folder, tmp / "warm", 2, args.batch, args.ngf)
        times = {"train": [], "plain": []}
        for r in range(args.repeats):
            order = ["train", "plain"] if r % 2 == 0 else ["plain", "train"]
            got = {}
            for which in order:
                if which == "train":
                    got[which] = studio_train(folder, tmp / f"run{r}", args.steps, args.batch, args.ngf)
                else:
                    got[which] = plain_loop(folder, args.steps, args.batch, args.ngf)
                times[which].append(got[which])
            (tw, tc), (pw, pc) = got["train"], got["plain"]
            print(f"round {r + 1}: studio train {tw:.1f} s wall / {tc:.1f} s CPU, plain loop {pw:.1f} s wall / "
                  f"{pc:.1f} s CPU; ratio wall {pw / tw:.3f}, CPU {pc / tc:.3f}", flush=True)
        tot = {k: (sum(w for w, _ in v), sum(c for _, c in v)) for k, v in times.items()}
        wall = tot["plain"][0] / tot["train"][0]
        cpu = tot["plain"][1] / tot["train"][1]
        print(f"totals: studio train {tot['train'][0]:.1f} s wall / {tot['train'][1]:.1f} s CPU "
              f"({args.repeats * args.steps / tot['train'][1]:.3f} steps per CPU-second); plain loop "
              f"{tot['plain'][0]:.1f} s wall / {tot['plain'][1]:.1f} s CPU; ratio wall {wall:.3f}, CPU {cpu:.3f}")
        idx = 1 if args.clock == "cpu" else 0
        rounds = [p[idx] / t[idx] for t, p in zip(times["train"], times["plain"])]
        print(f"per-round ratios ({args.clock}): {', '.join(f'{r:.3f}' for r in rounds)}")
        print(f"train/plain ratio: {statistics.median(rounds):.2f}")


if __name__ == "__main__":
    main()
