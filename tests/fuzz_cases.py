"""Hostile inputs for the fuzz and fault suite, made by code (tiny files; nothing shipped or downloaded).

``fast_cases(d, model)`` and ``full_cases(d, model)`` write their files under ``d`` and return case records for
``tests/fuzz_harness.py``: ``{"name", "argv", "expect" (allowed exit codes), "says" (text the message must hold),
"timeout", "env", "untouched" (files that must keep their bytes), "absent" (paths that must not exist after)}``.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import stat
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch

from ganlib.checkpoints import save_generator
from ganlib.limits import LIMITS
from tests.conftest import make_tiny_stylegan2

BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9 if p else ['lol'] * 9)}]\n"
               for p, c in zip([""] + list("abcdefgh"), "abcdefghi"))


def timeline(model: str, keyframes: str = "  - {time: 0, seed: 1}\n  - {time: 0.2, seed: 2}\n", extra: str = "") -> str:
    """A small timeline text on ``model`` (10 fps, 32 px) with ``keyframes`` lines and ``extra`` top-level lines."""
    return f"model: {model}\nfps: 10\n{extra}keyframes:\n{keyframes}"


KEYFRAMES_LIMIT = LIMITS["keyframes"].default


def many_keyframes(model: str, count: int) -> str:
    """A timeline text on ``model`` with ``count`` keyframes, one a second."""
    return timeline(model, "".join(f"  - {{time: {i}, seed: {i}}}\n" for i in range(count)))


def _case(name, argv, expect=(2,), says=(), timeout=60, env=None, untouched=(), absent=()):
    return {"name": name, "argv": [str(a) for a in argv], "expect": list(expect), "says": list(says),
            "timeout": timeout, "env": env or {}, "untouched": [str(p) for p in untouched],
            "absent": [str(p) for p in absent]}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _npy_header_only(path: Path, shape) -> Path:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    path.write_bytes(buf.getvalue() + b"\0" * 64)
    return path


def _pickles(d: Path) -> dict[str, Path]:
    dag: list = []
    for _ in range(60):
        dag = [dag, dag]
    deep = b"\x80\x04" + b"]" * 3000 + b"a" * 2999 + b"."  # 3,000 nested lists, written as opcodes
    selfref: list = []
    selfref.append(selfref)
    out = {}
    for name, obj in (("dag", {"G_ema": dag}), ("deep", deep), ("self", selfref)):
        p = d / f"{name}.pkl"
        p.write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=4))
        out[name] = p
    return out


def _bad_checkpoints(d: Path) -> dict[str, Path]:
    G, kw = make_tiny_stylegan2(0)
    nan = d / "nan.safetensors"
    with torch.no_grad():
        next(G.parameters()).fill_(float("nan"))
    save_generator(nan, G, "stylegan2", kw, {"trained_by": "\x1b[31mred\x1b[0m\x07"})
    G, kw = make_tiny_stylegan2(0)
    escape = d / "escape.safetensors"
    save_generator(escape, G, "stylegan2", kw, {"trained_by": "\x1b]0;owned\x07\x1b[2J", "data": "x" * 100000})
    bad_cfg = d / "bad_cfg.safetensors"
    save_generator(bad_cfg, G, "stylegan2", dict(kw, synthesis_kwargs={"channel_base": 0}), {})
    return {"nan": nan, "escape": escape, "bad_cfg": bad_cfg}


def _datasets(d: Path) -> dict[str, Path]:
    bomb = d / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", b"\0" * (64 << 20))
    huge = d / "huge.h5"
    with h5py.File(huge, "w") as f:
        f.create_dataset("images", shape=(10 ** 9, 32, 32, 3), dtype=np.uint8, chunks=(1, 32, 32, 3))
    strings = d / "strings.h5"
    with h5py.File(strings, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 32, 32, 3), np.uint8))
        f.create_dataset("labels", data=np.array([b"a", b"b", b"c", b"d"]))
    zero = d / "zero.h5"
    with h5py.File(zero, "w") as f:
        f.create_dataset("images", shape=(4, 0, 32, 3), dtype=np.uint8)
    return {"bomb": bomb, "huge": huge, "strings": strings, "zero": zero}


def fast_cases(d: Path, model: Path) -> list[dict]:
    """The default subset: one case per damaging class (memory, hangs, black frames, tracebacks, overwrites)."""
    d.mkdir(parents=True, exist_ok=True)

    def w(name: str, text: str) -> Path:
        (d / name).write_text(text)
        return d / name

    fifo = d / "fifo.pkl"
    if not fifo.exists():
        os.mkfifo(fifo)
    pk = _pickles(d)
    ck = _bad_checkpoints(d)
    data = _datasets(d)
    big = _npy_header_only(d / "big.npy", (100000, 1000000))
    np.save(d / "huge_value.npy", np.full((32,), 1e300))
    m = str(model)
    self_out = w("self_out.mp4", timeline(m, extra="output: {path: self_out.mp4}\n"))  # a timeline named .mp4
    (d / "x.mp4").mkdir(exist_ok=True)
    frames = d / "frames"
    frames.mkdir(exist_ok=True)
    (frames / "frame_000000.png").write_bytes(b"an earlier render")
    fake_ok = d / "ffmpeg_exit0.sh"
    fake_ok.write_text("#!/bin/sh\ncat > /dev/null\nexit 0\n")
    fake_stall = d / "ffmpeg_stall.sh"
    fake_stall.write_text("#!/bin/sh\nexec sleep 600\n")
    for f in (fake_ok, fake_stall):
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    small = w("small.yaml", timeline(m))
    return [
        _case("yaml-billion-laughs", ["render", w("bomb.yaml", BOMB)], says=["aliases"]),
        # 700 levels: past Python's recursion limit as the 5,000 of the full set (PyYAML's scanner is quadratic in it)
        _case("yaml-deep", ["render", w("deep.yaml", "a: " + "[" * 700 + "]" * 700 + "\n")], says=["nested"]),
        _case("keyframes-over-the-limit", ["render", w("many.yaml", many_keyframes(m, KEYFRAMES_LIMIT + 1))],
              says=["keyframes", f"{KEYFRAMES_LIMIT:,}"]),
        _case("mix-layers-huge", ["render", w("mix.yaml", timeline(m, "  - {time: 0, seed: 1, mix: {seed: 2, layers: "
                                                                    "'0-99999999999'}}\n  - {time: 1, seed: 2}\n"))],
              says=["layer"]),
        _case("time-1e308", ["render", w("t308.yaml", timeline(m, "  - {time: 0, seed: 1}\n  - {time: 1e308, seed: 2}\n"))],
              says=["time"]),
        _case("keyframes-1e-9-apart", ["render", w("close.yaml", timeline(m, "  - {time: 0, seed: 1}\n"
                                                                          "  - {time: 0.000000001, seed: 2}\n"))],
              says=["apart"]),
        _case("direction-1e308", ["render", w("dir.yaml", timeline(m, "  - {time: 0, seed: 1, directions: {a: 1e308}}\n"
                                                                    "  - {time: 1, seed: 2}\n"))]),
        _case("duration-nan", ["render", small, "--duration", "nan"]),
        _case("npy-declares-1e11", ["render", w("npy.yaml", timeline(m, f"  - {{time: 0, latent: {big}}}\n"))],
              says=["declares"]),
        _case("latent-1e300", ["render", w("l300.yaml", timeline(m, f"  - {{time: 0, latent: {d / 'huge_value.npy'}, "
                                                                   f"latent_space: z}}\n"))], says=["1e+300"]),
        _case("fifo-model", ["info", fifo], says=["pipe"], timeout=20),
        # the same refusal under a lowered limit (the default 2,000,000-object walk is the full set's dag case)
        _case("pickle-dag", ["--limit", "pickle_nodes=50000", "info", pk["dag"]], says=["graph", "50,000"]),
        _case("pickle-deep", ["info", pk["deep"]], says=["deep"]),
        _case("pickle-self", ["convert", pk["self"], d / "conv.safetensors"], says=["cycle"],
              absent=[d / "conv.safetensors"]),
        _case("weights-nan", ["random", "--model", ck["nan"], "--seeds", "0", "--out", d / "nan_out"],
              says=["NaN"], absent=[d / "nan_out"]),
        _case("model-config-channel-base-0", ["info", ck["bad_cfg"]], says=["channel_base"]),
        _case("info-escapes", ["info", ck["escape"]], expect=(0,)),
        _case("seeds-billion-grid", ["grid", "--model", m, "--seeds", "0-999999999", "--out", d / "g.png"],
              says=["limit"], timeout=30),
        _case("seed-5000-digits", ["random", "--model", m, "--seeds", "9" * 5000, "--out", d / "s"]),
        _case("nul-in-path", ["info", "a\0b.pkl"], says=["NUL"]),
        _case("model-name-5000", ["info", "m" * 5000 + ".pkl"]),
        _case("output-is-input", ["render", self_out], says=["input"], untouched=[self_out]),
        _case("folder-named-mp4", ["render", small, "--out", d / "x.mp4"], says=["folder"]),
        _case("frames-over-earlier", ["render", small, "--frames", frames, "--quiet"], says=["--overwrite"],
              untouched=[frames / "frame_000000.png"]),
        _case("zip-bomb", ["train", "dcgan", "--data", data["bomb"], "--out", d / "run_bomb"], says=["zip bomb"]),
        _case("hdf5-1e9-images", ["train", "dcgan", "--data", data["huge"], "--out", d / "run_huge"],
              says=["images"]),
        _case("hdf5-string-labels", ["train", "dcgan", "--data", data["strings"], "--out", d / "run_str"]),
        _case("procedural-huge", ["train", "dcgan", "--data", "procedural:999999999999", "--out", d / "run_proc"]),
        _case("metrics-num-huge", ["metrics", "fid", "--real", data["strings"], "--model", m, "--num", "10" + "0" * 40]),
        _case("encoder-exits-0-without-writing", ["render", small, "--out", d / "fake.mp4", "--quiet"],
              says=["without writing"], env={"IMAGEIO_FFMPEG_EXE": str(fake_ok)}, absent=[d / "fake.mp4"]),
        _case("encoder-stalls", ["--limit", "encoder_stall_s=1", "render", small, "--out", d / "stall.mp4", "--quiet"],
              says=["encoder"], env={"IMAGEIO_FFMPEG_EXE": str(fake_stall)}, absent=[d / "stall.mp4"], timeout=60),
    ]


def full_cases(d: Path, model: Path) -> list[dict]:
    """More of each class, for ``-m fuzz_full``: every bad model setting, more timeline numbers, more paths."""
    d.mkdir(parents=True, exist_ok=True)
    G, kw = make_tiny_stylegan2(0)
    pk = _pickles(d)
    cases = [  # the fast set's cases at full size: 5,000 levels, 20,000 keyframes, the default object limit
        _case("yaml-deep-5000", ["render", _write(d / "deep5000.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")],
              says=["nested"]),
        _case("keyframes-20k", ["render", _write(d / "many20k.yaml", many_keyframes(str(model), 20_000))],
              says=["keyframes"]),
        _case("pickle-dag-default-limit", ["info", pk["dag"]], says=["graph", "2,000,000"]),
    ]
    for name, bad in [("z_dim", -3), ("w_dim", 0), ("img_resolution", 3), ("img_resolution", 2 ** 20),
                      ("img_channels", 9), ("c_dim", 10 ** 7), ("z_dim", 2.5)]:
        p = d / f"cfg_{name}_{bad}.safetensors"
        save_generator(p, G, "stylegan2", dict(kw, **{name: bad}), {})
        cases.append(_case(f"model-config-{name}={bad}", ["info", p], says=[name]))
    p = d / "cfg_arch.safetensors"
    save_generator(p, G, "stylegan2", dict(kw, synthesis_kwargs={"architecture": "resnet"}), {})
    cases.append(_case("model-config-architecture-resnet", ["info", p], says=["resnet"]))
    m = str(model)
    for field, value in [("fps", "nan"), ("fps", "1e308"), ("duration", "inf"), ("duration", "1e308"),
                         ("truncation", "1e308"), ("seed", "9" * 5000), ("size", "[99999999, 3]")]:
        p = d / f"tl_{field}.yaml"
        p.write_text(timeline(m, extra=f"{field}: {value}\n"))
        cases.append(_case(f"timeline-{field}={value[:12]}", ["render", p]))
    for label, argv in [("trunc-inf", ["random", "--model", m, "--seeds", "1", "--trunc", "inf", "--out", d / "r"]),
                        ("set-betas", ["train", "dcgan", "--data", "procedural:8", "--out", d / "run_b", "--set",
                                       "betas=[2,3]"]),
                        ("data-dir-fifo", ["train", "dcgan", "--data", d / "fifo_dir", "--out", d / "run_f"]),
                        ("hdf5-zero-size", ["train", "dcgan", "--data", d / "zero.h5", "--out", d / "run_z"]),
                        ("nonexistent-model", ["info", d / "nope.pkl"]),
                        ("dir-as-model", ["info", d])]:
        cases.append(_case(label, argv))
    (d / "fifo_dir").mkdir(exist_ok=True)
    if not (d / "fifo_dir" / "a.png").exists():
        os.mkfifo(d / "fifo_dir" / "a.png")
    (d / "meta.json").write_text(json.dumps({"a": 1}))
    return cases
