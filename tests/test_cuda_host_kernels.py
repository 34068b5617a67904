"""The CUDA kernels' device code and the binding's argument checks, unchanged, compiled for the host with g++
(tests/kernel_host_harness.cpp) and compared with the reference ops and with NVlabs' documented behaviour: the
generic and the tiled separable upfirdn2d, bias_act with its edge cases, the argument checks."""
from __future__ import annotations

import ctypes
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib.ops import cuda_ops
from ganlib.ops.bias_act import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, bias_act_ref
from ganlib.ops.cuda_emulation import EmulatedKernels
from ganlib.ops.upfirdn2d import setup_filter, upfirdn2d_ref

pytestmark = pytest.mark.usefixtures("one_torch_thread")
OPS = Path(cuda_ops.__file__).parent
I64x4 = ctypes.c_int64 * 4
P = ctypes.c_void_p


def _body(path: Path, pattern: str) -> str:
    return re.search(pattern, path.read_text(), re.S | re.M).group(1)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The kernels' device code and the binding's checks built as one host library with g++ (skipped without)."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not available")
    d = tmp_path_factory.mktemp("kernels")
    for name in ("upfirdn2d_kernel", "upfirdn2d_tiled", "bias_act_kernel"):
        (d / f"{name}.inc").write_text(_body(OPS / f"{name}.cu", r"^namespace \{\n(.*)^\}  // namespace"))
    (d / "checks.inc").write_text(_body(OPS / "ganlib_ops.cpp", r"^(namespace checks \{\n.*^\}  // namespace checks)"))
    lib = d / "harness.so"
    defs = ['-DKERNEL_BODY_UPFIRDN2D="upfirdn2d_kernel.inc"', '-DKERNEL_BODY_UPFIRDN2D_TILED="upfirdn2d_tiled.inc"',
            '-DKERNEL_BODY_BIAS_ACT="bias_act_kernel.inc"', '-DBINDING_CHECKS="checks.inc"']
    subprocess.run([gxx, "-O1", "-shared", "-fPIC", "-std=c++17", "-Wall", "-Werror", f"-I{d}", *defs,
                    str(Path(__file__).parent / "kernel_host_harness.cpp"), "-o", str(lib)],
                   check=True, capture_output=True, timeout=240)
    h = ctypes.CDLL(str(lib))
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    for name, args in (("check_upfirdn2d_args", [i64] * 13), ("check_upfirdn2d_sep_args", [i64] * 4),
                       ("check_bias_act_args", [i64, i64, ctypes.c_int, i64, i64, ptr, i64, i64])):
        getattr(h, name).restype = ctypes.c_char_p
        getattr(h, name).argtypes = args
    return h


# ------------------------------------------------------------------------------------------------ upfirdn2d
def test_generic_upfirdn2d_matches_reference(host):
    rng = np.random.RandomState(0)
    checked = 0
    while checked < 60:
        upx, upy, downx, downy = (int(rng.choice([1, 2, 3])) for _ in range(4))
        fh, fw, h, w = int(rng.randint(1, 6)), int(rng.randint(1, 6)), int(rng.randint(1, 9)), int(rng.randint(1, 9))
        pads = [int(rng.randint(-2, 5)) for _ in range(4)]
        if h * upy + pads[2] + pads[3] - fh < 0 or w * upx + pads[0] + pads[1] - fw < 0:
            continue
        flip, gain = bool(rng.randint(2)), 2.0
        f = torch.from_numpy(rng.randn(fh, fw).astype(np.float32))
        x = torch.randn(2, 3, h, w, dtype=torch.float64)
        if rng.randint(2):
            x = x.contiguous(memory_format=torch.channels_last)
        ref = upfirdn2d_ref(x, f.double(), up=(upx, upy), down=(downx, downy), padding=pads, flip_filter=flip,
                            gain=gain)
        y = torch.empty_like(ref).contiguous(memory_format=torch.channels_last if rng.randint(2) else
                                             torch.contiguous_format)
        host.run_upfirdn2d(P(x.data_ptr()), P(f.data_ptr()), P(y.data_ptr()), 2, 3, h, w, ref.shape[2], ref.shape[3],
                           upx, upy, downx, downy, pads[0], pads[2], fw, fh, int(flip), ctypes.c_float(gain),
                           I64x4(*x.stride()), I64x4(*y.stride()))
        assert torch.allclose(y, ref, rtol=0, atol=1e-9 * max(1.0, ref.abs().max().item())), (upx, upy, pads)
        checked += 1


