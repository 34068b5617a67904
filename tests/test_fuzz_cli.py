"""Hostile inputs through every entry point (render, random, grid, info, convert, train, metrics): each answer is
exit 2 (or success where the input is legal), at most a few lines, no traceback, bounded memory growth, within a
time bound, and no partial output left behind. The cases run in one subprocess (tests/fuzz_harness.py) under an
address-space limit; the fast subset runs by default, ``-m fuzz_full`` adds the rest.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz_cases import fast_cases, full_cases

ROOT = Path(__file__).resolve().parent.parent
MEMORY_GROWTH_MB = 600  # per case, over the imports: a billion-laughs or a DAG pickle used to take gigabytes
ADDRESS_SPACE = 12 << 30  # the whole harness process (torch's CPU build maps a lot of virtual memory)
MAX_LINES = 4


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_harness(cases: list[dict], work: Path) -> dict[str, dict]:
    """Run ``cases`` in one harness process; return the result records by case name."""
    (work / "cases.json").write_text(json.dumps(cases))
    env = dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
    total = sum(c["timeout"] for c in cases) + 120
    subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_harness.py"), str(work / "cases.json"),
                    str(work / "results.json"), str(ADDRESS_SPACE)], env=env, cwd=work, timeout=total,
                   capture_output=True)
    results = json.loads((work / "results.json").read_text()) if (work / "results.json").exists() else []
    return {r["name"]: r for r in results}


def check(case: dict, result: dict | None, digests: dict[str, str]) -> list[str]:
    """Return what is wrong with one case's result (empty when it behaved)."""
    if result is None:
        return ["did not run (the harness died before it)"]
    problems = []
    if result["escaped"]:
        problems.append(f"an exception escaped: {result['escaped'].splitlines()[-1]}")
    if result["code"] not in case["expect"]:
        problems.append(f"exit {result['code']}, expected {case['expect']}: {result['stderr'][-300:]!r}")
    lines = [ln for ln in result["stderr"].splitlines() if ln.strip()]
    if len(lines) > MAX_LINES:
        problems.append(f"{len(lines)} lines on stderr: {result['stderr'][-300:]!r}")
    if "Traceback" in result["stderr"] + result["stdout"]:
        problems.append("printed a traceback")
    if "\x1b" in result["stdout"] + result["stderr"]:
        problems.append("printed a raw terminal escape")
    for word in case["says"]:
        if word.lower() not in result["stderr"].lower():
            problems.append(f"message lacks {word!r}: {result['stderr'][-300:]!r}")
    if result["growth_mb"] > MEMORY_GROWTH_MB:
        problems.append(f"peak memory grew {result['growth_mb']:.0f} MB")
    for path in case["untouched"]:
        if _digest(path) != digests[path]:
            problems.append(f"{path} was changed")
    for path in case["absent"]:
        if Path(path).exists():
            problems.append(f"{path} exists")
    return problems


def leftovers(folder: Path) -> list[str]:
    """Partial outputs (``*.part*``) anywhere under ``folder``."""
    return sorted(str(p) for p in folder.rglob("*") if ".part" in p.name)


def _run_and_check(cases: list[dict], work: Path) -> None:
    digests = {p: _digest(p) for c in cases for p in c["untouched"]}
    results = run_harness(cases, work)
    failures = {c["name"]: check(c, results.get(c["name"]), digests) for c in cases}
    failures = {k: v for k, v in failures.items() if v}
    assert not failures, json.dumps(failures, indent=1)
    assert not leftovers(work), leftovers(work)


def test_fast_hostile_subset(tiny_model_dir, tmp_path):
    _run_and_check(fast_cases(tmp_path / "cases", tiny_model_dir / "tiny.safetensors"), tmp_path)


@pytest.mark.fuzz_full
def test_full_hostile_set(tiny_model_dir, tmp_path):
    _run_and_check(full_cases(tmp_path / "cases", tiny_model_dir / "tiny.safetensors"), tmp_path)
