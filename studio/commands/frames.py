"""``studio frames``: make a training folder (PNG files) from a video."""
from __future__ import annotations

from pathlib import Path

import click

from studio.options import out_option
from studio.video_frames import CROPS, extract_frames


@click.command("frames")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep every K-th frame (the first is kept).")
@click.option("--crop", type=click.Choice(CROPS), default="center", show_default=True,
              help="center: the centred square; none: the whole frame.")
@click.option("--size", type=click.IntRange(min=4, max=8192), default=None,
              help="Resize to N×N (center) or the shorter side to N (none); default: keep the video's pixels.")
@out_option("The folder for frame_NNNNNN.png files.", folder=True, folder_only=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(video: Path, every: int, crop: str, size: int | None, out: Path, quiet: bool) -> None:
    """Decode VIDEO (any format the bundled ffmpeg reads) into a folder of PNG frames for `studio train --data`."""
    n = extract_frames(video, out, every=every, crop=crop, size=size, progress=not quiet)
    click.echo(f"wrote {n} frames to {out}")
