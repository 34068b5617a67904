"""Generator throughput: images/s of a StyleGAN2 generator (random weights, NVlabs config-f layout: channel_base 32768,
channel_max 512, 8 mapping layers, fp16 for the 4 highest resolutions with conv_clamp 256) at 256/512/1024 px and
batch 1 and 8, measured side by side in one run on the present device.

On a GPU: reference ops vs the custom CUDA ops (``cuda``; ``cuda-generic``: the same without the tiled upfirdn2d
kernel, ``STUDIO_OPS_TILED=0``), fp32 vs fp16 synthesis, and their ratios (targets: custom ≥ 1.3 × reference;
fp16 ≥ 1.8 × fp32 at 1024 px).
On a CPU (no custom ops, no useful fp16): the reference ops vs a straightforward PyTorch implementation of the same
network (upsampling by zero insertion + FIR filter before the 3×3 convolution, explicit bias + leaky ReLU + clamp),
whose output is checked to be the same image.

StyleGAN3 (``--arch stylegan3-t,stylegan3-r``, random weights in NVlabs' T and R configurations, ``--sg3-sizes``,
256 px by default): ours vs NVlabs' own implementation of the same weights when a stylegan3 checkout is given
(``--nvlabs3 PATH``; on a CPU it runs its reference ops), else vs a plain PyTorch version of the same network
(zero-insertion upsampling, 2-D filters, explicit bias + leaky ReLU + clamp); the outputs are checked to agree. On a
GPU also our fp16 layers vs fp32 (``force_fp32``). Target: ours / baseline ≥ 1.0.

With ``--nvlabs DIR`` (a checkout of NVlabs' stylegan2-ada-pytorch, outside this repository): NVlabs' own generator
with the same weights (fp32, reference ops, their ``force_fp32``) against ours (``ganlib.synth.synthesize``,
float32: on CPU the fast inference path), interleaved run by run, medians of ``--repeats``, with the ratio and the
largest difference of the uint8 pixels (target: ours ≥ 1.5 × NVlabs at every size, pixels within 1).

    python benchmarks/generator.py                      # all sizes, batch 1 and 8
    python benchmarks/generator.py --sizes 256 --batches 1 --repeats 2   # a quick look
    python benchmarks/generator.py --nvlabs /tmp/stylegan2-ada-pytorch --batches 1,4 --repeats 3
    python benchmarks/generator.py --arch stylegan3-t,stylegan3-r --batches 1 --nvlabs3 ~/src/stylegan3
    python benchmarks/generator.py --json results.json                    # also write the rows as JSON
    python benchmarks/generator.py --compile --arch stylegan2 --sizes 256,512 --batches 1 --repeats 2

``--compile`` (CPU, StyleGAN2): torch.compile's cost against its gain. For each size, two fresh processes share one
empty Inductor cache: the first call of the compiled synthesis in the first (a cold compile) and in the second (the
on-disk cache warm, as for a later render), then eager and compiled seconds per call, interleaved; printed: the
compile cost (first call less one compiled call), the gain per frame and after how many frames compiling pays.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.nvlabs_reference import load_nvlabs_networks, nvlabs_synthesis, nvlabs_twin  # noqa: E402
from ganlib.ops import backend  # noqa: E402
from ganlib.ops.cpu_threads import apply_inference_threads  # noqa: E402
from ganlib.networks.stylegan2 import Generator  # noqa: E402
from benchmarks import stylegan3_variants as sg3  # noqa: E402
from benchmarks.compile_cost import compile_rows, measure  # noqa: E402
from benchmarks.timing import interleaved_seconds  # noqa: E402
from ganlib.synth import synthesize, to_uint8  # noqa: E402

MAPPING_KWARGS = dict(num_layers=8)
SYNTHESIS_KWARGS = dict(channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256)


def make_generator(res: int, device: torch.device) -> Generator:
    """A random-weights StyleGAN2 at ``res`` px in the configuration NVlabs' configs use."""
    torch.manual_seed(0)
    G = Generator(z_dim=512, w_dim=512, img_resolution=res, mapping_kwargs=MAPPING_KWARGS,
                  synthesis_kwargs=SYNTHESIS_KWARGS)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    return G.eval().requires_grad_(False).to(device)


# ------------------------------------------------------------------------------------------ plain PyTorch version
def _upfir(x: torch.Tensor, f: torch.Tensor, up: int, pad: tuple[int, int], gain: float) -> torch.Tensor:
    """Upsample by zero insertion, pad, and filter with the 2-D FIR ``f`` (depthwise conv), the plain way."""
    n, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros([n, c, h * up, w * up])
        z[:, :, ::up, ::up] = x
        x = z
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = (f.flip([0, 1]) * gain).to(x.dtype)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)


