"""Random image batches by seed (``studio random``) and contact sheets (``studio grid``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from ganlib.checkpoints import LoadedModel, resolve_spec
from ganlib.data.feature_files import read_features
from ganlib.data.transforms import fit_image
from ganlib.errors import UserError
from ganlib.io_utils import atomic_path, file_sha256
from ganlib.synth import Noise, check_camera, cond_kind, condition, has_w_space, seed_batch
from studio.chunks import Chunk, ChunkJob, ChunkResult, in_order, plan_chunks, render_threads, worker_device
from studio.render import get_model
from studio.seeds import parse_seeds
from studio.sinks import open_sink
from studio.sinks.images import encode_image

IMAGE_FORMATS = ("png", "jpg")

SEEDS_PER_CHUNK = 64  # seeds per chunk when --workers / --ray spread a batch


def seed_images(model: LoadedModel, seeds: Sequence[int], *, truncation: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const", class_idx: int | None = None,
                batch: int = 8, mix_seed: int | None = None, mix_layers: Sequence[int] | None = None,
                dtype: str = "auto", size: int | None = None, features: np.ndarray | None = None,
                translate: tuple[float, float] | None = None,
                rotate: float | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, uint8 H×W×C image, C = the model's 1, 3 or 4 channels) for each seed, through
    ``ganlib.synth.seed_batch``: z from ``RandomState(seed)``, pixels as NVlabs converts them.

    ``noise_mode`` 'random' draws noise from a generator seeded by the image's seed, so results are repeatable.
    ``mix_seed``/``mix_layers`` replace those w layers by the mixing seed's (style mixing). ``dtype`` is the synthesis
    precision of these calls ('auto' matches NVlabs: fp16 layers on GPU, fp32 on CPU). ``size`` resizes each image
    to size×size (bicubic; None keeps the model's resolution): the one place a batch is resized. ``features``
    [len(seeds), c_dim] conditions a feature model, one row per seed.
    ``translate`` (x, y) and ``rotate`` (degrees) move a StyleGAN3 model's camera as NVlabs' gen_images.py does
    (UserError naming --translate / --rotate on other models).
    """
    G = model.G
    if noise_mode not in ("const", "random", "none"):
        raise UserError(f"unknown noise mode {noise_mode!r}; allowed: const, random, none", field="--noise-mode")
    if cond_kind(G) == "label":
        if class_idx is None:
            raise UserError(f"this model is conditional with {G.c_dim} classes: give --class 0..{G.c_dim - 1}",
                            field="--class")
    elif class_idx is not None:
        raise UserError("this model is not class-conditional; leave out --class", field="--class")
    if mix_seed is not None and not has_w_space(G):
        raise UserError("style mixing needs a StyleGAN2-style model with a w space", field="--mix-seed")
    if features is not None:
        if cond_kind(G) != "features":
            raise UserError("this model is not conditioned on features; leave out --features", field="--features")
        if len(features) != len(seeds):
            raise UserError(f"{len(features)} feature rows for {len(seeds)} seeds: give one row per seed",
                            field="--features")
    for value, option in ((translate, "--translate"), (rotate, "--rotate")):
        if value is not None:
            check_camera(G, option)
    c_vec = condition(G, class_idx, None, field="--class") if features is None else None
    noise = Noise(G, noise_mode)
    for i in range(0, len(seeds), batch):
        chunk = list(seeds[i:i + batch])
        conds = c_vec if features is None else np.asarray(features[i:i + batch])
        pixels = seed_batch(G, chunk, conds=conds, psi=truncation, cutoff=truncation_cutoff, noise=noise,
                            mix_seed=mix_seed, mix_layers=mix_layers, precision=dtype, translate=translate,
                            rotate=rotate)
        if size is not None:
            pixels = [fit_image(img, size, "stretch") for img in pixels]
        yield from zip(chunk, pixels)


def seeds_and_features(model: LoadedModel, seeds: str | None, features_file: str | Path | None,
                       default_seeds: str | None = None) -> tuple[Sequence[int], np.ndarray | None]:
    """The seed list and feature rows of a seed command (``--seeds``, ``--features``): features read by the one
    feature loader (``ganlib.data.feature_files.read_features``, width checked against the model); without
    ``--seeds`` one seed per feature row (0..N-1), else ``default_seeds``. UserError when neither is given or
    the model is not feature-conditioned."""
    if seeds is None and features_file is None and default_seeds is None:
        raise UserError("give --seeds (e.g. 0-99), or --features with one row per image", field="--seeds")
    kind = cond_kind(model.G)
    if features_file is not None and kind != "features":
        raise UserError("this model is not conditioned on features; leave out --features", field="--features")
    if features_file is None and kind == "features":
        raise UserError(f"this model is conditioned on {model.G.c_dim}-value feature vectors: give --features FILE "
                        "(.npy, .csv or HDF5 'features', one row per image)", field="--features")
    features = None if features_file is None else read_features(features_file, int(model.G.c_dim))
    if seeds is None and features is None:
        seeds = default_seeds
    return (parse_seeds(seeds) if seeds is not None else list(range(len(features)))), features


