"""Faster equivalents of the reference ops for inference (no autograd), used by the StyleGAN2 layers on CPU.

Each function computes the same result as a reference op (``conv2d_resample``, ``upsample2d``, ``bias_act``) up to
floating-point rounding, and is checked against it in float64 (tests/test_cpu_fast.py):

* ``modulated_conv_lrelu``: a whole synthesis layer (modulated 3×3 conv, demodulation, noise, bias, leaky ReLU,
  gain, clamp) with the demodulation from a cached Σw² matrix product, modulation of the weights or of the
  activations chosen per layer by size (``prefer_fused``), and noise/bias/activation/clamp in place;
* ``modulated_torgb``: to-RGB as one batched matrix product (fp32 even under bf16 autocast);
* ``upsample2d_fast``: the skip image's ×2 FIR upsampling as a depthwise 3×3 convolution with four phases and a
  pixel shuffle (3× faster than zero insertion + 4×4 filter);
* ``conv3x3``: the stride-1 3×3 convolutions of fp32 planes of at least ``NNPACK_MIN_PIXELS`` through NNPACK's
  Winograd F(6×6, 3×3) kernels, one sample at a time (measured on a 2-core AVX2 CPU, 1 thread: 512 ch at 64² 409 ms
  vs oneDNN's 997 ms, 256 ch at 128² 419 vs 1192, 64 ch at 512² 1197 vs 2186; at 16² NNPACK is slower, 161 vs 102,
  and its batched entry point is 2× slower than oneDNN at batch 4). Winograd rounds differently: |error| ~6e-5 on
  unit-variance outputs vs ~1.5e-5 for oneDNN (fp32 both), far below one uint8 level (1/127.5).

Folding the 4×4 FIR filter into the upsampling convolution's weights (one ordinary 3×3 convolution with 4·O
outputs and a pixel shuffle, ``fold_upsampling``) is exact; through oneDNN it is 1.6× slower than the transposed
convolution + filter (4× the multiply-adds), through NNPACK's Winograd kernels faster on large planes (``upconv3x3``).
"""
from __future__ import annotations

import os
import weakref

import torch
import torch.nn.functional as F

from ganlib.ops.conv2d_resample import conv2d_resample


_SQ: dict[int, tuple] = {}
NNPACK_MIN_PIXELS = 32 * 32
NNPACK_UP_MIN_PIXELS = 256 * 256
_NNPACK: list[bool] = []


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


def conv3x3(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=1)`` for x [N, I, H, W] and weight [O, I, 3, 3]; through NNPACK (one sample at
    a time) where ``use_nnpack`` says so, else oneDNN (also, for the rest of the process, after NNPACK fails once).
    Returns [N, O, H, W]."""
    if not use_nnpack(x, weight):
        return F.conv2d(x, weight, padding=1)
    w = weight.to(torch.float32).contiguous()
    x = x.contiguous()
    try:
        if x.shape[0] == 1:
            return torch._nnpack_spatial_convolution(x, w, None, [1, 1], [1, 1])
        out = x.new_empty([x.shape[0], w.shape[0], x.shape[2], x.shape[3]])
        for k in range(x.shape[0]):
            out[k] = torch._nnpack_spatial_convolution(x[k:k + 1], w, None, [1, 1], [1, 1])[0]
        return out
    except RuntimeError:  # NNPACK refused (an unsupported CPU or size): oneDNN from now on, same result
        _NNPACK[:] = [False]
        return F.conv2d(x, weight, padding=1)


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
    """[N, 4·C, H, W] phase outputs → [N, C, 2H, 2W] (``F.pixel_shuffle`` with factor 2)."""
    return F.pixel_shuffle(y, 2)


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


def upconv3x3(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Same as ``conv2d_resample(x, weight, f, up=2, padding=1, flip_weight=False)`` (×2 upsampling 3×3
    convolution, 4×4 filter ``f``) for x [N, I, H, W] and weight [O, I, 3, 3]. Input planes of at least
    ``NNPACK_UP_MIN_PIXELS`` (fp32, NNPACK present): the folded four-phase convolution through NNPACK's Winograd
    kernels (4× the multiply-adds, but no transposed convolution and no filter pass; measured 1 thread, loaded:
    64→32 ch at 512² 2.6 vs 5.0 s; 256→128 ch at 128² 4.4 vs 7.0 in one run, but the whole 256 px network was
slower with it at load 5, 3.36 vs 2.98 s, so only inputs of 256² and more, the 512/1024 px models' last layers). Otherwise the
    strided transposed convolution on channels-last input, whose channels-last output oneDNN's depthwise 4×4
    filter takes 4-7× faster than the contiguous one behind ``upfirdn2d``. Returns [N, O, 2H, 2W]."""
    if use_nnpack(x, weight) and x.shape[2] * x.shape[3] >= NNPACK_UP_MIN_PIXELS:
        return pixel_unphase(conv3x3(x, fold_upsampling(weight, f)))
    o = weight.shape[0]
    t = F.conv_transpose2d(x.contiguous(memory_format=torch.channels_last), weight.transpose(0, 1), stride=2)
    k = (f * 4).flip([0, 1]).to(t.dtype)[None, None].expand(o, 1, *f.shape)
    return F.conv2d(t, k, padding=1, groups=o)


