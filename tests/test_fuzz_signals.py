"""SIGTERM and SIGHUP end a job like Ctrl-C: ``studio render``, ``random`` and ``train`` run in subprocesses, get the
signal mid-way and must exit 128 + the signal's number with ONE line, no traceback, nothing under a final name that
is not complete, no ``.part`` file left, and (training) a checkpoint to ``--resume`` from. The default run sends
SIGTERM to a render; ``-m fuzz_full`` adds random (SIGHUP) and train. The jobs run one after another in ONE
harness process (tests/fuzz_harness.py: one interpreter start-up for all of them)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


from tests.fuzz_cases import timeline
from tests.test_fuzz_cli import ROOT, leftovers

STARTED_S = 180  # generous: a loaded 2-core machine imports torch slowly


def _results(path: Path) -> dict[str, dict]:
    try:
        return {r["name"]: r for r in json.loads(path.read_text())}
    except (OSError, ValueError):
        return {}


def _run_signalled(jobs: list[tuple], work: Path) -> dict[str, dict]:
    """Run ``jobs`` (name, signal, argv, folder, ready) one after another in ONE harness process; send each job's
    signal once its ``ready()`` is true; return the harness's result records by name."""
    cases = [{"name": name, "argv": argv, "timeout": STARTED_S, "env": {}} for name, _, argv, _, _ in jobs]
    (work / "cases.json").write_text(json.dumps(cases))
    out = work / "results.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fuzz_harness.py"), str(work / "cases.json"),
                             str(out)], cwd=work, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        for name, sig, _, _, ready in jobs:
            deadline = time.monotonic() + STARTED_S
            while not ready():
                assert proc.poll() is None, f"the harness ended before {name} started: {proc.communicate()[1]}"
                assert name not in _results(out), f"{name} ended before the signal: {_results(out)[name]}"
                assert time.monotonic() < deadline, f"{name} never started its work"
                time.sleep(0.05)
            proc.send_signal(sig)
            while name not in _results(out):
                assert proc.poll() is None, f"the harness died on {name}'s signal: {proc.communicate()[1]}"
                assert time.monotonic() < deadline + 60, f"{name} did not stop after its signal"
                time.sleep(0.05)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return _results(out)


def _one_line(err: str, sig: int) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"terminated ({signal.Signals(sig).name})"), lines[0]
    return lines[0]


def _any(folder: Path, pattern: str):
    return lambda: any(folder.glob(pattern))


def _jobs(tmp_path: Path, model: Path) -> list[tuple]:
    tl = tmp_path / "t.yaml"
    tl.write_text(timeline(str(model), "  - {time: 0, seed: 1}\n  - {time: 300, seed: 2}\n"))
    render, rand, train = tmp_path / "render", tmp_path / "random", tmp_path / "train"
    for d in (render, rand, train):
        d.mkdir()
    return [
        ("render", signal.SIGTERM, ["render", str(tl), "--out", str(render / "v.mp4"), "--quiet"],
         render, _any(render, ".v.mp4.chunks/*.mp4")),
        ("random", signal.SIGHUP, ["random", "--network", str(model), "--seeds", "0-99999", "--outdir",
                                   str(rand / "imgs.zip"), "--quiet"], rand, _any(rand, ".imgs.zip.*part*")),
        ("train", signal.SIGTERM, ["train", "dcgan", "--data", "procedural:64", "--out", str(train / "run"),
                                   "--quiet", "--max-steps", "100000", "--set", "resolution=32", "--set",
                                   "batch_size=4", "--set", "sample_count=4", "--set", "checkpoint_every=0",
                                   "--set", "eval_every=0", "--set", "log_every=1"],
         train, lambda: (train / "run" / "losses.csv").is_file() and
         len((train / "run" / "losses.csv").read_text().splitlines()) > 3),
    ]


def _check(jobs, results, tmp_path) -> None:
    for name, sig, _, folder, _ in jobs:
        r = results[name]
        assert r["code"] == 128 + sig and not r["escaped"], (name, r)
        _one_line(r["stderr"], sig)
        assert not leftovers(folder), (name, leftovers(folder))
    assert not (tmp_path / "render" / "v.mp4").exists() and not (tmp_path / "random" / "imgs.zip").exists()


def test_sigterm_ends_a_render_like_ctrl_c(tiny_model_dir, tmp_path):
    jobs = [j for j in _jobs(tmp_path, tiny_model_dir / "tiny.safetensors") if j[0] == "render"]
    _check(jobs, _run_signalled(jobs, tmp_path), tmp_path)


@pytest.mark.fuzz_full
def test_sigterm_and_sighup_end_render_random_and_train_like_ctrl_c(tiny_model_dir, tmp_path):
    jobs = _jobs(tmp_path, tiny_model_dir / "tiny.safetensors")
    results = _run_signalled(jobs, tmp_path)
    _check(jobs, results, tmp_path)
    assert "--resume" in results["train"]["stderr"], results["train"]  # stopped after its step, checkpointed
    assert any((tmp_path / "train" / "run").glob("*checkpoint*")), sorted((tmp_path / "train" / "run").iterdir())


def test_signal_handlers_are_restored_after_main():
    from studio.cli import main
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    assert main(["--help"]) == 0
    assert {s: signal.getsignal(s) for s in before} == before
