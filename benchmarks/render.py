"""Render throughput: generator-only frames/s vs full render-to-MP4 frames/s, measured side by side in one run.

Usage: python benchmarks/render.py [--timeline presets/timelines/demo.yaml] [--seconds 16] [--repeats 3]
                                  [--size native|timeline] [--preset veryfast] [--audio [TRACK]]
The last line is ``render/generator ratio: X.XX`` (target ≥ 0.90: resizing and encoding overlap generation).
With ``--audio`` the same render is also made with music (default: the demo track) and four react rules, muxed
into the MP4, interleaved with the plain render; the last line is then ``audio/plain render ratio: X.XX``
(target ≥ 0.90; the analysis is cached by a warm-up render first, as a second render of a timeline finds it).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def generator_only(tl, model, n: int, batch: int) -> float:
    """Return frames/s of the generator alone (keyframe resolution, planning and synthesis, no output)."""
    from ganlib.synth import Noise, generate
    from studio.engine import plan_frames
    from studio.resolve import resolve_keyframes
    G = model.G
    t0 = time.perf_counter()
    resolved = resolve_keyframes(tl, G)
    plan = plan_frames(tl, resolved.anchors, resolved.conds, stop=n, truncations=resolved.truncations)
    noise = Noise(G, "const" if tl.noise == "fixed" else tl.noise, tl.seed)
    for b0 in range(0, n, batch):
        sl = slice(b0, min(b0 + batch, n))
        img = generate(G, plan.latents[sl], space=resolved.space, psi=plan.truncation[sl], noise=noise,
                       noise_inputs=noise.inputs(seeds=plan.noise_seed[sl], phases=plan.noise_phase[sl]))
        img.sum().item()
    return n / (time.perf_counter() - t0)


def full_render(tl, n_seconds: float, batch: int, out: Path) -> tuple[float, int]:
    """Return (frames/s, frames) of a complete render to MP4 (generation, resize, H.264 encode, rename)."""
    from studio.render import render_timeline
    t0 = time.perf_counter()
    res = render_timeline(tl, out=out, duration=n_seconds, device="cpu", batch=batch, progress=False)
    return res.n_frames / (time.perf_counter() - t0), res.n_frames


AUDIO_RULES = [
    {"feature": "onsets", "band": "low", "target": "pulse", "seed": 99, "amount": 0.8, "decay": 0.25},
    {"feature": "rms", "band": "high", "target": "direction", "direction": "sefa2", "amount": 3.0},
    {"feature": "onsets", "target": "truncation", "amount": 0.3},
    {"feature": "chroma", "target": "chroma-blend", "seeds": list(range(1, 13)), "amount": 0.5},
]


def audio_comparison(tl, track: str, seconds: float, batch: int, repeats: int) -> float:
    """Render ``tl`` for ``seconds`` with and without music (``track`` + AUDIO_RULES), interleaved ``repeats``
    times; print each run and return the median audio/plain frames/s ratio."""
    from studio.timeline import timeline_from_dict, with_audio
    data = tl.model_dump()
    data.update(audio={"path": str(Path(track).absolute()), "offset": 0.0}, react=AUDIO_RULES)
    tl_audio = with_audio(timeline_from_dict(data, source=tl.source))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        full_render(tl_audio, min(seconds, 1.0), batch, Path(tmp) / "warm.mp4")  # SeFa directions, caches
        for r in range(repeats):
            plain, n = full_render(tl, seconds, batch, Path(tmp) / f"plain{r}.mp4")
            music, _ = full_render(tl_audio, seconds, batch, Path(tmp) / f"music{r}.mp4")
            ratios.append(music / plain)
            print(f"  run {r + 1}: plain {plain:7.1f} frames/s   with audio + {len(AUDIO_RULES)} react rules "
                  f"{music:7.1f} frames/s   ({n} frames)")
    return statistics.median(ratios)


def main() -> None:
    """Run the benchmark and print frames/s of both paths and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--timeline", default="presets/timelines/demo.yaml")
    ap.add_argument("--seconds", type=float, default=16.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--preset", default=None, help="x264 preset to use instead of the timeline's")
    ap.add_argument("--size", choices=["native", "timeline"], default="native",
                    help="native: the model's own size (default); timeline: the timeline's size (demo: 256 px)")
    ap.add_argument("--audio", nargs="?", const="presets/audio/demo_groove.flac", default=None, metavar="TRACK",
                    help="also compare the render with music and react rules (default track: the demo's)")
    args = ap.parse_args()
    from studio.render import get_model, planned_frame_count
    from studio.timeline import load_timeline
    tl = load_timeline(args.timeline)
    if args.size == "native":
        tl = tl.model_copy(update={"size": None})
    if args.preset:
        tl = tl.model_copy(update={"output": tl.output.model_copy(update={"preset": args.preset})})
    model = get_model(tl.model, "cpu")
    n = planned_frame_count(tl, args.seconds)
    print(f"timeline {args.timeline}: model {tl.model} ({model.G.img_resolution} px), output size "
          f"{tl.frame_size or 'native'}, x264 preset {tl.output.preset}, {n} frames, batch {args.batch}, torch threads {torch.get_num_threads()}")
    gen_fps, ren_fps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        generator_only(tl, model, min(n, 16), args.batch)  # warm-up
        for r in range(args.repeats):
            g = generator_only(tl, model, n, args.batch)
            f, _ = full_render(tl, args.seconds, args.batch, Path(tmp) / f"bench{r}.mp4")
            gen_fps.append(g)
            ren_fps.append(f)
            print(f"  run {r + 1}: generator {g:7.1f} frames/s   render-to-MP4 {f:7.1f} frames/s")
    g, f = statistics.median(gen_fps), statistics.median(ren_fps)
    print(f"generator-only: {g:.1f} frames/s (median of {args.repeats})")
    print(f"render-to-mp4:  {f:.1f} frames/s (median of {args.repeats})")
    native = None
    if tl.frame_size is not None:
        native = tl.frame_size
    print(f"render/generator ratio: {f / g:.2f}")
    if args.audio:
        ratio = audio_comparison(tl, args.audio, args.seconds, args.batch, args.repeats)
        print(f"audio/plain render ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
