"""Bad input through ``studio render``: one clear message naming the file and line/field, exit 2, no traceback,
and no output file left behind."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import run_cli

GOOD = """model: builtin:tiny
fps: 10
keyframes:
  - {time: 0, seed: 1}
  - {time: 1, seed: 2}
output: {path: out.mp4}
"""

CASES = {
    "yaml_syntax": (GOOD.replace("fps: 10", "fps: [10"), ["line"]),
    "unknown_field": (GOOD.replace("fps: 10", "fps: 10\ntruncaton: 0.5"), ["truncaton", "did you mean", "truncation"]),
    "no_keyframes": ("model: builtin:tiny\nfps: 10\nkeyframes: []\noutput: {path: out.mp4}\n", ["keyframes"]),
    "times_not_increasing": (GOOD.replace("{time: 1, seed: 2}", "{time: 0, seed: 2}"), ["keyframes[1]"]),
    "fps_zero": (GOOD.replace("fps: 10", "fps: 0"), ["fps"]),
    "bad_interpolation": (GOOD.replace("fps: 10", "fps: 10\ninterpolation: bezier"), ["interpolation", "slerp"]),
    "missing_model": (GOOD.replace("builtin:tiny", "nowhere/model.pkl"), ["nowhere/model.pkl", "not found"]),
    "missing_latent": (GOOD.replace("{time: 1, seed: 2}", "{time: 1, latent: nope.npy}"), ["nope.npy"]),
    "empty_file": ("", ["empty"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_timeline_exit_2(case, tiny_models, tmp_path):
    body, expected = CASES[case]
    tl = tmp_path / "bad.yaml"
    tl.write_text(body)
    code, out, err = run_cli("render", str(tl), cwd=tmp_path)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.count("\n") == 1, err  # one line
    assert "bad.yaml" in err or case == "missing_model"
    for word in expected:
        assert word.lower() in err.lower(), (word, err)
    assert not (tmp_path / "out.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "bad.yaml"]


def test_binary_timeline(tiny_models, tmp_path):
    tl = tmp_path / "bad.yaml"
    tl.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, _, err = run_cli("render", str(tl))
    assert code == 2 and "bad.yaml" in err and "Traceback" not in err


def test_latent_of_wrong_shape(tiny_models, tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((3, 7)))
    tl = tmp_path / "bad.yaml"
    tl.write_text(GOOD.replace("{time: 1, seed: 2}", "{time: 1, latent: w.npy}"))
    code, _, err = run_cli("render", str(tl), cwd=tmp_path)
    assert code == 2, err
    assert "w.npy" in err and "shape" in err.lower()
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob(".*part*"))


def test_missing_timeline_file(tmp_path):
    code, _, err = run_cli("render", str(tmp_path / "none.yaml"))
    assert code == 2 and "none.yaml" in err


def test_console_script_exit_code_and_no_traceback(tiny_models, tmp_path):
    tl = tmp_path / "bad.yaml"
    tl.write_text(GOOD.replace("fps: 10", "fps: -3"))
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "render", str(tl)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "fps" in proc.stderr
