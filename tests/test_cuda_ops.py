"""Custom CUDA ops: never compiled on CPU; one warning and no retry after a failed build; autograd wiring and
derivative formulas (first and second order) checked on CPU through an emulation of the kernels' contract; parity of
the real kernels with the reference ops on CUDA (skipped without a GPU)."""
from __future__ import annotations

import warnings

import pytest
import torch

from ganlib.ops import backend, cuda_ops
from ganlib.ops.cuda_emulation import EmulatedKernels
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
    backend._state.update({"tried": False, "module": None, "reason": None, "errors": [], "log": None})
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
    assert backend.status() == {"mode": "auto", "built": False, "reason": "RuntimeError: nvcc not found",
                                "errors": [], "log": None}
    monkeypatch.setenv("STUDIO_OPS", "ref")
    assert backend.cuda_bias_act() is None


def test_cuda_mode_without_cuda_raises(monkeypatch, fresh_backend):
    from ganlib.ops import cuda_build
    monkeypatch.setattr(cuda_build, "load_extension", lambda: (_ for _ in ()).throw(RuntimeError("no CUDA")))
    monkeypatch.setenv("STUDIO_OPS", "cuda")
    with pytest.raises(RuntimeError, match="STUDIO_OPS=cuda"):
        backend.cuda_upfirdn2d()


NINJA_FAILURE = """[1/4] /opt/cuda/bin/nvcc --generate-dependencies-with-compile \
--dependency-output upfirdn2d_kernel.cuda.o.d -DTORCH_EXTENSION_NAME=ganlib_ops_v2 """ + "-isystem /long/include " * 20 + """\
-c /src/upfirdn2d_kernel.cu -o upfirdn2d_kernel.cuda.o
FAILED: upfirdn2d_kernel.cuda.o
/opt/cuda/bin/nvcc --generate-dependencies-with-compile -c /src/upfirdn2d_kernel.cu -o upfirdn2d_kernel.cuda.o
/src/upfirdn2d_kernel.cu(42): error: identifier "acc_tt" is undefined
      acc_tt sum = acc_t(0);
      ^

/src/upfirdn2d_kernel.cu(50): warning #177-D: variable "k" was declared but never referenced
1 error detected in the compilation of "/src/upfirdn2d_kernel.cu".
[2/4] c++ -MMD -MF ganlib_ops.o.d -c /src/ganlib_ops.cpp -o ganlib_ops.o
/src/ganlib_ops.cpp:12:5: error: 'foo' was not declared in this scope
ninja: build stopped: subcommand failed.
"""


def test_compiler_errors_are_the_compilers_own_lines():
    from ganlib.ops.build_log import compiler_errors, compiler_warnings
    errors = compiler_errors(NINJA_FAILURE)
    assert errors[0] == '/src/upfirdn2d_kernel.cu(42): error: identifier "acc_tt" is undefined'
    assert errors[1].strip() == "acc_tt sum = acc_t(0);"
    assert "/src/ganlib_ops.cpp:12:5: error: 'foo' was not declared in this scope" in errors
    assert not any("-isystem" in e or "nvcc --generate" in e or "ninja:" in e for e in errors)
    assert compiler_warnings(NINJA_FAILURE) == [
        '/src/upfirdn2d_kernel.cu(50): warning #177-D: variable "k" was declared but never referenced']
    assert compiler_errors("CUDA_HOME environment variable is not set.") == [
        "CUDA_HOME environment variable is not set."]


