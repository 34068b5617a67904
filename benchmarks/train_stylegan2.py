"""StyleGAN2 half of ``benchmarks/train.py --kind stylegan2``: ``studio train stylegan2`` against a plain PyTorch
loop of the same networks, losses and data, interleaved; optionally 2 ranks against 1.

Same work per step on both sides: the non-saturating logistic loss, path length every 4 steps with weight 2 on half
the batch, lazy R1 every 16 steps with NVlabs' gamma, style mixing 0.9, the lazy-regularisation learning-rate and
beta scaling, EMA with ramp-up (parameters and buffers), the dataset's random x-flips, no augmentation on either side,
the same batch, resolution and torch threads (one process).

What is timed. Each side is timed as a whole call twice per round, ``--base-steps`` and ``--steps`` long. The
steady-state throughput is the difference: (steps - base) · batch images ÷ (time(steps) - time(base)); the work that
does not grow with the run (studio: opening the image folder, building the models, the sample grids at start and
end, the final evaluation, checkpoint, export, loss plot, GIF and config; plain: reading the PNG files, building the
models) cancels out and is reported on its own as the fixed per-run cost, with the whole-call ratio at ``--steps``.
With the defaults (4 and 36) the 32 differenced steps hold the regularisation at its real rates (2 R1, 8 path-length
steps) and one epoch's sample grid (256 images, batch 8), so per-epoch work is amortised as in a real run.
Ratios use process CPU time by default (stable on a shared machine); the rank comparison uses wall time (its work
runs in child processes). The ``train/plain ratio`` line (median over the rounds of the steady-state ratio) is last
before the rank figures; target ≥ 0.95.
"""
from __future__ import annotations

import copy
import itertools
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from train import Clock

ARCH = dict(z_dim=64, w_dim=64, mapping_layers=4, channel_base=1024, channel_max=64)  # small: CPU
IMAGES = 256  # one epoch is 32 steps at batch 8


def plain_loop(folder: Path, steps: int, batch: int, res: int, seed: int = 0) -> tuple[float, float]:
    """Train StyleGAN2 for ``steps`` steps with a minimal loop; returns (wall, CPU) seconds."""
    clock = Clock()
    loop = plain_steps(folder, batch, res, seed)
    for _ in range(steps + 1):  # the set-up, then the steps
        next(loop)
    return clock.stop()


