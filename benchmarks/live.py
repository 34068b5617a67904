"""Live player figures, measured side by side in one run:

1. latency: an OSC message sent on loopback → the first frame that shows it is ready, in frame periods, with the
   player paced at ``--fps`` (target ≤ 2 periods at 30 fps on 2 CPU cores with the default model);
2. throughput: frames/s of the player drawing as fast as it can (controls applied per frame, the MJPEG stream read
   by one client) vs the generator alone on the same latents, batch 1 (target ratio ≥ 0.90).

Both are printed with the generator's own drawing time (ms/frame, batch 1, measured in the same run), so machine load
(a slow generator) and player overhead (player ms/frame minus generator ms/frame) read apart: the latency cannot be
below one drawing time, so on a loaded machine compare "latency in drawing times" (about 1-2 when the player adds
nothing) with the target.

Usage: python benchmarks/live.py [--timeline presets/timelines/demo.yaml] [--fps 30] [--messages 20]
                                 [--frames 120] [--repeats 3] [--size native|timeline] [--threads 1]
"""
from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def generator_only(tl, model, n: int) -> float:
    """Return frames/s of the generator alone for frames 0..n-1 of ``tl``, batch 1: ``ganlib.synth.generate`` and
    the uint8 pixels at the timeline's size (``studio.render.generate_plan`` + ``postprocess``) on a ready plan."""
    from dataclasses import fields, replace

    from studio.engine import plan_frames
    from studio.render import generate_plan, postprocess, timeline_noise
    from studio.resolve import resolve_keyframes
    G = model.G
    resolved = resolve_keyframes(tl, G)
    plan = plan_frames(tl, resolved.anchors, resolved.conds, stop=n, truncations=resolved.truncations)
    noise = timeline_noise(tl, G)
    t0 = time.perf_counter()
    per_frame = [f.name for f in fields(plan) if isinstance(getattr(plan, f.name), np.ndarray)]
    for i in range(plan.n_frames):
        one = replace(plan, n_frames=1, start=plan.start + i,
                      **{name: getattr(plan, name)[i:i + 1] for name in per_frame})
        postprocess(generate_plan(G, tl, resolved.space, one, noise), tl.frame_size)
    return plan.n_frames / (time.perf_counter() - t0)


def read_stream(url_host: str, port: int, stop: threading.Event) -> None:
    """Read the MJPEG stream until ``stop`` (a client such as a browser or OBS)."""
    conn = http.client.HTTPConnection(url_host, port, timeout=10)
    conn.request("GET", "/stream.mjpg")
    resp = conn.getresponse()
    while not stop.is_set():
        if not resp.read(4096):
            break
    conn.close()