def _run_sep(host, x, fx, fy, up, down, pads, flip, gain, max_z=65535, out_format=torch.contiguous_format):
    """The tiled kernel's output for x and the reference op's, and the number of tile-bound violations."""
    ref = upfirdn2d_ref(x, torch.outer(fy.double(), fx.double()), up=up, down=down, padding=pads, flip_filter=flip,
                        gain=gain)
    y = torch.full_like(ref, float("nan")).contiguous(memory_format=out_format)
    n, c, h, w = x.shape
    bad = host.run_upfirdn2d_sep(P(x.data_ptr()), P(fx.data_ptr()), fx.numel(), P(fy.data_ptr()), fy.numel(),
                                 P(y.data_ptr()), n, c, h, w, ref.shape[2], ref.shape[3], up, down, pads[0], pads[2],
                                 int(flip), ctypes.c_float(gain), I64x4(*x.stride()), I64x4(*y.stride()), max_z)
    return y, ref, bad


@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_tiled_upfirdn2d_matches_reference(host, up, down):
    """Random separable filters (1-16 taps), pads (crops too), sizes spanning several tiles, layouts, flip, gain,
    and fewer blocks than planes: same result as the reference op, every index inside its shared-memory tile."""
    rng = np.random.RandomState(10 * up + down)
    checked = 0
    while checked < 14:
        fw, fh = int(rng.randint(1, 17)), int(rng.randint(1, 17))
        h, w = int(rng.randint(1, 40)), int(rng.randint(1, 40))
        pads = [int(rng.randint(-3, 9)) for _ in range(4)]
        if h * up + pads[2] + pads[3] - fh < 0 or w * up + pads[0] + pads[1] - fw < 0:
            continue
        fx = torch.from_numpy(rng.randn(fw).astype(np.float32))
        fy = torch.from_numpy(rng.randn(fh).astype(np.float32))
        x = torch.randn(2, 2, h, w, dtype=torch.float64)
        if rng.randint(2):
            x = x.contiguous(memory_format=torch.channels_last)
        fmt = torch.channels_last if rng.randint(2) else torch.contiguous_format
        y, ref, bad = _run_sep(host, x, fx, fy, up, down, pads, bool(rng.randint(2)), float(rng.choice([1, 4])),
                               max_z=int(rng.choice([1, 3, 65535])), out_format=fmt)
        assert bad == 0, (fw, fh, h, w, pads)
        assert torch.allclose(y, ref, rtol=0, atol=1e-9 * max(1.0, ref.abs().max().item())), (fw, fh, h, w, pads)
        checked += 1


@pytest.mark.parametrize("taps", [4, 12])
def test_tiled_upfirdn2d_stylegan_cases(host, taps):
    """The calls StyleGAN2/3 make (upsample2d / downsample2d / up 2 + down 2 with 4- and 12-tap filters, the
    filter applied after a transposed convolution) at sizes of several tiles."""
    f = setup_filter([1, 3, 3, 1], separable=True) if taps == 4 else setup_filter(np.kaiser(12, 6), separable=True)
    x = torch.randn(1, 3, 37, 70, dtype=torch.float64)
    k = (taps - 1) // 2
    for up, down, pads, gain in [(2, 1, [k + 1, k, k + 1, k], 4.0), (1, 2, [k, k, k, k], 1.0),
                                 (2, 2, [k + 1, k, k + 1, k], 4.0), (1, 1, [k, k, k, k], 4.0)]:
        y, ref, bad = _run_sep(host, x, f, f, up, down, pads, False, gain)
        assert bad == 0 and torch.allclose(y, ref, rtol=0, atol=1e-9), (up, down)


