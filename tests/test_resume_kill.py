"""SIGKILL a render subprocess, then `studio render --resume`: the decoded frames equal an uninterrupted render's
(MP4 and a PNG sequence), an unfinished MP4 never sits under its final name, and a kill while a chunk is generated
redoes only that chunk: the one before it, encoded meanwhile, is already in the manifest."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from studio.chunks import work_dir
from studio.chunks.manifest import MANIFEST_NAME
from tests.chunk_support import KILL_SCRIPT, decoded, png_frames, write_timeline
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
RNG = random.Random(int.from_bytes(os.urandom(4), "little"))


def _python(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), STUDIO_THREADS="1")  # the render's thread count, in its manifest
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _done(manifest: Path) -> list[int]:
    try:
        return sorted(int(i) for i in json.loads(manifest.read_text())["done"])
    except (OSError, ValueError, KeyError):
        return []


def _resume(*args: str) -> str:
    """Resume in this process, on torch's 2 threads: the chunks left are rendered on the manifest's 1 thread."""
    code, out, err = run_cli("render", *args, "--quiet", "--batch", "2", "--resume")
    assert code == 0, err
    return out


def test_a_kill_while_a_chunk_is_generated_redoes_only_that_chunk(tiny_models, tmp_path, one_torch_thread):
    """The render kills itself (SIGKILL) at a random chunk K, once chunk K-1 is in the manifest: it must get there
    while K would be generated (from its encoder's thread), not after. Resume renders K and the rest, nothing
    else, and the frames are those of one uninterrupted render."""
    from studio.render import render_timeline
    path, tl = write_timeline(tmp_path, chunk=2, end=0.75)  # 10 frames in 5 chunks
    want = decoded(render_timeline(tl, out=tmp_path / "want.mp4", progress=False, batch=2).path)
    torch.set_num_threads(2)  # the resume's own count (the fixture restores it)
    k, target = RNG.randint(1, 4), tmp_path / "x.mp4"
    proc = _python("-c", KILL_SCRIPT, str(path), str(target), str(k))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err
    assert out.strip() == "recorded", f"chunk {k - 1} was not in the manifest while chunk {k} was generated"
    manifest = work_dir(target, "video") / MANIFEST_NAME
    assert _done(manifest) == list(range(k)) and not target.exists()  # killed before the join: no final name
    stale = [tmp_path / f".x.mp4.{proc.pid}.abcd1234.part.mp4", manifest.parent / f".seg_00000.mp4.{proc.pid}.x.part"]
    for p in stale:  # temporary files of the dead render: removed on resume
        p.write_bytes(b"partial")
    text = _resume(str(path), "--out", str(target))
    assert re.search(rf"\b{5 - k} of 5 chunks rendered now", text), text  # chunk k (in flight) and the rest
    got = decoded(target)
    assert got.shape == want.shape == (10, 32, 32, 3) and np.array_equal(got, want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml", "want.mp4", "x.mp4"]  # no .part, no work


def test_sigkill_at_a_random_point_then_resume_equals_an_uninterrupted_png_render(tiny_models, tmp_path,
                                                                                 one_torch_thread):
    from studio.render import render_timeline
    path, tl = write_timeline(tmp_path, chunk=2, end=1.0)  # 13 frames in 7 chunks
    want = png_frames(render_timeline(tl, frames_dir=tmp_path / "want", progress=False, batch=2).path)
    torch.set_num_threads(2)  # the resume's own count (the fixture restores it)
    target = tmp_path / "frames"
    manifest = work_dir(target, "png") / MANIFEST_NAME
    chunks, extra = RNG.randint(1, 5), RNG.uniform(0, 0.1)  # kill after this many chunks, then this many seconds
    proc = _python("-m", "studio.cli", "render", str(path), "--frames", str(target), "--quiet", "--batch", "2")
    deadline = time.monotonic() + 240
    while len(_done(manifest)) < chunks and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the render ended before it was killed: {err}"
    if not manifest.exists():  # the signal landed after the last chunk and the join (the work files were gone):
        assert png_frames(target) == want  # a kill that late leaves the finished frames,
        assert "already finished (13 frames); nothing to resume" in _resume(str(path), "--frames", str(target))
        return  # and the resume says so (under load the last chunks can finish within `extra`)
    done = len(_done(manifest))
    assert json.loads(manifest.read_text())["state"] == ("complete" if done == 7 else "rendering")
    (target / f".frame_000000.png.{proc.pid}.abcd1234.part.png").write_bytes(b"partial")  # the dead render's
    text = _resume(str(path), "--frames", str(target))
    assert "resumed at frame" in text and f"{7 - done} of 7 chunks rendered now" in text, text
    assert png_frames(target) == want
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in (tmp_path / "want").iterdir())