def _modconv(x, weight, styles, demodulate: bool, up: int, f: torch.Tensor | None, padding: int) -> torch.Tensor:
    n = x.shape[0]
    o, i, kh, kw = weight.shape
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if up > 1:  # upsample the activations first, then a plain (true) convolution
        x = _upfir(x, f, up, ((f.shape[0] + up - 1) // 2 + padding, (f.shape[0] - up) // 2 + padding), up * up)
        w = w.flip([3, 4])
        padding = 0
    x = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), w.reshape(n * o, i, kh, kw), padding=padding, groups=n)
    return x.reshape(n, o, *x.shape[2:])


def _affine(layer, w):
    return w @ (layer.weight * layer.weight_gain).t() + layer.bias * layer.bias_gain


def plain_synthesis(G: Generator, ws: torch.Tensor) -> torch.Tensor:
    """The synthesis network of ``G`` written straightforwardly (fp32, noise 'const')."""
    x = img = None
    idx = 0
    for block in G.synthesis.blocks():
        f = block.resample_filter
        layers = [block.conv1] if block.in_channels == 0 else [block.conv0, block.conv1]
        if block.in_channels == 0:
            x = block.const[None].repeat(ws.shape[0], 1, 1, 1)
        for k, layer in enumerate(layers):
            styles = _affine(layer.affine, ws[:, idx + k])
            x = _modconv(x, layer.weight, styles, True, layer.up, f, layer.padding)
            x = x + layer.noise_const * layer.noise_strength
            x = F.leaky_relu(x + layer.bias[None, :, None, None], 0.2) * math.sqrt(2)
            if layer.conv_clamp is not None:
                x = x.clamp(-layer.conv_clamp, layer.conv_clamp)
        idx += len(layers)
        rgb = block.torgb
        y = _modconv(x, rgb.weight, _affine(rgb.affine, ws[:, idx]) * rgb.weight_gain, False, 1, None, 0)
        y = y + rgb.bias[None, :, None, None]
        if rgb.conv_clamp is not None:
            y = y.clamp(-rgb.conv_clamp, rgb.conv_clamp)
        img = y if img is None else _upfir(img, f, 2, (2, 1), 4) + y
    return img


# ------------------------------------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(fn, ws: torch.Tensor, repeats: int, warmup: int, device: torch.device) -> float:
    """Best-of-``repeats`` images/s of ``fn(ws)``."""
    with torch.no_grad():
        for _ in range(warmup):
            fn(ws)
        _sync(device)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(ws)
            _sync(device)
            best = min(best, time.perf_counter() - t0)
    return ws.shape[0] / best


def interleaved(fns: dict, ws: torch.Tensor, repeats: int, warmup: int) -> dict[str, float]:
    """Median images/s of each ``fns[name](ws)``, the variants taking turns run by run (so load changes hit all)."""
    seconds = interleaved_seconds({k: (lambda fn=fn: fn(ws)) for k, fn in fns.items()}, repeats, warmup)
    return {k: ws.shape[0] / s for k, s in seconds.items()}


def run_nvlabs(checkout: str, sizes, batches, repeats, warmup, device, on_row=None) -> list[dict]:
    """NVlabs' generator (from ``checkout``) vs ours on the same weights; rows {size, batch, nvlabs, ours, ratio,
    max_pixel_diff, load}, printed as they come; ``on_row(rows)`` after each row."""
    networks = load_nvlabs_networks(checkout)
    rows = []
    for res in sizes:
        G = make_generator(res, device)
        twin = nvlabs_twin(networks, G, MAPPING_KWARGS, SYNTHESIS_KWARGS)
        for batch in batches:
            z = torch.randn([batch, 512], generator=torch.Generator().manual_seed(1)).to(device)
            with torch.no_grad():
                ws = G.mapping(z, None)
                ws_nv = twin.mapping(z, None)
            fns = {"nvlabs": nvlabs_synthesis(twin),
                   "ours": lambda w: synthesize(G, w, precision="float32")}
            with torch.no_grad():
                theirs, ours = to_uint8(fns["nvlabs"](ws_nv)), to_uint8(fns["ours"](ws))
                diff = int(np.abs(theirs.astype(np.int16) - ours.astype(np.int16)).max())
            ips = interleaved(fns, ws, repeats, warmup)
            row = {"size": res, "batch": batch, **ips, "ratio": ips["ours"] / ips["nvlabs"], "max_pixel_diff": diff,
                   "load": os.getloadavg()[0]}
            rows.append(row)
            if on_row is not None:
                on_row(rows)
            print(f"{res:>5} px  batch {batch:<2}  images/s: NVlabs {ips['nvlabs']:8.3f}  ours {ips['ours']:8.3f}  "
                  f"ours/NVlabs {row['ratio']:.2f}x  max pixel diff {diff}/255  (load {row['load']:.1f})",
                  flush=True)
        del G, twin
    return rows


