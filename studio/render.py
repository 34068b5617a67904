"""Renders a timeline: resolves keyframes to latents with the model (``studio.resolve``), asks the pure engine for
one latent per frame, generates them in batches through ``ganlib.synth`` on CPU or GPU and streams uint8 frames to
a sink (MP4, GIF, PNG sequence). ``render_timeline`` cuts the render into chunks (``studio.chunks``): resumable,
and spread over ``--workers N`` processes or a Ray cluster.

Generation, post-processing (uint8 conversion, resizing) and encoding overlap: the generator runs in the caller's
thread while a worker thread post-processes the previous batch and the sink encodes in its own thread.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ganlib.checkpoints import LoadedModel, load_generator, resolve_spec
from ganlib.devices import resolve_device
from ganlib.errors import UserError
from ganlib.io_utils import file_sha256
from ganlib.ops.fast_cpu import prepare_compile
from ganlib.synth import Generator, Noise, generate, has_w_space, model_device, precision_name, to_uint8
from studio.chunks import (Chunk, ChunkJob, ChunkResult, EncodeSpec, default_chunk_frames, encode_chunk,
                           open_backend, render_chunks, render_key, render_threads, worker_device)
from studio.engine import plan_frames
from studio.resample import fit_frames
from studio.react import prepare_react
from studio.resolve import resolve_keyframes
from studio.output_checks import check_render_target
from studio.sinks import sink_kind
from studio.sinks.formats import output_format, parse_fps, resolve_codec
from studio.timeline import with_audio

_MODEL_CACHE: dict[tuple, LoadedModel] = {}
_MODEL_LOCK = threading.Lock()
_COMPILED: dict[int, Callable] = {}
_PREPARED: tuple = (None, None, None)  # (job, generator, prepare_frames(...)) of the last chunk rendered here


def model_key(spec: str, device: torch.device | str = "cpu") -> tuple:
    """Return the cache key of a model spec on ``device``: the resolved checkpoint file (absolute path, mtime and
    size; ``builtin:NAME`` resolves to its file), so a spec and its path share one entry and a rewritten file is
    loaded again. Raises CheckpointError for a spec that names no file."""
    path = Path(resolve_spec(spec)).resolve()
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size, str(torch.device(device)))


def get_model(spec: str, device: torch.device | str = "cpu") -> LoadedModel:
    """Return the generator for ``spec`` on ``device``, loading it once per resolved file (thread-safe cache; the
    model is shared, so nothing may change it: precision is an argument of generation)."""
    key = model_key(spec, device)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = load_generator(spec, device=device)
        return _MODEL_CACHE[key]


def compiled_synthesis(G: Generator) -> Callable:
    """Return ``torch.compile(G.synthesis)`` (made once per model and kept; compiled on its first call)."""
    key = id(G.synthesis)
    if key not in _COMPILED:
        prepare_compile()  # the fast CPU ops that must run eagerly under torch.compile
        _COMPILED[key] = torch.compile(G.synthesis)
    return _COMPILED[key]


@dataclass
class RenderResult:
    """What a render produced."""

    path: Path
    n_frames: int
    width: int
    height: int
    fps: float
    seconds: float = 0.0
    resumed_from: int = 0  # the first frame this run rendered when it continued an earlier one, else 0
    frames_done_before: int = 0  # frames an earlier, interrupted run had finished
    chunks: int = 1  # chunks planned
    chunks_rendered: int = 1  # chunks rendered by this run (fewer when resumed)
    finished_before: bool = False  # --resume found this render already finished: nothing was rendered
    threads: int | None = None  # the torch threads every chunk ran on (CPU; the frames depend on it), None on a GPU


def timeline_noise(tl, G: Generator) -> Noise:
    """Return the noise inputs of timeline ``tl``'s renders with ``G`` (its ``noise`` mode, seeded by ``seed``)."""
    return Noise(G, "const" if tl.noise == "fixed" else tl.noise, tl.seed, model_device(G))


