"""Click options shared by several ``studio`` commands."""
from __future__ import annotations

import click

device_option = click.option("--device", default="auto", show_default=True,
                             help="Where the generator runs: auto (CUDA if present), cpu, cuda, cuda:N.")
batch_option = click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True,
                            help="Images per generator call.")
dtype_option = click.option("--dtype", type=click.Choice(["auto", "float32", "float16", "bfloat16"]), default="auto",
                            show_default=True,
                            help="Synthesis precision: auto (the checkpoint's fp16 layers on GPU, fp32 on CPU), "
                                 "float32, float16 (fp16 high-resolution layers with clamping; GPU), bfloat16.")
truncation_option = click.option("--truncation", "truncation", type=float, default=1.0, show_default=True,
                                 help="Truncation psi: 1 = no truncation, 0 = the average image.")
model_option = click.option("--model", "model", default="builtin:default", show_default=True,
                            help="builtin:NAME or a checkpoint (.safetensors, NVlabs .pkl, rosinality .pt).")


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
