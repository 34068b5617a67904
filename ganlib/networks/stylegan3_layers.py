"""The layers of the StyleGAN3 (alias-free) synthesis network, after Karras et al. 2021 "Alias-Free Generative
Adversarial Networks": the Fourier-feature input under a transform, and the modulated convolution followed by the
filtered leaky ReLU, with the windowed-sinc (Kaiser) and radial (jinc) low-pass filters that the paper designs.

Parameter and buffer names follow NVlabs' stylegan3 so that state dicts map one to one:
``input.{weight, affine.*, transform, freqs, phases}`` and ``L{i}_{size}_{channels}.{weight, bias, magnitude_ema,
up_filter, down_filter, affine.*}``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from ganlib.layers import FullyConnectedLayer
from ganlib.ops.filtered_lrelu import filtered_lrelu


# ------------------------------------------------------------------------------------------------ filters
def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """Return a low-pass FIR filter as float32 taps: None for one tap (identity); 1-D separable Kaiser-windowed sinc
    taps [numtaps] (``scipy.signal.firwin``, transition ``width`` around ``cutoff`` at sampling rate ``fs``); or,
    with ``radial``, a radially symmetric 2-D jinc filter [numtaps, numtaps] under a separable Kaiser window whose
    beta gives the attenuation of a filter of that transition width, normalised to unit sum."""
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, not {numtaps}")
    if numtaps == 1:
        return None
    # scipy is imported here, not at the top: scipy.signal costs ~1 s of every studio process's start-up (measured:
    # `import studio.render` 1.7-2.3 s -> 0.8-1.0 s), and only StyleGAN3 models design filters.
    import scipy.signal
    import scipy.special
    if not radial:
        taps = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        return torch.as_tensor(taps, dtype=torch.float32)
    pos = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(pos[None, :], pos[:, None])
    jinc = scipy.special.j1(2 * np.pi * cutoff * r) / (np.pi * r)
    atten = scipy.signal.kaiser_atten(numtaps, width / (fs / 2))
    window = np.kaiser(numtaps, scipy.signal.kaiser_beta(atten))
    taps = jinc * np.outer(window, window)
    return torch.as_tensor(taps / taps.sum(), dtype=torch.float32)


# ------------------------------------------------------------------------------------------ camera transforms
def camera_matrix(translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0) -> np.ndarray:
    """Return the 3×3 float64 camera matrix of NVlabs' gen_images.py for a translation (x, y), in image widths
    (the image spans one unit of the input grid), and a rotation of ``rotate`` degrees: rows
    ``[cos, sin, x], [-sin, cos, y], [0, 0, 1]``."""
    a = math.radians(float(rotate))
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s, float(translate[0])], [-s, c, float(translate[1])], [0.0, 0.0, 1.0]])


def input_transform(translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0) -> np.ndarray:
    """Return the matrix the generator receives for a camera move: the inverse of ``camera_matrix`` (float64 3×3),
    as gen_images.py hands it to ``synthesis.input.transform``."""
    return np.linalg.inv(camera_matrix(translate, rotate))


# ------------------------------------------------------------------------------------------------ convolution
def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, input_gain: torch.Tensor | None = None) -> torch.Tensor:
    """Convolve ``x`` [N, I, H, W] with ``weight`` [O, I, k, k] scaled per sample by ``styles`` [N, I] (and by
    ``input_gain``, a scalar or [I]), demodulated when asked; one grouped convolution for the batch. Returns
    [N, O, H + 2·padding - k + 1, ...] in ``x``'s dtype."""
    batch = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if demodulate:
        # Scale both factors to unit mean square first (keeps fp16 in range; demodulation cancels it).
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, in_ch, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if input_gain is not None:
        w = w * input_gain.expand(batch, in_ch).reshape(batch, 1, in_ch, 1, 1)
    y = F.conv2d(x.reshape(1, batch * in_ch, *x.shape[2:]), w.reshape(batch * out_ch, in_ch, kh, kw).to(x.dtype),
                 padding=padding, groups=batch)
    return y.reshape(batch, out_ch, *y.shape[2:])


def _affine(w_dim: int, out_features: int, weight_init: float, bias_init) -> FullyConnectedLayer:
    """An equalized-lr FC layer with the initial weight scale and (vector) bias StyleGAN3 uses."""
    fc = FullyConnectedLayer(w_dim, out_features)
    with torch.no_grad():
        fc.weight.mul_(weight_init)
        fc.bias.copy_(torch.as_tensor(np.array(np.broadcast_to(np.asarray(bias_init, np.float32), [out_features]))))
    return fc


