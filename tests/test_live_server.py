"""The live player over loopback: OSC messages change the frames, bad packets do not stop it, the MJPEG stream
yields JPEG frames, and everything binds 127.0.0.1 unless told otherwise."""
from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading

import cv2
import numpy as np
import pytest

from studio.live.osc import OSCInput
from studio.live.player import Player
from studio.live.server import BOUNDARY, serve
from studio.render import get_model, iter_frames
from studio.timeline import parse_timeline

pytest.importorskip("pythonosc")
from pythonosc.udp_client import SimpleUDPClient  # noqa: E402

TIMELINE = """
model: builtin:tiny
fps: 30
truncation: 0.8
keyframes:
  - {time: 0, seed: 1}
  - {time: 1, seed: 2}
"""
DEADLINE = 60.0  # seconds; a deadline for events, never a timing assertion


@contextlib.contextmanager
def running(tmp_path, **kw):
    """A player (drawing as fast as it can, at most 20000 frames) with its OSC input on loopback; stopped after."""
    tl = parse_timeline(kw.pop("text", TIMELINE))
    player = Player(tl, get_model(tl.model), realtime=False, transition=0.0, workdir=tmp_path / "work")
    osc = OSCInput(player.submit, player.problems, port=0).start()
    thread = threading.Thread(target=player.run, kwargs={"max_frames": 20000}, daemon=True)
    thread.start()
    try:
        yield player, osc, SimpleUDPClient("127.0.0.1", osc.address[1])
    finally:
        player.stop()
        osc.close()
        thread.join(timeout=DEADLINE)
        player.close()
    assert not thread.is_alive()


def still(text: str) -> np.ndarray:
    """Frame 0 of a one-keyframe timeline (``text`` is its keyframe) drawn by the render path."""
    tl = parse_timeline(f"model: builtin:tiny\nfps: 30\ntruncation: 0.8\nkeyframes: [{text}]\n")
    return next(iter_frames(tl, get_model(tl.model), batch=1))[1]


def newest_after(player: Player, count: int) -> np.ndarray:
    """Wait until ``count`` controls were applied; return the newest frame (drawn after the last of them)."""
    assert player.wait_applied(count, DEADLINE)
    got = player.hub.wait_next(player.stats.last_frame - 1, DEADLINE)
    assert got is not None
    return got[1]


def test_osc_seed_truncation_and_direction_change_the_frames(tiny_models, tmp_path, one_torch_thread):
    with running(tmp_path) as (player, osc, client):
        client.send_message("/studio/seed", 5)
        seed5 = newest_after(player, 1)
        assert np.array_equal(seed5, still("{time: 0, seed: 5}"))
        client.send_message("/studio/direction/sefa0", 3.0)
        moved = newest_after(player, 2)
        assert not np.array_equal(moved, seed5)
        assert np.array_equal(moved, still("{time: 0, seed: 5, directions: {sefa0: 3.0}}"))
        client.send_message("/studio/truncation", 0.0)
        average = newest_after(player, 3)
        assert np.array_equal(average, still("{time: 0, seed: 999, truncation: 0.0}"))
    assert player.stats.rejected == 0 and player.stats.latency_ms is not None


def test_malformed_packets_and_unknown_addresses_do_not_stop_the_player(tiny_models, tmp_path, one_torch_thread):
    with running(tmp_path) as (player, osc, client):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"\x00\x01garbage", osc.address)
            raw.sendto(b"/studio/seed\x00\x00\x00\x00,i\x00", osc.address)  # truncated argument
        client.send_message("/studio/unknown", 1)
        client.send_message("/studio/seed", "seven")
        client.send_message("/studio/seed", 7)
        frame = newest_after(player, 1)
        assert np.array_equal(frame, still("{time: 0, seed: 7}"))
        assert not player.stopped.is_set()
        text = " | ".join(player.problems.messages)
        assert "unknown address '/studio/unknown'" in text and "whole number" in text
        assert "malformed" in text or "not OSC" in text
        client.send_message("/studio/stop", [])
        assert player.stopped.wait(DEADLINE)


