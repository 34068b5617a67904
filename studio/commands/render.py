"""``studio render``: a timeline file to MP4 / GIF / WebM / PNG sequence."""
from __future__ import annotations

from pathlib import Path

import click

from studio.options import FiniteFloat, batch_option, device_option, dtype_option, ray_option, workers_option
from studio.render import render_timeline
from studio.timeline import load_timeline


@click.command("render")
@click.argument("timeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (.mp4 .mov .webm .gif); default: the timeline's output.path.")
@click.option("--frames", "frames_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write a PNG sequence frame_000000.png… into this folder instead of a video.")
@click.option("--duration", type=FiniteFloat(0, 1e7, lo_open=True), default=None, help="Render only the first SECONDS.")
@device_option
@batch_option
@dtype_option
@click.option("--compile", "compile_", is_flag=True,
              help="Run the synthesis network through torch.compile (slow first batch, faster after).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted render from its chunk manifest (any output: video, GIF, zip, --frames).")
@click.option("--overwrite", is_flag=True, help="Replace the frames of an earlier render in the --frames folder.")
@workers_option
@ray_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(timeline: Path, out: Path | None, frames_dir: Path | None, duration: float | None, device: str,
            batch: int, dtype: str, compile_: bool, resume: bool, overwrite: bool, workers: int, ray: str | None,
            quiet: bool) -> None:
    """Render TIMELINE (a .yaml file) to video or frames."""
    if out is not None and frames_dir is not None:
        raise click.UsageError("give either --out or --frames, not both")
    tl = load_timeline(timeline)
    result = render_timeline(tl, out=out, frames_dir=frames_dir, duration=duration, device=device, batch=batch,
                             resume=resume, progress=not quiet, dtype=dtype, compile=compile_, overwrite=overwrite,
                             workers=workers, ray=ray)
    if result.finished_before:
        click.echo(f"{result.path} is already finished ({result.n_frames} frames); nothing to resume")
        return
    fps = result.n_frames / result.seconds if result.seconds else 0.0
    resumed = ""
    if result.frames_done_before:
        resumed = (f", resumed at frame {result.resumed_from}: {result.frames_done_before} frames were done, "
                   f"{result.chunks_rendered} of {result.chunks} chunks rendered now")
    click.echo(f"wrote {result.path} ({result.n_frames} frames, {result.width}x{result.height}, "
               f"{result.fps:g} fps{resumed}; {fps:.1f} frames/s)")
