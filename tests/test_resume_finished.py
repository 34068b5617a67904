"""A finished render is recognised by ``--resume`` (one line, exit 0, nothing rendered) and only while the output is
the one that render wrote; a second render of an output that is being rendered is refused (exit 2); a lock left
by a killed process is taken over; progress counts from workers never double-count a retried chunk."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from studio.chunks.backends import ChunkProgress
from studio.chunks.lock import lock_path, render_lock
from studio.chunks.manifest import MANIFEST_NAME
from studio.chunks.plan import plan_chunks
from tests.chunk_support import write_timeline
from tests.conftest import run_cli


def test_resume_of_a_finished_render_says_so_and_a_changed_output_is_not_finished(tiny_models, tmp_path,
                                                                                  monkeypatch, one_torch_thread):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path, _ = write_timeline(tmp_path, chunk=8)
    out = tmp_path / "x.mp4"
    args = ["render", str(path), "--out", str(out), "--quiet", "--batch", "2", "--duration", "0.25"]
    code, text, err = run_cli(*args)
    assert code == 0, err
    before = out.stat()
    code, text, err = run_cli(*args, "--resume")
    assert code == 0 and text.strip() == f"{out} is already finished (3 frames); nothing to resume", err  # 0.25 s at 12 fps
    assert out.stat().st_mtime_ns == before.st_mtime_ns  # not rendered again
    _, other = write_timeline(tmp_path, chunk=8, end=1.5, name="other.yaml")  # another render of the same output
    code, text, err = run_cli("render", str(tmp_path / "other.yaml"), *args[2:], "--resume")
    assert code == 0 and "already finished" not in text and "wrote" in text, err
    code, text, err = run_cli(*args, "--resume")  # the output is the other timeline's now: not this one's
    assert code == 0 and "already finished" not in text and "wrote" in text, err


def test_resume_of_a_finished_png_sequence_says_so_until_a_frame_changes(tiny_models, tmp_path, monkeypatch,
                                                                        one_torch_thread):
    """The record is taken before the manifest is removed from the folder: that removal must not unmake it."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path, _ = write_timeline(tmp_path, chunk=2)
    out = tmp_path / "frames"
    args = ["render", str(path), "--frames", str(out), "--quiet", "--batch", "2", "--duration", "0.25"]
    code, text, err = run_cli(*args)
    assert code == 0 and not (out / MANIFEST_NAME).exists(), err
    code, text, err = run_cli(*args, "--resume")
    assert code == 0 and text.strip() == f"{out} is already finished (3 frames); nothing to resume", err
    frame = out / "frame_000001.png"
    os.utime(frame, ns=(frame.stat().st_atime_ns, frame.stat().st_mtime_ns + 10**9))  # a frame touched since
    code, text, err = run_cli(*args, "--resume")
    assert code == 0 and "already finished" not in text and "wrote" in text, err


def test_a_second_render_of_the_same_output_is_refused_and_a_dead_holders_lock_is_taken(tiny_models, tmp_path):
    path, _ = write_timeline(tmp_path, chunk=8)
    out = tmp_path / "x.mp4"
    args = ["render", str(path), "--out", str(out), "--quiet", "--duration", "0.1"]
    with render_lock(out):  # a render of x.mp4 in flight (this process holds the lock)
        code, text, err = run_cli(*args)
    assert code == 2 and not out.exists()
    assert err.strip() == (f"error: {out}: '--out': another render is writing this output (process {os.getpid()} "
                           f"on {os.uname().nodename}); wait for it to finish or stop it")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock_path(out).write_text(json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename}))  # killed holder
    code, text, err = run_cli(*args)
    assert code == 0 and out.exists() and not lock_path(out).exists(), err


def test_worker_progress_counts_each_frame_once_across_retries():
    seen = []
    counter = ChunkProgress(seen.append, plan_chunks(10, 4))  # chunks of 4, 4, 2 frames
    counter.add(0, 3)
    counter.add(1, 9)  # more than the chunk holds: clamped
    counter.restart(0)  # its worker died: its frames are taken back, it starts again
    counter.add(0, 4)
    counter.finish(2)
    counter.add(2, 1)  # a late message of a finished chunk
    counter.finish(0)
    counter.finish(1)
    assert seen == [3, 4, -3, 4, 2] and sum(seen) == 10
