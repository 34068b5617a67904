"""Custom CUDA ops: never compiled on CPU; one warning and no retry after a failed build; autograd wiring and
derivative formulas (first and second order) checked on CPU through an emulation of the kernels' contract; parity of
the real kernels with the reference ops on CUDA (skipped without a GPU)."""
from __future__ import annotations

import warnings

import pytest
import torch

from ganlib.ops import backend, cuda_ops
from ganlib.ops.bias_act import ACTIVATIONS, bias_act_ref
from ganlib.ops.upfirdn2d import setup_filter, upfirdn2d_ref


pytestmark = pytest.mark.usefixtures("one_torch_thread")

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (and a compiler for the custom ops)")

UPFIRDN_CASES = [  # up, down, padding, flip, separable
    (1, 1, 0, False, False), (2, 1, [2, 1, 2, 1], False, False), (1, 2, [1, 1, 1, 1], True, False),
    (2, 2, [1, 0, 2, -1], False, False), (1, 1, [4, 3, 4, 3], False, True), ((2, 1), (1, 2), [3, -1, 0, 2], True, False),
]




@pytest.fixture()
def fresh_backend(monkeypatch):
    """Backend state reset for the test and restored after it."""
    saved = dict(backend._state)
    backend._state.update({"tried": False, "module": None, "reason": None})
    yield backend
    backend._state.clear()
    backend._state.update(saved)


def _filter(separable: bool, dtype=torch.float64) -> torch.Tensor:
    if separable:
        return setup_filter([1, 2, 4, 5, 5, 4, 2, 1], separable=True).to(dtype)
    return (setup_filter([1, 3, 3, 1]) * torch.tensor([[1.0, 1.25, 0.75, 1.0]])).to(dtype)  # not symmetric


# ------------------------------------------------------------------------------------------------ no compiler
def test_cpu_never_invokes_a_compiler(monkeypatch, fresh_backend):
    from torch.utils import cpp_extension

    def boom(*a, **k):
        raise AssertionError("a compiler was invoked")
    monkeypatch.setattr(cpp_extension, "load", boom)
    import ganlib.ops.cuda_build  # noqa: F401 - importing must not build
    from ganlib.networks.stylegan2 import Generator
    for mode in ("auto", "cuda", "ref"):
        monkeypatch.setenv("STUDIO_OPS", mode)
        torch.manual_seed(0)
        G = Generator(z_dim=8, w_dim=8, img_resolution=8, mapping_kwargs=dict(num_layers=1),
                      synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=1, conv_clamp=256)).eval()
        with torch.no_grad():
            img = G(torch.randn(2, 8))
        assert img.shape == (2, 3, 8, 8) and torch.isfinite(img).all()
    assert backend.status()["built"] is False and backend._state["tried"] is False