def player_fps(tl, model, n: int, stream: bool) -> float:
    """Return frames/s of the live player drawing ``n`` frames unpaced (a truncation control every 10 frames),
    with one MJPEG client reading when ``stream``, timed from the first frame shown to the last."""
    from studio.live.controls import parse_control
    from studio.live.player import Player
    from studio.live.server import serve
    first: list[float] = []  # sustained rate: timed from the first frame shown (its set-up is not counted)

    def on_frame(i, f):
        if not first:
            first.append(time.perf_counter())
        if i % 10 == 5:
            player.submit(parse_control("/studio/truncation", [0.5 + 0.02 * (i // 10 % 10)]))

    with tempfile.TemporaryDirectory() as work:
        player = Player(tl, model, realtime=False, workdir=work, on_frame=on_frame)
        server = serve(player.hub, player.stats.as_dict, port=0) if stream else None
        stop = threading.Event()
        reader = None
        if server is not None:
            reader = threading.Thread(target=read_stream, args=(*server.server_address[:2], stop), daemon=True)
            reader.start()
        player.run(max_frames=n)
        seconds = time.perf_counter() - first[0]
        stop.set()
        if server is not None:
            server.close()
        player.close()
    return (n - 1) / seconds


def latency(tl, model, fps: float, messages: int) -> tuple[list[float], int, int, float]:
    """Return (latency of each message in frame periods, frames drawn, frames dropped, median ms to draw a frame)
    of a paced player."""
    from pythonosc.udp_client import SimpleUDPClient

    from studio.live.osc import OSCInput
    from studio.live.player import Player
    published: dict[int, float] = {}
    draw_ms: list[float] = []

    def on_frame(i, f):
        published[i] = time.monotonic()
        draw_ms.append(player.stats.frame_ms)

    with tempfile.TemporaryDirectory() as work:
        player = Player(tl, model, fps=fps, workdir=work, transition=0.0, on_frame=on_frame)
        osc = OSCInput(player.submit, player.problems, port=0).start()
        client = SimpleUDPClient("127.0.0.1", osc.address[1])
        thread = threading.Thread(target=player.run, daemon=True)
        thread.start()
        pause = threading.Event()
        sent = []
        rng = np.random.default_rng(0)
        pause.wait(1.0)  # let the player settle
        for k in range(messages):
            pause.wait(float(rng.uniform(0.15, 0.35)))  # messages at random phases of the frame clock
            sent.append(time.monotonic())
            client.send_message("/studio/seed" if k % 2 else "/studio/truncation", k if k % 2 else 0.5 + k / 100)
            player.wait_applied(k + 1, 10.0)
        player.hub.wait_next(player.stats.last_frame, 5.0)
        player.stop()
        thread.join(10)
        osc.close()
        player.close()
    out = []
    for t_sent, (_, frame) in zip(sent, player.applied_frames):
        if frame in published:
            out.append((published[frame] - t_sent) * fps)
    return out, player.stats.frames, player.stats.dropped, statistics.median(draw_ms) if draw_ms else 0.0


def main() -> None:
    """Parse the arguments, measure, print the figures."""
    import torch

    from studio.render import get_model
    from studio.timeline import load_timeline, timeline_from_dict
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--timeline", type=Path, default=Path("presets/timelines/demo.yaml"))
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--messages", type=int, default=20)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", choices=["native", "timeline"], default="timeline")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads, as 'studio live --threads' (default 1, as it; 0 = torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tl = load_timeline(args.timeline)
    if args.size == "native":
        tl = timeline_from_dict({**tl.model_dump(exclude_none=True, exclude={"size"})}, source=tl.source)
    model = get_model(tl.model, "cpu")
    size = tl.frame_size or (model.G.img_resolution,) * 2
    print(f"torch threads {torch.get_num_threads()}; model {tl.model}; frames {size[0]}x{size[1]}")
    from studio.live.performance import live_settings
    flat = timeline_from_dict({**live_settings(tl), "keyframes": [k.model_dump(exclude_none=True)
                                                                  for k in tl.keyframes]}, source=tl.source)
    gen, live, live_stream = [], [], []
    generator_only(flat, model, 8)  # warm up
    for _ in range(args.repeats):
        gen.append(generator_only(flat, model, args.frames))
        live.append(player_fps(tl, model, args.frames, stream=False))
        live_stream.append(player_fps(tl, model, args.frames, stream=True))
    g, pl, ps = (statistics.median(x) for x in (gen, live, live_stream))
    period_ms = 1000 / args.fps
    print(f"generator alone: {g:.1f} frames/s = {1000 / g:.1f} ms/frame ({1000 / g / period_ms:.2f} periods at "
          f"{args.fps:g} fps); player: {pl:.1f} frames/s = {1000 / pl:.1f} ms/frame (player overhead "
          f"{1000 / pl - 1000 / g:+.1f} ms/frame); player + MJPEG client: {ps:.1f} (medians of {args.repeats})")
    lat, drawn, dropped, draw_ms = latency(tl, model, args.fps, args.messages)
    if lat:
        med = statistics.median(lat)
        print(f"OSC → frame at {args.fps:g} fps: median {med:.2f} periods ({med * period_ms:.1f} ms), max "
              f"{max(lat):.2f} ({len(lat)} messages; {drawn} frames drawn, {dropped} dropped); a frame took "
              f"{draw_ms:.1f} ms to draw in the player = {draw_ms / period_ms:.2f} periods, so the latency is "
              f"{med * period_ms / max(draw_ms, 1e-9):.2f} drawing times")
        print(f"target latency <= 2 periods: {'met' if med <= 2 else 'NOT met'} (median {med:.2f}, max "
              f"{max(lat):.2f})")
    print(f"player/generator ratio: {pl / g:.2f} (with a stream client: {ps / g:.2f}); target >= 0.90: "
          f"{'met' if min(pl, ps) / g >= 0.9 else 'NOT met'}")

if __name__ == "__main__":
    main()
