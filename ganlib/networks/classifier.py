"""A small CNN image classifier (e.g. art style, time of day): conv 3x3 + batch norm + ReLU blocks with stride-2
downsampling, global average pooling, dropout and a linear layer. Not a generator: it is saved with
``ganlib.train.export.save_model`` and used by ``studio classify``."""
from __future__ import annotations

import torch
from torch import nn

from ganlib.networks.small_common import check_resolution


class CNNClassifier(nn.Module):
    """CNN classifier: image [N, C, R, R] in [-1, 1] → class logits [N, num_classes].

    Args: ``img_resolution`` (power of two >= 8; inputs of another size are resized by callers), ``img_channels``,
    ``num_classes``, ``width`` channels of the first block (doubling per block, capped at ``max_channels``),
    ``dropout`` before the final layer.
    """

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, num_classes: int = 2, width: int = 32,
                 max_channels: int = 256, dropout: float = 0.2):
        super().__init__()
        check_resolution(img_resolution, 8)
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
        self.init_kwargs = dict(img_resolution=img_resolution, img_channels=img_channels, num_classes=num_classes,
                                width=width, max_channels=max_channels, dropout=dropout)
        self.img_resolution, self.img_channels, self.num_classes = img_resolution, img_channels, num_classes
        mods: list[nn.Module] = []
        cin, ch, size = img_channels, width, img_resolution
        while size > 4:
            mods += [nn.Conv2d(cin, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True),
                     nn.Conv2d(ch, ch, 3, 2, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
            cin, ch, size = ch, min(ch * 2, max_channels), size // 2
        self.features = nn.Sequential(*mods)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(cin, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits [N, num_classes] for images ``x`` [N, C, R, R]."""
        return self.head(self.features(x))
