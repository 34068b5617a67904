"""Renders a timeline: resolves keyframes to latents with the model, asks the pure engine for one latent per frame,
runs the generator in batches on CPU or GPU and streams uint8 frames to a sink (MP4, GIF, PNG sequence).

Generation, post-processing (uint8 conversion, resizing) and encoding overlap: the generator runs in the caller's
thread while a worker thread post-processes the previous batch and the sink encodes in its own thread.
"""
from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ganlib.checkpoints import LoadedModel, load_generator
from ganlib.errors import UserError
from studio.errors import TimelineError
from studio.seeds import seed_to_z

_MODEL_CACHE: dict[tuple[str, str], LoadedModel] = {}
_MODEL_LOCK = threading.Lock()


def resolve_device(name: str | None) -> torch.device:
    """Return the torch device for 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; UserError if unusable."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("CUDA was asked for but this machine's torch has no CUDA device; use --device cpu or auto",
                            field="--device")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise UserError(f"unknown device {name!r}; allowed: auto, cpu, cuda, cuda:N", field="--device")


def get_model(spec: str, device: torch.device | str = "cpu") -> LoadedModel:
    """Return the generator for ``spec`` on ``device``, loading it once per process (thread-safe cache)."""
    key = (str(spec), str(device))
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = load_generator(spec, device=device)
        return _MODEL_CACHE[key]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Return NHWC uint8 pixels from NCHW images in about [-1, 1], as NVlabs generate.py converts them."""
    return (images.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def to_uint8_numpy(images: torch.Tensor) -> np.ndarray:
    """Same pixels as ``to_uint8`` (float32 maths, truncation), computed with numpy so that a worker thread does not
    start a second torch thread pool that would fight the generator's for the cores."""
    arr = images.detach().float().cpu().numpy()
    arr = arr * np.float32(127.5) + np.float32(128)
    np.clip(arr, 0, 255, out=arr)
    return np.ascontiguousarray(arr.astype(np.uint8).transpose(0, 2, 3, 1))


def has_w_space(G: torch.nn.Module) -> bool:
    """Return True when ``G`` has a mapping network and synthesis from ws (StyleGAN2-style)."""
    return getattr(G, "num_ws", 0) > 0 and hasattr(G, "mapping") and hasattr(G, "synthesis")


def make_condition(G: torch.nn.Module, label: int | None, features, where: str = "") -> np.ndarray | None:
    """Return the conditioning vector [c_dim] for ``G`` from a class ``label`` or a ``features`` vector,
    or None for unconditional models; raise TimelineError when it does not fit the model."""
    c_dim = int(getattr(G, "c_dim", 0))
    kind = getattr(G, "cond_kind", "label" if c_dim else "none")
    if c_dim == 0:
        return None
    if kind == "features":
        if features is None:
            raise TimelineError(f"this model is conditioned on a {c_dim}-value feature vector: give 'features'",
                                field=where or "features")
        vec = np.asarray(features, dtype=np.float64).reshape(-1)
        if vec.shape[0] != c_dim:
            raise TimelineError(f"features have {vec.shape[0]} values, the model expects {c_dim}",
                                field=where or "features")
        return vec
    if label is None:
        label = 0
    if not 0 <= int(label) < c_dim:
        raise TimelineError(f"label {label} is out of range: the model has {c_dim} classes (0..{c_dim - 1})",
                            field=where or "label")
    vec = np.zeros([c_dim])
    vec[int(label)] = 1
    return vec


@dataclass
class ModelDirections:
    """Slider directions of a model in w space and the size of one slider step."""

    directions: np.ndarray
    step: float


_DIRECTIONS: dict[int, ModelDirections] = {}


def model_directions(G: torch.nn.Module, count: int = 8) -> ModelDirections:
    """Return (cached) SeFa directions of ``G`` and a step size: a quarter of the mean distance ‖w − w_avg‖."""
    from studio.directions import sefa_directions
    key = id(G)
    if key not in _DIRECTIONS:
        dirs = sefa_directions(G, count=count)
        z = torch.from_numpy(np.stack([seed_to_z(s, G.z_dim) for s in range(256)])).float()
        dev = next(G.parameters()).device
        c = torch.zeros([256, G.c_dim], device=dev)
        with torch.no_grad():
            w = G.mapping(z.to(dev), c)[:, 0].double().cpu()
        step = float((w - G.mapping.w_avg.double().cpu()).norm(dim=1).mean()) / 4
        _DIRECTIONS[key] = ModelDirections(dirs, step)
    return _DIRECTIONS[key]


@dataclass
class ResolvedTimeline:
    """Keyframes turned into anchors in the interpolation space, plus what the renderer needs to finish frames."""

    space: str                  # 'w' or 'z' (the space the engine interpolates)
    anchors: list[np.ndarray]
    conds: list[np.ndarray] | None


def _map_z(G, z: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    dev = next(G.parameters()).device
    zt = torch.from_numpy(z.reshape(1, -1)).float().to(dev)
    ct = torch.from_numpy(c.reshape(1, -1)).float().to(dev) if c is not None else torch.zeros([1, G.c_dim], device=dev)
    with torch.no_grad():
        return G.mapping(zt, ct)[0].double().cpu().numpy()


def resolve_keyframes(tl, G: torch.nn.Module) -> ResolvedTimeline:
    """Return the timeline's keyframes as anchor vectors for ``G``: z [z_dim] when interpolating in z (or for
    models without w space), else untruncated w [num_ws, w_dim] with style mixing and slider offsets applied."""
    from studio.latents import check_latent_shape, read_features, read_latent
    w_space = has_w_space(G)
    space = tl.space if w_space else "z"
    anchors: list[np.ndarray] = []
    conds: list[np.ndarray] = []
    for i, kf in enumerate(tl.keyframes):
        where = f"keyframes[{i}]"
        line = tl.line_of(where) if hasattr(tl, "line_of") else None
        features = kf.features
        if isinstance(features, str):
            features = read_features(features)
        label = kf.label if kf.label is not None else tl.label
        c = make_condition(G, label, features, where=f"{where}.label" if features is None else f"{where}.features")
        if c is not None:
            conds.append(c)
        if kf.seed is not None:
            vec, vec_space = seed_to_z(kf.seed, G.z_dim), "z"
        else:
            arr, hint = read_latent(kf.latent, line=line, source=tl.source)
            vec_space = kf.latent_space or hint or tl.space
            if vec_space == "w" and not w_space:
                raise TimelineError(f"{kf.latent} holds a w latent, but this model has no w space; use a z latent",
                                    file=tl.source, line=line, field=f"{where}.latent")
            vec = check_latent_shape(arr, vec_space, z_dim=G.z_dim, w_dim=getattr(G, "w_dim", 0),
                                     num_ws=getattr(G, "num_ws", 0), file=kf.latent, line=line)
        if space == "z":
            if vec_space == "w":
                raise TimelineError("a w latent cannot be used when interpolating in z; set 'space: w'",
                                    file=tl.source, line=line, field=f"{where}.latent")
            if kf.mix is not None or kf.directions:
                raise TimelineError("style mixing and slider directions need 'space: w'", file=tl.source,
                                    line=line, field=where)
            anchors.append(np.asarray(vec, dtype=np.float64))
            continue
        w = _map_z(G, vec, c) if vec_space == "z" else np.asarray(vec, dtype=np.float64)
        if kf.mix is not None:
            layers = tl.mix_layers(i, G.num_ws)
            w_mix = _map_z(G, seed_to_z(kf.mix.seed, G.z_dim), c)
            w = w.copy()
            w[layers] = w_mix[layers]
        if kf.directions:
            md = model_directions(G)
            from studio.directions import apply_directions
            try:
                w = apply_directions(w, kf.directions, md.directions, md.step)
            except KeyError as exc:
                raise TimelineError(f"unknown direction {exc.args[0]!r}; allowed: sefa0..sefa"
                                    f"{md.directions.shape[0] - 1}", file=tl.source, line=line,
                                    field=f"{where}.directions") from None
        anchors.append(w)
    return ResolvedTimeline(space=space, anchors=anchors, conds=conds or None)


class NoiseMaker:
    """Per-frame noise inputs of a StyleGAN2 synthesis network for the timeline's noise mode."""

    def __init__(self, G: torch.nn.Module, mode: str, seed: int, device: torch.device):
        self.mode = mode
        self.device = device
        self.shapes = G.synthesis.noise_shapes() if has_w_space(G) else []
        self.base: list[tuple[torch.Tensor, torch.Tensor]] = []
        if mode == "loop":
            gen = torch.Generator().manual_seed(int(seed))
            self.base = [(torch.randn([1, 1, h, w], generator=gen), torch.randn([1, 1, h, w], generator=gen))
                         for h, w in self.shapes]

    def noise_mode(self) -> str:
        """Return the generator noise_mode to use when no explicit noise is passed."""
        return "const"

    def inputs(self, phases: np.ndarray, seeds: np.ndarray) -> list[torch.Tensor] | None:
        """Return per-layer noise [B,1,H,W] for a batch of frames, or None to use the stored constant noise."""
        if self.mode == "fixed" or not self.shapes:
            return None
        if self.mode == "loop":
            cos = torch.from_numpy(np.cos(phases)).float().reshape(-1, 1, 1, 1)
            sin = torch.from_numpy(np.sin(phases)).float().reshape(-1, 1, 1, 1)
            return [(a * cos + b * sin).to(self.device) for a, b in self.base]
        out = [[] for _ in self.shapes]
        for s in seeds:
            gen = torch.Generator().manual_seed(int(s))
            for j, (h, w) in enumerate(self.shapes):
                out[j].append(torch.randn([1, 1, h, w], generator=gen))
        return [torch.cat(parts).to(self.device) for parts in out]


DTYPES = ("auto", "float32", "float16", "bfloat16")
_COMPILED: dict[int, Callable] = {}


def dtype_name(dtype: str | torch.dtype | None) -> str:
    """Return the precision name ('auto', 'float32', 'float16', 'bfloat16') for a name or a torch dtype."""
    if dtype is None:
        return "auto"
    if isinstance(dtype, torch.dtype):
        dtype = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}.get(dtype, "")
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPES)}", field="--dtype")
    return dtype


