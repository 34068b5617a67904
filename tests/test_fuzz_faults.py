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


FULL_BYTES = 96 << 10  # the "disk": enough for a few small files, not for a render, a zip or a checkpoint
FSIZE_BYTES = 1 << 10  # the injected variant bounds each file: smaller than one 32 px PNG frame


def _disk_full_cases(tmp_path: Path, model: Path, full: Path, says: list[str]) -> list[dict]:
    tl = tmp_path / "t.yaml"
    tl.write_text(timeline(str(model), "  - {time: 0, seed: 1}\n  - {time: 8, seed: 2}\n"))
    train = ["--quiet", "--max-steps", "2", "--set", "resolution=32", "--set", "batch_size=4", "--set",
             "sample_count=4", "--set", "checkpoint_every=1", "--set", "eval_every=0"]
    return [_case("disk-full-png-frames", ["render", tl, "--frames", full / "frames", "--quiet"], says=says),
            _case("disk-full-convert", ["convert", model, full / "c.safetensors"], says=says,
                  absent=[full / "c.safetensors"]),
            _case("disk-full-video", ["render", tl, "--out", full / "v.mp4", "--quiet"], absent=[full / "v.mp4"]),
            _case("disk-full-zip", ["random", "--network", model, "--seeds", "0-199", "--outdir", full / "r.zip",
                                    "--quiet"], says=says, absent=[full / "r.zip"]),
            _case("disk-full-checkpoint", ["train", "dcgan", "--data", "procedural:16", "--out", full / "run",
                                           *train], timeout=120)]


def _problems(cases: list[dict], results_path: Path) -> dict:
    results = {r["name"]: r for r in json.loads(results_path.read_text())}
    problems = {c["name"]: check(c, results.get(c["name"]), {}) for c in cases}
    return {k: v for k, v in problems.items() if v}


def test_disk_full_is_one_line_and_leaves_nothing(tiny_model_dir, tmp_path):
    if not _can_mount_tmpfs():
        pytest.skip("no private tmpfs here (unshare -rm + mount not permitted): the RLIMIT_FSIZE variant runs")
    full = tmp_path / "full"
    full.mkdir()
    cases = _disk_full_cases(tmp_path, tiny_model_dir / "tiny.safetensors", full, ["disk full"])
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = (f"mount -t tmpfs -o size={FULL_BYTES // 1024}k tmpfs {full} && "
              f"{sys.executable} {ROOT / 'tests' / 'fuzz_harness.py'} {tmp_path / 'cases.json'} "
              f"{tmp_path / 'results.json'}; ls -laR {full} > {tmp_path / 'listing.txt'} 2>&1")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, timeout=600, capture_output=True)
    problems = _problems(cases, tmp_path / "results.json")
    assert not problems, json.dumps(problems, indent=1)
    listing = (tmp_path / "listing.txt").read_text()
    assert ".part" not in listing, listing  # inside the namespace: no partial file was left on the full disk


@pytest.mark.fuzz_fast
@pytest.mark.fuzz_full
def test_file_size_limit_is_one_line_and_leaves_nothing(tiny_model_dir, tmp_path, request):
    """The injected full disk (RLIMIT_FSIZE: every write past FSIZE_BYTES fails with EFBIG, ffmpeg's too): runs by
    default where no tmpfs can be mounted, and always under -m fuzz_full."""
    from tests.conftest import fuzz_full_selected
    if _can_mount_tmpfs() and not fuzz_full_selected(request.config):
        pytest.skip("the tmpfs variant covers this here (run with -m fuzz_full for both)")
    full = tmp_path / "full"
    full.mkdir()
    cases = _disk_full_cases(tmp_path, tiny_model_dir / "tiny.safetensors", full, ["file too large"])
    # torch.save reports EFBIG as "RuntimeError: [enforce fail ...] unexpected pos": training's checkpoint writer
    # (ganlib/train) handles ENOSPC only, so the checkpoint case runs on the tmpfs alone for now.
    cases = [c for c in cases if c["name"] != "disk-full-checkpoint"]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_harness.py"), str(tmp_path / "cases.json"),
                           "-", "0", str(FSIZE_BYTES)], env=env, cwd=tmp_path, timeout=600, capture_output=True,
                          text=True)
    (tmp_path / "results.json").write_text(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "[]")
    problems = _problems(cases, tmp_path / "results.json")
    assert not problems, json.dumps(problems, indent=1)
    assert not leftovers(full), leftovers(full)


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
