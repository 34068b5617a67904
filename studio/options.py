"""Click options shared by the ``studio`` commands, each declared once here.

NVlabs spellings are accepted as aliases where a command has the concept: ``--network`` for ``--model``, ``--outdir``
for ``--out`` (commands that write a folder) and ``--trunc`` for ``--truncation``.
"""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.devices import DEVICE_HELP, resolve_device

SEED_RANGE = click.IntRange(0, 2 ** 32 - 1)  # one seed (NVlabs: np.random.RandomState takes 32-bit seeds)
COUNT = click.IntRange(1, 10 ** 9)  # a count of images, subsets, steps ... (an absurd one is refused at once)


class FiniteFloat(click.ParamType):
    """A float option that refuses NaN, infinities and values outside [``lo``, ``hi``] (so ``1e308`` never
    reaches the maths as an overflow), naming the allowed range."""

    name = "float"

    def __init__(self, lo: float = -1e6, hi: float = 1e6, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def convert(self, value, param, ctx):  # noqa: D102 - click hook
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{str(value)[:40]!r} is not a number", param, ctx)
        bad_lo = x <= self.lo if self.lo_open else x < self.lo
        if x != x or bad_lo or x > self.hi:
            low = f"above {self.lo:g}" if self.lo_open else f"from {self.lo:g}"
            self.fail(f"{str(value)[:40]} is not a finite number {low} to {self.hi:g}", param, ctx)
        return x


def _check_device(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """Resolve ``--device`` through ``ganlib.devices.resolve_device`` (one message for a bad or absent device) and
    return the resolved device's name ("cpu", "cuda", "cuda:1", "mps")."""
    return str(resolve_device(value))


device_option = click.option("--device", default="auto", show_default=True, callback=_check_device, help=DEVICE_HELP)
batch_option = click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True,
                            help="Images per generator call.")
dtype_option = click.option("--dtype", type=click.Choice(["auto", "float32", "float16", "bfloat16"]), default="auto",
                            show_default=True,
                            help="Synthesis precision: auto (the checkpoint's fp16 layers on GPU, fp32 on CPU), "
                                 "float32, float16 (fp16 high-resolution layers with clamping; GPU), bfloat16.")


def truncation_option(help: str = "Truncation psi: 1 = no truncation, 0 = the average image."):
    """Return the ``--truncation`` / ``--trunc`` option (a float, default 1.0) with ``help``."""
    return click.option("--truncation", "--trunc", "truncation", type=FiniteFloat(-10, 10), default=1.0, show_default=True,
                        help=help)


def model_option(help: str = "builtin:NAME or a checkpoint (.safetensors, NVlabs .pkl, rosinality .pt).", *,
                 default: str | None = "builtin:default", required: bool = False, path: bool = False):
    """Return the ``--model`` / ``--network`` option with ``help``; ``default`` None and ``required`` for commands
    that need a model of their own kind; ``path`` for a value taken as a ``Path``."""
    kind = click.Path(path_type=Path) if path else None
    return click.option("--model", "--network", "model", default=default, required=required, type=kind,
                        show_default=default is not None, help=help)


def out_option(help: str, *, folder: bool, required: bool = True, default=None, file_only: bool = False,
               folder_only: bool = False):
    """Return the ``--out`` option (a ``Path``) with ``help``; ``folder`` adds the NVlabs alias ``--outdir`` for
    commands that write a folder; ``file_only`` refuses an existing folder, ``folder_only`` an existing file."""
    names = ("--out", "--outdir") if folder else ("--out",)
    kind = click.Path(dir_okay=not file_only, file_okay=not folder_only, path_type=Path)
    return click.option(*names, "out", type=kind, required=required, default=default, help=help)


class Vec2(click.ParamType):
    """An "X,Y" pair of numbers, as NVlabs' gen_images.py --translate takes it."""

    name = "X,Y"

    def convert(self, value, param, ctx):
        """Return (x, y) floats from "X,Y" (or an (x, y) pair)."""
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return float(value[0]), float(value[1])
        parts = str(value).split(",")
        try:
            if len(parts) == 2:
                x, y = float(parts[0]), float(parts[1])
                if all(v == v and abs(v) != float("inf") for v in (x, y)):
                    return x, y
        except ValueError:
            pass
        self.fail(f"{value!r} is not an X,Y pair of numbers like 0.3,1", param, ctx)


translate_option = click.option("--translate", type=Vec2(), default=None,
                                help="StyleGAN3 camera: move by X,Y image widths, e.g. 0.3,1 (as NVlabs' "
                                     "gen_images.py).")
rotate_option = click.option("--rotate", type=float, default=None, metavar="DEG",
                             help="StyleGAN3 camera: rotate by DEG degrees (as NVlabs' gen_images.py).")
workers_option = click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                              help="Render chunks in N local processes (CPU: the cores are split between them; "
                                   "--device cuda: one GPU each).")
ray_option = click.option("--ray", "ray", default=None, metavar="ADDRESS",
                          help="Send chunks to the Ray cluster at ADDRESS (e.g. ray://head:10001, or 'auto'), or "
                               "'local' to start Ray on this machine. Needs: pip install \"latent-studio[ray]\".")
