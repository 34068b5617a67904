"""NVlabs PyTorch network pickles: stylegan2-ada-pytorch, and the stylegan3 repository's StyleGAN3 (configs T and R)
and StyleGAN2 networks.

Such a file is a plain pickle of ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}``. Every network is a
``torch_utils.persistence`` object: it is reduced to ``_reconstruct_persistent_obj(meta)`` where ``meta`` carries the
*source code* of the module defining the class (NVlabs' loader ``exec``s it), the class name and the object's
``__dict__`` (parameters, buffers, sub-modules, and the constructor arguments ``_init_args``/``_init_kwargs``).
Tensors are reduced through ``torch._utils._rebuild_tensor_v2`` over storages serialised as nested legacy
``torch.save`` blobs (``torch.storage._load_from_bytes``).

Here the persistence hook is replaced by ``PersistentRecord``, which keeps the class name and state and never looks
at the source; storages are read with weights-only loading. The generator is rebuilt as ganlib's StyleGAN2 or
StyleGAN3 ``Generator`` (same parameter names) from the recorded constructor arguments.

Differences between the two repositories' StyleGAN2 generators that matter here:
- stylegan2-ada-pytorch nests ``mapping_kwargs`` and ``synthesis_kwargs``; defaults ``num_fp16_res=0``,
  ``conv_clamp=None``;
- stylegan3 keeps the synthesis arguments flat in the Generator's kwargs; defaults ``num_fp16_res=4``,
  ``conv_clamp=256``, ``w_avg_beta=0.998``, and ``fused_modconv_default`` ('inference_only' in its training configs).
A StyleGAN3 generator is told apart by its synthesis layout (``input``, ``L0_…`` layers); its kwargs are flat too
(``channel_base``, ``conv_kernel``, ``use_radial_filters``, ``magnitude_ema_beta``, …), nested here as ganlib's
``synthesis_kwargs``.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from ganlib.checkpoints.safe_unpickle import (EasyDictStandIn, builtin_globals, numpy_globals, torch_globals)
from ganlib.errors import CheckpointError

FORMAT = "nvlabs-pkl"


class PersistentRecord:
    """Stands in for an NVlabs persistent object: ``class_name``, ``version``, ``state`` (the object's ``__dict__``)
    and ``source_digest`` (sha256 of the embedded module source, which is never executed)."""

    def __init__(self, class_name: str, version: int, state: dict, source_digest: str, source_hint: str):
        self.class_name = class_name
        self.version = version
        self.state = state
        self.source_digest = source_digest
        self.source_hint = source_hint

    def __repr__(self) -> str:
        return f"<persistent {self.class_name}>"

    @property
    def modules(self) -> dict[str, "PersistentRecord | None"]:
        """Sub-modules by attribute name."""
        return dict(self.state.get("_modules") or {})

    @property
    def init_kwargs(self) -> dict:
        """The keyword arguments the object was constructed with."""
        return dict(self.state.get("_init_kwargs") or {})


def _reconstruct_persistent_obj(meta):
    """Stands in for ``torch_utils.persistence._reconstruct_persistent_obj``: records, never executes."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
        raise CheckpointError("malformed NVlabs persistent object (no class name)")
    src = meta.get("module_src") or ""
    if not isinstance(src, str):
        src = ""
    state = meta.get("state")
    if not isinstance(state, dict):
        state = {}
    hint = "stylegan3" if "fused_modconv_default" in src else ("stylegan2-ada-pytorch" if src else "")
    return PersistentRecord(meta["class_name"], int(meta.get("version", 0) or 0), dict(state),
                            hashlib.sha256(src.encode("utf-8", "replace")).hexdigest()[:16], hint)


def allowed_globals() -> dict[tuple[str, str], Any]:
    """The complete allow-list for NVlabs PyTorch pickles."""
    out = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
        ("dnnlib.util", "EasyDict"): EasyDictStandIn,
        ("dnnlib", "EasyDict"): EasyDictStandIn,
    }
    out.update(torch_globals())
    out.update(numpy_globals())
    out.update(builtin_globals())
    return out


def looks_like_nvlabs(data: Any) -> bool:
    """True when unpickled ``data`` is an NVlabs snapshot dict (or a bare persistent network)."""
    if isinstance(data, PersistentRecord):
        return True
    return isinstance(data, dict) and any(isinstance(data.get(k), PersistentRecord) for k in ("G_ema", "G"))


# ------------------------------------------------------------------------------------------------ kwargs
_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}
_SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_fp16_res", "architecture", "resample_filter", "conv_clamp",
                   "fp16_channels_last", "fused_modconv_default", "kernel_size", "use_noise", "activation"}
