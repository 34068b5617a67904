"""Compute precision of a StyleGAN2 synthesis network: fp16 for the high-resolution blocks, as NVlabs trains and runs
them (with activations clamped to ±conv_clamp), and the channels-last memory format for those blocks.

Modes:
- ``auto``: the checkpoint's own setting (its ``num_fp16_res`` blocks run fp16 on CUDA; everything runs fp32 on CPU);
- ``float32``: every block in fp32;
- ``float16``: fp16 for the checkpoint's fp16 blocks, or for the 4 highest resolutions when it has none (clamping at
  256 where the checkpoint had no clamp, as NVlabs' ``--force-fp16`` does); also on CPU, where it is slow and only
  useful for tests.

``synthesis_precision(G, mode)`` is a context manager that sets the blocks' flags and restores them afterwards, so a
model shared between renders (the renderer's model cache) is never left changed.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch

PRECISIONS = ("auto", "float32", "float16")
FORCED_FP16_RES = 4
FORCED_CONV_CLAMP = 256.0


def _blocks(G: torch.nn.Module) -> list:
    synthesis = getattr(G, "synthesis", G)
    if not hasattr(synthesis, "blocks"):
        return []
    return list(synthesis.blocks())


def _clamped_layers(block) -> list:
    layers = [block.conv1, block.torgb]
    if hasattr(block, "conv0"):
        layers.insert(0, block.conv0)
    return layers


def _snapshot(blocks: list) -> list[tuple]:
    return [(b.use_fp16, b.channels_last, b.fp16_on_cpu, [layer.conv_clamp for layer in _clamped_layers(b)])
            for b in blocks]


def _restore(blocks: list, snap: list[tuple]) -> None:
    for b, (use_fp16, channels_last, on_cpu, clamps) in zip(blocks, snap):
        b.use_fp16, b.channels_last, b.fp16_on_cpu = use_fp16, channels_last, on_cpu
        for layer, clamp in zip(_clamped_layers(b), clamps):
            layer.conv_clamp = clamp


def apply_precision(G: torch.nn.Module, mode: str, channels_last: bool | None = None) -> None:
    """Set the synthesis blocks of ``G`` for precision ``mode`` ('auto' | 'float32' | 'float16'); ``channels_last``
    (None: unchanged) selects the channels-last memory format for the fp16 blocks. Returns nothing."""
    if mode not in PRECISIONS:
        raise ValueError(f"unknown precision {mode!r}; allowed: {', '.join(PRECISIONS)}")
    blocks = _blocks(G)
    if not blocks:
        return
    if mode == "float32":
        for b in blocks:
            b.use_fp16 = False
            b.fp16_on_cpu = False
    elif mode == "float16":
        if not any(b.use_fp16 for b in blocks):
            top = blocks[-1].resolution
            fp16_res = max(2 ** (int(np.log2(top)) + 1 - FORCED_FP16_RES), 8)
            for b in blocks:
                b.use_fp16 = b.resolution >= fp16_res
            if all(layer.conv_clamp is None for b in blocks for layer in _clamped_layers(b)):
                for b in blocks:
                    for layer in _clamped_layers(b):
                        layer.conv_clamp = FORCED_CONV_CLAMP
        for b in blocks:
            b.fp16_on_cpu = True
    if channels_last is not None:
        for b in blocks:
            b.channels_last = bool(channels_last and b.use_fp16)


@contextlib.contextmanager
def synthesis_precision(G: torch.nn.Module, mode: str = "auto", channels_last: bool | None = None) -> Iterator[None]:
    """Context manager: run ``G`` with precision ``mode`` inside the block, restoring its previous flags after."""
    blocks = _blocks(G)
    snap = _snapshot(blocks)
    try:
        apply_precision(G, mode, channels_last)
        yield
    finally:
        _restore(blocks, snap)
