"""``studio ui``: the Gradio studio in a browser (explore, keyframe, preview, render, batch)."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from ganlib.errors import UserError
from studio.options import device_option
from studio.ui import app as ui_app
from studio.ui.prune import DEFAULT_KEEP_GB, DEFAULT_KEEP_HOURS, PrunePolicy


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """Turn ``USER:PASS`` into (user, password); None for no auth; UserError when malformed."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise UserError("must be USER:PASS, e.g. --auth artist:s3cret", field="--auth")
    return user, password


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default serves only this machine. Use 0.0.0.0 (with --auth) to share; "
                   "any other address without --auth is refused unless --insecure.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of checkpoints (.safetensors .pkl .pt) offered besides the built-in models.")
@click.option("--auth", default=None, metavar="USER:PASS", help="Ask for this user name and password.")
@click.option("--insecure", is_flag=True,
              help="Allow --host beyond this machine without --auth (anyone who reaches the port can use it).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("renders/ui"),
              show_default=True, help="Where renders, batches and saved timelines go; the only folder served.")
@click.option("--keep-hours", type=click.FloatRange(min=0), default=DEFAULT_KEEP_HOURS, show_default=True,
              help="Remove job folders older than this (queued and running jobs are kept).")
@click.option("--keep-gb", type=click.FloatRange(min=0), default=DEFAULT_KEEP_GB, show_default=True,
              help="Remove the oldest job folders and cached previews while they take more than this.")
@device_option  # resolved (a bad --device refused) before the server starts
def command(host: str, port: int, models_dir: Path | None, auth: str | None, insecure: bool, output_dir: Path,
            keep_hours: float, keep_gb: float, device: str) -> None:
    """Open the studio in a browser: explore seeds, keyframe a timeline, preview, render and download."""
    credentials = parse_auth(auth)
    if models_dir is not None and not models_dir.is_dir():
        raise UserError(f"models folder not found: {models_dir}", field="--models-dir")
    if not is_loopback(host) and credentials is None:
        if not insecure:
            raise UserError(f"{host} is reachable from other machines: add --auth USER:PASS, or --insecure to "
                            f"serve it without a password", field="--host")
        click.echo(f"warning: serving on {host} without --auth (--insecure): anyone who can reach this port can "
                   f"use the studio", err=True)
    policy = PrunePolicy(keep_hours=keep_hours, keep_gb=keep_gb)
    app = ui_app.build_app(models_dir, output_dir, device=device, prune=policy)
    click.echo(f"Latent Studio on http://{host if ':' not in host else f'[{host}]'}:{port}/  "
               f"(output: {Path(output_dir).resolve()}; Ctrl-C to stop)")
    ui_app.launch(app, host=host, port=port, auth=credentials, quiet=True)