def fits_upsample2d(f: torch.Tensor | None) -> bool:
    """Return True when ``upsample2d_fast`` applies (a 2-D 4×4 filter)."""
    return f is not None and f.ndim == 2 and tuple(f.shape) == (4, 4)


def _weight_sq(weight: torch.Tensor) -> torch.Tensor:
    """Σ over the kernel taps of weight² ([O, I]), cached per weight tensor (recomputed when it changes in place;
    the entry goes when the weight does)."""
    key = (weight._version, weight.dtype)
    hit = _SQ.get(id(weight))
    if hit is not None and hit[0]() is weight and hit[1] == key:
        return hit[2]
    sq = weight.detach().square().sum(dim=[2, 3])
    if hit is None:
        weakref.finalize(weight, _SQ.pop, id(weight), None)
    _SQ[id(weight)] = (weakref.ref(weight), key, sq)
    return sq


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

    Takes x [N, I, H, W], weight [O, I, 3, 3], styles [N, I], up (1 or 2, through ``conv2d_resample`` with the
    filter ``f``), noise broadcastable to the output, bias [O], the activation gain (> 0), leaky-ReLU ``alpha``
    and ``clamp`` (None: none). ``fused`` (None: ``prefer_fused``) modulates the weights rather than the
    activations. The demodulation coefficients come from Σ weight² (one small matrix product, in fp32 even under
    autocast); the gain is folded into them, and noise, bias, activation and clamp run in place on the output.
    Returns [N, O, H·up, W·up]."""
    n, i, h, w_ = x.shape
    o = weight.shape[0]
    with torch.autocast(device_type=x.device.type, enabled=False):
        s = styles.float() if styles.dtype != weight.dtype else styles
        dcoef = (s.square() @ _weight_sq(weight).t().to(s.dtype) + 1e-8).rsqrt() * gain  # [N, O]
    if fused is None:
        fused = prefer_fused(n, o, h, w_)

    def conv(inp: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:  # this layer's convolution, groups=1
        if up == 1:
            return conv3x3(inp, wt)
        if up == 2 and fits_upsample2d(f):
            return upconv3x3(inp, wt, f)
        return conv2d_resample(inp, wt, f=f, up=up, padding=1, flip_weight=False)

    if fused and n == 1:  # one sample: modulate and demodulate the weights, then an ordinary convolution
        y = conv(x, (weight * (s.reshape(1, i, 1, 1) * dcoef.reshape(o, 1, 1, 1))).to(x.dtype))
    elif fused:
        wmod = weight.unsqueeze(0) * (s.unsqueeze(1) * dcoef.unsqueeze(2)).reshape(n, o, i, 1, 1)
        y = conv2d_resample(x.reshape(1, n * i, h, w_), wmod.reshape(n * o, i, 3, 3).to(x.dtype), f=f, up=up,
                            padding=1, groups=n, flip_weight=up == 1)
        y = y.reshape(n, o, *y.shape[2:])
    else:
        y = conv(x * s.to(x.dtype).reshape(n, i, 1, 1), weight.to(x.dtype))
        y.mul_(dcoef.to(y.dtype).reshape(n, o, 1, 1))
    if noise is not None:
        y.add_((noise * gain).to(y.dtype))
    if bias is not None:
        y.add_((bias * gain).to(y.dtype).reshape(1, o, 1, 1))
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
