"""TF-era StyleGAN2 pickles (NVlabs stylegan2 / stylegan2-ada TensorFlow, and exports such as RunwayML's).

Such a file pickles ``(G, D, Gs)``: ``dnnlib.tflib.network.Network`` objects whose state is a dict with
``static_kwargs``, ``components`` (sub-networks: 'mapping', 'synthesis'), ``build_module_src`` (TensorFlow code that
TF's loader executes; ignored here) and ``variables``: a list of (name, numpy array). No TensorFlow is needed: the
arrays are read with a restricted unpickler (numpy reconstruction allowed) and mapped into ganlib's generator.

Layout differences (TF → PyTorch, as NVlabs' own converter does):
- dense weights are [in, out] → transposed; conv weights are [kh, kw, in, out] → [out, in, kh, kw];
- the upsampling convs ('Conv0_up') are used by TF as a transposed convolution: their taps are flipped spatially;
- modulation biases are stored without the +1 that TF adds at run time;
- noise inputs 'noise{i}' are [1, 1, r, r] variables of the synthesis network; the constant input is [1, C, 4, 4];
- ``fmap_base`` counts feature maps per stage: ``channel_base = 2 * fmap_base``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganlib.checkpoints.safe_unpickle import EasyDictStandIn, builtin_globals, numpy_globals
from ganlib.errors import CheckpointError

FORMAT = "tf-pkl"


class TFNetworkStandIn:
    """Stands in for ``dnnlib.tflib.network.Network``: keeps the pickled state dict and builds nothing."""

    def __init__(self):
        self.state: dict = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise CheckpointError("malformed TensorFlow network state")
        self.state = state

    def __repr__(self) -> str:
        return f"<TF network {self.state.get('name')!r}>"

    @property
    def name(self) -> str:
        """The network's name ('G_main', 'G_mapping', …)."""
        return str(self.state.get("name", ""))

    @property
    def static_kwargs(self) -> dict:
        """The build function's keyword arguments."""
        return dict(self.state.get("static_kwargs") or {})

    @property
    def components(self) -> dict:
        """Sub-networks by name."""
        return dict(self.state.get("components") or {})


def allowed_globals() -> dict[tuple[str, str], Any]:
    """The complete allow-list for TF-era pickles."""
    out = {("dnnlib.tflib.network", "Network"): TFNetworkStandIn,
           ("dnnlib.util", "EasyDict"): EasyDictStandIn,
           ("dnnlib", "EasyDict"): EasyDictStandIn}
    out.update(numpy_globals())
    out.update(builtin_globals())
    return out


def looks_like_tf(data: Any) -> bool:
    """True when unpickled ``data`` holds TF network objects."""
    if isinstance(data, TFNetworkStandIn):
        return True
    return isinstance(data, (tuple, list)) and len(data) > 0 and all(isinstance(n, TFNetworkStandIn) for n in data)


def pick_generator(data: Any, path) -> TFNetworkStandIn:
    """Return Gs (the averaged generator) from ``(G, D, Gs)``, or a lone generator network."""
    if isinstance(data, TFNetworkStandIn):
        net = data
    elif isinstance(data, (tuple, list)) and len(data) == 3:
        net = data[2]
    else:
        raise CheckpointError("TensorFlow pickle without the usual (G, D, Gs) networks", file=path)
    comps = net.components
    if "mapping" not in comps or "synthesis" not in comps:
        raise CheckpointError(f"TensorFlow network {net.name!r} is not a StyleGAN2 generator (no mapping and "
                              f"synthesis sub-networks)", file=path)
    version = int(net.state.get("version", 0) or 0)
    if version < 4:
        raise CheckpointError(f"TensorFlow network pickle version {version} is too old (StyleGAN2 pickles are "
                              f"version 4)", file=path)
    return net


