"""``studio experiment GRID.yaml [--out DIR] [--dry-run]`` — a grid of training settings × seeds with statistics.

See ``ganlib.train.experiments`` for the file format and the outputs (results.csv, summary.csv, comparisons.csv,
comparison.png). Re-running the same command skips finished runs and resumes an interrupted one.
"""
from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from ganlib.train.experiments import load_experiment, run_experiment
from studio.options import device_option, out_option


@click.command("experiment")
@click.argument("grid_file", metavar="GRID.yaml", type=click.Path(dir_okay=False))
@out_option("Output folder (default: the file's 'out', else renders/experiments/<file name>).", folder=True,
            required=False, folder_only=True)
@click.option("--dry-run", is_flag=True, help="Validate the file and list the runs (and which are done) without training.")
@device_option
@click.option("--progress/--no-progress", default=True, help="Show each run's progress bar.")
@click.pass_context
def command(ctx: click.Context, grid_file: str, out: Path | None, dry_run: bool, device: str, progress: bool) -> None:
    """Train every configuration of GRID.yaml with repeated seeds; write CSVs, Mann–Whitney comparisons and a plot.

    Without --device the file's 'device' setting is used.
    """
    if ctx.get_parameter_source("device") is ParameterSource.DEFAULT:
        device = None  # the file's 'device' decides
    spec = load_experiment(grid_file)
    out_dir = Path(out) if out else Path(spec.out) if spec.out else Path("renders/experiments") / Path(grid_file).stem
    run_experiment(spec, out_dir, dry_run=dry_run, device=device, progress=progress,
                   log=lambda msg: click.echo(msg, err=True))