def test_binding_checks(host):
    """Empty filters are refused (the generic kernel would return zeros; NVlabs asserts at least one tap); the
    tiled kernel's limit is the same number on both sides."""
    ok = host.check_upfirdn2d_args(4, 8, 8, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1)
    assert ok is None
    assert b"empty" in host.check_upfirdn2d_args(4, 8, 8, 0, 4, 1, 1, 1, 1, 0, 0, 0, 0)
    assert b"empty" in host.check_upfirdn2d_args(4, 8, 8, 3, 0, 1, 1, 1, 1, 0, 0, 0, 0)
    assert b"larger" in host.check_upfirdn2d_args(4, 2, 2, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0)
    assert b"[N, C, H, W]" in host.check_upfirdn2d_args(3, 8, 8, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0)
    assert host.check_upfirdn2d_sep_args(12, 12, 2, 2) is None
    assert b"16 taps" in host.check_upfirdn2d_sep_args(17, 4, 1, 1)
    assert b"1 or 2" in host.check_upfirdn2d_sep_args(4, 4, 3, 1)
    assert host.sep_max_taps_kernel() == host.sep_max_taps_binding() == cuda_ops.SEP_MAX_TAPS
    sizes = (ctypes.c_int64 * 1)(5)
    assert host.check_bias_act_args(1, 1, 0, 0, 0, sizes, 3, 0) is None  # 1-D x, default dim=1, no bias: accepted
    assert b"dim out of range" in host.check_bias_act_args(1, 1, 1, 1, 5, sizes, 3, 0)
    assert host.check_bias_act_args(1, 0, 1, 1, 5, sizes, 3, 0) is None
    assert b"x.shape[dim]" in host.check_bias_act_args(1, 0, 1, 1, 4, sizes, 3, 0)


# ------------------------------------------------------------------------------------------------- bias_act
def _bias_act(host, x, b, xref, yref, dim, act, mode, alpha, gain, clamp):
    out = torch.empty_like(x)
    nd = x.ndim
    host.run_bias_act(*(P(t.data_ptr()) if t is not None else None for t in (out, x, b, xref, yref)),
                      ctypes.c_int64(x.numel()), ctypes.c_int64(nd), (ctypes.c_int64 * max(nd, 1))(*x.shape),
                      (ctypes.c_int64 * max(nd, 1))(*x.stride()), ctypes.c_int64(dim), ACTIVATIONS[act].cuda_idx, mode,
                      int(b is not None), int(xref is not None), int(yref is not None), ctypes.c_double(alpha),
                      ctypes.c_double(gain), ctypes.c_double(clamp))
    return out


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_bias_act_matches_emulation(host, act):
    spec = ACTIVATIONS[act]
    emu = EmulatedKernels()
    empty = torch.empty(0, dtype=torch.float64)
    for clamp, gain, mode, fmt in [(c, g, m, f) for c in (-1.0, 0.7) for g in (1.0, 1.7) for m in (0, 1, 2)
                                   for f in (torch.contiguous_format, torch.channels_last)]:
        xin = torch.randn(2, 4, 3, 5, dtype=torch.float64).contiguous(memory_format=fmt)
        xref = torch.randn_like(xin)
        b = torch.randn(4, dtype=torch.float64)
        yref = torch.empty_like(xin).copy_(emu.bias_act(xref, b, empty, empty, 1, spec.cuda_idx, 0, spec.def_alpha,
                                                        gain, clamp))
        want = emu.bias_act(xin, b, xref, yref, 1, spec.cuda_idx, mode, spec.def_alpha, gain, clamp)
        out = _bias_act(host, xin, b, xref, yref, 1, act, mode, spec.def_alpha, gain, clamp)
        assert torch.allclose(out, want, rtol=0, atol=1e-12), (act, clamp, gain, mode)


