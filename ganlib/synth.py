"""The one generation path: seeds → z → (conditioning, mapping, truncation, style mixing, noise) → synthesis → pixels.

Every caller that turns latents into images goes through here: ``studio render``/``random``/``grid``, the UI gallery
and preview, FID sampling (``ganlib.metrics.stats``) and training sample grids. The conventions are NVlabs':

* seed N → ``z = np.random.RandomState(N).randn(1, z_dim)`` (:func:`seed_to_z`);
* a class label → a one-hot ``c`` of length ``c_dim`` (:func:`condition`);
* truncation ``w_avg + psi * (w - w_avg)`` on the first ``cutoff`` layers (all when None) (:func:`truncate`);
* pixels ``clamp(img * 127.5 + 128, 0, 255)`` → uint8 N×H×W×C for C in 1, 3, 4 (:func:`to_uint8`);
* precision is an argument of each call (as NVlabs passes ``force_fp32``), never a flag set on a shared model;
* StyleGAN3 camera moves as ``gen_images.py --translate X,Y --rotate DEG``: the synthesis receives the inverse matrix
  (:func:`camera_transforms`); "stabilize" takes the w-driven part of the input transform at ``w_avg``.

Generators follow the :class:`Generator` protocol; those with a w space (``num_ws > 0``) also follow
:class:`StyleGenerator`. Models without a w space (DCGAN, cGAN, MLP, autoencoder decoders) are called as
``G(z, c, truncation_psi=psi)``.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from ganlib.errors import UserError
from ganlib.networks.stylegan3 import is_stylegan3, transforms_for
from ganlib.ops.cpu_threads import apply_inference_threads
from ganlib.pixels import to_rgb

CondKind = Literal["none", "label", "features"]
NOISE_MODES = ("const", "random", "none", "loop")
PRECISIONS = ("auto", "float32", "float16", "bfloat16")


@runtime_checkable
class Generator(Protocol):
    """What every generator offers: ``z_dim`` (latent size), ``c_dim`` (condition size, 0 = unconditional),
    ``w_dim``/``num_ws`` (0 when there is no w space), ``img_resolution``, ``img_channels`` (1, 3 or 4) and
    ``cond_kind`` ("none", "label": ``c`` is a one-hot class, "features": ``c`` is a feature vector). Calling it with
    z [N, z_dim], c [N, c_dim] or None and ``truncation_psi`` returns images [N, C, R, R] in about [-1, 1]."""

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    img_channels: int
    cond_kind: str

    def __call__(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                 **kwargs) -> torch.Tensor: ...


@runtime_checkable
class StyleGenerator(Generator, Protocol):
    """A generator with a w space (StyleGAN2-style): ``mapping(z, c, truncation_psi, truncation_cutoff)`` → ws
    [N, num_ws, w_dim] with a ``w_avg`` buffer, and ``synthesis(ws, noise_mode, noise_inputs, precision)`` → images,
    whose ``noise_shapes()`` lists the (H, W) of each noise input."""

    mapping: torch.nn.Module
    synthesis: torch.nn.Module


# ------------------------------------------------------------------------------------------------ model facts

def cond_kind(G: Generator) -> CondKind:
    """Return how ``G`` is conditioned: its ``cond_kind``; when a module does not say, a model with ``c_dim > 0`` is
    label-conditioned (NVlabs' convention: ``c`` is a one-hot class, and every project generator with features says
    so), else "none". The one place that decides this."""
    kind = getattr(G, "cond_kind", None)
    if kind is None:
        kind = "label" if int(G.c_dim) > 0 else "none"
    return kind


def has_w_space(G: Generator) -> bool:
    """Return True when ``G`` has a mapping network and synthesis from ws (``num_ws > 0``)."""
    return int(G.num_ws) > 0


def model_device(G: torch.nn.Module) -> torch.device:
    """Return the device of ``G``'s parameters (CPU for a model without parameters)."""
    for p in G.parameters():
        return p.device
    return torch.device("cpu")


def check_camera(G: Generator, field: str) -> None:
    """Raise UserError naming ``field`` unless ``G`` takes camera moves (a StyleGAN3 model: its Fourier-feature
    input can be translated and rotated). Returns nothing."""
    if not is_stylegan3(G):
        raise UserError("camera moves (translate, rotate, stabilize) need a StyleGAN3 model; this model is a "
                        f"{'StyleGAN2' if has_w_space(G) else 'model without a w space'}", field=field)


