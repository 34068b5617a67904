"""Faster equivalents of the reference ops for inference (no autograd), used by the StyleGAN2 layers on CPU.

Each function computes the same result as a reference op (``conv2d_resample``, ``upsample2d``, ``bias_act``) up to
floating-point rounding, and is checked against it in float64 (tests/test_cpu_fast.py, tests/test_cpu_fast_up.py):

* ``modulated_conv_lrelu``: a whole synthesis layer (modulated 3×3 conv, demodulation, noise, bias, leaky ReLU,
  gain, clamp) with the demodulation from a cached Σw² matrix product, modulation of the weights or of the
  activations chosen per layer by size (``prefer_fused``), the bias inside the convolution and
  demodulation + noise, activation and clamp in place;
* ``modulated_torgb``: to-RGB as one batched matrix product (fp32 even under bf16 autocast);
* ``upsample2d_fast``: the skip image's ×2 FIR upsampling as a depthwise 3×3 convolution with four phases and a
  pixel shuffle (3× faster than zero insertion + 4×4 filter);
* ``conv3x3``: the stride-1 3×3 convolutions of fp32 planes of at least ``NNPACK_MIN_PIXELS`` through NNPACK's
  Winograd F(6×6, 3×3) kernels, one sample at a time (measured on a 2-core AVX2 CPU, 1 thread: 512 ch at 64² 409 ms
  vs oneDNN's 997 ms, 256 ch at 128² 419 vs 1192, 64 ch at 512² 1197 vs 2186; at 16² NNPACK is slower, 161 vs 102,
  and its batched entry point is 2× slower than oneDNN at batch 4). Winograd rounds differently: |error| ~6e-5 on
  unit-variance outputs vs ~1.5e-5 for oneDNN (fp32 both), far below one uint8 level (1/127.5).

Folding the 4×4 FIR filter into the upsampling convolution's weights (one ordinary 3×3 convolution with 4·O
outputs and a pixel shuffle, ``fold_upsampling``) is exact; it has 4× the multiply-adds of the transposed
convolution + filter, which NNPACK's Winograd kernels repay from 64² inputs (``upconv_route``). The prepared
upsampling weights (folded, or transposed to the layout ``conv_transpose2d`` takes) and Σw² are cached per weight
tensor (``cached``), so only the per-sample modulation is left to each call; the bias goes into the convolution.
"""
from __future__ import annotations

import os
import weakref
from typing import Callable

import torch
import torch.nn.functional as F

from ganlib.ops.conv2d_resample import conv2d_resample


_CACHE: dict[tuple, tuple] = {}
NNPACK_MIN_PIXELS = 32 * 32
NNPACK_UP_MIN_PIXELS = 64 * 64
_NNPACK: list[bool] = []
# Functions torch.compile must run as they are (graph breaks): NNPACK's op has no fake-tensor kernel, and the weight
# cache's bookkeeping would make Dynamo guard on it. ``torch.compiler.disable`` imports Dynamo (~2.5 s of every
# process's start-up, measured), so they are swapped for their disabled twins only when something is compiled.
_EAGER_UNDER_COMPILE = ("conv3x3", "cached")


def prepare_compile() -> None:
    """Replace this module's ``_EAGER_UNDER_COMPILE`` functions by their ``torch.compiler.disable`` twins (call it
    before ``torch.compile``; every call site looks them up here at call time); returns None."""
    names = globals()
    for name in _EAGER_UNDER_COMPILE:
        fn = names[name]
        if not getattr(fn, "_eager_under_compile", False):
            twin = torch.compiler.disable(fn)
            twin._eager_under_compile = True
            names[name] = twin


def nnpack_ready() -> bool:
    """Return True when NNPACK can run here (initialised once: ``torch._nnpack_available`` also initialises it, and
    its convolution fails until it has been called); ``STUDIO_NNPACK=0`` turns it off."""
    if os.environ.get("STUDIO_NNPACK", "1") == "0":
        return False
    if not _NNPACK:
        _NNPACK.append(bool(getattr(torch, "_nnpack_available", lambda: False)()))
    return _NNPACK[0]