def run(sizes, batches, repeats, warmup, device, on_row=None) -> list[dict]:
    """Measure every applicable variant; returns rows {size, batch, variant: images/s}; ``on_row(rows)`` is called
    after each row (partial results survive an interrupted run)."""
    rows = []
    for res in sizes:
        G = make_generator(res, device)
        for batch in batches:
            z = torch.randn([batch, 512], generator=torch.Generator().manual_seed(1)).to(device)
            ws = G.mapping(z, None)
            row = {"size": res, "batch": batch}

            def synth(dtype):
                def fn(w):
                    return G.synthesis(w, noise_mode="const", precision=dtype,
                                       channels_last=True if dtype == "float16" else None)
                return fn
            if device.type == "cuda":
                for ops in ("ref", "cuda", "cuda-generic"):  # cuda-generic: upfirdn2d without the tiled kernel
                    os.environ["STUDIO_OPS"] = ops.split("-")[0]
                    os.environ["STUDIO_OPS_TILED"] = "0" if ops == "cuda-generic" else "1"
                    if ops != "ref" and backend.status()["reason"]:  # a failed build: ref ops would stand in
                        row[f"{ops}/error"] = f"CUDA ops not built: {backend.status()['reason']}"
                        continue
                    for dtype in ("float32", "float16"):
                        try:
                            row[f"{ops}/{dtype}"] = images_per_second(synth(dtype), ws, repeats, warmup, device)
                        except RuntimeError as exc:  # custom ops could not be built
                            print(f"  ({ops} ops unavailable: {str(exc).splitlines()[0][:120]})")
                            row[f"{ops}/error"] = str(exc).splitlines()[0]
                            break
                os.environ["STUDIO_OPS"] = "auto"
                os.environ.pop("STUDIO_OPS_TILED")
            else:
                os.environ["STUDIO_OPS"] = "ref"
                with torch.no_grad():
                    diff = (plain_synthesis(G, ws) - G.synthesis(ws, noise_mode="const")).abs().max().item()
                row["check"] = diff
                row["ref/float32"] = images_per_second(synth("float32"), ws, repeats, warmup, device)
                row["plain/float32"] = images_per_second(lambda w: plain_synthesis(G, w), ws, repeats, warmup,
                                                         device)
            rows.append(row)
            print_row(row, device)
            if on_row is not None:
                on_row(rows)
        del G
    return rows


def run_sg3(config: str, sizes, batches, repeats, warmup, device, nvlabs: str | None) -> list[dict]:
    """Measure StyleGAN3 ``config``: ours vs NVlabs (``nvlabs`` checkout) or the plain version; rows of images/s."""
    rows = []
    for res in sizes:
        G, nv_kwargs = sg3.make_sg3(config, res, device)
        if nvlabs:
            ref = sg3.nvlabs_synthesis(nvlabs, G, nv_kwargs)
            base_name, base = "nvlabs", (lambda w: ref(w, noise_mode="const", force_fp32=True))
        else:
            base_name, base = "plain", (lambda w: sg3.plain_sg3_synthesis(G, w))
        for batch in batches:
            z = torch.randn([batch, 512], generator=torch.Generator().manual_seed(1)).to(device)
            ws = G.mapping(z, None)
            row = {"size": res, "batch": batch, "config": config}
            outs: dict[str, torch.Tensor] = {}

            def keep(fn, key):
                def run_once(w):
                    outs[key] = fn(w)
                    return outs[key]
                return run_once
            row["ours/float32"] = images_per_second(keep(lambda w: G.synthesis(w, force_fp32=True), "ours"), ws,
                                                    repeats, warmup, device)
            row[f"{base_name}/float32"] = images_per_second(keep(base, "base"), ws, repeats, warmup, device)
            row["check"] = (outs["base"] - outs["ours"]).abs().max().item()  # the timed runs' own outputs
            if device.type == "cuda":
                row["ours/float16"] = images_per_second(lambda w: G.synthesis(w), ws, repeats, warmup, device)
            ips = {k: v for k, v in row.items() if "/" in k}
            ratios = [f"ours/{base_name} {row['ours/float32'] / row[f'{base_name}/float32']:.2f}x",
                      f"same image: max|diff| {row['check']:.1e}"]
            if "ours/float16" in row:
                ratios.append(f"fp16/fp32 {row['ours/float16'] / row['ours/float32']:.2f}x")
            print(f"{config} {res:>5} px  batch {batch:<2}  images/s: " +
                  "  ".join(f"{k} {v:.3g} ({1 / v:.3g} s/img)" for k, v in ips.items()) + "  |  " +
                  ", ".join(ratios), flush=True)
            rows.append(row)
        del G
    return rows


