"""``studio info``: what a model is and where it came from."""
from __future__ import annotations

import json

import click

from ganlib.checkpoints import load_generator
from ganlib.errors import UserError
from ganlib.ops.backend import format_report, ops_report
from ganlib.paths import escape_text
from ganlib.synth import cond_kind


def _bounded(value, depth: int = 0):
    """``value`` (provenance read from a file) as plain JSON data, at most 8 levels and 200 items per level deep,
    strings at most 500 characters: metadata nested 10,000 deep or megabytes long prints as a short summary."""
    if depth >= 8:
        return "..."
    if isinstance(value, dict):
        return {str(k)[:100]: _bounded(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [_bounded(v, depth + 1) for v in list(value)[:200]]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


def _show(value) -> str:
    """One line of text from a file, control characters escaped (a terminal escape in metadata stays visible)."""
    return escape_text(str(_bounded(value)))


def describe_model(spec: str) -> dict:
    """Return a dict describing the model named by ``spec`` (resolution, dims, labels, parameters, provenance)."""
    m = load_generator(spec, device="cpu")
    G = m.G
    return {
        "source": m.source,
        "format": m.format,
        "architecture": getattr(G, "config", m.arch),  # StyleGAN3: stylegan3-t or stylegan3-r
        "resolution": int(G.img_resolution),
        "channels": int(G.img_channels),
        "z_dim": int(G.z_dim),
        "w_dim": int(G.w_dim),
        "num_ws": int(G.num_ws),
        "conditioning": cond_kind(G),
        "c_dim": int(G.c_dim),
        "parameters": int(sum(p.numel() for p in G.parameters())),
        "provenance": _bounded(m.provenance) if m.provenance else m.provenance,
    }


@click.command("info")
@click.argument("model", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--ops", "ops", is_flag=True,
              help="Report which implementation the custom ops (upfirdn2d, bias_act) use here and why, with the "
                   "compiler's errors if their build failed (builds them first when a GPU is visible).")
def command(model: str | None, as_json: bool, ops: bool) -> None:
    """Describe MODEL (builtin:NAME or a checkpoint path), or with --ops the custom CUDA ops' status."""
    if ops:
        report = ops_report()
        click.echo(json.dumps(report, indent=2) if as_json else "\n".join(format_report(report)))
        if model is None:
            return
    if model is None:
        raise UserError("studio info: give MODEL (builtin:NAME or a checkpoint path), or --ops")
    info = describe_model(model)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    cond = info["conditioning"]
    labels = f"{info['c_dim']} classes" if cond == "label" else (
        f"{info['c_dim']}-value feature vector" if cond == "features" else "none")
    click.echo(f"model:        {_show(info['source'])}  ({info['format']}, {info['architecture']})")
    click.echo(f"resolution:   {info['resolution']}x{info['resolution']}, {info['channels']} channels")
    click.echo(f"latents:      z_dim {info['z_dim']}" + (f", w_dim {info['w_dim']}, {info['num_ws']} ws"
                                                          if info["num_ws"] else ", no w space"))
    click.echo(f"conditioning: {labels}")
    click.echo(f"parameters:   {info['parameters']:,}")
    prov = info["provenance"] or {}
    stages = prov.get("stages") if isinstance(prov.get("stages"), list) else []
    for key in ("trained_by", "data", "steps", "images_seen", "hardware", "date", "converted_from"):
        if key in prov:
            total = prov.get(f"{key}_total") if key in ("steps", "images_seen") and len(stages) > 1 else None
            more = f" (last stage; {_show(total)} over {len(stages)} stages)" if total is not None else ""
            click.echo(f"{key + ':':<13} {_show(prov[key])}{more}")
    if "fid_1000" in prov:
        fid, kid = prov["fid_1000"], prov.get("kid_1000")
        fid = f"{fid:.1f}" if isinstance(fid, (int, float)) else _show(fid)
        kid = f"{kid:.3f}" if isinstance(kid, (int, float)) else _show(kid)
        click.echo(f"{'fid:':<13} {fid} (1000 samples; KID {kid}; the model card says against what)")