def pil_image(pixels: np.ndarray) -> Image.Image:
    """Return a PIL image of uint8 H×W×C pixels: C=1 grey ("L"), 3 RGB, 4 RGBA."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return Image.fromarray(pixels[:, :, 0], "L")
    return Image.fromarray(pixels, {3: "RGB", 4: "RGBA"}[pixels.shape[2]])


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str], cols: int | None = None,
                  scale: int = 1) -> np.ndarray:
    """Return one uint8 H×W×3 image tiling ``images`` (uint8 H×W×C, C in 1, 3, 4: grey shown as grey, alpha
    composited over the sheet's background) in a grid, each with its caption underneath."""
    n = len(images)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w = images[0].shape[:2]
    h, w = h * scale, w * scale
    pad, cap = 4, 14
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + cap + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (img, text) in enumerate(zip(images, captions)):
        r, c = divmod(i, cols)
        x, y = pad + c * (w + pad), pad + r * (h + cap + pad)
        tile = pil_image(img)
        if scale != 1:
            tile = tile.resize((w, h), Image.NEAREST)
        if tile.mode == "RGBA":
            sheet.paste(tile, (x, y), tile)
        else:
            sheet.paste(tile.convert("RGB"), (x, y))
        draw.text((x + 2, y + h + 1), text, fill=(220, 220, 220), font=font)
    return np.asarray(sheet)


def seed_runs(seeds: Sequence[int]) -> list[tuple[int, int]]:
    """Return ``seeds`` as runs of consecutive integers [(start, stop), ...] (0-99999 is one run), a compact form
    that travels to workers."""
    runs: list[list[int]] = []
    for s in seeds:
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + 1
        else:
            runs.append([s, s + 1])
    return [(a, b) for a, b in runs]


def seed_chunk(job: ChunkJob, chunk: Chunk, progress: Callable[[int], None] | None = None) -> ChunkResult:
    """Render seeds ``chunk.start``..``chunk.stop``-1 of the job's seed list (``job.extra``: "runs" from
    :func:`seed_runs` and the ``seed_images`` keyword arguments "kwargs") on a worker; returns a ChunkResult whose
    data is a list of (seed, uint8 image)."""
    seeds = [s for a, b in job.extra["runs"] for s in range(a, b)][chunk.start:chunk.stop]
    model = get_model(job.model_path, worker_device(job.device))
    images = list(seed_images(model, seeds, **job.extra["kwargs"]))
    if progress is not None:
        progress(len(images))
    h, w = images[0][1].shape[:2] if images else (0, 0)
    return ChunkResult(chunk.index, (w, h), images)


def distributed_seed_images(backend, spec: str, seeds: Sequence[int], device: str,
                            **kwargs) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, image) for ``seeds`` in order, rendered in chunks (at most SEEDS_PER_CHUNK) through ``backend``
    (``studio.chunks.open_backend``: local processes or Ray) with the model ``spec``; the same images as
    :func:`seed_images`."""
    path = resolve_spec(spec)
    device = getattr(backend, "device", None) or device
    job = ChunkJob(timeline=None, model_path=str(path), model_sha=file_sha256(path), device=device,
                   batch=kwargs.get("batch", 8), dtype=kwargs.get("dtype", "auto"), n_frames=len(seeds),
                   threads=render_threads(device), extra={"runs": seed_runs(seeds), "kwargs": kwargs})
    per_chunk = min(SEEDS_PER_CHUNK, max(1, len(seeds) // (4 * backend.slots)))  # 4+ chunks per worker
    chunks = plan_chunks(len(seeds), per_chunk, job.batch)
    for result in in_order(backend.run(seed_chunk, job, chunks)):
        yield from result.data


def write_seed_images(model: LoadedModel | None, seeds: Sequence[int], out: Path, *, progress: bool = True,
                      on_progress: Callable[[int, int], None] | None = None, fmt: str = "png",
                      images: Iterable[tuple[int, np.ndarray]] | None = None, **kwargs) -> Path:
    """Write ``seedNNNN.png`` (``fmt`` "jpg": ``seedNNNN.jpg``, alpha dropped) per seed (grey, RGB or RGBA as the
    model makes them) into folder ``out`` or a ``.zip``; ``images`` (seed, image) pairs made elsewhere (e.g.
    :func:`distributed_seed_images`) replace generating them with ``model`` here. Returns the output path."""
    if fmt not in IMAGE_FORMATS:
        raise UserError(f"unknown image format {fmt!r}; allowed: {', '.join(IMAGE_FORMATS)}", field="--format")
    out = Path(out)
    is_zip = out.suffix.lower() == ".zip"
    if out.suffix and not is_zip:
        raise UserError("--out must be a folder or a .zip file", field="--out")
    if images is None:
        images = seed_images(model, seeds, **kwargs)
    bar = None
    if progress:
        bar = tqdm(total=len(seeds), desc=f"random {out.name}", unit="img", dynamic_ncols=True)
    try:
        if is_zip:
            with open_sink(out, fps=1) as sink:
                for k, (seed, img) in enumerate(images):
                    sink.write(img, name=f"seed{seed:04d}.{fmt}")
                    if bar is not None:
                        bar.update(1)
                    if on_progress:
                        on_progress(k + 1, len(seeds))
                return sink.close()
        out.mkdir(parents=True, exist_ok=True)
        for k, (seed, img) in enumerate(images):
            with atomic_path(out / f"seed{seed:04d}.{fmt}") as tmp:
                tmp.write_bytes(encode_image(img, f".{fmt}"))
            if bar is not None:
                bar.update(1)
            if on_progress:
                on_progress(k + 1, len(seeds))
        return out
    finally:
        if bar is not None:
            bar.close()
