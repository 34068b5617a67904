"""Compute precision of a StyleGAN2 synthesis network, decided per call: fp16 for the high-resolution blocks, as
NVlabs trains and runs them (with activations clamped to ±conv_clamp), and the channels-last memory format for those
blocks.

Modes (the ``precision`` argument of ``SynthesisNetwork.forward``, as NVlabs passes ``force_fp32``):

- ``auto``: the checkpoint's own setting (its ``num_fp16_res`` blocks run fp16 on CUDA; everything runs fp32 on CPU);
- ``float32``: every block in fp32;
- ``float16``: fp16 for the checkpoint's fp16 blocks, or for the 4 highest resolutions when it has none (clamping at
  256 where the checkpoint had no clamp, as NVlabs' ``--force-fp16`` does); also on CPU, where it is slow and only
  useful for tests.

``block_precisions`` is a pure function of the network's construction and the request: nothing on the model changes,
so one model shared by several threads (the renderer's model cache, the UI's two render jobs) can run at different
precisions at the same time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

PRECISIONS = ("auto", "float32", "float16")
FORCED_FP16_RES = 4
FORCED_CONV_CLAMP = 256.0
_UNCHANGED = object()


@dataclass(frozen=True)
class BlockPrecision:
    """How one synthesis block runs in one call: ``fp16`` (else fp32), ``channels_last`` memory format, and
    ``conv_clamp`` (``None``: the layers' own clamp; a number: that clamp for every layer of the block)."""

    fp16: bool
    channels_last: bool
    conv_clamp: float | None = None


def _has_clamp(block) -> bool:
    layers = [block.conv1, block.torgb] + ([block.conv0] if hasattr(block, "conv0") else [])
    return any(layer.conv_clamp is not None for layer in layers)


def block_precisions(blocks: Sequence, mode: str, device_type: str,
                     channels_last: bool | None = None) -> list[BlockPrecision]:
    """Return one ``BlockPrecision`` per synthesis block (4 px upwards) for precision ``mode`` on ``device_type``
    ('cpu' | 'cuda' | ...); ``channels_last`` (None: the checkpoint's setting) selects the channels-last format for
    the fp16 blocks. Raises ValueError for an unknown mode. Reads the blocks' construction flags, changes nothing."""
    if mode not in PRECISIONS:
        raise ValueError(f"unknown precision {mode!r}; allowed: {', '.join(PRECISIONS)}")
    blocks = list(blocks)
    if not blocks:
        return []
    if mode == "float32":
        fp16 = [False] * len(blocks)
    elif mode == "auto":
        fp16 = [bool(b.use_fp16) and device_type == "cuda" for b in blocks]
    else:
        fp16 = [bool(b.use_fp16) for b in blocks]
        if not any(fp16):
            top = blocks[-1].resolution
            fp16_res = max(2 ** (int(np.log2(top)) + 1 - FORCED_FP16_RES), 8)
            fp16 = [b.resolution >= fp16_res for b in blocks]
    clamp = None
    if mode == "float16" and not any(b.use_fp16 for b in blocks) and not any(_has_clamp(b) for b in blocks):
        clamp = FORCED_CONV_CLAMP
    out = []
    for b, half in zip(blocks, fp16):
        cl = b.channels_last if channels_last is None else bool(channels_last)
        out.append(BlockPrecision(fp16=half, channels_last=bool(cl and half), conv_clamp=clamp))
    return out
