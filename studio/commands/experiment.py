"""``studio experiment GRID.yaml [--out DIR] [--dry-run]`` — a grid of training settings × seeds with statistics.

See ``ganlib.train.experiments`` for the file format and the outputs (results.csv, summary.csv, comparisons.csv,
comparison.png). Re-running the same command skips finished runs and resumes an interrupted one.
"""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.train.experiments import load_experiment, run_experiment


@click.command("experiment")
@click.argument("grid_file", metavar="GRID.yaml", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: the file's 'out', else renders/experiments/<file name>).")
@click.option("--dry-run", is_flag=True, help="Validate the file and list the runs (and which are done) without training.")
@click.option("--device", default=None, help="Training device, overriding the file's 'device' (cpu, cuda, cuda:1).")
@click.option("--progress/--no-progress", default=True, help="Show each run's progress bar.")
def command(grid_file, out, dry_run, device, progress):
    """Train every configuration of GRID.yaml with repeated seeds; write CSVs, Mann–Whitney comparisons and a plot."""
    spec = load_experiment(grid_file)
    out_dir = Path(out) if out else Path(spec.out) if spec.out else Path("renders/experiments") / Path(grid_file).stem
    run_experiment(spec, out_dir, dry_run=dry_run, device=device, progress=progress,
                   log=lambda msg: click.echo(msg, err=True))
