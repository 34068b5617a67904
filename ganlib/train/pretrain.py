"""The frozen feature pre-encoder of feature-conditioned KINDs: pre-trained here (an autoencoder on the dataset's
feature vectors, MSE loss; an MLP, or a GRU over the time axis for sequence features [N, T, F]), or a pretrained MLP
``state_dict`` loaded from ``encoder.path``. The encoder is then frozen in front of a conditional generator
(``ganlib.networks.mlp_encoder.EncodedGenerator``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tqdm import tqdm

from ganlib.errors import ConfigError, DataError
from ganlib.networks.mlp_encoder import MLPFeatureAutoencoder
from ganlib.paths import input_file


def pretrain_encoder(features: np.ndarray, enc_cfg, seed: int, progress: bool = False,
                     steps: int = 1) -> tuple[torch.nn.Module, float]:
    """Train an autoencoder on the flat ``features`` [N, steps * F] for ``enc_cfg.steps`` Adam steps and return its
    encoder (an MLP, or with ``enc_cfg.kind == "sequence"`` a GRU over ``steps`` time steps; frozen, eval mode, on
    CPU) and the final reconstruction MSE. Deterministic for a given ``seed``; global RNGs are left untouched."""
    x = torch.from_numpy(np.asarray(features, dtype=np.float32))
    kind = getattr(enc_cfg, "kind", "mlp")
    in_dim = x.shape[1] // steps if kind == "sequence" else x.shape[1]
    layers = enc_cfg.layers if kind != "sequence" else max(1, min(enc_cfg.layers, 2))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed * 7 + 3)
        model = MLPFeatureAutoencoder(in_dim, enc_cfg.hidden, enc_cfg.code_dim, layers, kind=kind, steps=steps)
    opt = torch.optim.Adam(model.parameters(), lr=enc_cfg.lr)
    g = torch.Generator().manual_seed(seed * 7 + 5)
    bs = min(enc_cfg.batch_size, len(x))
    bar = None
    if progress:
        bar = tqdm(total=enc_cfg.steps, desc="encoder", unit="step", dynamic_ncols=True, leave=False)
    loss = torch.tensor(0.0)
    for _ in range(enc_cfg.steps):
        idx = torch.randint(0, len(x), (bs,), generator=g)
        loss = F.mse_loss(model(x[idx]), x[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    with torch.no_grad():
        final = float(F.mse_loss(model(x), x))
    enc = model.encoder.eval().requires_grad_(False)
    return enc, final


def check_feature_shape(ds, enc_cfg) -> int:
    """Return the time steps T of the dataset's features ((T, F) rows; 1 for flat rows); raise DataError for
    sequence features without a sequence encoder (``encoder.kind: sequence``) and for a sequence encoder on flat
    features."""
    shape = ds.feature_row_shape
    sequence = enc_cfg is not None and enc_cfg.used and enc_cfg.kind == "sequence"
    if len(shape) > 2:
        raise DataError(f"features of shape [N, {', '.join(map(str, shape))}] are not supported: give [N, F] vectors "
                        f"or [N, T, F] sequences", file=ds.source)
    if len(shape) == 2 and not sequence:
        raise DataError(f"the features are sequences [N, T, F] = [N, {shape[0]}, {shape[1]}] and would be flattened; "
                        f"use a sequence encoder (--set encoder.kind=sequence, a GRU over the time axis) or give "
                        f"flat [N, F] features", file=ds.source)
    if len(shape) == 1 and sequence:
        raise DataError(f"encoder.kind: sequence needs sequence features [N, T, F]; these are [N, {shape[0]}] "
                        f"(use encoder.kind: mlp)", file=ds.source)
    return shape[0] if len(shape) == 2 else 1


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict of tensors from ``path`` (.safetensors, or a torch file read weights-only)."""
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt, foreign or unsafe file: one line
        raise ConfigError(f"cannot read the encoder state_dict ({str(exc).splitlines()[0][:160]})", file=path,
                          field="encoder.path") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError("not a state_dict (a mapping of parameter names to tensors)", file=path,
                          field="encoder.path")
    if any(k.startswith("encoder.") for k in state):  # a whole feature autoencoder: keep its encoder
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    return state


