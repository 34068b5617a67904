"""``studio text``: write a string with a label-conditioned model, one generated image per character."""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from ganlib.synth import cond_kind, one_hot, seed_batch
from studio.batch import pil_image
from studio.options import device_option, model_option, out_option, truncation_option
from studio.render import get_model
from studio.text_strip import char_classes, compose_strip, parse_classes


def model_classes(loaded, classes: str | None) -> list[str]:
    """Return the class names of the label-conditioned ``loaded`` model: ``--classes`` when given, else the
    ``class_names`` of its training provenance. UserError when the model has no labels, no stored names or a
    different number of classes."""
    G = loaded.G
    if cond_kind(G) != "label":
        raise UserError("studio text needs a label-conditioned model (e.g. studio train cgan on a folder of "
                        "letter sub-folders); this one is " + ("unconditional" if not G.c_dim else
                                                              "conditioned on features"), field="--model")
    if classes is not None:
        names = parse_classes(classes)
        field = "--classes"
    else:
        names = list((loaded.provenance or {}).get("class_names") or [])
        field = "--model"
        if not names:
            raise UserError(f"the checkpoint stores no class names: give its {G.c_dim} classes in order with "
                            "--classes A,B,C", field="--classes")
    if len(names) != int(G.c_dim):
        raise UserError(f"{len(names)} class names for a model with {G.c_dim} classes", field=field)
    return names


@click.command("text")
@click.argument("text")
@model_option("A label-conditioned checkpoint whose classes are characters (e.g. a letters cGAN).", default=None,
              required=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the first character; the character at position i uses seed + i.")
@click.option("--spacing", type=click.IntRange(min=0), default=2, show_default=True,
              help="Pixels between neighbouring characters.")
@click.option("--classes", default=None,
              help="Class names in class-index order, e.g. A,B,C (default: the names stored at training).")
@truncation_option()
@device_option
@out_option("The strip (.png).", folder=False, file_only=True)
def command(text: str, model: str, seed: int, spacing: int, classes: str | None, truncation: float, device: str,
            out: Path) -> None:
    """Write TEXT as a strip: one image per character from the class it names; a space is a blank gap."""
    if out.suffix.lower() != ".png":
        raise UserError(f"the strip is a PNG image: give a .png path, not {out.name!r}", field="--out")
    loaded = get_model(model, device)
    labels = char_classes(text, model_classes(loaded, classes))
    at = [i for i, lab in enumerate(labels) if lab is not None]
    pixels = seed_batch(loaded.G, [seed + i for i in at], conds=one_hot([labels[i] for i in at], loaded.G.c_dim),
                        psi=truncation)
    tiles = [None] * len(labels)
    for i, img in zip(at, pixels):
        tiles[i] = img
    strip = compose_strip(tiles, spacing)
    with atomic_path(out) as tmp:
        pil_image(strip).save(tmp, format="PNG")
    click.echo(f"wrote {out} ({len(text)} characters, {strip.shape[1]}x{strip.shape[0]} px)")