def precision_context(G: torch.nn.Module, dtype: str | torch.dtype, device: torch.device):
    """Context manager running ``G``'s synthesis at precision ``dtype``: 'auto' = the checkpoint's fp16 blocks on
    CUDA, fp32 on CPU; 'float32'; 'float16' = fp16 high-resolution blocks with clamping (channels-last on CUDA), as
    NVlabs runs them; 'bfloat16' = autocast. Models without StyleGAN2 blocks use autocast for 16-bit types."""
    from ganlib.networks.precision import synthesis_precision
    name = dtype_name(dtype)
    blocks = has_w_space(G) and hasattr(G.synthesis, "blocks")
    if name in ("auto", "float32") and not blocks:
        return contextlib.nullcontext()
    if name == "bfloat16" or not blocks:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if name == "bfloat16" else torch.float16)
    return synthesis_precision(G, name, channels_last=True if name == "float16" and device.type == "cuda" else None)


def compiled_synthesis(G: torch.nn.Module) -> Callable:
    """Return ``torch.compile(G.synthesis)`` (made once per model and kept; compiled on its first call)."""
    key = id(G.synthesis)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(G.synthesis)
    return _COMPILED[key]


def generate_batch(G: torch.nn.Module, space: str, latents: np.ndarray, psi: np.ndarray,
                   conds: np.ndarray | None, noise: list[torch.Tensor] | None, cutoff: int | None = None,
                   dtype: str | torch.dtype = "auto", synthesis: Callable | None = None) -> torch.Tensor:
    """Return images [B,C,H,W] for a batch of interpolated latents (z or untruncated w) with per-frame truncation,
    at precision ``dtype`` (see ``precision_context``); ``synthesis`` replaces ``G.synthesis`` (e.g. compiled)."""
    dev = next(G.parameters()).device
    b = latents.shape[0]
    c = torch.from_numpy(conds).float().to(dev) if conds is not None else torch.zeros([b, G.c_dim], device=dev)
    x = torch.from_numpy(latents).float().to(dev)
    psi_t = torch.from_numpy(np.asarray(psi, dtype=np.float64)).float().to(dev)
    with torch.no_grad():
        if not has_w_space(G):
            with precision_context(G, dtype, dev):
                outs = [G(x[i:i + 1], c[i:i + 1] if G.c_dim else None, truncation_psi=float(psi[i]))
                        for i in range(b)] if np.any(psi != 1) else [G(x, c if G.c_dim else None)]
            return torch.cat(outs).float()
        ws = G.mapping(x, c) if space == "z" else x
        w_avg = G.mapping.w_avg.to(dev)
        trunc = w_avg + psi_t.reshape(-1, 1, 1) * (ws - w_avg)
        if cutoff is None:
            ws = trunc
        else:
            ws = torch.cat([trunc[:, :cutoff], ws[:, cutoff:]], dim=1)
        with precision_context(G, dtype, dev):
            synth = synthesis if synthesis is not None else G.synthesis
            return synth(ws, noise_mode="const", noise_inputs=noise).float()


