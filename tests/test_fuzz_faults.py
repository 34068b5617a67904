"""Faults: a full disk (a 96 KiB tmpfs in a private mount namespace, where the machine allows one) and kill -9 in the
middle of a render. A full disk gives one line and exit 2, with no partial output left; a killed render leaves
nothing under the final name.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fuzz_cases import _case, timeline
from tests.test_fuzz_cli import ROOT, check, leftovers


def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, timeout=20)
    return probe.returncode == 0


def test_disk_full_is_one_line_and_leaves_nothing(tiny_model_dir, tmp_path):
    if not _can_mount_tmpfs():
        pytest.skip("no private tmpfs here (unshare -rm + mount not permitted)")
    full = tmp_path / "full"
    full.mkdir()
    tl = tmp_path / "t.yaml"
    tl.write_text(timeline(str(tiny_model_dir / "tiny.safetensors"),
                           "  - {time: 0, seed: 1}\n  - {time: 8, seed: 2}\n"))
    cases = [_case("disk-full-png-frames", ["render", tl, "--frames", full / "frames", "--quiet"], says=["disk full"]),
             _case("disk-full-convert", ["convert", tiny_model_dir / "tiny.safetensors", full / "c.safetensors"],
                   says=["disk full"], absent=[full / "c.safetensors"]),
             _case("disk-full-video", ["render", tl, "--out", full / "v.mp4", "--quiet"], absent=[full / "v.mp4"])]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = (f"mount -t tmpfs -o size=96k tmpfs {full} && "
              f"{sys.executable} {ROOT / 'tests' / 'fuzz_harness.py'} {tmp_path / 'cases.json'} "
              f"{tmp_path / 'results.json'}; ls -la {full} {full / 'frames'} > {tmp_path / 'listing.txt'} 2>&1")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, timeout=400, capture_output=True)
    results = {r["name"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    listing = (tmp_path / "listing.txt").read_text()
    problems = {c["name"]: check(c, results.get(c["name"]), {}) for c in cases}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, json.dumps(problems, indent=1)
    assert ".part" not in listing, listing  # inside the namespace: no partial file was left on the full disk


@pytest.mark.fuzz_full
def test_kill_9_mid_render_leaves_no_final_file_and_a_rerun_cleans_up(tiny_model_dir, tmp_path):
    tl = tmp_path / "t.yaml"
    tl.write_text(timeline(str(tiny_model_dir / "tiny.safetensors"),
                           "  - {time: 0, seed: 1}\n  - {time: 300, seed: 2}\n"))
    out = tmp_path / "v.mp4"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "render", str(tl), "--out", str(out), "--quiet"],
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 180
    while not (tmp_path / ".v.mp4.chunks" / ".studio-chunks.json").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the render never started writing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists()  # the partial output never carries the final name (its work folder stays)
    tl.write_text(timeline(str(tiny_model_dir / "tiny.safetensors")))
    code, _, err = run_cli("render", str(tl), "--out", str(out), "--quiet")
    assert code == 0, err
    assert out.is_file() and not leftovers(tmp_path), leftovers(tmp_path)  # re-running the job cleans up
    assert not (tmp_path / ".v.mp4.chunks").exists()


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_stale_temp_files_of_dead_writers_are_removed_on_rerun(tiny_model_dir, tmp_path):
    model = tiny_model_dir / "tiny.safetensors"
    dead, alive = _dead_pid(), os.getppid()
    stale = [tmp_path / f".imgs.zip.{dead}.k2j4h5g6.part.zip", tmp_path / f".c.safetensors.{dead}.a1b2c3d4.part"
             f".safetensors", tmp_path / "dir" / f".seed0001.png.{dead}.zz99yy88.part.png"]
    live = tmp_path / f".imgs.zip.{alive}.q1w2e3r4.part.zip"  # another running job's: never touched
    for p in stale + [live]:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"partial")
    runs = [("random", "--network", str(model), "--seeds", "0-1", "--outdir", str(tmp_path / "imgs.zip"), "--quiet"),
            ("random", "--network", str(model), "--seeds", "1", "--outdir", str(tmp_path / "dir"), "--quiet"),
            ("convert", str(model), str(tmp_path / "c.safetensors"))]
    for argv in runs:
        code, _, err = run_cli(*argv)
        assert code == 0, (argv, err)
    assert [p.name for p in stale if p.exists()] == [] and live.exists()