def use_nnpack(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Return True when ``conv3x3`` takes NNPACK for ``x`` [N, I, H, W] and ``weight`` [O, I, 3, 3]: fp32 on CPU,
    a 3×3 kernel and a plane of at least ``NNPACK_MIN_PIXELS`` (below it oneDNN is faster)."""
    return (x.dtype == torch.float32 and x.device.type == "cpu" and tuple(weight.shape[2:]) == (3, 3)
            and x.shape[2] * x.shape[3] >= NNPACK_MIN_PIXELS and nnpack_ready())


def conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, padding=1)`` for x [N, I, H, W], weight [O, I, 3, 3] and bias [O] or None;
    through NNPACK (one sample at a time) where ``use_nnpack`` says so, else oneDNN (also, for the rest of the
    process, after NNPACK fails once). The bias is added inside the convolution (no extra pass over the output).
    Returns [N, O, H, W]."""
    if not use_nnpack(x, weight):
        return F.conv2d(x, weight, bias, padding=1)
    w = weight.to(torch.float32).contiguous()
    b = bias.to(torch.float32).contiguous() if bias is not None else None
    x = x.contiguous()
    try:
        if x.shape[0] == 1:
            return torch._nnpack_spatial_convolution(x, w, b, [1, 1], [1, 1])
        out = x.new_empty([x.shape[0], w.shape[0], x.shape[2], x.shape[3]])
        for k in range(x.shape[0]):
            out[k] = torch._nnpack_spatial_convolution(x[k:k + 1], w, b, [1, 1], [1, 1])[0]
        return out
    except RuntimeError:  # NNPACK refused (an unsupported CPU or size): oneDNN from now on, same result
        _NNPACK[:] = [False]
        return F.conv2d(x, weight, bias, padding=1)


def _full_conv(w: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Full 2-D convolution of every [kh, kw] slice of ``w`` [O, I, kh, kw] with the filter ``f`` [fh, fw]."""
    o, i, kh, kw = w.shape
    fh, fw = f.shape
    g = f.flip([0, 1]).to(w.dtype)[None, None]
    out = F.conv2d(w.reshape(o * i, 1, kh, kw), g, padding=(fh - 1, fw - 1))
    return out.reshape(o, i, kh + fh - 1, kw + fw - 1)


def _phases(k6: torch.Tensor) -> torch.Tensor:
    """Split a combined 6×6 kernel [O, I, 6, 6] into the four 3×3 phase kernels of a ×2 upsampling, as one weight
    [4·O, I, 3, 3] whose output channel ``4·o + 2·py + px`` makes output pixel (2·y + py, 2·x + px)."""
    o, i = k6.shape[:2]
    taps = [torch.tensor(t, device=k6.device) for t in ((4, 2, 0), (5, 3, 1))]
    w = torch.stack([torch.stack([k6.index_select(2, ty).index_select(3, tx) for tx in taps], dim=1)
                     for ty in taps], dim=1)  # [O, 2 (py), 2 (px), I, 3, 3]
    return w.reshape(o * 4, i, 3, 3)


def pixel_unphase(y: torch.Tensor) -> torch.Tensor:
    """[N, 4·C, H, W] phase outputs → [N, C, 2H, 2W] (what ``F.pixel_shuffle`` with factor 2 returns, written as one
    strided copy into the output: 1.3× faster than pixel_shuffle at 128 ch × 256², 1 thread)."""
    n, c4, h, w = y.shape
    c = c4 // 4
    out = y.new_empty([n, c, 2 * h, 2 * w])
    out.view(n, c, h, 2, w, 2).copy_(y.reshape(n, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3))
    return out


def upsample2d_fast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Same as ``upsample2d(x, f)`` (×2, 4×4 filter, no extra padding): a depthwise convolution with the four phase
    kernels and a pixel shuffle. Returns [N, C, 2H, 2W]."""
    c = x.shape[1]
    delta = torch.zeros([1, 1, 3, 3], dtype=x.dtype, device=x.device)
    delta[0, 0, 1, 1] = 1
    k = _phases(_full_conv(delta, f.to(x.dtype) * 4))  # [4, 1, 3, 3]
    return pixel_unphase(F.conv2d(x, k.repeat(c, 1, 1, 1), padding=1, groups=c))


def fold_upsampling(weight: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """The ×2 upsampling 3×3 convolution with the 4×4 filter ``f`` folded in, as one ordinary 3×3 convolution with
    four phases: weight [O, I, 3, 3] → [4·O, I, 3, 3], whose output through ``pixel_unphase`` equals
    ``conv2d_resample(x, weight, f, up=2, padding=1, flip_weight=False)``."""
    return _phases(_full_conv(weight, f.to(weight.dtype) * 4))


def upconv_route(x: torch.Tensor, weight: torch.Tensor) -> str:
    """Return how ``upconv3x3`` computes the ×2 upsampling convolution of ``x`` [N, I, H, W] with ``weight``
    [O, I, 3, 3]: 'fold' (the folded four-phase 3×3 convolution through NNPACK's Winograd kernels: fp32, NNPACK
    present, an input plane of at least ``NNPACK_UP_MIN_PIXELS``) or 'transpose' (oneDNN's strided transposed
    convolution and a depthwise 4×4 filter, both on contiguous memory). Measured, 1 thread, CPU time per layer
    (weight modulation included), transpose / fold / the former channels-last transpose: 16² 512→512 ch 39 / 137 /
    49 ms, 64² 512→256 214 / 221 / 203, 128² 256→128 304 / 227 / 496, 256² 128→64 488 / 357 / 355."""
    if use_nnpack(x, weight) and x.shape[2] * x.shape[3] >= NNPACK_UP_MIN_PIXELS:
        return "fold"
    return "transpose"


def upconv_weight(weight: torch.Tensor, f: torch.Tensor, route: str) -> torch.Tensor:
    """The weight [O, I, 3, 3] of a ×2 upsampling convolution prepared for ``route``: 'fold' → the four-phase
    weight [4·O, I, 3, 3] with the filter ``f`` folded in (``fold_upsampling``); 'transpose' → [I, O, 3, 3], the
    layout ``F.conv_transpose2d`` takes (contiguous, so oneDNN does not reorder it on every call)."""
    if route == "fold":
        return fold_upsampling(weight, f)
    return weight.transpose(0, 1).contiguous()


def upconv_prepared(x: torch.Tensor, wp: torch.Tensor, f: torch.Tensor, route: str,
                    bias: torch.Tensor | None = None) -> torch.Tensor:
    """``conv2d_resample(x, weight, f, up=2, padding=1, flip_weight=False)`` + ``bias`` [O] (or None) from the
    weight ``wp`` prepared by ``upconv_weight(weight, f, route)``; the bias is added inside the last convolution.
    Returns [N, O, 2H, 2W], contiguous."""
    if route == "fold":
        b4 = bias.repeat_interleave(4) if bias is not None else None
        return pixel_unphase(conv3x3(x, wp, b4))
    o = wp.shape[1]
    t = F.conv_transpose2d(x.contiguous(), wp, stride=2)
    k = (f * 4).flip([0, 1]).to(t.dtype)[None, None].expand(o, 1, *f.shape)
    return F.conv2d(t, k, bias.to(t.dtype) if bias is not None else None, padding=1, groups=o)


def upconv3x3(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Same as ``conv2d_resample(x, weight, f, up=2, padding=1, flip_weight=False)`` (+ ``bias`` [O] when given):
    the ×2 upsampling 3×3 convolution with the 4×4 filter ``f`` for x [N, I, H, W] and weight [O, I, 3, 3], by the
    route ``upconv_route`` picks. Returns [N, O, 2H, 2W]."""
    route = upconv_route(x, weight)
    return upconv_prepared(x, upconv_weight(weight, f, route), f, route, bias)


def fits_upsample2d(f: torch.Tensor | None) -> bool:
    """Return True when ``upsample2d_fast`` applies (a 2-D 4×4 filter)."""
    return f is not None and f.ndim == 2 and tuple(f.shape) == (4, 4)


def cached(weight: torch.Tensor, kind: tuple, make: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Return ``make(weight)`` (computed without autograd), cached per weight tensor and ``kind`` (a hashable naming
    what ``make`` computes): recomputed when the weight changes in place, dtype or device; the entry goes when the
    weight does."""
    key = (id(weight), kind)
    stamp = (weight._version, weight.dtype, weight.device)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is weight and hit[1] == stamp:
        return hit[2]
    with torch.no_grad():
        value = make(weight.detach())
    if hit is None:
        weakref.finalize(weight, _CACHE.pop, key, None)
    _CACHE[key] = (weakref.ref(weight), stamp, value)
    return value


def _weight_sq(weight: torch.Tensor) -> torch.Tensor:
    """Σ over the kernel taps of weight² ([O, I]), cached per weight tensor (``cached``)."""
    return cached(weight, ("sq",), lambda w: w.square().sum(dim=[2, 3]))


def _upconv_weight_cached(weight: torch.Tensor, f: torch.Tensor, route: str) -> torch.Tensor:
    """``upconv_weight(weight, f, route)``, cached per weight, filter taps and route."""
    return cached(weight, ("up", route, tuple(f.flatten().tolist())), lambda w: upconv_weight(w, f.to(w), route))


def prefer_fused(batch: int, out_channels: int, height: int, width: int) -> bool:
    """Return True when modulating the weights (one grouped convolution) moves less memory than modulating the
    activations: batch 1 and an input plane larger than 9·O pixels (measured: the high-resolution layers)."""
    return batch == 1 and height * width > 9 * out_channels


def modulated_conv_lrelu(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, up: int = 1,
                         f: torch.Tensor | None = None, noise: torch.Tensor | None = None,
                         bias: torch.Tensor | None = None, gain: float = 1.0, alpha: float = 0.2,
                         clamp: float | None = None, fused: bool | None = None) -> torch.Tensor:
    """A whole synthesis layer for inference: ``clamp(lrelu(demod(modconv(x, weight, styles)) + noise + bias) *
    gain)``, equal to ``modulated_conv2d`` + ``bias_act`` of the reference layers up to rounding.

    Takes x [N, I, H, W], weight [O, I, 3, 3], styles [N, I], up (1 or 2, the latter by ``upconv_route`` for a 4×4
    filter ``f``, else through ``conv2d_resample``), noise broadcastable to the output, bias [O], the activation
    gain (> 0), leaky-ReLU ``alpha`` and ``clamp`` (None: none). ``fused`` (None: ``prefer_fused``) modulates the
    weights rather than the activations. The demodulation coefficients come from Σ weight² (one small matrix
    product, in fp32 even under autocast); the gain is folded into them, the bias goes into the convolution (as
    bias / demodulation when the activations are modulated), and demodulation + noise, activation and clamp run in
    place on the output. Returns [N, O, H·up, W·up]."""
    n, i, h, w_ = x.shape
    o = weight.shape[0]
    with torch.autocast(device_type=x.device.type, enabled=False):
        s = styles.float() if styles.dtype != weight.dtype else styles
        dcoef = (s.square() @ _weight_sq(weight).t().to(s.dtype) + 1e-8).rsqrt() * gain  # [N, O]
    if fused is None:
        fused = prefer_fused(n, o, h, w_)
    route = upconv_route(x, weight) if up == 2 and fits_upsample2d(f) else None
    base = _upconv_weight_cached(weight, f, route) if route else weight
    b = bias * gain if bias is not None else None

    def conv(inp: torch.Tensor, wt: torch.Tensor, bb: torch.Tensor | None) -> torch.Tensor:  # groups=1, + bias
        if up == 1:
            return conv3x3(inp, wt, bb)
        if route:
            return upconv_prepared(inp, wt, f, route, bb)
        y = conv2d_resample(inp, wt, f=f, up=up, padding=1, flip_weight=False)
        return y.add_(bb.to(y.dtype).reshape(1, -1, 1, 1)) if bb is not None else y

    demod = None
    if fused and n == 1:  # one sample: modulate and demodulate the weights, then an ordinary convolution
        if route == "transpose":  # [I, O, 3, 3]
            scale = s.reshape(i, 1, 1, 1) * dcoef.reshape(1, o, 1, 1)
        else:  # [O, I, 3, 3] or the folded [4·O, I, 3, 3]
            rows = dcoef.reshape(o).repeat_interleave(4) if route == "fold" else dcoef.reshape(o)
            scale = s.reshape(1, i, 1, 1) * rows.reshape(-1, 1, 1, 1)
        y = conv(x, (base * scale).to(x.dtype), b.to(x.dtype) if b is not None else None)
    elif fused:
        wmod = weight.unsqueeze(0) * (s.unsqueeze(1) * dcoef.unsqueeze(2)).reshape(n, o, i, 1, 1)
        y = conv2d_resample(x.reshape(1, n * i, h, w_), wmod.reshape(n * o, i, 3, 3).to(x.dtype), f=f, up=up,
                            padding=1, groups=n, flip_weight=up == 1)
        y = y.reshape(n, o, *y.shape[2:])
        if b is not None:
            y.add_(b.to(y.dtype).reshape(1, o, 1, 1))
    else:  # modulate the activations; conv(x·s, w, b / d) · d = d · conv(x·s, w) + b
        d = dcoef.to(x.dtype)
        bb = None
        if b is not None and n == 1:
            bb = b.to(x.dtype) / d.reshape(o)
        y = conv(x * s.to(x.dtype).reshape(n, i, 1, 1), base.to(x.dtype), bb)
        demod = d.reshape(n, o, 1, 1)
        if b is not None and n > 1:
            y.mul_(demod).add_(b.to(y.dtype).reshape(1, o, 1, 1))
            demod = None
    if demod is not None and noise is not None:
        y = torch.addcmul((noise * gain).to(y.dtype), y, demod, out=y)  # one pass: y · d + noise
    elif demod is not None:
        y.mul_(demod)
    elif noise is not None:
        y.add_((noise * gain).to(y.dtype))
    F.leaky_relu_(y, alpha)
    if clamp is not None and clamp >= 0:
        y.clamp_(-clamp, clamp)
    return y


def modulated_torgb(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, bias: torch.Tensor | None,
                    clamp: float | None = None) -> torch.Tensor:
    """To-RGB for inference: ``clamp(conv1x1(x, weight modulated by styles, no demodulation) + bias)`` as one batched
    matrix product in fp32 (also under autocast). Takes x [N, I, H, W], weight [C, I, 1, 1], styles [N, I] (the
    weight gain included), bias [C]; returns float32 [N, C, H, W]."""
    n, i, h, w_ = x.shape
    c = weight.shape[0]
    with torch.autocast(device_type=x.device.type, enabled=False):
        wm = weight.reshape(1, c, i).float() * styles.float().reshape(n, 1, i)
        y = torch.bmm(wm, x.float().reshape(n, i, h * w_)).reshape(n, c, h, w_)
        if bias is not None:
            y.add_(bias.float().reshape(1, c, 1, 1))
        if clamp is not None and clamp >= 0:
            y.clamp_(-clamp, clamp)
    return y
