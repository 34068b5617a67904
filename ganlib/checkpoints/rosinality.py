"""rosinality/stylegan2-pytorch checkpoints (``.pt``): ``{'g_ema': state_dict, 'latent_avg': w_avg, …}``.

Read with ``torch.load(weights_only=True)`` (training checkpoints also hold ``args``, an ``argparse.Namespace``, which
is read into a plain stand-in). The architecture is inferred from the tensor shapes and the state dict is mapped onto
ganlib's StyleGAN2 generator:

=================================  ===============================================
rosinality                          ganlib / NVlabs
=================================  ===============================================
``style.{i+1}.weight|bias``         ``mapping.fc{i}.weight|bias`` (lr multiplier 0.01)
``input.input`` [1,C,4,4]           ``synthesis.b4.const`` [C,4,4]
``conv1.*``, ``to_rgb1.*``          ``synthesis.b4.conv1.*``, ``synthesis.b4.torgb.*``
``convs.{2k}``, ``convs.{2k+1}``    ``synthesis.b{8·2^k}.conv0``, ``.conv1``
``to_rgbs.{k}``                     ``synthesis.b{8·2^k}.torgb``
``*.conv.weight`` [1,O,I,k,k]       ``*.weight`` [O,I,k,k]
``*.conv.modulation.*``             ``*.affine.*``
``*.noise.weight`` [1]              ``*.noise_strength`` []
``*.activate.bias``                 ``*.bias``;  to-RGB ``bias`` [1,3,1,1] → [3]
``noises.noise_{j}`` [1,1,r,r]      ``noise_const`` [r,r] of the j-th noise layer
``latent_avg``                      ``mapping.w_avg``
``*.blur.kernel``, ``*.upsample.kernel``  → ``resample_filter`` taps (checked, not copied)
=================================  ===============================================

Numerics: the same operations in the same order, except that rosinality folds the weight scale 1/sqrt(fan_in) into the
weights *before* demodulation, so its epsilon (1e-8) acts on a sum about fan_in times smaller: a relative difference
below 1e-7 for trained weights. When the file has no ``latent_avg`` (training checkpoints), ``mapping.w_avg`` is
estimated as the mean w of ``W_AVG_SAMPLES`` fixed-seed z (rosinality's ``mean_latent`` uses 4096 random ones).
"""
from __future__ import annotations

import contextlib
import math
import re
from typing import Any

import torch

from ganlib.checkpoints.safe_unpickle import weights_only_refused_global
from ganlib.errors import CheckpointError

FORMAT = "rosinality-pt"
W_AVG_SAMPLES = 10_000
LR_MLP = 0.01