def collect_variables(net: TFNetworkStandIn, prefix: str = "") -> dict[str, np.ndarray]:
    """Return every variable of ``net`` and its components as {'component/…/name': array}."""
    out: dict[str, np.ndarray] = {}
    for item in net.state.get("variables") or []:
        name, value = item
        out[prefix + str(name)] = np.asarray(value)
    for cname, comp in net.components.items():
        if isinstance(comp, TFNetworkStandIn):
            out.update(collect_variables(comp, prefix + str(cname) + "/"))
    return out


# Settings that only matter for training or TF graph building, accepted at any value.
_IGNORED = {"truncation_psi", "truncation_cutoff", "truncation_psi_val", "truncation_cutoff_val", "style_mixing_prob",
            "structure", "dlatent_avg_beta", "randomize_noise", "fused_modconv", "dtype", "is_template_graph",
            "is_training", "is_validation", "return_dlatents", "force_clean_graph"}
# Settings accepted only at their default value: {name: default}.
_FIXED = {"normalize_latents": True, "fmap_decay": 1.0, "fmap_min": 1, "mapping_func": "G_mapping",
          "synthesis_func": "G_synthesis_stylegan2", "use_noise": True}


def translate_kwargs(static_kwargs: dict, path) -> dict:
    """Return ganlib Generator kwargs from a TF generator's ``static_kwargs`` (NVlabs' defaults where absent)."""
    kw = dict(static_kwargs)
    used: set[str] = set()

    def get(name, default=None):
        used.add(name)
        val = kw.get(name, default)
        return default if val is None else val

    out = {
        "z_dim": int(get("latent_size", 512)),
        "c_dim": int(get("label_size", 0)),
        "w_dim": int(get("dlatent_size", 512)),
        "img_resolution": int(get("resolution", 1024)),
        "img_channels": int(get("num_channels", 3)),
        "mapping_kwargs": {
            "num_layers": int(get("mapping_layers", 8)),
            "embed_features": kw.get("label_fmaps"),
            "layer_features": kw.get("mapping_fmaps"),
            "activation": str(get("mapping_nonlinearity", "lrelu")),
            "lr_multiplier": float(get("mapping_lrmul", 0.01)),
        },
        "synthesis_kwargs": {
            "channel_base": int(get("fmap_base", 16 << 10)) * 2,
            "channel_max": int(get("fmap_max", 512)),
            "num_fp16_res": int(get("num_fp16_res", 0)),
            "conv_clamp": kw.get("conv_clamp"),
            "resample_filter": [float(v) for v in get("resample_kernel", [1, 3, 3, 1])],
            "activation": str(get("nonlinearity", "lrelu")),
        },
    }
    used.update({"label_fmaps", "mapping_fmaps", "conv_clamp"})
    arch = get("architecture", "skip")
    if arch != "skip":
        raise CheckpointError(f"TF generator architecture {arch!r} is not supported: only 'skip' (the StyleGAN2 "
                              f"default)", file=path)
    for name, default in _FIXED.items():
        if name in kw and kw[name] != default:
            raise CheckpointError(f"TF generator setting {name}={kw[name]!r} is not supported (only {default!r})",
                                  file=path)
    unknown = sorted(set(kw) - used - _IGNORED - set(_FIXED))
    if unknown:
        raise CheckpointError(f"unknown TF generator setting {unknown[0]!r}", file=path)
    for key in ("embed_features", "layer_features"):
        if out["mapping_kwargs"][key] is not None:
            out["mapping_kwargs"][key] = int(out["mapping_kwargs"][key])
    if out["synthesis_kwargs"]["conv_clamp"] is not None:
        out["synthesis_kwargs"]["conv_clamp"] = float(out["synthesis_kwargs"]["conv_clamp"])
    return out


def _var(tf: dict[str, np.ndarray], name: str, path) -> np.ndarray:
    if name not in tf:
        raise CheckpointError(f"TF variable {name!r} is missing", file=path)
    return tf[name]