# ------------------------------------------------------------------------------------------------ input
class SynthesisInput(nn.Module):
    """Fourier features on a grid of ``size`` samples at ``sampling_rate``: ``channels`` sinusoids of frequency up
    to ``bandwidth``, moved by a rotation and translation that an affine layer predicts from w (then by the
    ``transform`` buffer: the inverse of the user's camera matrix), then mixed by a learned matrix ``weight``."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels = w_dim, channels
        self.size = int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        # Random frequencies, denser towards the centre of the disc of radius `bandwidth`.
        freqs = torch.randn([channels, 2], device="cpu")  # CPU even under a meta-device context (sizing builds)
        radii = freqs.norm(dim=1, keepdim=True)
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = _affine(w_dim, 4, weight_init=0.0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, device="cpu"))  # torch.eye on meta imports Dynamo
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]).sub_(0.5))  # in place: no Dynamo import on meta

    def w_transform(self, w: torch.Tensor) -> torch.Tensor:
        """Return the w-driven part of the input transform, [N, 3, 3]: the affine's (cos, sin, tx, ty), the rotation
        normalised, as an inverse rotation followed by an inverse translation."""
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        n = w.shape[0]
        m_r = torch.eye(3, device=w.device).repeat(n, 1, 1)
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat(n, 1, 1)
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        return m_r @ m_t

    def sample_grid(self, device: torch.device) -> torch.Tensor:
        """Return the sample positions [size, size, 2] (x, y) in the input's coordinates (pixel centres)."""
        pos = (torch.arange(self.size, device=device, dtype=torch.float32) + 0.5 - self.size / 2) / self.sampling_rate
        return torch.stack([pos[None, :].expand(self.size, -1), pos[:, None].expand(-1, self.size)], dim=2)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """Return features [N, channels, size, size] for w [N, w_dim]; ``transform`` ([3, 3] or [N, 3, 3]) replaces
        the ``transform`` buffer (the generator receives the inverse of the camera matrix)."""
        user = self.transform if transform is None else transform.to(w.device, torch.float32)
        transforms = self.w_transform(w) @ user.expand(w.shape[0], 3, 3)
        freqs = self.freqs.unsqueeze(0) @ transforms[:, :2, :2]                                   # [N, C, 2]
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ transforms[:, :2, 2:]).squeeze(2)
        # Fade out frequencies that the user's transform pushed beyond the band the grid can carry.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth)
                      / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)                  # [N, C]
        grid = self.sample_grid(w.device)
        x = torch.einsum("hwj,ncj->nhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(x * (2 * np.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


# ------------------------------------------------------------------------------------------------ layer
class SynthesisLayer(nn.Module):
    """Modulated convolution (input scaled by the inverse RMS tracked in ``magnitude_ema``), then bias and the
    filtered leaky ReLU between ``in_size`` at ``in_sampling_rate`` and ``out_size`` at ``out_sampling_rate``.
    The last layer (``is_torgb``) is a 1×1 modulated conv without demodulation and a linear, clamped output."""

    def __init__(self, w_dim: int, is_torgb: bool, is_critically_sampled: bool, use_fp16: bool,
                 in_channels: int, out_channels: int, in_size: int, out_size: int,
                 in_sampling_rate: int, out_sampling_rate: int, in_cutoff: float, out_cutoff: float,
                 in_half_width: float, out_half_width: float, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False, conv_clamp: float | None = 256,
                 magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.w_dim, self.is_torgb, self.use_fp16 = w_dim, is_torgb, use_fp16
        self.is_critically_sampled = is_critically_sampled
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.in_sampling_rate, self.out_sampling_rate = in_sampling_rate, out_sampling_rate
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)

        self.affine = _affine(w_dim, in_channels, weight_init=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(round(tmp_rate / in_sampling_rate))
        self.down_factor = int(round(tmp_rate / out_sampling_rate))
        if in_sampling_rate * self.up_factor != tmp_rate or out_sampling_rate * self.down_factor != tmp_rate:
            raise ValueError("sampling rates must divide the activation's sampling rate")
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer("up_filter", design_lowpass_filter(up_taps, in_cutoff, in_half_width * 2, tmp_rate))
        self.register_buffer("down_filter", design_lowpass_filter(down_taps, out_cutoff, out_half_width * 2,
                                                                  tmp_rate, radial=self.down_radial))
        # Padding that centres the output samples (the symmetric interpretation of the paper's appendix C.3).
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += up_taps + down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [pad_lo, pad_hi, pad_lo, pad_hi]

    def forward(self, x: torch.Tensor, w: torch.Tensor, force_fp32: bool = False, update_emas: bool = False,
                fp16: bool | None = None) -> torch.Tensor:
        """Map x [N, in_channels, in_size, in_size] and w [N, w_dim] to [N, out_channels, out_size, out_size].
        Precision: ``fp16`` when given, else NVlabs' rule (fp16 for ``use_fp16`` layers on CUDA unless
        ``force_fp32``)."""
        if update_emas:
            cur = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(cur.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / np.sqrt(self.in_channels * self.conv_kernel ** 2))
        if fp16 is None:
            fp16 = self.use_fp16 and not force_fp32 and x.device.type == "cuda"
        dtype = torch.float16 if fp16 else torch.float32
        x = modulated_conv2d(x.to(dtype), self.weight, styles, demodulate=not self.is_torgb,
                             padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt())
        gain, slope = (1.0, 1.0) if self.is_torgb else (np.sqrt(2), 0.2)
        return filtered_lrelu(x, self.up_filter, self.down_filter, b=self.bias.to(dtype), up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=gain, slope=slope,
                              clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return (f"in={self.in_channels}@{self.in_size}px/{self.in_sampling_rate}, "
                f"out={self.out_channels}@{self.out_size}px/{self.out_sampling_rate}, torgb={self.is_torgb}, "
                f"up={self.up_factor}, down={self.down_factor}, radial={self.down_radial}")