def camera_transforms(G: Generator, translate, rotate, n: int) -> torch.Tensor | None:
    """Return the [n, 3, 3] matrices StyleGAN3's synthesis receives for per-image camera moves (``translate``: one
    (x, y) in image widths or one per image; ``rotate``: degrees, one or one per image; None = no move), inverted
    as NVlabs' gen_images.py does; None when neither is given."""
    if translate is None and rotate is None:
        return None
    tr = None if translate is None else np.broadcast_to(np.asarray(translate, dtype=np.float64).reshape(-1, 2),
                                                        (n, 2))
    rot = None if rotate is None else np.broadcast_to(np.asarray(rotate, dtype=np.float64).reshape(-1), (n,))
    return transforms_for(tr, rot, n, device=model_device(G))


# ------------------------------------------------------------------------------------------------- z and c

def seed_to_z(seed: int, z_dim: int) -> np.ndarray:
    """Return z [z_dim] float64 for ``seed`` exactly as NVlabs generate.py draws it."""
    return np.random.RandomState(int(seed)).randn(1, z_dim)[0]


def seeds_to_z(seeds: Sequence[int], z_dim: int) -> np.ndarray:
    """Return z [len(seeds), z_dim] float64, one row per seed (:func:`seed_to_z`)."""
    return np.stack([seed_to_z(s, z_dim) for s in seeds]) if len(seeds) else np.zeros([0, z_dim])


def one_hot(labels: Sequence[int], c_dim: int) -> np.ndarray:
    """Return float64 one-hot rows [len(labels), c_dim] for integer class ``labels``."""
    out = np.zeros([len(labels), c_dim])
    out[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1
    return out


def condition(G: Generator, label: int | None = None, features=None, field: str = "") -> np.ndarray | None:
    """Return the conditioning vector [c_dim] (float64) for ``G`` from a class ``label`` (default 0) or a
    ``features`` vector, or None for unconditional models. Raises UserError naming ``field`` when it does not fit."""
    c_dim = int(G.c_dim)
    if c_dim == 0:
        return None
    if cond_kind(G) == "features":
        if features is None:
            raise UserError(f"this model is conditioned on a {c_dim}-value feature vector: give 'features'",
                            field=field or "features")
        vec = np.asarray(features, dtype=np.float64).reshape(-1)
        if vec.shape[0] != c_dim:
            raise UserError(f"features have {vec.shape[0]} values, the model expects {c_dim}",
                            field=field or "features")
        return vec
    label = 0 if label is None else int(label)
    if not 0 <= label < c_dim:
        raise UserError(f"label {label} is out of range: the model has {c_dim} classes (0..{c_dim - 1})",
                        field=field or "label")
    return one_hot([label], c_dim)[0]


def _c_tensor(G: Generator, conds: np.ndarray | None, n: int, dev: torch.device) -> torch.Tensor:
    if conds is None:
        return torch.zeros([n, int(G.c_dim)], device=dev)
    c = torch.from_numpy(np.asarray(conds, dtype=np.float64)).float().to(dev)
    return c.reshape(1, -1).expand(n, -1) if c.ndim == 1 else c


# ------------------------------------------------------------------------------------------- mapping and styles

def map_z(G: StyleGenerator, z: np.ndarray | torch.Tensor, conds: np.ndarray | None = None, *, grad: bool = False,
          skip_w_avg_update: bool = False) -> torch.Tensor:
    """Return untruncated ws [N, num_ws, w_dim] (float32, on G's device) for z [N, z_dim] (or [z_dim]) and
    conditioning ``conds`` ([N, c_dim], [c_dim] for all rows, or None). ``grad`` keeps the autograd graph
    (training); ``skip_w_avg_update`` leaves a training mapping's ``w_avg`` alone (the style-mixing second latent)."""
    dev = model_device(G)
    zt = (z if isinstance(z, torch.Tensor) else torch.from_numpy(np.asarray(z, dtype=np.float64))).float().to(dev)
    zt = zt.reshape(-1, int(G.z_dim))
    with torch.set_grad_enabled(grad):
        return G.mapping(zt, _c_tensor(G, conds, zt.shape[0], dev), skip_w_avg_update=skip_w_avg_update)


def truncate(G: StyleGenerator, ws: torch.Tensor, psi, cutoff: int | None = None) -> torch.Tensor:
    """Return ws [N, num_ws, w_dim] moved towards ``w_avg`` by ``psi`` on the first ``cutoff`` layers (all when
    None). A single number truncates as the mapping network does (``w_avg.lerp(w, psi)``, NVlabs); an array holds
    one psi per row (the renderer's per-frame truncation, ``w_avg + psi * (w - w_avg)``)."""
    w_avg = G.mapping.w_avg.to(ws.device)
    if np.ndim(psi) == 0:
        if float(psi) == 1:
            return ws
        if cutoff is None:
            return w_avg.lerp(ws, float(psi))
        out = ws.clone()
        out[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], float(psi))
        return out
    psi_t = torch.from_numpy(np.asarray(psi, dtype=np.float64)).float().to(ws.device).reshape(-1, 1, 1)
    trunc = w_avg + psi_t * (ws - w_avg)
    if cutoff is None:
        return trunc
    return torch.cat([trunc[:, :cutoff], ws[:, cutoff:]], dim=1)