def test_mjpeg_stream_yields_jpeg_frames(tiny_models, tmp_path, one_torch_thread):
    with running(tmp_path) as (player, osc, client):
        server = serve(player.hub, player.stats.as_dict, port=0)
        try:
            host, port = server.server_address[:2]
            conn = http.client.HTTPConnection(host, port, timeout=DEADLINE)
            conn.request("GET", "/stream.mjpg")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            images = []
            for _ in range(3):
                assert resp.readline().strip() == f"--{BOUNDARY}".encode()
                headers = {}
                while (line := resp.readline().strip()):
                    k, v = line.decode().split(":", 1)
                    headers[k.lower()] = v.strip()
                assert headers["content-type"] == "image/jpeg"
                data = resp.read(int(headers["content-length"]))
                resp.readline()
                img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                assert img is not None and img.shape == (32, 32, 3)
                images.append(img)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=DEADLINE)
            conn.request("GET", "/")
            assert b"/stream.mjpg" in conn.getresponse().read()
            conn.request("GET", "/stats.json")
            stats = json.loads(conn.getresponse().read())
            assert stats["frames"] >= 3 and "dropped" in stats and "latency_ms" in stats
            conn.close()
        finally:
            server.close()


def test_servers_bind_loopback_unless_told(tmp_path):
    from studio.live.controls import LogOnce
    from studio.live.player import FrameHub
    from studio.commands.live import command

    server = serve(FrameHub(), dict, port=0)
    osc = OSCInput(lambda c: None, LogOnce(), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert osc.address[0] == "127.0.0.1"
    finally:
        server.close()
        osc.server.server_close()
    host = next(p for p in command.params if p.name == "host")
    assert host.default == "127.0.0.1"
    other = serve(FrameHub(), dict, host="0.0.0.0", port=0)
    try:
        assert other.server_address[0] == "0.0.0.0"
    finally:
        other.close()


def test_a_control_discards_the_frame_drawn_ahead_and_shows_first(tiny_models, tmp_path, one_torch_thread):
    from studio.live.controls import parse_control
    tl = parse_timeline(TIMELINE)
    shown: list[tuple[int, np.ndarray]] = []
    player = Player(tl, get_model(tl.model), fps=4, transition=0.0, workdir=tmp_path / "work",
                    on_frame=lambda i, f: shown.append((i, f)))
    thread = threading.Thread(target=player.run, kwargs={"max_frames": 40}, daemon=True)
    thread.start()
    try:
        assert player.hub.wait_next(0, DEADLINE) is not None  # frame 1 shown: frame 2 is drawn and held ahead
        player.submit(parse_control("/studio/keyframe", [99]))  # rejected: the held frame stays good
        assert player.wait_applied(1, DEADLINE)
        assert player.hub.wait_next(1, DEADLINE) is not None and player.stats.discarded == 0
        player.submit(parse_control("/studio/seed", [5]))
        assert player.wait_applied(2, DEADLINE)
    finally:
        player.stop()
        thread.join(timeout=DEADLINE)
        player.close()
    assert player.stats.discarded >= 1
    [(_, m)] = player.applied_frames
    indices = [i for i, _ in shown]
    assert indices == sorted(set(indices)) and m in indices  # the stale frame was never shown
    assert np.array_equal(dict(shown)[m], still("{time: 0, seed: 5}"))


def test_the_player_thread_draws_through_the_fast_cpu_path(tiny_models, tmp_path, one_torch_thread, monkeypatch):
    from ganlib.ops import fast_cpu
    calls = []
    real = fast_cpu.modulated_conv_lrelu
    monkeypatch.setattr(fast_cpu, "modulated_conv_lrelu", lambda *a, **k: calls.append(1) or real(*a, **k))
    tl = parse_timeline(TIMELINE)
    player = Player(tl, get_model(tl.model), realtime=False, workdir=tmp_path / "work")
    thread = threading.Thread(target=player.run, kwargs={"max_frames": 2})  # grad mode is per thread
    thread.start()
    thread.join(timeout=DEADLINE)
    player.close()
    assert player.stats.frames == 2 and len(calls) > 0