def test_failed_build_warns_once_and_is_not_retried(monkeypatch, fresh_backend):
    from ganlib.ops import cuda_build
    calls = []

    def failing():
        calls.append(1)
        raise RuntimeError("nvcc not found\nmore detail")
    monkeypatch.setattr(cuda_build, "load_extension", failing)
    monkeypatch.setenv("STUDIO_OPS", "auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert backend.cuda_upfirdn2d() is None
        assert backend.cuda_bias_act() is None
        assert backend.cuda_upfirdn2d() is None
    assert len(calls) == 1
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "nvcc not found" in msgs[0] and "reference" in msgs[0]
    assert backend.status() == {"mode": "auto", "built": False, "reason": "RuntimeError: nvcc not found"}
    monkeypatch.setenv("STUDIO_OPS", "ref")
    assert backend.cuda_bias_act() is None


def test_cuda_mode_without_cuda_raises(monkeypatch, fresh_backend):
    from ganlib.ops import cuda_build
    monkeypatch.setattr(cuda_build, "load_extension", lambda: (_ for _ in ()).throw(RuntimeError("no CUDA")))
    monkeypatch.setenv("STUDIO_OPS", "cuda")
    with pytest.raises(RuntimeError, match="STUDIO_OPS=cuda"):
        backend.cuda_upfirdn2d()


def test_kernel_sources_are_shipped():
    from pathlib import Path
    here = Path(cuda_ops.__file__).parent
    for name in ("ganlib_ops.cpp", "upfirdn2d_kernel.cu", "bias_act_kernel.cu"):
        text = (here / name).read_text()
        assert len(text) > 500
    cpp = (here / "ganlib_ops.cpp").read_text()
    assert 'm.def("upfirdn2d"' in cpp and 'm.def("bias_act"' in cpp


# ------------------------------------------------------------------------------ autograd wiring (emulated, CPU)
@pytest.fixture()
def emulated():
    with cuda_ops.use_kernels(cuda_ops.EmulatedKernels()) as k:
        yield k


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_bias_act_derivatives_emulated(emulated, act):
    """Forward, first and second derivatives of the autograd functions equal autograd through the reference op."""
    torch.manual_seed(1)
    for clamp in (None, 0.9):
        x = torch.randn(2, 3, 2, 3, dtype=torch.float64, requires_grad=True)
        b = torch.randn(3, dtype=torch.float64, requires_grad=True)
        kw = dict(act=act, clamp=clamp, gain=1.3)
        y1, y2 = cuda_ops.bias_act_cuda(x, b, **kw), bias_act_ref(x, b, **kw)
        assert torch.allclose(y1, y2, atol=1e-12)
        g1 = torch.autograd.grad(y1.square().sum(), [x, b], create_graph=True)
        g2 = torch.autograd.grad(y2.square().sum(), [x, b], create_graph=True)
        for a, c in zip(g1, g2):
            assert torch.allclose(a, c, atol=1e-10)
        h1 = torch.autograd.grad(sum(g.square().sum() for g in g1), [x, b])
        h2 = torch.autograd.grad(sum(g.square().sum() for g in g2), [x, b])
        for a, c in zip(h1, h2):
            assert torch.allclose(a, c, atol=1e-9)
    x = torch.randn(1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    f = lambda x, b: cuda_ops.bias_act_cuda(x, b, act=act, gain=1.3, clamp=0.9)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, b))
    assert torch.autograd.gradgradcheck(f, (x, b))


def test_bias_act_other_dim_and_no_bias_emulated(emulated):
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, b: cuda_ops.bias_act_cuda(x, b, dim=1, act="tanh"), (x, b))
    assert torch.autograd.gradcheck(lambda x: cuda_ops.bias_act_cuda(x, None, act="swish"), (x,))
    x2 = torch.randn(4, 3, dtype=torch.float64)
    b2 = torch.randn(4, dtype=torch.float64)
    assert torch.allclose(cuda_ops.bias_act_cuda(x2, b2, dim=0, act="lrelu"), bias_act_ref(x2, b2, dim=0, act="lrelu"))


@pytest.mark.parametrize("up,down,pad,flip,sep", UPFIRDN_CASES)
def test_upfirdn2d_gradients_emulated(emulated, up, down, pad, flip, sep):
    """The backward (flipped filter, swapped up/down, mirrored padding) passes gradcheck and gradgradcheck."""
    torch.manual_seed(2)
    f = _filter(sep)
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    fn = lambda x: cuda_ops.upfirdn2d_cuda(x, f, up=up, down=down, padding=pad, flip_filter=flip, gain=2.0)  # noqa
    ref = upfirdn2d_ref(x, f.float().double() if not sep else f, up=up, down=down, padding=pad, flip_filter=flip,
                        gain=2.0)
    assert torch.allclose(fn(x), ref, atol=1e-6)
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def test_backward_padding_restores_input_size():
    for size in range(3, 9):
        for up, down, p0, p1, fsize in [(2, 1, 2, 1, 4), (1, 2, 1, 1, 4), (2, 2, 1, 0, 4), (1, 1, 0, 0, 3)]:
            out = (size * up + p0 + p1 - fsize) // down + 1
            q0, q1 = cuda_ops._backward_padding(size, out, fsize, up, down, p0)
            assert (out * down + q0 + q1 - fsize) // up + 1 == size