def test_build_failure_keeps_the_log_and_reports_compiler_lines(monkeypatch, tmp_path, fresh_backend):
    """load_extension sends the build's output to build.log; a failure raises BuildError with the compiler's
    lines, which the warning, status() and ops_report() carry (not the command line)."""
    import os
    from torch.utils import cpp_extension
    from ganlib.ops import cuda_build

    def failing_load(**kwargs):
        os.write(1, NINJA_FAILURE.encode())  # where cpp_extension's verbose ninja run writes
        raise RuntimeError(f"Error building extension '{kwargs['name']}'")
    monkeypatch.setattr(cpp_extension, "load", failing_load)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with pytest.raises(cuda_build.BuildError) as err:
        cuda_build.load_extension(build_directory=tmp_path, require_gpu=False)
    log = tmp_path / cuda_build.LOG_NAME
    assert err.value.log == log and log.read_text() == NINJA_FAILURE
    assert err.value.errors[0].endswith('error: identifier "acc_tt" is undefined')
    assert str(log) in str(err.value) and "acc_tt" in str(err.value)

    monkeypatch.setattr(cuda_build, "load_extension", lambda: (_ for _ in ()).throw(err.value))
    monkeypatch.setenv("STUDIO_OPS", "auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert backend.cuda_upfirdn2d() is None
    msg = str(caught[0].message)
    assert 'error: identifier "acc_tt" is undefined' in msg and str(log) in msg and "-isystem" not in msg
    st = backend.status()
    assert st["errors"] == err.value.errors and st["log"] == str(log)
    report = backend.ops_report()
    assert report["build"] == "failed" and report["ops"] == {"upfirdn2d": "reference PyTorch",
                                                              "bias_act": "reference PyTorch"}
    text = "\n".join(backend.format_report(report))
    assert "acc_tt" in text and str(log) in text


@pytest.mark.skipif(CUDA, reason="checks the no-GPU path (with a GPU, ops_report builds)")
def test_ops_report_on_cpu_builds_nothing(monkeypatch, fresh_backend):
    from torch.utils import cpp_extension
    monkeypatch.setattr(cpp_extension, "load", lambda **k: (_ for _ in ()).throw(AssertionError("compiled")))
    monkeypatch.setenv("STUDIO_OPS", "auto")
    report = backend.ops_report()
    assert report["build"] == "not tried" and backend._state["tried"] is False
    assert set(report["ops"].values()) == {"reference PyTorch"}
    assert report["why"] in ("no GPU is visible to torch",
                             f"torch {torch.__version__} is a CPU build: CUDA tensors are not possible")
    monkeypatch.setenv("STUDIO_OPS", "ref")
    assert backend.ops_report()["build"] == "skipped"


def test_kernel_sources_are_shipped():
    from pathlib import Path
    here = Path(cuda_ops.__file__).parent
    from ganlib.ops.cuda_build import SOURCES
    for name in SOURCES:
        text = (here / name).read_text()
        assert len(text) > 500
    cpp = (here / "ganlib_ops.cpp").read_text()
    assert 'm.def("upfirdn2d"' in cpp and 'm.def("upfirdn2d_sep"' in cpp and 'm.def("bias_act"' in cpp


# ------------------------------------------------------------------------------ autograd wiring (emulated, CPU)
@pytest.fixture()
def emulated():
    with cuda_ops.use_kernels(EmulatedKernels()) as k:
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


class _Recording(EmulatedKernels):
    """The emulation, recording which kernel entry point each call reached."""

    def __init__(self):
        self.calls = []

    def upfirdn2d(self, *a):
        self.calls.append("generic")
        return EmulatedKernels.upfirdn2d(*a)

    def upfirdn2d_sep(self, *a):
        self.calls.append("tiled")
        return EmulatedKernels.upfirdn2d_sep(*a)


def test_upfirdn2d_takes_the_tiled_kernel_for_stylegan_cases():
    """Separable filters (1-D, and 2-D outer products such as setup_filter([1, 3, 3, 1])) with up/down 1 or 2 go to
    the tiled kernel, forward and backward; other filters and factors to the generic one; results unchanged."""
    torch.manual_seed(6)
    rec = _Recording()
    f4 = setup_filter([1, 3, 3, 1]).double()
    f12 = setup_filter(list(range(1, 7)) + list(range(6, 0, -1)), separable=True).double()
    x = torch.randn(1, 1, 14, 13, dtype=torch.float64, requires_grad=True)
    small = torch.randn(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    cases = [dict(up=2, padding=[2, 1, 2, 1], gain=4), dict(down=2, padding=1), dict(up=2, down=2, padding=3)]
    with cuda_ops.use_kernels(rec):
        for f in (f4, f12):
            for kw in cases:
                rec.calls.clear()
                y = cuda_ops.upfirdn2d_cuda(x, f, **kw)
                dy = torch.randn_like(y)
                g, = torch.autograd.grad(y, x, dy)
                assert rec.calls == ["tiled", "tiled"], (kw, rec.calls)
                y_ref = upfirdn2d_ref(x, f, **kw)
                assert torch.allclose(y, y_ref, atol=1e-6)
                assert torch.allclose(g, torch.autograd.grad(y_ref, x, dy)[0], atol=1e-6)
                if f is f4:
                    fn = lambda t: cuda_ops.upfirdn2d_cuda(t, f, **kw)  # noqa: E731
                    assert torch.autograd.gradcheck(fn, (small,)) and torch.autograd.gradgradcheck(fn, (small,))
        rec.calls.clear()
        dense = setup_filter([1, 3, 3, 1]) + 0.05 * torch.eye(4)  # not an outer product
        y = cuda_ops.upfirdn2d_cuda(x, dense, up=2, padding=[2, 1, 2, 1])
        y3 = cuda_ops.upfirdn2d_cuda(x, f4, up=3, padding=[2, 1, 2, 1])
        assert rec.calls == ["generic", "generic"]
    assert torch.allclose(y, upfirdn2d_ref(x, dense.float().double(), up=2, padding=[2, 1, 2, 1]), atol=1e-6)
    rec.calls.clear()
    with cuda_ops.use_kernels(rec), pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDIO_OPS_TILED", "0")  # the generic kernel only (benchmarks compare the two)
        cuda_ops.upfirdn2d_cuda(x, f4, up=2, padding=[2, 1, 2, 1])
    assert rec.calls == ["generic"]
    assert torch.allclose(y3, upfirdn2d_ref(x, f4, up=3, padding=[2, 1, 2, 1]), atol=1e-6)


def test_separable_taps_factor_outer_products_once():
    f = setup_filter([1, 3, 3, 1])
    fx, fy = cuda_ops._separable_taps(f)
    assert torch.allclose(torch.outer(fy, fx), f, atol=1e-7) and fx.device.type == "cpu"
    assert cuda_ops._separable_taps(f)[0] is fx  # remembered
    f.mul_(2)  # an in-place change is noticed
    assert torch.allclose(torch.outer(*cuda_ops._separable_taps(f)[::-1]), f, atol=1e-7)
    assert cuda_ops._separable_taps(setup_filter([1, 3, 3, 1]) + 0.05 * torch.eye(4)) is None
    assert cuda_ops._separable_taps(torch.zeros(3, 3)) is None


def test_empty_filter_and_1d_bias_act(emulated):
    """upfirdn2d refuses an empty filter (both implementations); bias_act of a 1-D tensor with no bias and the
    default dim=1 works (dim is ignored without a bias, as NVlabs documents) and a bad dim with a bias is refused."""
    x = torch.randn(1, 1, 4, 4)
    for fn in (upfirdn2d_ref, cuda_ops.upfirdn2d_cuda):
        with pytest.raises(ValueError, match="at least one tap"):
            fn(x, torch.ones(0, 3))
    v = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(cuda_ops.bias_act_cuda(v, None, act="lrelu"), bias_act_ref(v, None, act="lrelu"))
    assert torch.autograd.gradcheck(lambda t: cuda_ops.bias_act_cuda(t, None, act="elu"), (v,))
    with pytest.raises(ValueError, match="dim=1 is out of range"):
        cuda_ops.bias_act_cuda(v, torch.zeros(5, dtype=torch.float64))


# -------------------------------------------------------------------------------------------- real kernels
@needs_cuda
@pytest.mark.parametrize("up,down,pad,flip,sep", UPFIRDN_CASES)
def test_upfirdn2d_cuda_parity(up, down, pad, flip, sep):
    torch.manual_seed(3)
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5), (torch.float16, 1e-2), (torch.bfloat16, 4e-2)):
        f = _filter(sep, torch.float32).cuda()
        x = torch.randn(2, 5, 12, 10, device="cuda", dtype=dtype)
        for fmt in (torch.contiguous_format, torch.channels_last):
            xx = x.contiguous(memory_format=fmt).requires_grad_(dtype not in (torch.float16, torch.bfloat16))
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
        for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5), (torch.float16, 2e-3),
                           (torch.bfloat16, 4e-2)):  # bf16: 8 significant bits, rounded at each reference step
            x = torch.randn(4, 6, 5, 7, device="cuda", dtype=dtype)
            b = torch.randn(6, device="cuda", dtype=dtype)
            for fmt in (torch.contiguous_format, torch.channels_last):
                xx = x.contiguous(memory_format=fmt).requires_grad_(True)
                bb = b.clone().requires_grad_(True)
                y1 = cuda_ops.bias_act_cuda(xx, bb, act=act, clamp=clamp)
                y2 = bias_act_ref(xx, bb, act=act, clamp=clamp)
                assert (y1.float() - y2.float()).abs().max() <= tol * 4
                if dtype not in (torch.float16, torch.bfloat16):
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
@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_tiled_upfirdn2d_cuda_parity(up, down):
    """The tiled kernel on the device at sizes of several tiles, with 4- and 12-tap filters, every dtype, both
    layouts (140 planes)."""
    torch.manual_seed(7)
    for taps in (setup_filter([1, 3, 3, 1]), setup_filter([1.0] * 12, separable=True)):
        f = taps.cuda()
        k = f.shape[-1]
        pad = [(k + up - 1) // 2, (k - up) // 2] * 2 if up == 2 else [(k - down + 1) // 2, (k - down) // 2] * 2
        for dtype, tol in ((torch.float32, 1e-5), (torch.float16, 1e-2), (torch.bfloat16, 4e-2)):
            x = torch.randn(2, 70, 45, 67, device="cuda", dtype=dtype)
            for fmt in (torch.contiguous_format, torch.channels_last):
                xx = x.contiguous(memory_format=fmt)
                y1 = cuda_ops.upfirdn2d_cuda(xx, f, up=up, down=down, padding=pad, gain=up * up)
                y2 = upfirdn2d_ref(xx.float(), f, up=up, down=down, padding=pad, gain=up * up)
                assert (y1.float() - y2).abs().max() <= tol * max(1, y2.abs().max().item()), (k, dtype, fmt)


@needs_cuda
def test_bias_act_cuda_edge_cases():
    """On the device: a 1-D input without bias, swish(-inf) = 0, NaN through the clamp = -clamp, SELU' at 0."""
    v = torch.randn(7, device="cuda")
    assert torch.allclose(cuda_ops.bias_act_cuda(v, None, act="lrelu"), bias_act_ref(v, None, act="lrelu"))
    s = torch.tensor([-float("inf"), -100.0, 0.0, 100.0], device="cuda")
    assert cuda_ops.bias_act_cuda(s, act="swish", gain=1.0).tolist() == [0.0, 0.0, 0.0, 100.0]
    x = torch.tensor([float("nan"), 2.0, -2.0], device="cuda")
    assert cuda_ops.bias_act_cuda(x, clamp=1.0).tolist() == [-1.0, 1.0, -1.0]
    z = torch.zeros(1, device="cuda", dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(cuda_ops.bias_act_cuda(z, act="selu"), z)
    assert g.item() == pytest.approx(1.0507009873554805)


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


def test_studio_info_ops_prints_the_report(monkeypatch, fresh_backend):
    """``studio info --ops`` (no MODEL needed) prints where each op runs and why; --json gives ops_report()."""
    import json
    from click.testing import CliRunner
    from studio.commands.info import command
    monkeypatch.setenv("STUDIO_OPS", "auto")
    backend._state.update({"tried": True, "reason": "building the CUDA ops failed (RuntimeError); build log: /b/l",
                           "errors": ["k.cu(3): error: oops"], "log": "/b/build.log"})
    res = CliRunner().invoke(command, ["--ops"])
    assert res.exit_code == 0, res.output
    assert "upfirdn2d:" in res.output and "bias_act:" in res.output and "k.cu(3): error: oops" in res.output
    assert "build log:    /b/build.log" in res.output
    res = CliRunner().invoke(command, ["--ops", "--json"])
    report = json.loads(res.output)
    assert report["build"] == "failed" and report["errors"] == ["k.cu(3): error: oops"]