@dataclass
class RenderResult:
    """What a render produced."""

    path: Path
    n_frames: int
    width: int
    height: int
    fps: float
    seconds: float = 0.0
    resumed_from: int = 0


@dataclass
class FrameRequest:
    """A range of frames to produce from a planned timeline."""

    start: int
    stop: int


def iter_frames(tl, model: LoadedModel, *, start: int = 0, stop: int | None = None, batch: int = 8,
                dtype: str | torch.dtype = "auto", compile: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, uint8 H×W×3 frame at the timeline's output size) for frames ``start``..``stop``-1;
    ``dtype`` is the synthesis precision (``precision_context``), ``compile`` runs it through torch.compile."""
    from studio.engine import plan_frames
    from studio.resample import resize_frames
    G = model.G
    dtype = dtype_name(dtype)
    synthesis = compiled_synthesis(G) if compile and has_w_space(G) else None
    resolved = resolve_keyframes(tl, G)
    total = int(tl.n_frames)
    stop = total if stop is None else min(stop, total)
    dev = next(G.parameters()).device
    noise = NoiseMaker(G, tl.noise, tl.seed, dev)
    size = tl.frame_size
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postprocess")

    def post(images: torch.Tensor) -> np.ndarray:
        frames = to_uint8_numpy(images)
        if size is not None and (frames.shape[2], frames.shape[1]) != tuple(size):
            frames = resize_frames(frames, tuple(size))
        return frames

    pending: tuple[int, Future] | None = None
    try:
        # Batches are aligned to multiples of ``batch`` so a resumed render batches frames exactly as a full one.
        first = (start // batch) * batch
        for b0 in range(first, stop, batch):
            b1 = min(b0 + batch, stop)
            # Plan one batch at a time: a long render never holds every frame's latent.
            plan = plan_frames(tl, resolved.anchors, resolved.conds, start=b0, stop=b1)
            images = generate_batch(G, resolved.space, plan.latents, plan.truncation, plan.conds,
                                    noise.inputs(plan.noise_phase, plan.noise_seed),
                                    cutoff=getattr(tl, "truncation_cutoff", None), dtype=dtype,
                                    synthesis=synthesis)
            fut = pool.submit(post, images)
            if pending is not None:
                yield from _emit(pending, start)
            pending = (b0, fut)
        if pending is not None:
            yield from _emit(pending, start)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _emit(pending: tuple[int, Future], start: int) -> Iterator[tuple[int, np.ndarray]]:
    b0, fut = pending
    for j, frame in enumerate(fut.result()):
        if b0 + j >= start:
            yield b0 + j, frame


def planned_frame_count(tl, duration: float | None = None) -> int:
    """Return how many frames a render of ``tl`` makes, limited to the first ``duration`` seconds if given."""
    n = tl.n_frames
    if duration is not None:
        if duration <= 0:
            raise UserError("must be a positive number of seconds", field="--duration")
        n = min(n, max(1, int(round(duration * tl.fps))))
    return n


def render_timeline(tl, *, out: str | Path | None = None, frames_dir: str | Path | None = None,
                    duration: float | None = None, device: str = "auto", batch: int = 8, resume: bool = False,
                    progress: bool = True, dtype: str = "auto", compile: bool = False,
                    on_progress: Callable[[int, int], None] | None = None) -> RenderResult:
    """Render timeline ``tl`` to ``out`` (default: the timeline's output path) or to a PNG sequence in
    ``frames_dir``; returns a RenderResult. ``resume`` continues a PNG sequence render. ``dtype``: synthesis
    precision (auto | float32 | float16 | bfloat16); ``compile``: run the synthesis network through torch.compile."""
    from studio.sinks import existing_png_frames, open_sink
    if batch < 1:
        raise UserError("must be at least 1", field="--batch")
    dtype = dtype_name(dtype)
    dev = resolve_device(device)
    model = get_model(tl.model, dev)
    n = planned_frame_count(tl, duration)
    if frames_dir is not None:
        target = Path(frames_dir)
        start = existing_png_frames(target) if resume and target.exists() else 0
        start = min(start, n)
        sink = open_sink(str(target) + "/", fps=tl.fps, start_index=start)
    else:
        if resume:
            raise UserError("--resume continues a PNG-sequence render: use it with --frames DIR", field="--resume")
        target = Path(out) if out is not None else tl.output_path
        start = 0
        codec = tl.output.codec_name if out is None else None
        if str(target).endswith("/") or target.suffix == "":
            sink = open_sink(str(target) + "/", fps=tl.fps)
        else:
            sink = open_sink(target, fps=tl.fps, codec=codec, crf=tl.output.crf, preset=tl.output.preset)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, initial=start, desc=f"render {target.name}", unit="frame", dynamic_ncols=True)
    t0 = time.time()
    width = height = 0
    try:
        with sink:
            for idx, frame in iter_frames(tl, model, start=start, stop=n, batch=batch, dtype=dtype,
                                          compile=compile):
                height, width = frame.shape[:2]
                sink.write(frame)
                if bar is not None:
                    bar.update(1)
                if on_progress is not None:
                    on_progress(idx + 1, n)
            final = sink.close()
    finally:
        if bar is not None:
            bar.close()
    return RenderResult(path=Path(final), n_frames=n, width=width, height=height, fps=tl.fps,
                        seconds=time.time() - t0, resumed_from=start)
