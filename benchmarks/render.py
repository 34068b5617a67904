"""Render throughput, measured side by side in one run: generator-only, single-stream MP4 (one ffmpeg for all
frames), chunked MP4 (``studio render``: segments joined by stream copy), and with ``--workers N`` / ``--ray local``
the chunked render on N local processes / Ray tasks.

Usage: python benchmarks/render.py [--timeline presets/timelines/demo.yaml] [--seconds 16] [--repeats 3]
                                  [--size native|timeline] [--preset veryfast] [--chunk-frames 60]
                                  [--workers 2] [--ray local] [--audio [TRACK]]
All three comparisons side by side in one run: ``python benchmarks/render.py --workers 2 --ray local``.
Prints ``chunked/single-stream ratio`` (target ≥ 0.95: chunking costs little), ``N workers / 1 worker`` and
``ray / 1 worker`` throughput ratios; the last line is ``render/generator ratio: X.XX`` (target ≥ 0.90).
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


def single_stream(tl, model, n: int, batch: int, out: Path) -> float:
    """Return frames/s of the frames streamed into one MP4 by one ffmpeg (no chunks: the baseline of chunking)."""
    from studio.render import iter_frames
    from studio.sinks import open_sink
    t0 = time.perf_counter()
    with open_sink(out, fps=tl.fps, codec=tl.output.codec_name, crf=tl.output.crf, preset=tl.output.preset) as sink:
        for _, frame in iter_frames(tl, model, stop=n, batch=batch):
            sink.write(frame)
    return n / (time.perf_counter() - t0)


def full_render(tl, n_seconds: float, batch: int, out: Path, workers: int = 1,
                ray: str | None = None) -> tuple[float, int]:
    """Return (frames/s, frames) of a complete chunked render to MP4 (``studio render``: generation, resize, H.264
    segments, join, rename) on ``workers`` local processes or Ray (``ray``)."""
    from studio.render import render_timeline
    t0 = time.perf_counter()
    res = render_timeline(tl, out=out, duration=n_seconds, device="cpu", batch=batch, progress=False,
                          workers=workers, ray=ray)
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
    ap.add_argument("--chunk-frames", type=int, default=None, help="output.chunk_frames (default: the timeline's)")
    ap.add_argument("--workers", type=int, default=1, help="also time the chunked render on N local processes")
    ap.add_argument("--ray", default=None, help="also time it as Ray tasks ('local' or a cluster address)")
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
    if args.chunk_frames:
        tl = tl.model_copy(update={"output": tl.output.model_copy(update={"chunk_frames": args.chunk_frames})})
    model = get_model(tl.model, "cpu")
    n = planned_frame_count(tl, args.seconds)
    from studio.chunks import default_chunk_frames, plan_chunks
    chunks = len(plan_chunks(n, tl.output.chunk_frames or default_chunk_frames(tl.fps, "video"), args.batch))
    print(f"timeline {args.timeline}: model {tl.model} ({model.G.img_resolution} px), output size "
          f"{tl.frame_size or 'native'}, x264 preset {tl.output.preset}, {n} frames in {chunks} chunks, batch "
          f"{args.batch}, torch threads {torch.get_num_threads()}")
    runs: dict[str, list[float]] = {"generator": [], "single-stream": [], "chunked": []}
    if args.workers > 1:
        runs[f"{args.workers} workers"] = []
    if args.ray:
        runs["ray"] = []
    with tempfile.TemporaryDirectory() as tmp:
        generator_only(tl, model, min(n, 16), args.batch)  # warm-up
        for r in range(args.repeats):
            out = Path(tmp) / f"bench{r}.mp4"
            times = {"generator": lambda: generator_only(tl, model, n, args.batch),
                     "single-stream": lambda: single_stream(tl, model, n, args.batch, out),
                     "chunked": lambda: full_render(tl, args.seconds, args.batch, out)[0],
                     f"{args.workers} workers": lambda: full_render(tl, args.seconds, args.batch, out,
                                                                    workers=args.workers)[0],
                     "ray": lambda: full_render(tl, args.seconds, args.batch, out, workers=args.workers,
                                                ray=args.ray)[0]}
            names = list(runs) if r % 2 == 0 else list(runs)[::-1]  # alternate the order against drift
            for name in names:
                runs[name].append(times[name]())
            print(f"  run {r + 1}: " + "   ".join(f"{k} {v[-1]:6.1f}" for k, v in runs.items()) + " frames/s")
    med = {k: statistics.median(v) for k, v in runs.items()}
    for k, v in med.items():
        print(f"{k + ':':16s}{v:7.1f} frames/s (median of {args.repeats})")
    print(f"chunked/single-stream ratio: {med['chunked'] / med['single-stream']:.2f} (target >= 0.95)")
    if args.workers > 1:
        print(f"{args.workers} workers / 1 worker: {med[f'{args.workers} workers'] / med['chunked']:.2f}")
    if args.ray:
        print(f"ray {args.ray} ({args.workers} CPUs) / 1 worker: {med['ray'] / med['chunked']:.2f}")
    print(f"render/generator ratio: {med['chunked'] / med['generator']:.2f}")
    if args.audio:
        ratio = audio_comparison(tl, args.audio, args.seconds, args.batch, args.repeats)
        print(f"audio/plain render ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
