"""The upsampling routes, the per-weight cache and the bias-in-convolution of the CPU fast path
(ganlib/ops/fast_cpu.py) against the reference ops, in float64 where the route allows it."""
from __future__ import annotations

import gc
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from ganlib.layers import modulated_conv2d
from ganlib.ops import fast_cpu
from ganlib.ops.bias_act import bias_act_ref
from ganlib.ops.conv2d_resample import conv2d_resample
from ganlib.ops.upfirdn2d import setup_filter

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("route", ["transpose", "fold"])
@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 5, 1]])
def test_upconv_routes_equal_conv2d_resample_plus_bias_in_float64(route, taps):
    f = setup_filter(taps).to(F64)
    g = _gen(3)
    x = torch.randn(2, 5, 6, 7, generator=g, dtype=F64)
    weight = torch.randn(4, 5, 3, 3, generator=g, dtype=F64)
    bias = torch.randn(4, generator=g, dtype=F64)
    want = conv2d_resample(x, weight, f=f, up=2, padding=1, flip_weight=False) + bias.reshape(1, 4, 1, 1)
    got = fast_cpu.upconv_prepared(x, fast_cpu.upconv_weight(weight, f, route), f, route, bias)
    assert got.shape == want.shape == (2, 4, 12, 14) and got.is_contiguous()
    assert (got - want).abs().max().item() < 1e-12


def test_upconv_route_by_plane_size_and_dtype():
    w = torch.zeros(3, 4, 3, 3)
    side = int(fast_cpu.NNPACK_UP_MIN_PIXELS ** 0.5)
    big, small = torch.zeros(1, 4, side, side), torch.zeros(1, 4, side // 2, side // 2)
    assert fast_cpu.upconv_route(big, w) == ("fold" if fast_cpu.nnpack_ready() else "transpose")
    assert fast_cpu.upconv_route(small, w) == "transpose"
    assert fast_cpu.upconv_route(big.double(), w.double()) == "transpose"  # NNPACK is fp32 only


def test_pixel_unphase_equals_pixel_shuffle():
    y = torch.randn(2, 12, 5, 7, generator=_gen(4))
    assert torch.equal(fast_cpu.pixel_unphase(y), F.pixel_shuffle(y, 2))


def test_conv3x3_adds_the_bias_inside_the_convolution():
    g = _gen(5)
    x = torch.randn(1, 6, 32, 32, generator=g)  # fp32 and 32²: the NNPACK route where present
    weight = torch.randn(4, 6, 3, 3, generator=g) / 6
    bias = torch.randn(4, generator=g)
    want = F.conv2d(x.double(), weight.double(), bias.double(), padding=1)
    got = fast_cpu.conv3x3(x, weight, bias)
    assert (got.double() - want).abs().max().item() < 1e-4 * want.abs().max().item()
    got64 = fast_cpu.conv3x3(x.double(), weight.double(), bias.double())
    assert (got64 - want).abs().max().item() < 1e-12


def _reference_layer(x, weight, styles, noise, bias, f, up, gain, clamp):
    want = modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=1, resample_filter=f,
                            flip_weight=up == 1, fused_modconv=True)
    return bias_act_ref(want, bias, act="lrelu", gain=gain, clamp=clamp)


@pytest.mark.parametrize("fused", [True, False])
def test_upsampling_layer_through_the_fold_route_equals_reference(fused):
    """A 128² input in fp32 takes the folded NNPACK route (where present); checked against float64."""
    g = _gen(6)
    side = int(fast_cpu.NNPACK_UP_MIN_PIXELS ** 0.5)
    x = torch.randn(1, 4, side, side, generator=g)
    weight = torch.randn(3, 4, 3, 3, generator=g)
    styles = torch.randn(1, 4, generator=g)
    noise = torch.randn(1, 1, 2 * side, 2 * side, generator=g) * 0.3
    bias = torch.randn(3, generator=g)
    f = setup_filter([1, 3, 3, 1])
    want = _reference_layer(x.double(), weight.double(), styles.double(), noise.double(), bias.double(),
                            f.double(), 2, 2 ** 0.5, 1.0)
    got = fast_cpu.modulated_conv_lrelu(x, weight, styles, up=2, f=f, noise=noise, bias=bias, gain=2 ** 0.5,
                                        clamp=1.0, fused=fused)
    assert got.shape == want.shape == (1, 3, 2 * side, 2 * side)
    assert (got.double() - want).abs().max().item() < 1e-4
    assert (want.abs() == 1.0).any()  # the clamp was exercised


@pytest.mark.parametrize("up", [1, 2])
def test_modulated_activations_with_the_bias_folded_in_float64(up):
    """Batch 1, activations modulated: conv(x·s, w, b / d) · d + noise must equal d · conv(x·s, w) + noise + b."""
    g = _gen(7 + up)
    x = torch.randn(1, 6, 5, 5, generator=g, dtype=F64)
    weight = torch.randn(4, 6, 3, 3, generator=g, dtype=F64)
    styles = torch.randn(1, 6, generator=g, dtype=F64)
    noise = torch.randn(1, 1, 5 * up, 5 * up, generator=g, dtype=F64) * 0.3
    bias = torch.randn(4, generator=g, dtype=F64)
    f = setup_filter([1, 3, 3, 1]).to(F64)
    want = _reference_layer(x, weight, styles, noise, bias, f, up, 1.7, 1.5)
    got = fast_cpu.modulated_conv_lrelu(x, weight, styles, up=up, f=f, noise=noise, bias=bias, gain=1.7,
                                        alpha=0.2, clamp=1.5, fused=False)
    assert (got - want).abs().max().item() < 1e-12


def test_cache_follows_in_place_changes_kinds_and_lifetime():
    w = torch.ones(2, 3, 3, 3)
    calls = []

    def make(t):
        calls.append(1)
        return t.sum()
    assert fast_cpu.cached(w, ("a",), make).item() == 54
    assert fast_cpu.cached(w, ("a",), make).item() == 54 and len(calls) == 1  # a hit
    assert fast_cpu.cached(w, ("b",), lambda t: t.mean()).item() == 1  # another kind, its own entry
    w.mul_(2)
    assert fast_cpu.cached(w, ("a",), make).item() == 108 and len(calls) == 2  # changed in place: recomputed
    key = (id(w), ("a",))
    assert key in fast_cpu._CACHE
    del w
    gc.collect()
    assert key not in fast_cpu._CACHE  # the entry went with the weight


def test_loading_and_rendering_do_not_import_dynamo_until_something_is_compiled():
    # torch.compiler.disable (and any out-of-place op in a meta-device sizing build) imports Dynamo: ~2.5 s of
    # every process's start-up. The twins are made only when compiling, and they compute the same.
    code = ("import sys, torch\n"
            "from ganlib.checkpoints import load_generator\n"
            "from ganlib.ops import fast_cpu\n"
            "import studio.render\n"
            "G = load_generator('builtin:default').G\n"
            "x, w = torch.randn(1, 4, 32, 32), torch.randn(8, 4, 3, 3)\n"
            "before = fast_cpu.conv3x3(x, w)\n"
            "assert 'torch._dynamo' not in sys.modules, 'imported before compiling'\n"
            "fast_cpu.prepare_compile(); fast_cpu.prepare_compile()\n"
            "assert fast_cpu.conv3x3._eager_under_compile and torch.equal(fast_cpu.conv3x3(x, w), before)\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