# -------------------------------------------------------------------------------------------- real kernels
@needs_cuda
@pytest.mark.parametrize("up,down,pad,flip,sep", UPFIRDN_CASES)
def test_upfirdn2d_cuda_parity(up, down, pad, flip, sep):
    torch.manual_seed(3)
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5), (torch.float16, 1e-2)):
        f = _filter(sep, torch.float32).cuda()
        x = torch.randn(2, 5, 12, 10, device="cuda", dtype=dtype)
        for fmt in (torch.contiguous_format, torch.channels_last):
            xx = x.contiguous(memory_format=fmt).requires_grad_(dtype != torch.float16)
            y1 = cuda_ops.upfirdn2d_cuda(xx, f, up=up, down=down, padding=pad, flip_filter=flip, gain=2.0)
            y2 = upfirdn2d_ref(xx, f, up=up, down=down, padding=pad, flip_filter=flip, gain=2.0)
            assert (y1.float() - y2.float()).abs().max() <= tol * max(1, y2.abs().max().item())
            if xx.requires_grad:
                dy = torch.randn_like(y1)
                g1, = torch.autograd.grad(y1, xx, dy)
                g2, = torch.autograd.grad(y2, xx, dy)
                assert (g1 - g2).abs().max() <= tol * max(1, g2.abs().max().item())
    x = torch.randn(1, 2, 6, 5, device="cuda", dtype=torch.float64, requires_grad=True)
    f = _filter(sep, torch.float32).cuda()
    fn = lambda x: cuda_ops.upfirdn2d_cuda(x, f, up=up, down=down, padding=pad, flip_filter=flip)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


@needs_cuda
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_bias_act_cuda_parity(act):
    torch.manual_seed(4)
    for clamp in (None, 0.9):
        for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5), (torch.float16, 2e-3)):
            x = torch.randn(4, 6, 5, 7, device="cuda", dtype=dtype)
            b = torch.randn(6, device="cuda", dtype=dtype)
            for fmt in (torch.contiguous_format, torch.channels_last):
                xx = x.contiguous(memory_format=fmt).requires_grad_(True)
                bb = b.clone().requires_grad_(True)
                y1 = cuda_ops.bias_act_cuda(xx, bb, act=act, clamp=clamp)
                y2 = bias_act_ref(xx, bb, act=act, clamp=clamp)
                assert (y1.float() - y2.float()).abs().max() <= tol * 4
                if dtype != torch.float16:
                    dy = torch.randn_like(y1)
                    g1 = torch.autograd.grad(y1, [xx, bb], dy)
                    g2 = torch.autograd.grad(y2, [xx, bb], dy)
                    for a, c in zip(g1, g2):
                        assert (a - c).abs().max() <= tol * 10 * max(1, c.abs().max().item())
    x = torch.randn(2, 3, 3, 2, device="cuda", dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, device="cuda", dtype=torch.float64, requires_grad=True)
    fn = lambda x, b: cuda_ops.bias_act_cuda(x, b, act=act, gain=1.3, clamp=0.9)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, b))
    assert torch.autograd.gradgradcheck(fn, (x, b))


@needs_cuda
def test_generator_custom_ops_match_reference(monkeypatch):
    """A small StyleGAN2 (fp32 and fp16 blocks) gives the same image and R1-style gradients with either ops."""
    from ganlib.networks.stylegan2 import Generator
    torch.manual_seed(5)
    G = Generator(z_dim=16, w_dim=16, img_resolution=32, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=512, channel_max=32, num_fp16_res=2, conv_clamp=256)).cuda()
    z = torch.randn(3, 16, device="cuda")
    out = {}
    for mode in ("ref", "cuda"):
        monkeypatch.setenv("STUDIO_OPS", mode)
        ws = G.mapping(z, None).detach().requires_grad_(True)
        img = G.synthesis(ws, noise_mode="const")
        g, = torch.autograd.grad(img.square().sum(), ws, create_graph=True)
        g2, = torch.autograd.grad(g.square().sum(), ws)
        out[mode] = (img.detach(), g.detach(), g2)
    for a, c in zip(out["ref"], out["cuda"]):
        assert (a - c).abs().max() <= 2e-2 * max(1.0, c.abs().max().item())


