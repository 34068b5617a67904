"""``studio audio``: analyse a music file — tempo, beats, duration — and plot the features that drive a timeline."""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.errors import UserError
from studio.audio.cache import analyse_file
from studio.audio.plot import plot_features


@click.command("audio")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a plot of every feature per band, beats marked (.png).")
@click.option("--no-cache", is_flag=True, help="Analyse again even when a cached analysis of this file exists.")
def command(file: Path, out: Path | None, no_cache: bool) -> None:
    """Analyse FILE (any audio format ffmpeg reads): print tempo, beat count and duration."""
    if out is not None and out.suffix.lower() != ".png":
        raise UserError(f"the plot is a PNG image: give a .png path, not {out.name!r}", field="--out")
    analysis, cached = analyse_file(file, use_cache=not no_cache, field="FILE")
    click.echo(f"{file}: {analysis.duration:.2f} s, tempo {analysis.tempo:.1f} BPM, "
               f"{len(analysis.beat_times)} beats" + (" (cached analysis)" if cached else ""))
    if out is not None:
        plot_features(analysis, out, title=file.name)
        click.echo(f"wrote {out}")
