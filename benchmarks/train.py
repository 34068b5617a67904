"""Training overhead: DCGAN-64 on CPU through ``studio train`` (``ganlib.train.run.train``) and through a plain,
minimal PyTorch loop of the same model, batch and data, interleaved in one run.

Usage: python benchmarks/train.py [--steps 32] [--images 1024] [--batch 64] [--repeats 3] [--ngf 64]
The ``train()`` side is timed as a whole call: opening the image folder, building the models, the sample grid at the
start and every epoch, CSV logging, the final evaluation, state checkpoint, generator export, loss plot and GIF.
The plain side is timed from reading the same PNG files to its last optimizer step. Both do the same maths per
step (D on real and fake, non-saturating G loss reusing the fake batch, D frozen during the G update).
The last line is ``train/plain ratio: X.XX`` (steps/s through train() ÷ steps/s of the plain loop; target ≥ 0.95).
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


def plain_loop(folder: Path, steps: int, batch: int, ngf: int, seed: int = 0) -> float:
    """Train DCGAN-64 for ``steps`` steps with a minimal loop; returns the wall seconds taken."""
    from PIL import Image
    from ganlib.networks.dcgan import DCGANDiscriminator, DCGANGenerator
    t0 = time.perf_counter()
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
    return time.perf_counter() - t0


def studio_train(folder: Path, out: Path, steps: int, batch: int, ngf: int) -> float:
    """Train the same model through ``ganlib.train.run.train`` (what ``studio train dcgan`` runs); returns seconds."""
    from ganlib.train.run import train
    t0 = time.perf_counter()
    res = train("dcgan", folder, out, overrides={"batch_size": batch, "ngf": ngf, "ndf": ngf}, max_steps=steps,
                progress=False)
    assert res.steps == steps
    return time.perf_counter() - t0


def main() -> None:
    """Run both paths ``--repeats`` times, alternating which goes first, and print the throughput ratio."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from ganlib.data.procedural import write_image_folder
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_image_folder(tmp / "data", args.images, size=64, seed=0)
        print(f"DCGAN-64 (ngf=ndf={args.ngf}), batch {args.batch}, {args.steps} steps per run, {args.images} images "
              f"({args.images // args.batch} steps per epoch), torch threads {torch.get_num_threads()}")
        plain_loop(folder, 2, args.batch, args.ngf)  # warm-up (imports, allocator)
        studio_train(folder, tmp / "warm", 2, args.batch, args.ngf)
        ratios, t_train, t_plain = [], [], []
        for r in range(args.repeats):
            order = ["train", "plain"] if r % 2 == 0 else ["plain", "train"]
            got = {}
            for which in order:
                if which == "train":
                    got[which] = studio_train(folder, tmp / f"run{r}", args.steps, args.batch, args.ngf)
                else:
                    got[which] = plain_loop(folder, args.steps, args.batch, args.ngf)
            t_train.append(got["train"])
            t_plain.append(got["plain"])
            ratios.append(got["plain"] / got["train"])
            print(f"round {r + 1}: studio train {got['train']:.2f} s ({args.steps / got['train']:.3f} steps/s), "
                  f"plain loop {got['plain']:.2f} s ({args.steps / got['plain']:.3f} steps/s), "
                  f"ratio {ratios[-1]:.3f}")
        total = sum(t_plain) / sum(t_train)
        print(f"median of rounds {statistics.median(ratios):.3f}; totals {sum(t_train):.1f} s vs {sum(t_plain):.1f} s")
        print(f"train/plain ratio: {total:.2f}")


if __name__ == "__main__":
    main()
