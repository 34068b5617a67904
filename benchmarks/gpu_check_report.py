"""Helpers of benchmarks/gpu_check.sh (standard library only, torch where a step needs it):

    --modules [--need-cuda]   print torch/CUDA/GPU and which modules each step needs are missing
                              (--need-cuda: exit 1 without a CUDA build of torch and a visible GPU)
    --render-demo             render presets/timelines/demo.yaml at 1024 px on CUDA, write render.json
    --dir DIR                 turn DIR's steps.tsv, generator.json, render.json, build.log into results.json + .md
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDS = {  # module -> the steps that need it
    "torch": "all", "numpy": "all", "pytest": "tests", "click": "render", "yaml": "render", "pydantic": "render",
    "PIL": "render", "cv2": "render", "scipy": "render", "safetensors": "render", "tqdm": "render",
    "imageio": "render", "imageio_ffmpeg": "render as MP4 (else PNG frames)", "ninja": "build",
}


def modules(need_cuda: bool) -> int:
    """Print the environment the steps will see; returns the exit status."""
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    for m in missing:
        print(f"  absent   python module {m} (needed by: {NEEDS[m]})")
    if not need_cuda:  # a dry run: what is there, without importing anything heavy
        print(f"  present  python modules {', '.join(m for m in NEEDS if m not in missing)}")
        return 0
    if "torch" in missing:
        return 1
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(f"  python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, GPU {gpu}")
    if os.environ.get("GPU_CHECK_DIR"):
        env = {"python": sys.version.split()[0], "torch": torch.__version__, "torch_cuda": torch.version.cuda,
               "gpu": gpu, "missing_modules": missing}
        (Path(os.environ["GPU_CHECK_DIR"]) / "env.json").write_text(json.dumps(env, indent=2))
    if need_cuda and gpu is None:
        print("gpu_check: this Python's torch sees no GPU (a CPU build, or no driver): nothing to check here")
        return 1
    return 0


def render_demo(out_dir: Path, work: Path) -> int:
    """Render the demo timeline at 1024 px with --device cuda; writes render.json; returns the CLI's status."""
    from studio.cli import main
    text = (ROOT / "presets" / "timelines" / "demo.yaml").read_text()
    timeline = work / "demo-1024.yaml"
    timeline.write_text(re.sub(r"(?m)^size:.*$", "size: 1024", text))
    video = importlib.util.find_spec("imageio_ffmpeg") is not None
    target = work / ("demo-1024.mp4" if video else "frames")
    args = ["render", str(timeline), "--device", "cuda", "--quiet"]
    args += ["--out", str(target)] if video else ["--frames", str(target), "--duration", "4"]
    t0 = time.perf_counter()
    status = main(args)
    seconds = time.perf_counter() - t0
    if video and target.exists():
        import imageio_ffmpeg
        frames = imageio_ffmpeg.count_frames_and_secs(str(target))[0]
    else:
        frames = len(list(target.glob("*.png"))) if target.exists() else 0
    info = {"status": status, "output": "mp4" if video else "png frames", "size": 1024, "frames": frames,
            "seconds": round(seconds, 2), "frames_per_s": round(frames / seconds, 2) if seconds > 0 else None,
            "bytes": target.stat().st_size if video and target.exists() else None}
    (out_dir / "render.json").write_text(json.dumps(info, indent=2))
    print(f"render: {frames} frames in {seconds:.1f} s ({info['frames_per_s']} frames/s), status {status}")
    return int(status or 0)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _ratio(row: dict, a: str, b: str) -> str:
    return f"{row[a] / row[b]:.2f}x" if row.get(a) and row.get(b) else "-"


def report(d: Path) -> int:
    """Write results.json and results.md for the folder ``d``; returns 0."""
    steps = []
    if (d / "steps.tsv").exists():
        lines = (d / "steps.tsv").read_text().splitlines()[1:]
        for ln in lines:
            name, status, seconds, rc = (ln.split("\t") + ["", "", "", ""])[:4]
            steps.append({"step": name, "status": status, "seconds": int(seconds or 0), "rc": rc})
    gen = _read_json(d / "generator.json") or {}
    env = _read_json(d / "env.json") or {}
    gen.setdefault("device", env.get("gpu"))
    gen.setdefault("torch", env.get("torch"))
    render = _read_json(d / "render.json")
    build_errors = []
    if (d / "build.log").exists():
        sys.path.insert(0, str(ROOT))
        from ganlib.ops.build_log import compiler_errors
        build_errors = compiler_errors((d / "build.log").read_text(errors="replace"))
    results = {"device": gen.get("device"), "torch": gen.get("torch"), "env": env, "steps": steps,
               "generator": gen.get("rows", []), "render": render, "build_errors": build_errors}
    (d / "results.json").write_text(json.dumps(results, indent=2))

    md = [f"# GPU check: {gen.get('device') or 'device unknown'} (torch {gen.get('torch') or '?'})", "",
          "| step | status | seconds |", "| --- | --- | --- |"]
    md += [f"| {s['step']} | {s['status']} | {s['seconds']} |" for s in steps]
    if build_errors:
        md += ["", "Build errors (first lines):", "", "```", *build_errors, "```"]
    if results["generator"]:
        md += ["", "Generator images/s (StyleGAN2 config-f layout, random weights; best of 3):", "",
               "| px | batch | ref fp32 | custom fp32 | generic fp32 | ref fp16 | custom fp16 | generic fp16 "
               "| custom/ref fp32 | custom/ref fp16 | fp16/fp32 custom | tiled/generic fp16 |",
               "| --- " * 12 + "|"]
        for r in results["generator"]:
            cells = [f"{r[k]:.1f}" if isinstance(r.get(k), float) else "-"
                     for k in ("ref/float32", "cuda/float32", "cuda-generic/float32", "ref/float16", "cuda/float16",
                               "cuda-generic/float16")]
            ratios = [_ratio(r, "cuda/float32", "ref/float32"), _ratio(r, "cuda/float16", "ref/float16"),
                      _ratio(r, "cuda/float16", "cuda/float32"), _ratio(r, "cuda/float16", "cuda-generic/float16")]
            md.append(f"| {r['size']} | {r['batch']} | " + " | ".join(cells + ratios) + " |")
        md += ["", "custom = the CUDA ops (tiled upfirdn2d where it applies), generic = the CUDA ops with "
                   "STUDIO_OPS_TILED=0; targets at 1024 px: custom/ref >= 1.3x, fp16/fp32 >= 1.8x."]
        errors = sorted({r[k] for r in results["generator"] for k in r if k.endswith("/error")})
        md += [f"- {e}" for e in errors]
    if render:
        md += ["", f"Demo at 1024 px on CUDA ({render['output']}): {render['frames']} frames in {render['seconds']} s"
                   f" = {render['frames_per_s']} frames/s (status {render['status']})"]
    (d / "results.md").write_text("\n".join(md) + "\n")
    return 0


def main(argv=None) -> int:
    """Dispatch on the mode flags; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", action="store_true")
    ap.add_argument("--need-cuda", action="store_true")
    ap.add_argument("--render-demo", action="store_true")
    ap.add_argument("--dir")
    args = ap.parse_args(argv)
    if args.modules:
        return modules(args.need_cuda)
    if args.render_demo:
        sys.path.insert(0, str(ROOT))
        return render_demo(Path(os.environ["GPU_CHECK_DIR"]), Path(os.environ["GPU_CHECK_WORK"]))
    if args.dir:
        return report(Path(args.dir))
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
