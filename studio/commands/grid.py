"""``studio grid``: a contact sheet of seeds with captions."""
from __future__ import annotations

from pathlib import Path

import click
from PIL import Image

from ganlib import limits
from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.batch import contact_sheet, seed_images, seeds_and_features
from studio.options import (batch_option, device_option, model_option, out_option, rotate_option, translate_option,
                            truncation_option)
from studio.render import get_model


@click.command("grid")
@model_option()
@click.option("--seeds", default=None, help="Seeds: integers and ranges, e.g. 0-15 (default 0-15; with --features: "
                                            "0..N-1).")
@click.option("--features", "features_file", type=click.Path(path_type=Path), default=None,
              help="Feature vectors for a feature-conditioned model, one image per row (.npy, .csv, HDF5 "
                   "'features').")
@truncation_option()
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None)
@click.option("--cols", type=click.IntRange(min=1), default=None, help="Columns (default: square).")
@click.option("--scale", type=click.IntRange(min=1, max=16), default=None,
              help="Enlarge each image (default: to at least 128 px).")
@translate_option
@rotate_option
@device_option
@batch_option
@out_option("PNG file.", folder=False, file_only=True)
def command(model: str, seeds: str | None, features_file: Path | None, truncation: float, class_idx: int | None,
            cols: int | None, scale: int | None,
            translate: tuple[float, float] | None, rotate: float | None, device: str, batch: int, out: Path) -> None:
    """Write a contact sheet of the given seeds (or one image per --features row), each captioned with its seed."""
    if out.suffix.lower() != ".png":
        raise UserError("the contact sheet is written as PNG: give a .png path", field="--out")
    loaded = get_model(model, device)
    seed_list, features = seeds_and_features(loaded, seeds, features_file, default_seeds="0-15")
    limits.check("grid_images", len(seed_list), f"{len(seed_list)} seeds is too many for one sheet: the list",
                 field="--seeds")
    pairs = list(seed_images(loaded, seed_list, truncation=truncation, class_idx=class_idx, batch=batch,
                             features=features, translate=translate, rotate=rotate))
    res = pairs[0][1].shape[0]
    scale = scale or max(1, -(-128 // res))
    sheet = contact_sheet([p[1] for p in pairs], [f"seed {p[0]}" for p in pairs], cols=cols, scale=scale)
    with atomic_path(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    click.echo(f"wrote {out} ({len(seed_list)} seeds)")