def map_variables(tf: dict[str, np.ndarray], kwargs: dict, path) -> dict[str, torch.Tensor]:
    """Return the ganlib state dict (without resample filters) built from TF variables."""
    if any(k.startswith("mapping/LabelConcat/") for k in tf):
        raise CheckpointError("conditional TF StyleGAN2 with 'LabelConcat' (labels concatenated before "
                              "normalisation) is not supported; stylegan2-ada 'LabelEmbed' networks are", file=path)
    if any("ToRGB_lod" in k for k in tf):
        raise CheckpointError("TF generator with the 'orig' architecture (ToRGB_lod*) is not supported", file=path)
    v = lambda name: _var(tf, name, path)  # noqa: E731
    out: dict[str, np.ndarray] = {"mapping.w_avg": v("dlatent_avg")}
    if kwargs["c_dim"] > 0:
        out["mapping.embed.weight"] = v("mapping/LabelEmbed/weight").T
        out["mapping.embed.bias"] = v("mapping/LabelEmbed/bias")
    for i in range(kwargs["mapping_kwargs"]["num_layers"]):
        out[f"mapping.fc{i}.weight"] = v(f"mapping/Dense{i}/weight").T
        out[f"mapping.fc{i}.bias"] = v(f"mapping/Dense{i}/bias")

    def conv(dst: str, src: str, noise_idx: int | None, flip: bool = False) -> None:
        w = v(f"synthesis/{src}/weight")
        if flip:
            w = w[::-1, ::-1]
        out[f"{dst}.weight"] = w.transpose(3, 2, 0, 1)
        out[f"{dst}.bias"] = v(f"synthesis/{src}/bias")
        out[f"{dst}.affine.weight"] = v(f"synthesis/{src}/mod_weight").T
        out[f"{dst}.affine.bias"] = v(f"synthesis/{src}/mod_bias") + 1
        if noise_idx is not None:
            out[f"{dst}.noise_const"] = v(f"synthesis/noise{noise_idx}")[0, 0]
            out[f"{dst}.noise_strength"] = np.asarray(v(f"synthesis/{src}/noise_strength")).reshape(())

    def torgb(dst: str, src: str) -> None:
        out[f"{dst}.weight"] = v(f"synthesis/{src}/weight").transpose(3, 2, 0, 1)
        out[f"{dst}.bias"] = v(f"synthesis/{src}/bias")
        out[f"{dst}.affine.weight"] = v(f"synthesis/{src}/mod_weight").T
        out[f"{dst}.affine.bias"] = v(f"synthesis/{src}/mod_bias") + 1

    out["synthesis.b4.const"] = v("synthesis/4x4/Const/const")[0]
    conv("synthesis.b4.conv1", "4x4/Conv", 0)
    torgb("synthesis.b4.torgb", "4x4/ToRGB")
    log2 = int(np.log2(kwargs["img_resolution"]))
    for k in range(3, log2 + 1):
        r = 2 ** k
        conv(f"synthesis.b{r}.conv0", f"{r}x{r}/Conv0_up", 2 * k - 5, flip=True)
        conv(f"synthesis.b{r}.conv1", f"{r}x{r}/Conv1", 2 * k - 4)
        torgb(f"synthesis.b{r}.torgb", f"{r}x{r}/ToRGB")
    return {name: torch.from_numpy(np.array(arr, dtype=np.float32, order="C")) for name, arr in out.items()}


def generator_from_data(data: Any, path) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """Return (ganlib kwargs, state dict without filters, provenance) for the generator in a TF pickle."""
    net = pick_generator(data, path)
    kwargs = translate_kwargs(net.static_kwargs, path)
    variables = collect_variables(net)
    # Feature counts the settings may leave implicit (TF's default mapping width is 512 whatever w_dim is).
    mk = kwargs["mapping_kwargs"]
    if mk["num_layers"] > 1 and "mapping/Dense0/weight" in variables:
        mk["layer_features"] = int(variables["mapping/Dense0/weight"].shape[1])
    if kwargs["c_dim"] > 0 and "mapping/LabelEmbed/weight" in variables:
        mk["embed_features"] = int(variables["mapping/LabelEmbed/weight"].shape[1])
    state = map_variables(variables, kwargs, path)
    return kwargs, state, {"source_format": FORMAT, "network": net.name or "Gs"}