def test_bias_act_1d_without_bias(host):
    """A 1-D input with the default dim=1 and no bias (the binding used to refuse it): same as the reference."""
    x = torch.randn(7, dtype=torch.float64)
    out = _bias_act(host, x, None, None, None, 1, "lrelu", 0, 0.2, math.sqrt(2), -1.0)
    assert torch.allclose(out, bias_act_ref(x, None, dim=1, act="lrelu"), rtol=0, atol=1e-12)


def test_bias_act_nvlabs_edge_cases(host):
    """NVlabs' kernel: swish(-inf) = 0 (not NaN); NaN through the clamp gives -clamp and a zero derivative; ELU and
    SELU take the s >= 0 branch at s = 0. The reference op (and its autograd) agrees."""
    inf, nan = float("inf"), float("nan")
    s = torch.tensor([-inf, -100.0, 0.0, 100.0, inf], dtype=torch.float64)
    y = _bias_act(host, s, None, None, None, 1, "swish", 0, 0.0, 1.0, -1.0)
    assert y[0] == 0 and y[1] == 0 and y[2] == 0 and y[3] == 100 and y[4] == inf
    assert torch.equal(y, bias_act_ref(s, act="swish", gain=1.0))
    one = torch.ones_like(s)
    d1 = _bias_act(host, one, None, s, None, 1, "swish", 1, 0.0, 1.0, -1.0)
    d2 = _bias_act(host, one, None, s, None, 1, "swish", 2, 0.0, 1.0, -1.0)
    assert d1.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0] and d2.tolist()[:2] == [0.0, 0.0] and d2[4] == 0
    sg = s.clone().requires_grad_(True)
    g, = torch.autograd.grad(bias_act_ref(sg, act="swish", gain=1.0).sum(), sg)
    assert torch.isfinite(g).all() and torch.allclose(g, d1, atol=1e-12)

    x = torch.tensor([nan, 2.0, -2.0, 0.3], dtype=torch.float64)
    y = _bias_act(host, x, None, None, None, 1, "linear", 0, 0.0, 1.0, 1.0)
    assert y.tolist() == [-1.0, 1.0, -1.0, 0.3]
    assert torch.equal(y, bias_act_ref(x, act="linear", clamp=1.0))
    dy = _bias_act(host, torch.ones_like(x), None, None, y.clone().fill_(nan), 1, "linear", 1, 0.0, 1.0, 1.0)
    assert (dy == 0).all()

    zero = torch.zeros(1, dtype=torch.float64)
    for act, d1_want in (("elu", 1.0), ("selu", SELU_SCALE)):
        y0 = _bias_act(host, zero, None, None, None, 1, act, 0, 0.0, 1.0, -1.0)
        assert y0.item() == 0.0
        first = _bias_act(host, torch.ones(1, dtype=torch.float64), None, zero, y0, 1, act, 1, 0.0, 1.0, -1.0)
        second = _bias_act(host, torch.ones(1, dtype=torch.float64), None, zero, y0, 1, act, 2, 0.0, 1.0, -1.0)
        assert first.item() == pytest.approx(d1_want, abs=1e-12) and second.item() == 0.0, act
        z = zero.clone().requires_grad_(True)
        g, = torch.autograd.grad(bias_act_ref(z, act=act), z, create_graph=True)
        gg, = torch.autograd.grad(g.sum(), z)
        assert g.item() == pytest.approx(d1_want, abs=1e-12) and gg.item() == 0.0, act
    assert SELU_SCALE * SELU_ALPHA != pytest.approx(SELU_SCALE)  # the other branch would be distinguishable
