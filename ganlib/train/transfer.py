"""Transfer learning for StyleGAN2: start from a checkpoint (``init``) and optionally freeze the discriminator's
highest-resolution blocks (FreezeD, Mo et al. 2020).

``load_init(spec)`` reads the generator of any supported checkpoint (ours, NVlabs ``.pkl``, TF-era ``.pkl``,
rosinality ``.pt``, ``builtin:NAME``) through ``ganlib.checkpoints.load_generator`` and, from NVlabs pickles, the
discriminator too (same parameter names as ``ganlib.networks.stylegan2.Discriminator``). Pickles are only read with
the restricted unpickler.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlib.checkpoints import detect_format, load_generator, resolve_spec
from ganlib.checkpoints import nvlabs
from ganlib.checkpoints.formats import all_pickle_globals
from ganlib.checkpoints.native import load_state_strict
from ganlib.checkpoints.safe_unpickle import safe_load
from ganlib.errors import CheckpointError, ConfigError
from ganlib.networks.stylegan2 import Discriminator

_D_KEYS = {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max",
           "num_fp16_res", "conv_clamp", "cmap_dim", "block_kwargs", "mapping_kwargs", "epilogue_kwargs"}


@dataclass
class InitModels:
    """What ``load_init`` found: the generator (with its constructor kwargs) and, when the file has one, the
    discriminator's state dict and kwargs."""

    G: nn.Module
    g_kwargs: dict[str, Any]
    D_state: dict[str, torch.Tensor] | None
    d_kwargs: dict[str, Any] | None
    source: str


def _discriminator(path: Path) -> tuple[dict | None, dict | None]:
    data = safe_load(path, all_pickle_globals(), what="checkpoint")
    rec = data.get("D") if isinstance(data, dict) else None
    if not isinstance(rec, nvlabs.PersistentRecord) or rec.class_name != "Discriminator":
        return None, None
    try:
        kwargs = nvlabs.plain(rec.init_kwargs)
    except TypeError as exc:
        raise CheckpointError(f"discriminator settings hold {exc}", file=path) from None
    unknown = sorted(set(kwargs) - _D_KEYS)
    if unknown:
        raise CheckpointError(f"discriminator setting {unknown[0]!r} is not supported by Latent Studio's "
                              f"StyleGAN2", file=path)
    return nvlabs.collect_tensors(rec), kwargs


def load_init(spec: str) -> InitModels:
    """Return the networks of checkpoint ``spec`` to start training from (CheckpointError if unreadable)."""
    model = load_generator(spec)
    if model.arch != "stylegan2":
        raise CheckpointError(f"--init needs a StyleGAN2 checkpoint, this one is {model.arch!r}", file=spec)
    path = resolve_spec(spec)
    d_state = d_kwargs = None
    if detect_format(path) == nvlabs.FORMAT:
        d_state, d_kwargs = _discriminator(path)
    return InitModels(model.G, dict(model.kwargs), d_state, d_kwargs, str(spec))


def check_compatible(init: InitModels, resolution: int, channels: int, c_dim: int) -> None:
    """Raise one ConfigError when the checkpoint's resolution, channels or label count differ from the run's."""
    kw = init.g_kwargs
    have = (int(kw["img_resolution"]), int(kw["img_channels"]), int(kw.get("c_dim", 0)))
    if have[:2] != (resolution, channels):
        raise ConfigError(f"{init.source}: the checkpoint makes {have[0]} px images with {have[1]} channels, "
                          f"the run is set to {resolution} px with {channels}; use --set resolution={have[0]} "
                          f"--set channels={have[1]} (the data is fitted to it) or another checkpoint",
                          field="init")
    if have[2] != c_dim:
        raise ConfigError(f"{init.source}: the checkpoint takes {have[2]} class labels, the run has {c_dim} "
                          f"(set 'conditional' to match, or use data with {have[2]} class sub-folders)",
                          field="init")


def build_discriminator(init: InitModels | None, c_dim: int, resolution: int, channels: int,
                        channel_base: int, channel_max: int, mbstd_group: int) -> Discriminator:
    """Return the discriminator: the checkpoint's (weights and settings) when it has one, else a new one."""
    if init is not None and init.D_state is not None:
        kw = dict(init.d_kwargs)
        D = Discriminator(**kw)
        load_state_strict(D, dict(init.D_state), init.source)
        return D
    return Discriminator(c_dim=c_dim, img_resolution=resolution, img_channels=channels, channel_base=channel_base,
                         channel_max=channel_max, epilogue_kwargs=dict(mbstd_group_size=mbstd_group))


def freeze_blocks(D: Discriminator, n: int) -> list[str]:
    """Freeze (requires_grad False) D's ``n`` highest-resolution blocks; return the frozen parameter names.
    ConfigError when D has fewer blocks."""
    blocks = [f"b{res}" for res in D.block_resolutions]
    if n > len(blocks):
        raise ConfigError(f"freeze_d is {n} but the discriminator has {len(blocks)} blocks above 4x4 "
                          f"({', '.join(blocks)})", field="freeze_d")
    frozen = []
    for name in blocks[:n]:
        for pname, p in getattr(D, name).named_parameters():
            p.requires_grad_(False)
            frozen.append(f"{name}.{pname}")
    return frozen