def load_pretrained_mlp(path: str | Path, in_dim: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """Return (MLPEncoder kwargs, its state dict) from the pretrained MLP ``state_dict`` at ``path``: Linear layers
    (2-D weights, optional biases, in order, ReLU between them as in ``MLPEncoder``). Shapes are checked: the
    first layer must take ``in_dim`` values, each layer the previous one's outputs, hidden layers of one width;
    ConfigError naming the file and the mismatch otherwise."""
    path = input_file(Path(path).expanduser(), "encoder state_dict", ConfigError)
    state = _tensors(path)
    weights = [k for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    other = [k for k in state if k not in weights and not (k.endswith("bias") and k[:-4] + "weight" in weights)]
    if not weights or other:
        raise ConfigError(f"only an MLP of Linear layers can be loaded; the file holds {other[0]!r}" if other else
                          "no Linear weights ([out, in] tensors) in the file", file=path, field="encoder.path")
    ws = [state[k].float() for k in weights]
    if ws[0].shape[1] != in_dim:
        raise ConfigError(f"the MLP's first layer takes {ws[0].shape[1]} values per row, the data's features have "
                          f"{in_dim}", file=path, field="encoder.path")
    for prev, (k, w) in zip(ws, zip(weights[1:], ws[1:])):
        if w.shape[1] != prev.shape[0]:
            raise ConfigError(f"layer {k!r} takes {w.shape[1]} inputs but the layer before gives {prev.shape[0]}",
                              file=path, field="encoder.path")
    hidden = {int(w.shape[0]) for w in ws[:-1]}
    if len(hidden) > 1:
        raise ConfigError(f"hidden layers of different widths {sorted(hidden)} are not supported (one width)",
                          file=path, field="encoder.path")
    kwargs = dict(in_dim=in_dim, hidden=int(ws[0].shape[0]) if len(ws) > 1 else 1, out_dim=int(ws[-1].shape[0]),
                  layers=len(ws) - 1)
    out = {}
    for i, (k, w) in enumerate(zip(weights, ws)):
        bias = state.get(k[:-len("weight")] + "bias")
        out[f"net.{2 * i}.weight"] = w
        out[f"net.{2 * i}.bias"] = bias.float() if bias is not None else torch.zeros(w.shape[0])
        if out[f"net.{2 * i}.bias"].shape != (w.shape[0],):
            raise ConfigError(f"the bias of {k!r} has shape {tuple(out[f'net.{2 * i}.bias'].shape)}, expected "
                              f"({w.shape[0]},)", file=path, field="encoder.path")
    if kwargs["layers"] == 0:
        raise ConfigError("a single Linear layer is not an MLP with a hidden layer; add one", file=path,
                          field="encoder.path")
    return kwargs, out


def feature_encoder(ds, enc_cfg, seed: int, fresh: bool, progress: bool) -> tuple[dict, dict | None, float | None]:
    """Return (``EncodedGenerator`` encoder kwargs, the state dict to load into it or None, the pre-training MSE or
    None) for dataset ``ds``: the MLP of ``enc_cfg.path``, else one pre-trained here (only when ``fresh``; a resumed
    run restores its weights from the checkpoint)."""
    steps = check_feature_shape(ds, enc_cfg)
    if enc_cfg.path is not None:
        if enc_cfg.kind == "sequence":
            raise ConfigError("encoder.path loads an MLP; a sequence encoder is trained here (leave path empty)",
                              field="encoder.path")
        kwargs, state = load_pretrained_mlp(enc_cfg.path, ds.features_dim)
        return dict(kwargs, kind="mlp"), state, None
    if enc_cfg.kind == "sequence":
        kwargs = dict(kind="sequence", in_dim=ds.features_dim // steps, steps=steps, hidden=enc_cfg.hidden,
                      out_dim=enc_cfg.code_dim, layers=max(1, min(enc_cfg.layers, 2)))
    else:
        kwargs = dict(kind="mlp", in_dim=ds.features_dim, hidden=enc_cfg.hidden, out_dim=enc_cfg.code_dim,
                      layers=enc_cfg.layers)
    if not fresh:
        return kwargs, None, None
    enc, mse = pretrain_encoder(ds.features, enc_cfg, seed, progress, steps=steps)
    return kwargs, enc.state_dict(), mse