# ------------------------------------------------------------------------ kernel bodies compiled for the host
@pytest.fixture(scope="module")
def host_kernels(tmp_path_factory):
    """The kernels' device code (unchanged) built as a host library with g++ (skipped without g++)."""
    import ctypes
    import re
    import shutil
    import subprocess
    from pathlib import Path
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not available")
    d = tmp_path_factory.mktemp("kernels")
    ops = Path(cuda_ops.__file__).parent
    for name in ("upfirdn2d_kernel", "bias_act_kernel"):
        text = (ops / f"{name}.cu").read_text()
        body = re.search(r"^namespace \{\n(.*)^\}  // namespace", text, re.S | re.M).group(1)
        (d / f"{name}_body.inc").write_text(body)
    harness = Path(__file__).parent / "kernel_host_harness.cpp"
    lib = d / "harness.so"
    subprocess.run([gxx, "-O1", "-shared", "-fPIC", "-std=c++17", f"-I{d}",
                    '-DKERNEL_BODY_UPFIRDN2D="upfirdn2d_kernel_body.inc"',
                    '-DKERNEL_BODY_BIAS_ACT="bias_act_kernel_body.inc"', str(harness), "-o", str(lib)],
                   check=True, capture_output=True, timeout=240)
    return ctypes.CDLL(str(lib))


def test_upfirdn2d_kernel_body_on_host(host_kernels):
    import ctypes
    import numpy as np
    rng = np.random.RandomState(0)
    i64x4 = ctypes.c_int64 * 4
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
        host_kernels.run_upfirdn2d(
            ctypes.c_void_p(x.data_ptr()), ctypes.c_void_p(f.data_ptr()), ctypes.c_void_p(y.data_ptr()), 2, 3, h, w,
            ref.shape[2], ref.shape[3], upx, upy, downx, downy, pads[0], pads[2], fw, fh, int(flip),
            ctypes.c_float(gain), i64x4(*x.stride()), i64x4(*y.stride()))
        assert torch.allclose(y, ref, rtol=0, atol=1e-9 * max(1.0, ref.abs().max().item())), (upx, upy, pads)
        checked += 1


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_bias_act_kernel_body_on_host(host_kernels, act):
    import ctypes
    spec = ACTIVATIONS[act]
    emu = cuda_ops.EmulatedKernels()
    empty = torch.empty(0, dtype=torch.float64)
    for clamp, gain, mode, fmt in [(c, g, m, f) for c in (-1.0, 0.7) for g in (1.0, 1.7) for m in (0, 1, 2)
                                   for f in (torch.contiguous_format, torch.channels_last)]:
        xin = torch.randn(2, 4, 3, 5, dtype=torch.float64).contiguous(memory_format=fmt)
        xref = torch.randn_like(xin)
        b = torch.randn(4, dtype=torch.float64)
        yref = torch.empty_like(xin).copy_(emu.bias_act(xref, b, empty, empty, 1, spec.cuda_idx, 0, spec.def_alpha,
                                                        gain, clamp))
        want = emu.bias_act(xin, b, xref, yref, 1, spec.cuda_idx, mode, spec.def_alpha, gain, clamp)
        out = torch.empty_like(xin)
        host_kernels.run_bias_act(*(ctypes.c_void_p(t.data_ptr()) for t in (out, xin, b, xref, yref)),
                                  ctypes.c_int64(xin.numel()), ctypes.c_int64(xin.stride(1)), ctypes.c_int64(4),
                                  spec.cuda_idx, mode, 1, 1, 1, ctypes.c_double(spec.def_alpha),
                                  ctypes.c_double(gain), ctypes.c_double(clamp))
        assert torch.allclose(out, want, rtol=0, atol=1e-12), (act, clamp, gain, mode)
