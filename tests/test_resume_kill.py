"""SIGKILL a `studio render` subprocess at a random point, then `--resume`: the decoded frames equal an
uninterrupted render's (MP4 and a PNG sequence), and an unfinished MP4 never sits under its final name."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from studio.chunks import work_dir
from studio.chunks.manifest import MANIFEST_NAME
from tests.chunk_support import decoded, png_frames, write_timeline

ROOT = Path(__file__).resolve().parents[1]


def _studio(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "studio.cli", "render", *args, "--quiet", "--batch", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _done_chunks(manifest: Path) -> int:
    try:
        return len(json.loads(manifest.read_text())["done"])
    except (OSError, ValueError, KeyError):
        return 0


def _kill_at_random_point(args: list[str], manifest: Path, rng: random.Random) -> None:
    """Start the render, wait until ``rng`` picks a point (1..4 chunks done, then 0-0.25 s more), SIGKILL it."""
    want, extra = rng.randint(1, 4), rng.uniform(0, 0.25)
    proc = _studio(*args)
    deadline = time.monotonic() + 240
    while _done_chunks(manifest) < want and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the render ended before it was killed: {err}"


@pytest.mark.parametrize("kind", ["mp4", "png"])
def test_sigkill_then_resume_equals_an_uninterrupted_render(tiny_models, tmp_path, kind):
    from studio.render import render_timeline
    path, tl = write_timeline(tmp_path, chunk=2, end=2.0)  # 25 frames in 13 chunks
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    if kind == "mp4":
        target, args = tmp_path / "x.mp4", [str(path), "--out", str(tmp_path / "x.mp4")]
        want = decoded(render_timeline(tl, out=tmp_path / "want.mp4", progress=False, batch=2).path)
    else:
        target, args = tmp_path / "frames", [str(path), "--frames", str(tmp_path / "frames")]
        want = png_frames(render_timeline(tl, frames_dir=tmp_path / "want", progress=False, batch=2).path)
    manifest = work_dir(target, "png" if kind == "png" else "video") / MANIFEST_NAME
    _kill_at_random_point(args, manifest, rng)
    if kind == "mp4":
        assert not target.exists()  # killed before the join: nothing under the final name
    assert json.loads(manifest.read_text())["state"] == "rendering"
    proc = _studio(*args, "--resume")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "resumed at frame" in out and "frames were done" in out
    if kind == "mp4":
        got = decoded(target)
        assert got.shape == want.shape and np.array_equal(got, want)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml", "want.mp4", "x.mp4"]  # no .part, no work
    else:
        assert png_frames(target) == want
        assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in (tmp_path / "want").iterdir())
