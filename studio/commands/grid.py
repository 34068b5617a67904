"""``studio grid``: a contact sheet of seeds with captions."""
from __future__ import annotations

from pathlib import Path

import click
from PIL import Image

from ganlib import limits
from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.batch import contact_sheet, seed_images
from studio.options import batch_option, device_option, model_option, out_option, truncation_option
from studio.render import get_model
from studio.seeds import parse_seeds


@click.command("grid")
@model_option()
@click.option("--seeds", default="0-15", show_default=True, help="Seeds: integers and ranges, e.g. 0-15.")
@truncation_option()
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None)
@click.option("--cols", type=click.IntRange(min=1), default=None, help="Columns (default: square).")
@click.option("--scale", type=click.IntRange(min=1, max=16), default=None,
              help="Enlarge each image (default: to at least 128 px).")
@device_option
@batch_option
@out_option("PNG file.", folder=False, file_only=True)
def command(model: str, seeds: str, truncation: float, class_idx: int | None, cols: int | None, scale: int | None,
            device: str, batch: int, out: Path) -> None:
    """Write a contact sheet of the given seeds, each captioned with its seed."""
    if out.suffix.lower() != ".png":
        raise UserError("the contact sheet is written as PNG: give a .png path", field="--out")
    seed_list = parse_seeds(seeds)
    limits.check("grid_images", len(seed_list), f"{len(seed_list)} seeds is too many for one sheet: the list",
                 field="--seeds")
    loaded = get_model(model, device)
    pairs = list(seed_images(loaded, seed_list, truncation=truncation, class_idx=class_idx, batch=batch))
    res = pairs[0][1].shape[0]
    scale = scale or max(1, -(-128 // res))
    sheet = contact_sheet([p[1] for p in pairs], [f"seed {p[0]}" for p in pairs], cols=cols, scale=scale)
    with atomic_path(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    click.echo(f"wrote {out} ({len(seed_list)} seeds)")