_TOP_KEYS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs"}
_SG3_MAPPING_KEYS = {"num_layers", "lr_multiplier", "w_avg_beta"}
_SG3_SYNTHESIS_KEYS = {"channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
                       "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res", "conv_kernel",
                       "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp", "magnitude_ema_beta"}


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-able Python data (dict stand-ins → dict, tuples → lists, numpy → Python)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"unexpected value of type {type(value).__name__}")


def _nest_kwargs(kw: dict, mapping: dict, synthesis: dict, path) -> dict:
    """Return the top-level kwargs ``kw`` with ``mapping_kwargs``/``synthesis_kwargs`` set and ``c_dim`` defaulted;
    CheckpointError when a required dimension is missing."""
    missing = [k for k in ("z_dim", "w_dim", "img_resolution", "img_channels") if k not in kw]
    if missing:
        raise CheckpointError(f"generator settings lack {missing[0]!r}", file=path)
    kw.setdefault("c_dim", 0)
    kw["mapping_kwargs"] = mapping
    kw["synthesis_kwargs"] = synthesis
    return kw


def translate_kwargs(init_kwargs: dict, flavor: str, path) -> dict:
    """Return ganlib ``Generator`` kwargs from an NVlabs StyleGAN2 Generator's ``init_kwargs``.

    ``flavor`` is 'stylegan2-ada-pytorch' (nested kwargs) or 'stylegan3' (flat synthesis kwargs, other defaults).
    Raises CheckpointError for settings ganlib's generator does not implement.
    """
    try:
        kw = plain(init_kwargs)
    except TypeError as exc:
        raise CheckpointError(f"generator settings hold {exc}", file=path) from None
    mapping = dict(kw.pop("mapping_kwargs", None) or {})
    if flavor == "stylegan3":
        synthesis = {k: kw.pop(k) for k in list(kw) if k not in _TOP_KEYS}
        synthesis.setdefault("num_fp16_res", 4)
        synthesis.setdefault("conv_clamp", 256)
        mapping.setdefault("w_avg_beta", 0.998)
    else:
        synthesis = dict(kw.pop("synthesis_kwargs", None) or {})
    unknown = sorted(set(kw) - _TOP_KEYS)
    unknown += [f"mapping_kwargs.{k}" for k in sorted(set(mapping) - _MAPPING_KEYS)]
    unknown += [f"synthesis {k}" for k in sorted(set(synthesis) - _SYNTHESIS_KEYS)]
    if unknown:
        raise CheckpointError(f"generator setting {unknown[0]!r} is not supported by Latent Studio's StyleGAN2 "
                              f"(is this a StyleGAN2 network?)", file=path)
    arch = synthesis.get("architecture", "skip")
    if arch != "skip":
        raise CheckpointError(f"generator architecture {arch!r} is not supported: only 'skip' (the StyleGAN2 "
                              f"default)", file=path)
    return _nest_kwargs(kw, mapping, synthesis, path)


def translate_sg3_kwargs(init_kwargs: dict, path) -> dict:
    """Return ganlib ``stylegan3`` Generator kwargs from an NVlabs StyleGAN3 Generator's flat ``init_kwargs``
    (synthesis and layer settings nested as ``synthesis_kwargs``). Raises CheckpointError for unknown settings."""
    try:
        kw = plain(init_kwargs)
    except TypeError as exc:
        raise CheckpointError(f"generator settings hold {exc}", file=path) from None
    mapping = dict(kw.pop("mapping_kwargs", None) or {})
    synthesis = {k: kw.pop(k) for k in list(kw) if k not in _TOP_KEYS}
    unknown = [f"mapping_kwargs.{k}" for k in sorted(set(mapping) - _SG3_MAPPING_KEYS)]
    unknown += sorted(set(synthesis) - _SG3_SYNTHESIS_KEYS) + sorted(set(kw) & {"synthesis_kwargs"})
    if unknown:
        raise CheckpointError(f"StyleGAN3 generator setting {unknown[0]!r} is not supported by Latent Studio",
                              file=path)
    return _nest_kwargs(kw, mapping, synthesis, path)


