"""Foreign checkpoint formats, chosen by content: NVlabs PyTorch pickles, TF-era StyleGAN2 pickles and rosinality
``.pt`` files. ``registry.detect_format`` calls ``sniff_pickle``; ``registry.load_generator`` calls ``load_foreign``.

Pickles are only ever read with the restricted unpickler of ``safe_unpickle`` (the allow-lists of ``nvlabs`` and
``tf_legacy``); PyTorch files only with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
import pickletools
from pathlib import Path
from typing import Any

import torch

from ganlib.checkpoints import nvlabs, rosinality, tf_legacy
from ganlib.checkpoints.native import LoadedModel, load_state_strict
from ganlib.checkpoints.safe_unpickle import safe_load
from ganlib.errors import CheckpointError

ARCH = "stylegan2"
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
FORMAT_NAMES = {nvlabs.FORMAT: "NVlabs PyTorch pickle", tf_legacy.FORMAT: "TF StyleGAN2 pickle",
                rosinality.FORMAT: "rosinality .pt", "torch-zip": "PyTorch file"}

_cache: dict[str, Any] = {"key": None, "data": None}


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def all_pickle_globals() -> dict[tuple[str, str], Any]:
    """The union of the allow-lists of all pickle formats (every entry is a harmless stand-in)."""
    allowed = dict(nvlabs.allowed_globals())
    allowed.update(tf_legacy.allowed_globals())
    return allowed


def _is_legacy_torch(path: Path) -> bool:
    """True when the file starts like a legacy (pre-zip) ``torch.save`` file: its magic number first."""
    try:
        with open(path, "rb") as f:
            ops = pickletools.genops(f)
            first = next(ops)
            if first[0].name != "PROTO":
                return False
            second = next(ops)
            return second[0].name in ("LONG1", "LONG4") and second[1] == LEGACY_TORCH_MAGIC
    except Exception:  # noqa: BLE001 - anything odd: not a legacy torch file
        return False


def _load_pickle(path: Path) -> Any:
    key = _file_key(path)
    if _cache["key"] == key:
        return _cache["data"]
    data = safe_load(path, all_pickle_globals(), what="generator checkpoint")
    _cache["key"], _cache["data"] = key, data
    return data


def _classify(data: Any, path: Path) -> str:
    if nvlabs.looks_like_nvlabs(data):
        return nvlabs.FORMAT
    if tf_legacy.looks_like_tf(data):
        return tf_legacy.FORMAT
    raise CheckpointError("a pickle, but neither an NVlabs network pickle nor a TF StyleGAN2 pickle", file=path)


def sniff_pickle(path: str | Path) -> str:
    """Return the format of a pickle-based file: 'nvlabs-pkl', 'tf-pkl' or 'rosinality-pt' (legacy ``torch.save``).

    Reads it with the restricted unpickler (the result is kept for the ``load_foreign`` call that follows); raises
    CheckpointError for refused globals, corrupt files and other pickles.
    """
    path = Path(path)
    if _is_legacy_torch(path):
        return rosinality.FORMAT
    return _classify(_load_pickle(path), path)


def _build(kwargs: dict, state: dict[str, torch.Tensor], path: Path, arch: str = ARCH) -> torch.nn.Module:
    from ganlib.networks import build_generator
    try:
        G = build_generator(arch, kwargs)
    except (ValueError, AssertionError, KeyError) as exc:
        raise CheckpointError(f"cannot build the generator from its settings: {exc}", file=path) from None
    own = G.state_dict()
    # Resample filters are fixed by the settings; take ours when the file has none (TF and rosinality files).
    for name, tensor in own.items():
        if name.endswith("resample_filter") and name not in state:
            state[name] = tensor
    if "mapping.w_avg" in own and "mapping.w_avg" not in state:
        state["mapping.w_avg"] = own["mapping.w_avg"]
    load_state_strict(G, state, path)
    return G


def load_foreign(path: str | Path, fmt: str, device: str | torch.device = "cpu") -> LoadedModel:
    """Load the generator in ``path`` (format ``fmt`` from ``detect_format``) into ganlib's StyleGAN2 (or, for an
    NVlabs StyleGAN3 pickle, StyleGAN3) generator,
    in eval mode on ``device``; returns a LoadedModel whose provenance names the source format."""
    path = Path(path)
    latent_avg = None
    arch = ARCH
    if fmt in (nvlabs.FORMAT, tf_legacy.FORMAT):
        data = _load_pickle(path)
        _cache["key"] = _cache["data"] = None
        found = _classify(data, path)
        module = nvlabs if found == nvlabs.FORMAT else tf_legacy
        kwargs, state, provenance = module.generator_from_data(data, path)
        if found == nvlabs.FORMAT:
            arch = nvlabs.generator_arch(data, path)
        fmt = found
        del data
    elif fmt in (rosinality.FORMAT, "torch-zip"):
        obj = rosinality.torch_load_weights_only(path)
        if not rosinality.looks_like_rosinality(obj):
            raise CheckpointError("a PyTorch file, but not a generator checkpoint Latent Studio knows (expected a "
                                  "rosinality StyleGAN2 .pt with 'g_ema')", file=path)
        kwargs, state, latent_avg, provenance = rosinality.generator_from_data(obj, path)
        fmt = rosinality.FORMAT
    else:
        raise CheckpointError(f"unsupported checkpoint format {fmt!r}", file=path)
    G = _build(kwargs, state, path, arch)
    if fmt == rosinality.FORMAT:
        with torch.no_grad():
            G.mapping.w_avg.copy_(latent_avg if latent_avg is not None else rosinality.estimate_w_avg(G))
    G.eval().requires_grad_(False).to(device)
    provenance = dict(provenance, source_file=os.path.basename(str(path)))
    return LoadedModel(G=G, arch=arch, kwargs=kwargs, provenance=provenance, source=str(path), format=fmt)
