"""``studio convert``: any supported checkpoint (NVlabs .pkl, TF StyleGAN2 .pkl, rosinality .pt, our own) to the
project's own ``.safetensors`` format, recording where it came from."""
from __future__ import annotations

import datetime
from pathlib import Path

import click

from ganlib.checkpoints import load_generator, resolve_spec, save_generator
from ganlib.io_utils import file_sha256
from ganlib.errors import UserError

def convert_checkpoint(src: str, dst: Path, overwrite: bool = False) -> dict:
    """Load ``src`` (any supported format, read safely) and write it to ``dst`` (.safetensors) atomically.

    Returns the provenance written: the source's own provenance plus ``converted_from`` (file name),
    ``source_format`` and ``source_sha256``. Raises UserError for a bad destination or source.
    """
    dst = Path(dst)
    if dst.suffix.lower() != ".safetensors":
        raise UserError("the destination must be a .safetensors file", field="DST")
    if dst.exists() and not overwrite:
        raise UserError(f"{dst} exists; pass --overwrite to replace it", field="DST")
    src_path = resolve_spec(src)
    model = load_generator(src, device="cpu")
    provenance = dict(model.provenance)
    provenance.pop("source_file", None)
    provenance.update({
        "converted_from": src_path.name,
        "source_format": model.format,
        "source_sha256": file_sha256(src_path),
        "converted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    save_generator(dst, model.G, model.arch, model.kwargs, provenance)
    return provenance


@click.command("convert")
@click.argument("src")
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
def command(src: str, dst: Path, overwrite: bool) -> None:
    """Convert SRC (NVlabs/TF .pkl, rosinality .pt or .safetensors) to DST.safetensors (never runs code from SRC)."""
    prov = convert_checkpoint(src, dst, overwrite=overwrite)
    click.echo(f"wrote {dst} (from {prov['source_format']} {prov['converted_from']}, sha256 "
               f"{prov['source_sha256'][:12]}…)")