# ------------------------------------------------------------------------------------------------ tensors
def collect_tensors(record: PersistentRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """Return the state-dict tensors (parameters and persistent buffers) of ``record`` and its sub-modules."""
    out: dict[str, torch.Tensor] = {}
    state = record.state
    non_persistent = set(state.get("_non_persistent_buffers_set") or ())
    for kind in ("_parameters", "_buffers"):
        for name, tensor in (state.get(kind) or {}).items():
            if tensor is None or (kind == "_buffers" and name in non_persistent):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{prefix}{name} is not a tensor")
            out[prefix + name] = tensor
    for name, sub in record.modules.items():
        if sub is None:
            continue
        if not isinstance(sub, PersistentRecord):
            raise CheckpointError(f"sub-module {prefix}{name} is not an NVlabs network object")
        out.update(collect_tensors(sub, prefix + name + "."))
    return out


def pick_generator(data: Any, path) -> tuple[PersistentRecord, str]:
    """Return (generator record, its key) from an NVlabs snapshot: 'G_ema' preferred, then 'G'."""
    if isinstance(data, PersistentRecord):
        return data, "network"
    if not isinstance(data, dict):
        raise CheckpointError("not an NVlabs network pickle (expected a dict with 'G_ema')", file=path)
    for key in ("G_ema", "G"):
        rec = data.get(key)
        if isinstance(rec, PersistentRecord):
            return rec, key
    raise CheckpointError("the NVlabs pickle holds no generator ('G_ema' or 'G')", file=path)


def _flavor(rec: PersistentRecord) -> str:
    """'stylegan2-ada-pytorch' (nested synthesis kwargs) or 'stylegan3' (flat), from the kwargs, else the source."""
    kwargs = rec.init_kwargs
    if "synthesis_kwargs" in kwargs:
        return "stylegan2-ada-pytorch"
    if rec.source_hint == "stylegan3" or any(k not in _TOP_KEYS for k in kwargs):
        return "stylegan3"
    return "stylegan2-ada-pytorch"


def _is_alias_free(synthesis: PersistentRecord) -> bool:
    names = set(synthesis.modules)
    return "input" in names or any(n.startswith("L0_") for n in names)


def generator_arch(data: Any, path) -> str:
    """Return the ganlib architecture of the generator in unpickled NVlabs ``data``: 'stylegan3' for an alias-free
    network (a synthesis ``input`` and ``L0_…`` layers), else 'stylegan2'."""
    rec, _ = pick_generator(data, path)
    synthesis = rec.modules.get("synthesis")
    return "stylegan3" if isinstance(synthesis, PersistentRecord) and _is_alias_free(synthesis) else "stylegan2"


def _check_sg3_layout(synthesis: PersistentRecord, path) -> None:
    if synthesis.class_name != "SynthesisNetwork":
        raise CheckpointError(f"unrecognised StyleGAN3 layout (synthesis is a {synthesis.class_name})", file=path)
    for name, sub in synthesis.modules.items():
        want = "SynthesisInput" if name == "input" else "SynthesisLayer"
        if not isinstance(sub, PersistentRecord) or sub.class_name != want:
            got = sub.class_name if isinstance(sub, PersistentRecord) else type(sub).__name__
            raise CheckpointError(f"unrecognised StyleGAN3 layout: synthesis.{name} is a {got}, expected {want}",
                                  file=path)


def generator_from_data(data: Any, path) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """Return (ganlib kwargs, state dict, provenance) for the generator in unpickled NVlabs ``data`` (StyleGAN2 or
    StyleGAN3; ``generator_arch`` tells which)."""
    rec, key = pick_generator(data, path)
    if rec.class_name != "Generator":
        raise CheckpointError(f"'{key}' is a {rec.class_name}, not a Generator", file=path)
    if rec.state.get("_init_args"):
        raise CheckpointError("generator was built with positional arguments; cannot recover its settings",
                              file=path)
    synthesis = rec.modules.get("synthesis")
    if not isinstance(synthesis, PersistentRecord):
        raise CheckpointError("generator has no synthesis network", file=path)
    sub_names = set(synthesis.modules)
    if _is_alias_free(synthesis):
        _check_sg3_layout(synthesis, path)
        flavor = "stylegan3"
        kwargs = translate_sg3_kwargs(rec.init_kwargs, path)
    else:
        if synthesis.class_name != "SynthesisNetwork" or not any(n.startswith("b") for n in sub_names):
            raise CheckpointError(f"unrecognised generator layout (synthesis is a {synthesis.class_name})",
                                  file=path)
        flavor = _flavor(rec)
        kwargs = translate_kwargs(rec.init_kwargs, flavor, path)
    state = collect_tensors(rec)
    provenance: dict[str, Any] = {"source_format": FORMAT, "source_repo": flavor, "network": key}
    if isinstance(data, dict):
        tsk = data.get("training_set_kwargs")
        if isinstance(tsk, dict):
            try:
                provenance["training_set"] = {k: v for k, v in plain(tsk).items()
                                              if k in ("path", "resolution", "use_labels", "max_size", "xflip")}
            except TypeError:
                pass
    return kwargs, state, provenance