def print_row(row: dict, device: torch.device) -> None:
    """Print one size/batch line with images/s and ratios."""
    ips = {k: v for k, v in row.items() if "/" in k and not k.endswith("/error")}
    parts = [f"{k} {v:8.2f}" for k, v in ips.items()]
    ratios = []
    if device.type == "cuda":
        if "cuda/float32" in ips:
            ratios.append(f"custom/ref fp32 {ips['cuda/float32'] / ips['ref/float32']:.2f}x")
        if "cuda/float16" in ips:
            ratios.append(f"custom/ref fp16 {ips['cuda/float16'] / ips['ref/float16']:.2f}x")
            ratios.append(f"fp16/fp32 (custom) {ips['cuda/float16'] / ips['cuda/float32']:.2f}x")
        if "cuda-generic/float16" in ips and "cuda/float16" in ips:
            ratios.append(f"tiled/generic fp16 {ips['cuda/float16'] / ips['cuda-generic/float16']:.2f}x")
        if "ref/float16" in ips:
            ratios.append(f"fp16/fp32 (ref) {ips['ref/float16'] / ips['ref/float32']:.2f}x")
    else:
        ratios.append(f"ref/plain {ips['ref/float32'] / ips['plain/float32']:.2f}x")
        ratios.append(f"same image: max|diff| {row['check']:.1e}")
    print(f"{row['size']:>5} px  batch {row['batch']:<2}  images/s: " + "  ".join(parts) + "  |  " + ", ".join(ratios),
          flush=True)


def main(argv=None) -> int:
    """Parse options, run, print; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512,1024", help="comma-separated resolutions")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per variant (best is kept)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--nvlabs", metavar="DIR", default=None,
                    help="a stylegan2-ada-pytorch checkout: time NVlabs' generator against ours (same weights)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: the inference policy of ganlib.ops.cpu_threads)")
    ap.add_argument("--arch", default="stylegan2,stylegan3-t,stylegan3-r",
                    help="comma-separated: stylegan2, stylegan3-t, stylegan3-r")
    ap.add_argument("--sg3-sizes", default="256", help="comma-separated resolutions for StyleGAN3")
    ap.add_argument("--nvlabs3", default=None, metavar="PATH",
                    help="a checkout of NVlabs/stylegan3: compare StyleGAN3 with its implementation")
    ap.add_argument("--json", help="also write {device, torch, rows} to this JSON file (rewritten after each row)")
    ap.add_argument("--compile", action="store_true",
                    help="StyleGAN2 on CPU: torch.compile's first-call cost (empty and warm Inductor cache, each in a "
                         "fresh process) against its per-frame gain, at --sizes, the first of --batches")
    ap.add_argument("--compile-child", metavar="RES,BATCH,REPEATS", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.compile_child:  # one fresh process of --compile: prints one JSON line
        res, batch, repeats = (int(v) for v in args.compile_child.split(","))
        apply_inference_threads()
        print(json.dumps(measure(make_generator(res, torch.device("cpu")), batch, repeats)))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    else:  # the policy every CPU render uses (ganlib.ops.cpu_threads), decided before the first timing
        apply_inference_threads()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    batches = [int(b) for b in args.batches.split(",") if b]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    archs = [a.strip() for a in args.arch.split(",") if a.strip()]
    unknown = [a for a in archs if a != "stylegan2" and a not in sg3.CONFIGS]
    if unknown:
        ap.error(f"--arch {unknown[0]!r}: allowed stylegan2, {', '.join(sg3.CONFIGS)}")
    all_rows: list[dict] = []
    on_row = None
    if args.json:
        def on_row(rows: list[dict]) -> None:
            Path(args.json).write_text(json.dumps({"device": name, "torch": torch.__version__,
                                                   "rows": all_rows + rows}, indent=2))
    if "stylegan2" in archs:
        print(f"StyleGAN2 synthesis throughput on {name} (torch {torch.__version__}), "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if args.compile:
            all_rows += compile_rows(str(Path(__file__).resolve()), sizes, batches[0], args.repeats, args.threads)
        elif args.nvlabs:
            all_rows += run_nvlabs(args.nvlabs, sizes, batches, args.repeats, args.warmup, device, on_row) or []
        else:
            if device.type == "cpu":
                print("CPU: custom CUDA ops and fp16 do not apply; reference ops vs a plain PyTorch implementation")
            all_rows += run(sizes, batches, args.repeats, args.warmup, device, on_row)
    for config in (a for a in archs if a in sg3.CONFIGS):
        print(f"{config} synthesis throughput on {name}: ours vs "
              f"{'NVlabs (' + args.nvlabs3 + ')' if args.nvlabs3 else 'a plain PyTorch version'}")
        all_rows += run_sg3(config, [int(s) for s in args.sg3_sizes.split(",") if s], batches, args.repeats,
                            args.warmup, device, args.nvlabs3)
        if on_row is not None:
            on_row([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
