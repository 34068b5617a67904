"""``studio random``: one image per seed into a folder or a zip, NVlabs-compatible seeds and pixels."""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.errors import UserError
from studio.batch import distributed_seed_images, seed_images, write_seed_images
from studio.chunks import open_backend
from studio.options import (SEED_RANGE, batch_option, device_option, dtype_option, model_option, out_option,
                            ray_option, truncation_option, workers_option)
from studio.render import get_model
from studio.seeds import parse_seeds
from studio.timeline import parse_layers


@click.command("random")
@model_option()
@click.option("--seeds", required=True, help="Seeds: integers and ranges, e.g. 0-6999 or 0,3,10-20.")
@truncation_option()
@click.option("--truncation-cutoff", type=click.IntRange(min=0), default=None,
              help="Truncate only the first N layers of w.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None,
              help="Class index for conditional models.")
@click.option("--mix-seed", type=SEED_RANGE, default=None, help="Style-mix every image with this seed.")
@click.option("--mix-layers", default=None, help="Layers taken from --mix-seed, e.g. '8-' or '0-3' (default: "
                                                 "the second half).")
@device_option
@batch_option
@dtype_option
@out_option("A folder or a .zip file.", folder=True)
@workers_option
@ray_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(model: str, seeds: str, truncation: float, truncation_cutoff: int | None, noise_mode: str,
            class_idx: int | None, mix_seed: int | None, mix_layers: str | None, device: str, batch: int, dtype: str,
            out: Path, workers: int, ray: str | None, quiet: bool) -> None:
    """Generate seedNNNN.png for each seed (z = RandomState(seed).randn(1, z_dim), as NVlabs generate.py)."""
    seed_list = parse_seeds(seeds)
    loaded = get_model(model, device)
    layers = None
    if mix_layers is not None:
        if mix_seed is None:
            raise UserError("--mix-layers needs --mix-seed", field="--mix-layers")
        try:
            layers = parse_layers(mix_layers, loaded.G.num_ws)
        except ValueError as exc:
            raise UserError(f"{exc}", field="--mix-layers") from None
    kwargs = dict(truncation=truncation, truncation_cutoff=truncation_cutoff, noise_mode=noise_mode,
                  class_idx=class_idx, batch=batch, mix_seed=mix_seed, mix_layers=layers, dtype=dtype)
    if workers == 1 and ray is None:
        path = write_seed_images(loaded, seed_list, out, progress=not quiet, **kwargs)
    else:
        list(seed_images(loaded, [], **kwargs))  # check the options here, before any worker starts
        backend = open_backend(workers, ray, device)
        try:
            images = distributed_seed_images(backend, model, seed_list, device, **kwargs)
            path = write_seed_images(None, seed_list, out, progress=not quiet, images=images)
        finally:
            backend.close()
    click.echo(f"wrote {len(seed_list)} images to {path}")
