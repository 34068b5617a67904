"""Chunks as Ray tasks (``--ray local``): the same frames as one process (a CPU task runs the render's thread count,
here 1, and holds as many CPUs), and a task whose worker is SIGKILLed is retried by Ray. Skipped when Ray (the
optional extra) is not installed."""
from __future__ import annotations

import numpy as np
import pytest

from studio.chunks.backends import FAULT_ENV
from tests.chunk_support import decoded, write_timeline

ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install "latent-studio[ray]"')


@pytest.fixture()
def no_ray_left():
    """Make sure no Ray runtime outlives the test (the renderer shuts down what it started)."""
    yield
    assert not ray.is_initialized()
    ray.shutdown()


def test_ray_local_gives_the_frames_of_one_process_and_retries_a_killed_worker(tiny_models, tmp_path, monkeypatch,
                                                                              no_ray_left, one_torch_thread):
    from studio.render import render_timeline
    _, tl = write_timeline(tmp_path, chunk=2, end=0.5)  # 7 frames in 4 chunks
    one = render_timeline(tl, out=tmp_path / "one.mp4", progress=False, batch=2)
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(FAULT_ENV, f"2:{marker}")  # the Ray worker running chunk 2 is SIGKILLed the first time
    seen = []
    got = render_timeline(tl, out=tmp_path / "ray.mp4", progress=False, batch=2, ray="local", workers=2,
                          on_progress=lambda done, total: seen.append(done))
    assert seen[-1] == 7 and max(seen) == 7  # frames reported by the tasks, never past the total
    assert marker.exists() and got.chunks == 4 and got.threads == one.threads == 1
    assert np.array_equal(decoded(got.path), decoded(one.path))