def generate_plan(G: Generator, tl, space: str, plan, noise: Noise, *, latents: np.ndarray | None = None,
                  psi=None, strength=None, dtype: str = "auto", synthesis: Callable | None = None) -> torch.Tensor:
    """Return float images [B, C, R, R] for the frames of ``plan`` (a FramePlan of ``tl`` in ``space``) through
    ``ganlib.synth.generate``: the plan's latents and per-frame truncation (or ``latents``/``psi`` given, e.g.
    modulated by audio), ``tl.truncation_cutoff``, ``noise`` scaled per frame by the plan's keyframed
    ``noise_strength`` times ``strength`` (audio), when either is given, the plan's StyleGAN3 camera (translate,
    rotate; ``tl.stabilize``) and precision ``dtype``."""
    if plan.noise_strength is not None:
        strength = plan.noise_strength if strength is None else plan.noise_strength * np.asarray(strength)
    return generate(G, plan.latents if latents is None else latents, space=space, conds=plan.conds,
                    psi=plan.truncation if psi is None else psi, cutoff=tl.truncation_cutoff, noise=noise,
                    noise_inputs=noise.inputs(seeds=plan.noise_seed, phases=plan.noise_phase, strength=strength),
                    precision=dtype, synthesis=synthesis, translate=plan.translate, rotate=plan.rotate,
                    stabilize=tl.stabilize)


def postprocess(images: torch.Tensor, size: tuple[int, int] | None, fit: str = "crop") -> np.ndarray:
    """Return uint8 N×H×W×C frames of float ``images``, brought to ``size`` (width, height) when given; ``fit``
    (the timeline's ``output.fit``: crop, pad or stretch) says how when the aspect differs from the model's."""
    frames = to_uint8(images)
    if size is not None and (frames.shape[2], frames.shape[1]) != tuple(size):
        frames = fit_frames(frames, tuple(size), fit)
    return frames


def prepare_frames(tl, G: Generator) -> tuple:
    """Return what every frame of ``tl`` with ``G`` needs, made once per render: (the timeline with its audio,
    the resolved keyframes, the prepared react rules or None)."""
    tl = with_audio(tl)
    resolved = resolve_keyframes(tl, G)
    return tl, resolved, prepare_react(tl, G, resolved)


def iter_frames(tl, model: LoadedModel, *, start: int = 0, stop: int | None = None, batch: int = 8,
                dtype: str | torch.dtype = "auto", compile: bool = False,
                prepared: tuple | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, uint8 H×W×C frame at the timeline's output size; C is the model's 1, 3 or 4 channels)
    for frames ``start``..``stop``-1; ``dtype`` is the synthesis precision of this render (an argument of each
    call, see ``ganlib.synth.synthesize``), ``compile`` runs synthesis through torch.compile; ``prepared`` is
    :func:`prepare_frames` of ``tl`` (made here when None)."""
    G = model.G
    dtype = precision_name(dtype)
    synthesis = compiled_synthesis(G) if compile and has_w_space(G) else None
    tl, resolved, react = prepared or prepare_frames(tl, G)  # react: audio-reactive rules; None without any
    total = int(tl.n_frames)
    stop = total if stop is None else min(stop, total)
    noise = timeline_noise(tl, G)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postprocess")

    def post(images: torch.Tensor) -> np.ndarray:
        return postprocess(images, tl.frame_size, tl.output.fit)

    pending: tuple[int, Future] | None = None
    try:
        # Batches are aligned to multiples of ``batch`` so a resumed render batches frames exactly as a full one.
        first = (start // batch) * batch
        for b0 in range(first, stop, batch):
            b1 = min(b0 + batch, stop)
            # Plan one batch at a time: a long render never holds every frame's latent.
            plan = plan_frames(tl, resolved.anchors, resolved.conds, start=b0, stop=b1,
                               truncations=resolved.truncations)
            latents, psi, strength = plan.latents, plan.truncation, None
            if react is not None:
                mod = react.apply(tl, plan, resolved.truncations)
                latents, psi, strength = mod.latents, mod.truncation, mod.noise_strength
            images = generate_plan(G, tl, resolved.space, plan, noise, latents=latents, psi=psi, strength=strength,
                                   dtype=dtype, synthesis=synthesis)
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


def render_chunk(job: ChunkJob, chunk: Chunk, progress: Callable[[int], None] | None = None) -> ChunkResult:
    """Render frames ``chunk.start``..``chunk.stop``-1 of ``job.timeline`` and encode them as ``job.encode`` says
    (a video segment or PNG bytes); the task every backend runs. ``progress(1)`` after each frame. Returns the
    ChunkResult."""
    model = get_model(job.model_path, worker_device(job.device))
    global _PREPARED
    prepared = _PREPARED  # read once: another thread may render another job
    if prepared[0] is not job or prepared[1] is not model.G:  # once per job and model in each process
        prepared = _PREPARED = (job, model.G, prepare_frames(job.timeline, model.G))
    frames = iter_frames(job.timeline, model, start=chunk.start, stop=chunk.stop, batch=job.batch, dtype=job.dtype,
                         compile=job.compile, prepared=prepared[2])
    return encode_chunk(chunk, (frame for _, frame in frames), job.encode, progress)


def output_target(tl, out: str | Path | None, frames_dir: str | Path | None) -> tuple[Path, str]:
    """Return (where a render goes, its kind: "video", "gif", "zip" or "png" for a folder) for ``--out`` /
    ``--frames`` / the timeline's ``output.path``."""
    if frames_dir is not None:
        return Path(frames_dir), "png"
    raw = out if out is not None else tl.output_path
    return Path(raw), sink_kind(raw)


