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


def test_report_tables_from_partial_results(tmp_path):
    """results.md/.json from what the steps left: the generator rows with their ratios, a failed render noted."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_check_report", ROOT / "benchmarks" / "gpu_check_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (tmp_path / "steps.tsv").write_text("step\tstatus\tseconds\trc\nsetup\tok\t4\t0\nbuild\tok\t80\t0\n"
                                        "generator\ttimeout after 20 s\t20\t124\n")
    rows = [{"size": 1024, "batch": 8, "ref/float32": 10.0, "cuda/float32": 15.0, "cuda-generic/float32": 12.0,
             "ref/float16": 20.0, "cuda/float16": 40.0, "cuda-generic/float16": 25.0}]
    (tmp_path / "generator.json").write_text(json.dumps({"device": "Some GPU", "torch": "2.x", "rows": rows}))
    assert mod.report(tmp_path) == 0
    md = (tmp_path / "results.md").read_text()
    assert "# GPU check: Some GPU (torch 2.x)" in md and "| generator | timeout after 20 s | 20 |" in md
    assert "| 1024 | 8 | 10.0 | 15.0 | 12.0 | 20.0 | 40.0 | 25.0 | 1.50x | 2.00x | 2.67x | 1.60x |" in md
    assert json.loads((tmp_path / "results.json").read_text())["generator"] == rows