class NamespaceStandIn:
    """Stands in for ``argparse.Namespace`` in training checkpoints: attributes only."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.__dict__.update(state)


def torch_load_weights_only(path) -> Any:
    """Return ``torch.load(path, weights_only=True)`` on CPU, reading ``argparse.Namespace`` into a stand-in.

    Raises CheckpointError for files torch's safe loader refuses, and for truncated or corrupt files.
    """
    try:
        ctx = torch.serialization.safe_globals([(NamespaceStandIn, "argparse.Namespace")])
    except (AttributeError, TypeError):  # older torch: no stand-ins
        ctx = contextlib.nullcontext()
    try:
        with ctx:
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - reported as a user error
        text = str(exc)
        refused = weights_only_refused_global(text)
        if refused:
            raise CheckpointError(f"refused to load: the file asks for the global '{refused}', which a "
                                  f"checkpoint never needs; nothing in the file was imported or run",
                                  file=path) from None
        first = text.splitlines()[0][:200] if text else type(exc).__name__
        raise CheckpointError(f"truncated or corrupt PyTorch file ({first})", file=path) from None


def looks_like_rosinality(obj: Any) -> bool:
    """True when ``obj`` is a rosinality checkpoint dict or a bare rosinality generator state dict."""
    state = obj.get("g_ema", obj.get("g")) if isinstance(obj, dict) else None
    if isinstance(obj, dict) and state is None:
        state = obj
    return isinstance(state, dict) and "input.input" in state and "conv1.conv.weight" in state


def _t(state: dict, name: str, path) -> torch.Tensor:
    if name not in state or not isinstance(state[name], torch.Tensor):
        raise CheckpointError(f"tensor {name!r} is missing", file=path)
    return state[name]


def _taps(kernel: torch.Tensor) -> list[float]:
    """1-D taps (normalised) of a separable 2-D blur kernel."""
    k = kernel.double()
    row = k.sum(dim=0)
    return (row / row.sum()).tolist()


def infer_kwargs(state: dict, path) -> dict:
    """Return ganlib Generator kwargs for a rosinality generator state dict (from tensor shapes)."""
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in state:
        n_mlp += 1
    if n_mlp == 0:
        raise CheckpointError("no mapping layers ('style.1.weight') in the generator state", file=path)
    style_dim = int(_t(state, "style.1.weight", path).shape[1])
    n_convs = 0
    while f"convs.{n_convs}.conv.weight" in state:
        n_convs += 1
    if n_convs % 2:
        raise CheckpointError("odd number of synthesis convolutions", file=path)
    log2 = n_convs // 2 + 2
    size = 2 ** log2
    channels = {4: int(_t(state, "conv1.conv.weight", path).shape[1])}
    for k in range(n_convs // 2):
        channels[2 ** (k + 3)] = int(_t(state, f"convs.{2 * k}.conv.weight", path).shape[1])
    channel_max = max(channels.values())
    base = None
    for res, ch in channels.items():
        if ch < channel_max:
            base = ch * res
            break
    base = base or channel_max * size * 2
    expect = {res: min(base // res, channel_max) for res in channels}
    if expect != channels:
        raise CheckpointError(f"channel counts {channels} are not expressible as min(channel_base/res, "
                              f"channel_max)", file=path)
    img_channels = int(_t(state, "to_rgb1.conv.weight", path).shape[1])
    kwargs: dict[str, Any] = {
        "z_dim": style_dim, "c_dim": 0, "w_dim": style_dim, "img_resolution": size, "img_channels": img_channels,
        "mapping_kwargs": {"num_layers": n_mlp, "lr_multiplier": LR_MLP},
        "synthesis_kwargs": {"channel_base": base, "channel_max": channel_max},
    }
    kernel = state.get("to_rgbs.0.upsample.kernel")
    if isinstance(kernel, torch.Tensor):
        taps = _taps(kernel)
        if max(abs(a - b) for a, b in zip(taps + [0] * 8, [0.125, 0.375, 0.375, 0.125] + [0] * 8)) > 1e-6:
            kwargs["synthesis_kwargs"]["resample_filter"] = taps
    return kwargs


def map_state(state: dict, kwargs: dict, path) -> dict[str, torch.Tensor]:
    """Return the ganlib state dict (without w_avg and resample filters) for a rosinality generator state."""
    t = lambda name: _t(state, name, path)  # noqa: E731
    out: dict[str, torch.Tensor] = {}
    for i in range(kwargs["mapping_kwargs"]["num_layers"]):
        out[f"mapping.fc{i}.weight"] = t(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = t(f"style.{i + 1}.bias")
    out["synthesis.b4.const"] = t("input.input")[0]

    def styled(dst: str, src: str, noise_idx: int) -> None:
        out[f"{dst}.weight"] = t(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = t(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = t(f"{src}.conv.modulation.bias")
        out[f"{dst}.noise_strength"] = t(f"{src}.noise.weight").reshape(())
        out[f"{dst}.noise_const"] = t(f"noises.noise_{noise_idx}")[0, 0]
        out[f"{dst}.bias"] = t(f"{src}.activate.bias").reshape(-1)

    def rgb(dst: str, src: str) -> None:
        out[f"{dst}.weight"] = t(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = t(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = t(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = t(f"{src}.bias").reshape(-1)

    styled("synthesis.b4.conv1", "conv1", 0)
    rgb("synthesis.b4.torgb", "to_rgb1")
    log2 = int(math.log2(kwargs["img_resolution"]))
    for k in range(log2 - 2):
        r = 2 ** (k + 3)
        styled(f"synthesis.b{r}.conv0", f"convs.{2 * k}", 2 * k + 1)
        styled(f"synthesis.b{r}.conv1", f"convs.{2 * k + 1}", 2 * k + 2)
        rgb(f"synthesis.b{r}.torgb", f"to_rgbs.{k}")
    known = re.compile(r"(style\.\d+\.(weight|bias)|input\.input|(conv1|convs\.\d+)\.(conv\.(weight|modulation\.weight|"
                       r"modulation\.bias|blur\.kernel)|noise\.weight|activate\.bias)|(to_rgb1|to_rgbs\.\d+)\."
                       r"(conv\.(weight|modulation\.weight|modulation\.bias)|bias|upsample\.kernel)|noises\.noise_\d+)")
    unexpected = sorted(k for k in state if not known.fullmatch(k))
    if unexpected:
        raise CheckpointError(f"unexpected tensor {unexpected[0]!r}: not a rosinality StyleGAN2 generator "
                              f"(SWAGAN and conditional variants are not supported)", file=path)
    return {k: v.detach().to(torch.float32) for k, v in out.items()}


def generator_from_data(obj: Any, path) -> tuple[dict, dict[str, torch.Tensor], torch.Tensor | None, dict]:
    """Return (ganlib kwargs, state dict, latent_avg or None, provenance) for a rosinality checkpoint ``obj``."""
    if not looks_like_rosinality(obj):
        raise CheckpointError("not a rosinality StyleGAN2 checkpoint (no 'g_ema' generator state)", file=path)
    key = "g_ema" if "g_ema" in obj else ("g" if "g" in obj else "")
    state = obj[key] if key else obj
    kwargs = infer_kwargs(state, path)
    mapped = map_state(state, kwargs, path)
    latent_avg = obj.get("latent_avg") if key else None
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != kwargs["w_dim"]:
            raise CheckpointError("'latent_avg' does not match the generator's w size", file=path)
        latent_avg = latent_avg.reshape(-1).to(torch.float32)
    return kwargs, mapped, latent_avg, {"source_format": FORMAT, "network": key or "generator state",
                                        "w_avg": "latent_avg" if latent_avg is not None else
                                        f"mean of {W_AVG_SAMPLES} mapped z (seed 0)"}


def estimate_w_avg(G: torch.nn.Module, samples: int = W_AVG_SAMPLES, seed: int = 0) -> torch.Tensor:
    """Return the mean w of ``samples`` z drawn with a fixed seed (for checkpoints without ``latent_avg``)."""
    gen = torch.Generator().manual_seed(seed)
    dev = next(G.parameters()).device
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    done = 0
    with torch.no_grad():
        while done < samples:
            n = min(1000, samples - done)
            z = torch.randn([n, G.z_dim], generator=gen).to(dev)
            w = G.mapping(z, torch.zeros([n, G.c_dim], device=dev))[:, 0]
            total += w.double().sum(dim=0).cpu()
            done += n
    return (total / samples).to(torch.float32)