def plain_steps(folder: Path, batch: int, res: int, seed: int = 0):
    """The minimal StyleGAN2 loop as a generator: yields once when set up (data read, models built), then once
    after each step."""
    from PIL import Image
    from ganlib.networks.stylegan2 import Discriminator, Generator
    files = sorted(folder.rglob("*.png"))
    data = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]))
    data = data.permute(0, 3, 1, 2).contiguous()
    torch.manual_seed(seed)
    G = Generator(z_dim=ARCH["z_dim"], w_dim=ARCH["w_dim"], img_resolution=res, img_channels=3,
                  mapping_kwargs=dict(num_layers=ARCH["mapping_layers"]),
                  synthesis_kwargs=dict(channel_base=ARCH["channel_base"], channel_max=ARCH["channel_max"]))
    D = Discriminator(img_resolution=res, img_channels=3, channel_base=ARCH["channel_base"],
                      channel_max=ARCH["channel_max"], epilogue_kwargs=dict(mbstd_group_size=4))
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=0.0025 * 4 / 5, betas=(0.0, 0.99 ** (4 / 5)), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=0.0025 * 16 / 17, betas=(0.0, 0.99 ** (16 / 17)), eps=1e-8)
    gamma, pl_mean = 0.0002 * res ** 2 / batch, torch.zeros([])
    g = torch.Generator().manual_seed(seed)
    c = torch.zeros(batch, 0)

    def run_G(z):
        ws = G.mapping(z, c[:len(z)])
        if torch.rand([], generator=g).item() < 0.9:
            cut = int(torch.randint(1, ws.shape[1], [], generator=g).item())
            ws2 = G.mapping(torch.randn(z.shape, generator=g), c[:len(z)], skip_w_avg_update=True)
            ws = torch.cat([ws[:, :cut], ws2[:, cut:]], dim=1)
        return G.synthesis(ws, noise_mode="random"), ws

    def update(opt, loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    perm, pos = torch.randperm(len(data), generator=g), 0
    flips = torch.rand(len(data), generator=g) < 0.5
    yield
    for it in itertools.count():
        if pos + batch > len(data):
            perm, pos = torch.randperm(len(data), generator=g), 0
            flips = torch.rand(len(data), generator=g) < 0.5
        idx = perm[pos:pos + batch]
        real = data[idx]
        real = torch.where(flips[pos:pos + batch].view(-1, 1, 1, 1), real.flip(-1), real).float() / 127.5 - 1
        pos += batch
        G.requires_grad_(True)
        D.requires_grad_(False)
        fake, _ = run_G(torch.randn(batch, ARCH["z_dim"], generator=g))
        update(opt_g, F.softplus(-D(fake)).mean())
        if it % 4 == 0:
            img, ws = run_G(torch.randn(batch // 2, ARCH["z_dim"], generator=g))
            noise = torch.randn(img.shape, generator=g) / math.sqrt(res * res)
            (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
            lengths = grad.square().sum(2).mean(1).sqrt()
            pl_mean = pl_mean.lerp(lengths.mean().detach(), 0.01)
            update(opt_g, ((lengths - pl_mean).square() * 2).mean() * 4)
        G.requires_grad_(False)
        D.requires_grad_(True)
        with torch.no_grad():
            fake, _ = run_G(torch.randn(batch, ARCH["z_dim"], generator=g))
        update(opt_d, F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean())
        if it % 16 == 0:
            x = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            update(opt_d, (grad.square().sum([1, 2, 3]) * gamma / 2).mean() * 16)
        ema_nimg = min(batch * 10 / 32 * 1000, it * batch * 0.05)
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.copy_(p.lerp(pe, beta))
            for be, b in zip(G_ema.buffers(), G.buffers()):
                be.copy_(b)
        yield


def studio_train(folder: Path, out: Path, steps: int, batch: int, res: int, nproc: int = 1) -> tuple[float, float]:
    """Train the same model through ``ganlib.train.run.train`` (``studio train stylegan2``); (wall, CPU) s."""
    from ganlib.train.run import train
    clock = Clock()
    res_ = train("stylegan2", folder, out, overrides=dict(ARCH, resolution=res, batch_size=batch, augment="none",
                                                           conditional=False),
                 max_steps=steps, progress=False, nproc=nproc)
    assert res_.steps == steps
    return clock.stop()


def interleaved_steps(folder: Path, steps: int, batch: int, res: int) -> tuple[float, float]:
    """Build the studio task as ``train()`` does and the plain loop, then alternate one ``task.step`` (its data
    stream included) and one plain step in this process, ``steps`` times; return the CPU seconds of each side over
    the steps after the first 4 (warm-up). Load from other processes hits both sides alike, so this is the stable
    per-step comparison on a busy machine (the loop around the steps is not in it)."""
    from ganlib.train.config import load_config
    from ganlib.train.run import _make_task, _open_data
    cfg = load_config("stylegan2", None, dict(ARCH, resolution=res, batch_size=batch, augment="none",
                                                conditional=False))
    task = _make_task("stylegan2", cfg, _open_data(folder, cfg), torch.device("cpu"))
    stream = task.make_stream()
    task.build(fresh=True, progress=False)
    plain = plain_steps(folder, batch, res)
    next(plain)
    spent = {"train": 0.0, "plain": 0.0}
    for it in range(steps):
        for which in ("train", "plain") if it % 2 == 0 else ("plain", "train"):
            t = time.process_time()
            if which == "train":
                task.step(stream)
            else:
                next(plain)
            if it >= 4:
                spent[which] += time.process_time() - t
    return spent["train"], spent["plain"]


def run_benchmark(args) -> None:
    """Print the interleaved rounds, ``train/plain ratio: X.XX`` (steady state) and, with ``--ranks``,
    ``2 ranks/1 rank``."""
    from ganlib.data.procedural import write_image_folder
    steps, base, batch, res = args.steps or 36, args.base_steps, args.batch or 8, args.resolution
    if not 0 <= base < steps:
        raise SystemExit("--base-steps must be at least 0 and below --steps")
    window = steps - base
    idx = 1 if args.clock == "cpu" else 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_images = min(args.images, IMAGES)
        folder = write_image_folder(tmp / "data", n_images, size=res, seed=0)
        print(f"StyleGAN2-{res} ({ARCH}), batch {batch}, {n_images} images ({n_images // batch} steps per epoch), "
              f"runs of {base} and {steps} steps ({window} differenced), torch threads {torch.get_num_threads()}, "
              f"clock {args.clock}", flush=True)
        plain_loop(folder, 2, batch, res)  # warm-up (imports, allocator, fonts)
        studio_train(folder, tmp / "warm", 2, batch, res)
        run = {"train": lambda n, r: studio_train(folder, tmp / f"run{r}_{n}", n, batch, res),
               "plain": lambda n, r: plain_loop(folder, n, batch, res)}
        steady, whole, fixed = [], [], {"train": [], "plain": []}
        for r in range(args.repeats):
            got: dict[tuple[str, int], float] = {}
            # The two long runs side by side (they carry the estimate), which side goes first alternating.
            first, second = ("train", "plain") if r % 2 == 0 else ("plain", "train")
            for which, n in ((first, base), (first, steps), (second, steps), (second, base)):
                got[which, n] = run[which](n, r)[idx]
            per_step = {w: (got[w, steps] - got[w, base]) / window for w in ("train", "plain")}
            for w in fixed:
                fixed[w].append(got[w, steps] - steps * per_step[w])
            steady.append(per_step["plain"] / per_step["train"])
            whole.append(got["plain", steps] / got["train", steps])
            print(f"round {r + 1}: studio {got['train', base]:.2f} / {got['train', steps]:.2f} s, plain "
                  f"{got['plain', base]:.2f} / {got['plain', steps]:.2f} s ({args.clock}, {base} / {steps} steps); "
                  f"steady {batch / per_step['train']:.2f} vs {batch / per_step['plain']:.2f} images/s, ratio "
                  f"{steady[-1]:.3f}; whole call ratio {whole[-1]:.3f}", flush=True)
        print(f"fixed per-run cost ({args.clock}, median): studio {statistics.median(fixed['train']):.2f} s (data, "
              f"models, start/end grids, evaluation, checkpoint, export, plot, GIF, config), plain "
              f"{statistics.median(fixed['plain']):.2f} s (data, models)")
        print(f"whole-call ratio at {steps} steps (fixed cost included): {statistics.median(whole):.2f}")
        print(f"per-round steady-state ratios ({args.clock}): {', '.join(f'{x:.3f}' for x in steady)}")
        if args.interleave:
            studio_s, plain_s = interleaved_steps(folder, steps, batch, res)
            print(f"task.step vs plain step, interleaved step by step in one process ({steps - 4} steps, CPU): "
                  f"studio {studio_s:.2f} s, plain {plain_s:.2f} s, ratio {plain_s / studio_s:.3f}")
        print(f"train/plain ratio: {statistics.median(steady):.2f}")
        if args.ranks:
            ratios = []
            for r in range(args.repeats):
                one = studio_train(folder, tmp / f"one{r}", steps, batch, res, nproc=1)[0]
                two = studio_train(folder, tmp / f"two{r}", steps, batch, res, nproc=2)[0]
                ratios.append(one / two)
                print(f"ranks round {r + 1}: 1 process {one:.1f} s, 2 processes {two:.1f} s wall", flush=True)
            print(f"2 ranks/1 rank throughput (wall): {statistics.median(ratios):.2f}")