def default_mix_layers(num_ws: int) -> list[int]:
    """Return the layers style mixing replaces when none are named: the second half (``num_ws // 2`` onwards)."""
    return list(range(num_ws // 2, num_ws))


def mix_styles(ws: torch.Tensor, ws_other: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """Return a copy of ws [N, num_ws, w_dim] (torch) or [num_ws, w_dim] (numpy) whose ``layers`` are taken from
    ``ws_other`` (style mixing)."""
    idx = list(layers)
    if isinstance(ws, np.ndarray):
        out = ws.copy()
        out[idx] = np.asarray(ws_other)[idx]
        return out
    out = ws.clone()
    index = torch.as_tensor(idx, dtype=torch.long, device=ws.device)
    out[:, index] = ws_other[:, index].to(out.dtype)
    return out


# ------------------------------------------------------------------------------------------------------ noise

class Noise:
    """Per-image noise inputs of a StyleGAN2 synthesis network.

    Modes: "const" (the network's stored noise), "none" (no noise), "random" (drawn per image from
    ``torch.Generator().manual_seed(seed)``, so repeatable) and "loop" (``a cos φ + b sin φ`` from two fields
    drawn from ``loop_seed``: a closed path for looping videos)."""

    def __init__(self, G: Generator, mode: str = "const", loop_seed: int = 0, device: torch.device | None = None):
        if mode not in NOISE_MODES:
            raise UserError(f"unknown noise mode {mode!r}; allowed: {', '.join(NOISE_MODES)}", field="noise")
        self.mode = mode
        self.device = device if device is not None else model_device(G)
        self.shapes = G.synthesis.noise_shapes() if has_w_space(G) else []
        self.const_layers = ([layer for block in G.synthesis.blocks() for layer in block.noise_layers()]
                             if self.shapes and callable(getattr(G.synthesis, "blocks", None)) else [])
        self.base: list[tuple[torch.Tensor, torch.Tensor]] = []
        if mode == "loop":
            gen = torch.Generator().manual_seed(int(loop_seed))
            self.base = [(torch.randn([1, 1, h, w], generator=gen), torch.randn([1, 1, h, w], generator=gen))
                         for h, w in self.shapes]

    @property
    def noise_mode(self) -> str:
        """The synthesis ``noise_mode`` used where no explicit noise is passed ("none" or "const")."""
        return "none" if self.mode == "none" else "const"

    def inputs(self, seeds: Sequence[int] | None = None, phases: Sequence[float] | None = None,
               strength: Sequence[float] | None = None) -> list[torch.Tensor] | None:
        """Return per-layer noise [B,1,H,W] for a batch (``seeds`` for "random", ``phases`` for "loop"), or None
        for the network's own constant (or no) noise. ``strength`` [B] scales each image's noise (1 = as is; e.g.
        audio-reactive noise): the constant noise is then passed explicitly, scaled."""
        if strength is not None and self.mode != "none" and self.shapes:
            scale = torch.from_numpy(np.asarray(strength, dtype=np.float64)).float().reshape(-1, 1, 1, 1)
            base = self.inputs(seeds, phases)
            if base is None and not self.const_layers:
                return None
            if base is None:
                base = [layer.noise_const.detach().float().cpu().reshape(1, 1, *layer.noise_const.shape)
                        for layer in self.const_layers]
            return [(b.cpu() * scale).to(self.device) for b in base]
        if self.mode in ("const", "none") or not self.shapes:
            return None
        if self.mode == "loop":
            ph = np.asarray(phases, dtype=np.float64)
            cos = torch.from_numpy(np.cos(ph)).float().reshape(-1, 1, 1, 1)
            sin = torch.from_numpy(np.sin(ph)).float().reshape(-1, 1, 1, 1)
            return [(a * cos + b * sin).to(self.device) for a, b in self.base]
        out: list[list[torch.Tensor]] = [[] for _ in self.shapes]
        for s in seeds:
            gen = torch.Generator().manual_seed(int(s))
            for j, (h, w) in enumerate(self.shapes):
                out[j].append(torch.randn([1, 1, h, w], generator=gen))
        return [torch.cat(parts).to(self.device) for parts in out]


# -------------------------------------------------------------------------------------------------- synthesis

def precision_name(dtype: str | torch.dtype | None) -> str:
    """Return the precision name ('auto', 'float32', 'float16', 'bfloat16') for a name or a torch dtype; UserError
    naming ``--dtype`` otherwise."""
    if dtype is None:
        return "auto"
    if isinstance(dtype, torch.dtype):
        dtype = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}.get(dtype, "")
    if dtype not in PRECISIONS:
        raise UserError(f"unknown dtype {dtype!r}; allowed: {', '.join(PRECISIONS)}", field="--dtype")
    return dtype


def _has_blocks(G: Generator) -> bool:
    """True when ``G.synthesis`` takes ``precision`` itself (StyleGAN2 blocks, StyleGAN3 layers)."""
    return has_w_space(G) and (callable(getattr(G.synthesis, "blocks", None)) or is_stylegan3(G))


def _autocast(G: Generator, precision: str, dev: torch.device):
    """Autocast (thread-local, so safe with a shared model) for the precisions synthesis does not take itself."""
    if precision == "bfloat16" or (precision == "float16" and not _has_blocks(G)):
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16 if precision == "bfloat16"
                              else torch.float16)
    return contextlib.nullcontext()


def synthesize(G: StyleGenerator, ws: torch.Tensor, *, noise_mode: str = "const",
               noise_inputs: list[torch.Tensor] | None = None, precision: str = "auto",
               synthesis: Callable | None = None, grad: bool = False,
               transform: torch.Tensor | None = None) -> torch.Tensor:
    """Return float32 images [N, C, R, R] from ws [N, num_ws, w_dim]. ``noise_mode`` (const | random | none) and
    ``noise_inputs`` (per-layer tensors, e.g. from :class:`Noise`, overriding the mode); ``precision`` is this call's
    own (see ``ganlib.networks.precision``; 'bfloat16' = autocast), never set on the model; ``synthesis`` replaces
    ``G.synthesis`` (e.g. compiled); ``grad`` keeps the autograd graph (training); ``transform`` [N, 3, 3] (StyleGAN3
    only, from :func:`camera_transforms`) moves the camera."""
    precision = precision_name(precision)
    dev = ws.device
    if dev.type == "cpu" and not grad:
        apply_inference_threads()
    synth = synthesis if synthesis is not None else G.synthesis
    kwargs = {}
    if transform is not None:
        kwargs["transform"] = transform
    if _has_blocks(G) and precision in ("float32", "float16"):
        kwargs["precision"] = precision
        if precision == "float16" and dev.type == "cuda":
            kwargs["channels_last"] = True
    with torch.set_grad_enabled(grad), _autocast(G, precision, dev):
        return synth(ws, noise_mode=noise_mode, noise_inputs=noise_inputs, **kwargs).float()


def generate(G: Generator, latents: np.ndarray, *, space: str = "z", conds: np.ndarray | None = None,
             psi=1.0, cutoff: int | None = None, mix: tuple[np.ndarray, Sequence[int]] | None = None,
             noise: Noise | None = None, noise_inputs: list[torch.Tensor] | None = None,
             precision: str = "auto", synthesis: Callable | None = None, translate=None, rotate=None,
             stabilize: bool = False) -> torch.Tensor:
    """Return float32 images [B, C, R, R] for a batch of latents: z [B, z_dim] (``space`` "z") or untruncated
    ws [B, num_ws, w_dim] ("w"); ``conds`` [B, c_dim] / [c_dim] / None; truncation ``psi`` (one number or one per
    row) with ``cutoff``; ``mix`` = (z of the mixing latent [z_dim], layers) replaces those layers by its ws
    (truncated alike); ``noise`` (its mode; ``noise_inputs`` its tensors for this batch), precision and
    ``synthesis`` as in :func:`synthesize`. StyleGAN3 only: ``translate`` ((x, y) or [B, 2], image widths) and
    ``rotate`` (degrees, one or [B]) move the camera as gen_images.py does; ``stabilize`` feeds ``w_avg`` to the
    input's own transform (ws[:, 0]) so that interpolations morph without the viewpoint drifting (UserError naming
    'translate', 'rotate' or 'stabilize' on other models). Models without a w space take
    z only (``G(z, c, truncation_psi)``, one call per distinct psi)."""
    dev = model_device(G)
    precision = precision_name(precision)
    b = int(latents.shape[0])
    for value, name in ((translate, "translate"), (rotate, "rotate"), (stabilize or None, "stabilize")):
        if value is not None:
            check_camera(G, name)
    if not has_w_space(G):
        if space != "z":
            raise UserError("this model has no w space", field="space")
        x = torch.from_numpy(np.asarray(latents, dtype=np.float64)).float().to(dev)
        c = _c_tensor(G, conds, b, dev) if G.c_dim else None
        psi_arr = np.broadcast_to(np.asarray(psi, dtype=np.float64).reshape(-1), (b,))
        with torch.no_grad(), _autocast(G, precision, dev):
            if np.ndim(psi) == 0:
                return G(x, c, truncation_psi=float(psi)).float()
            if np.all(psi_arr == 1):
                return G(x, c).float()
            return torch.cat([G(x[i:i + 1], c[i:i + 1] if c is not None else None,
                                truncation_psi=float(psi_arr[i])) for i in range(b)]).float()
    if space == "z":
        ws = map_z(G, latents, conds)
    else:
        ws = torch.from_numpy(np.asarray(latents, dtype=np.float64)).float().to(dev)
    with torch.no_grad():
        ws = truncate(G, ws, psi, cutoff)
        if mix is not None:
            z_mix, layers = mix
            wm = truncate(G, map_z(G, np.repeat(np.asarray(z_mix).reshape(1, -1), b, axis=0), conds), psi, cutoff)
            ws = mix_styles(ws, wm, layers)
        if stabilize:
            ws = ws.clone()
            ws[:, 0] = G.mapping.w_avg.to(ws.dtype)
    return synthesize(G, ws, noise_mode=noise.noise_mode if noise is not None else "const",
                      noise_inputs=noise_inputs, precision=precision, synthesis=synthesis,
                      transform=camera_transforms(G, translate, rotate, b))


def seed_batch(G: Generator, seeds: Sequence[int], *, conds: np.ndarray | None = None, psi: float = 1.0,
               cutoff: int | None = None, noise: Noise | None = None, mix_seed: int | None = None,
               mix_layers: Sequence[int] | None = None, precision: str = "auto", translate=None,
               rotate=None) -> np.ndarray:
    """Return uint8 N×H×W×C pixels for ``seeds`` (z by :func:`seed_to_z`), conditioned by ``conds``, truncated by
    ``psi``/``cutoff``, style-mixed with ``mix_seed`` on ``mix_layers`` (default: the second half), with ``noise``
    (per-seed for "random") at ``precision``; StyleGAN3 camera moves ``translate`` (x, y) and ``rotate`` (degrees)
    as in :func:`generate`."""
    z = seeds_to_z(seeds, int(G.z_dim))
    mix = None
    if mix_seed is not None:
        if not has_w_space(G):
            raise UserError("style mixing needs a StyleGAN2-style model with a w space", field="--mix-seed")
        layers = list(mix_layers) if mix_layers is not None else default_mix_layers(int(G.num_ws))
        mix = (seed_to_z(mix_seed, int(G.z_dim)), layers)
    inputs = noise.inputs(seeds=seeds) if noise is not None and noise.mode == "random" else None
    images = generate(G, z, conds=conds, psi=psi, cutoff=cutoff, mix=mix, noise=noise, noise_inputs=inputs,
                      precision=precision, translate=translate, rotate=rotate)
    return to_uint8(images)


# ----------------------------------------------------------------------------------------------------- pixels

def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Return uint8 N×H×W×C pixels (C = the model's 1, 3 or 4 channels) from float NCHW images in about [-1, 1],
    as NVlabs converts them: ``clamp(img * 127.5 + 128, 0, 255)`` truncated to uint8. Computed with numpy in float32,
    so a worker thread converting frames starts no second torch thread pool. Non-finite values raise UserError
    (they would become black frames)."""
    arr = images.detach().float().cpu().numpy()
    bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise UserError(f"the model produced {bad:,} NaN or infinite pixel values ({100 * bad / arr.size:.3g}% of the "
                        f"batch): its weights or the latents are broken (check the checkpoint's w_avg and weights, "
                        f"latent files and direction strengths); no frame was written for them")
    arr = arr * np.float32(127.5) + np.float32(128)
    np.clip(arr, 0, 255, out=arr)
    return np.ascontiguousarray(arr.astype(np.uint8).transpose(0, 2, 3, 1))


__all__ = ["Generator", "StyleGenerator", "cond_kind", "has_w_space", "model_device", "check_camera",
           "camera_transforms", "seed_to_z", "seeds_to_z",
           "one_hot", "condition", "map_z", "truncate", "default_mix_layers", "mix_styles", "Noise",
           "precision_name", "synthesize", "generate", "seed_batch", "to_uint8", "to_rgb"]
