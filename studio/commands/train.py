"""``studio train KIND``: train a small GAN, autoencoder or classifier (or the StyleGAN2 of the default model)."""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import click

from ganlib.train.config import parse_set
from ganlib.train.distributed import is_rank0
from ganlib.train.run import train
from studio.options import device_option, out_option

KIND_HELP = "dcgan, dcgan-mod, wgan, wgan-gp, mse, cgan, autoencoder, classifier or stylegan2"


@contextlib.contextmanager
def warnings_as_lines():
    """Print python warnings raised inside the block as single ``warning: ...`` lines on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


@click.command("train")
@click.argument("kind", metavar="KIND")
@click.option("--data", required=True, help="Image folder (class sub-folders = labels), .zip of images or HDF5 file.")
@out_option("Run folder (created).", folder=True)
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="YAML settings over presets/train/KIND.yaml.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override one setting (repeatable), e.g. --set batch_size=32 --set data.flip=false.")
@click.option("--max-steps", type=click.IntRange(min=0), default=None, help="Total steps to reach.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--init", "init", default=None, metavar="CHECKPOINT",
              help="stylegan2: start G, G_ema (and D when the file has one) from this checkpoint (any supported "
                   "format or builtin:NAME), then train on --data.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="stylegan2: data-parallel processes on this machine (the batch is split across them).")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(kind: str, data: str, out: Path, config: Path | None, sets: tuple[str, ...], max_steps: int | None,
            resume: bool, init: str | None, nproc: int, device: str, quiet: bool) -> None:
    """Train a model of KIND (dcgan, dcgan-mod, wgan, wgan-gp, mse, cgan, autoencoder, classifier, stylegan2).

    Writes losses.csv, metrics.csv, sample grids every epoch, evolution.gif, loss_plot.png, train_state.pt and
    checkpoint.safetensors (use it as a timeline 'model:' or with 'studio random --model').
    """
    overrides = parse_set(list(sets))
    if init is not None:
        overrides["init"] = init
    with warnings_as_lines():
        result = train(kind, data, out, config=config, overrides=overrides, max_steps=max_steps, resume=resume,
                       device=device, progress=not quiet, nproc=nproc)
    if not is_rank0():  # under torchrun every process runs this command; one reports
        return
    summary = ", ".join(f"{k}={v:.4g}" for k, v in result.final_metrics.items())
    click.echo(f"trained {kind} for {result.steps} steps; checkpoint: {result.checkpoint}")
    if summary:
        click.echo(f"final: {summary}")
