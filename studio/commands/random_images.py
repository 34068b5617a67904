"""``studio random``: one image per seed into a folder or a zip, NVlabs-compatible seeds and pixels."""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.errors import UserError
from studio.batch import distributed_seed_images, seed_images, seeds_and_features, write_seed_images
from studio.chunks import open_backend
from studio.options import (SEED_RANGE, batch_option, device_option, dtype_option, model_option, out_option,
                            ray_option, rotate_option, translate_option, truncation_option, workers_option)
from studio.render import get_model
from studio.seeds import large_run_notice, parse_seeds
from studio.timeline import parse_layers


@click.command("random")
@model_option()
@click.option("--seeds", default=None,
              help="Seeds: integers and ranges, e.g. 0-6999 or 0,3,10-20 (with --features: default 0..N-1).")
@click.option("--features", "features_file", type=click.Path(path_type=Path), default=None,
              help="Feature vectors for a feature-conditioned model, one image per row (.npy, .csv, HDF5 "
                   "'features').")
@truncation_option()
@click.option("--truncation-cutoff", type=click.IntRange(min=0), default=None,
              help="Truncate only the first N layers of w.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None,
              help="Class index for conditional models.")
@click.option("--mix-seed", type=SEED_RANGE, default=None, help="Style-mix every image with this seed.")
@click.option("--mix-layers", default=None, help="Layers taken from --mix-seed, e.g. '8-' or '0-3' (default: "
                                                 "the second half).")
@translate_option
@rotate_option
@device_option
@batch_option
@dtype_option
@out_option("A folder or a .zip file.", folder=True)
@click.option("--size", type=click.IntRange(min=4, max=8192), default=None,
              help="Resize every image to N×N (default: the model's resolution).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg"]), default="png", show_default=True,
              help="Image files: png (keeps grey and alpha) or jpg (quality 95, alpha dropped).")
@workers_option
@ray_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(model: str, seeds: str | None, features_file: Path | None, truncation: float,
            truncation_cutoff: int | None, noise_mode: str, class_idx: int | None, mix_seed: int | None,
            mix_layers: str | None, translate: tuple[float, float] | None, rotate: float | None,
            device: str, batch: int, dtype: str, out: Path, size: int | None, fmt: str, workers: int,
            ray: str | None, quiet: bool) -> None:
    """Generate seedNNNN.png (or .jpg) per seed (z = RandomState(seed).randn(1, z_dim), as NVlabs generate.py)."""
    parsed = parse_seeds(seeds) if seeds is not None else None
    notice = large_run_notice(parsed) if parsed is not None else None
    if notice:
        click.echo(f"studio random: {notice}", err=True)  # before the model loads: a typo costs nothing
    loaded = get_model(model, device)
    seed_list, features = seeds_and_features(loaded, seeds, features_file)
    layers = None
    if mix_layers is not None:
        if mix_seed is None:
            raise UserError("--mix-layers needs --mix-seed", field="--mix-layers")
        try:
            layers = parse_layers(mix_layers, loaded.G.num_ws)
        except ValueError as exc:
            raise UserError(f"{exc}", field="--mix-layers") from None
    kwargs = dict(truncation=truncation, truncation_cutoff=truncation_cutoff, noise_mode=noise_mode,
                  class_idx=class_idx, batch=batch, mix_seed=mix_seed, mix_layers=layers, dtype=dtype, size=size,
                  translate=translate, rotate=rotate)
    if workers == 1 and ray is None:
        path = write_seed_images(loaded, seed_list, out, progress=not quiet, fmt=fmt, features=features, **kwargs)
    else:
        if features is not None:
            raise UserError("--features renders in one process: leave out --workers and --ray", field="--features")
        list(seed_images(loaded, [], **kwargs))  # check the options here, before any worker starts
        backend = open_backend(workers, ray, device)
        try:
            images = distributed_seed_images(backend, model, seed_list, device, **kwargs)
            path = write_seed_images(None, seed_list, out, progress=not quiet, fmt=fmt, images=images)
        finally:
            backend.close()
    click.echo(f"wrote {len(seed_list)} images to {path}")
