"""``studio project``: find the latents of your own pictures (projection into w / w+, or z for z-only models)."""
from __future__ import annotations

from pathlib import Path

import click

from ganlib.errors import UserError
from ganlib.projection import expand_images, load_target, make_config, project
from ganlib.projection.config import DEFAULT_LOSS, FALLBACK_LOSS, LOSS_PRESETS, NOISE_MODES, SPACES, default_loss
from ganlib.synth import condition, has_w_space
from studio.options import device_option, model_option, out_option
from studio.projection import (OptimisationVideo, comparison, projection_timeline, write_npz, write_png,
                               write_timeline)
from studio.render import get_model


@click.command("project")
@click.argument("images", nargs=-1)
@model_option()
@out_option("Folder for <stem>.npz, <stem>.png (target | projection) and <stem>.mp4 (the optimisation).",
            folder=True, folder_only=True)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimisation steps (default 200).")
@click.option("--space", type=click.Choice(SPACES), default=None,
              help="w: one w for all layers (NVlabs); w+: one per layer (default; recovers more detail).")
@click.option("--loss", type=click.Choice(list(LOSS_PRESETS)), default=None,
              help=f"Loss terms: pixel MSE, ms = multi-scale MSE, inception = the FID Inception network's early "
                   f"features (default {DEFAULT_LOSS}; {FALLBACK_LOSS} when no Inception network is installed).")
@click.option("--noise", type=click.Choice(NOISE_MODES), default=None,
              help="fixed: keep the network's noise (what a keyframe renders; default); optimise: NVlabs-style.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random parts: the same seed gives the same projection.")
@click.option("--init-seed", type=click.IntRange(min=0), default=None,
              help="Start from this seed's latent instead of w_avg (z = 0 for z-only models).")
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None,
              help="Class index for conditional models.")
@click.option("--timeline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a timeline whose keyframes are the projections in the order given.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=3.0, show_default=True,
              help="Seconds between keyframes of --timeline.")
@click.option("--loop", is_flag=True, help="The --timeline loops back to the first projection.")
@click.option("--no-video", is_flag=True, help="Skip <stem>.mp4.")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(images: tuple[str, ...], model: str, out: Path, steps: int | None, space: str | None, loss: str | None,
            noise: str | None, seed: int, init_seed: int | None, class_idx: int | None, timeline: Path | None,
            seconds: float, loop: bool, no_video: bool, device: str, quiet: bool) -> None:
    """Project IMAGE... (files or folders of images) into the model's latent space. Each image is centre-cropped
    to a square and resized to the model; DIR/<stem>.npz holds w [1, num_ws, w_dim] as NVlabs' projector writes it
    (use it as a keyframe 'latent:'), DIR/<stem>.png shows target | projection."""
    paths = expand_images(list(images))
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems:
            raise UserError(f"two images would write {p.stem}.npz: {stems[p.stem]} and {p}; rename one", file=p)
        stems[p.stem] = p
    if timeline is not None and timeline.suffix.lower() not in (".yaml", ".yml"):
        raise UserError("a timeline file ends in .yaml or .yml", field="--timeline")
    G = get_model(model, device).G
    if not has_w_space(G) and space is not None:
        raise UserError(f"this model has no w space (it takes z only): --space {space} is not possible; leave "
                        f"--space out and z is optimised", field="--space")
    conds = condition(G, class_idx, None, field="--class")
    if loss is None:
        loss, fallback = default_loss()
        if fallback:
            click.echo(fallback)
    cfg = make_config(loss, steps=steps, space=space, noise=noise, seed=seed, init_seed=init_seed)
    targets = [load_target(p, int(G.img_resolution), int(G.img_channels)) for p in paths]  # all checked first
    res = int(G.img_resolution)
    what = f"{cfg.space} ({G.num_ws} x {G.w_dim})" if has_w_space(G) else f"z ({G.z_dim}; no w space)"
    click.echo(f"projecting {len(paths)} image(s) into {what} of {model} at {res}x{res}: {cfg.steps} steps, "
               f"loss {cfg.loss_name}, noise {cfg.noise}, seed {cfg.seed}")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path, (target, note) in zip(paths, targets):
        click.echo(f"{path}: {note}")
        stem = path.stem
        if no_video:
            proj = project(G, target, cfg, conds=conds, progress=not quiet, desc=stem)
        else:
            with OptimisationVideo(out / f"{stem}.mp4", target) as video:
                proj = project(G, target, cfg, conds=conds, progress=not quiet, desc=stem, on_frame=video.on_frame)
        for line in proj.notes:
            click.echo(f"{path}: {line}")
        written.append(write_npz(proj, out / f"{stem}.npz", note))
        write_png(comparison(proj), out / f"{stem}.png")
        click.echo(f"wrote {out / stem}.npz/.png{'' if no_video else '/.mp4'}: PSNR {proj.losses['psnr']:.2f} dB, "
                   f"loss {proj.losses['total']:.4f}")
    if timeline is not None:
        tl = projection_timeline(written, model, space=proj.space, seconds=seconds, loop=loop, label=class_idx)
        write_timeline(tl, timeline)
        click.echo(f"wrote {timeline}: {len(written)} keyframes, {seconds:g} s apart"
                   f"{', looping' if loop else ''} (studio render {timeline})")
