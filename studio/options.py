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
workers_option = click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                              help="Render chunks in N local processes (CPU: the cores are split between them; "
                                   "--device cuda: one GPU each).")
ray_option = click.option("--ray", "ray", default=None, metavar="ADDRESS",
                          help="Send chunks to the Ray cluster at ADDRESS (e.g. ray://head:10001, or 'auto'), or "
                               "'local' to start Ray on this machine. Needs: pip install \"latent-studio[ray]\".")
