"""benchmarks/gpu_check.sh without a GPU: --dry-run lists its steps and checks its own prerequisites, running
nothing; a real run on a machine without CUDA stops after the set-up step and still writes its results."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
STEPS = ("setup", "build", "tests", "generator", "render", "report")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils timeout")


def _run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), "--python", sys.executable, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@needs_bash
def test_dry_run_lists_steps_and_checks_prerequisites(tmp_path):
    res = _run("--dry-run", "--out", str(tmp_path / "never"))
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    for i, name in enumerate(STEPS, 1):
        assert f"{i}. {name}" in out
    assert "budget of 450 s" in out and "ready (nothing was run)" in out
    assert "ok       benchmarks/generator.py" in out and "present  python modules torch" in out
    assert not (tmp_path / "never").exists()
    bad = _run("--dry-run", "--wheels", str(tmp_path / "no-wheels"))
    assert bad.returncode == 1 and "MISSING  wheels" in bad.stdout and "NOT ready" in bad.stdout
    assert _run("--budget", "soon").returncode == 2


@needs_bash
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_run_without_cuda_stops_after_setup_and_writes_results(tmp_path):
    out = tmp_path / "results"
    res = _run("--out", str(out), "--budget", "60")
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"results in {out}" in res.stdout
    results = json.loads((out / "results.json").read_text())
    status = {s["step"]: s["status"] for s in results["steps"]}
    assert status["setup"].startswith("failed")
    assert all(status[s] == "skipped (setup failed)" for s in ("build", "tests", "generator", "render"))
    assert results["env"]["gpu"] is None and results["env"]["torch"] == torch.__version__
    md = (out / "results.md").read_text()
    assert "| setup | failed" in md and "| render | skipped (setup failed) | 0 |" in md
    assert "sees no GPU" in (out / "log.txt").read_text()