def encode_spec(tl, target: Path, kind: str, explicit_out: bool) -> EncodeSpec:
    """Return how chunks of a render to ``target`` are stored: video segments with the timeline's codec (the
    format's default when ``--out`` names another file), CRF and preset; PNG frames for GIF, zip and folders."""
    fps = parse_fps(tl.fps)
    rate = f"{fps.numerator}/{fps.denominator}"
    if kind != "video":
        return EncodeSpec("png", rate)
    codec = resolve_codec(output_format(target), None if explicit_out else tl.output.codec_name).name
    return EncodeSpec("segment", rate, target.suffix.lower(), codec, tl.output.crf, tl.output.preset)


def render_timeline(tl, *, out: str | Path | None = None, frames_dir: str | Path | None = None,
                    duration: float | None = None, device: str = "auto", batch: int = 8, resume: bool = False,
                    progress: bool = True, dtype: str = "auto", compile: bool = False,
                    on_progress: Callable[[int, int], None] | None = None, overwrite: bool = True, workers: int = 1,
                    ray: str | None = None) -> RenderResult:
    """Render timeline ``tl`` to ``out`` (default: the timeline's output path) or to a PNG sequence in
    ``frames_dir``, in chunks of ``output.chunk_frames``; returns a RenderResult. ``resume`` continues an
    interrupted render from its manifest; ``workers`` renders chunks in N local processes, ``ray`` ("local" or a
    cluster address) as Ray tasks. ``dtype``: synthesis precision (auto | float32 | float16 | bfloat16);
    ``compile``: run the synthesis network through torch.compile; ``overwrite`` False refuses a ``frames_dir``
    that already holds frames (unless resuming)."""
    if batch < 1:
        raise UserError("must be at least 1", field="--batch")
    dtype = precision_name(dtype)
    target, kind = output_target(tl, out, frames_dir)
    check_render_target(tl, target, frames=kind == "png", overwrite=overwrite, resume=resume)
    tl = with_audio(tl)
    n = planned_frame_count(tl, duration)
    model_path = resolve_spec(tl.model)
    backend = open_backend(workers, ray, str(resolve_device(device)) if ray is None else "cpu")
    try:
        dev = getattr(backend, "device", None) or str(resolve_device(device))
        job = ChunkJob(timeline=tl, model_path=str(model_path), model_sha=file_sha256(model_path), device=dev,
                       batch=batch, dtype=dtype, n_frames=n, encode=encode_spec(tl, target, kind, out is not None),
                       compile=compile, threads=render_threads(dev))
        chunk_frames = tl.output.chunk_frames or default_chunk_frames(tl.fps, kind)
        # the music, from its offset, lasting exactly the frames rendered (also for --duration): muxed at the join
        audio = (tl.audio.path, tl.audio.offset) if tl.audio is not None and kind == "video" else None
        done = render_chunks(job, render_chunk, target, kind, key=render_key(job, kind, chunk_frames, tl.frame_size),
                             chunk_frames=chunk_frames, backend=backend, resume=resume, progress=progress,
                             on_progress=on_progress, audio=audio)
    finally:
        backend.close()
    return RenderResult(path=done.path, n_frames=n, width=done.size[0], height=done.size[1], fps=tl.fps,
                        seconds=done.seconds, resumed_from=done.first_todo if done.done_before else 0,
                        frames_done_before=done.done_before, chunks=done.chunks, chunks_rendered=done.rendered,
                        finished_before=done.finished_before, threads=done.threads)
