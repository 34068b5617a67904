"""``studio ui``: the Gradio studio in a browser (explore, keyframe, preview, render, batch)."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from ganlib.errors import UserError
from studio.options import device_option
from studio.ui import app as ui_app


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
              help="Address to bind; the default serves only this machine. Use 0.0.0.0 (with --auth) to share.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of checkpoints (.safetensors .pkl .pt) offered besides the built-in models.")
@click.option("--auth", default=None, metavar="USER:PASS", help="Ask for this user name and password.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("renders/ui"),
              show_default=True, help="Where renders, batches and saved timelines go; the only folder served.")
@device_option  # resolved (a bad --device refused) before the server starts
def command(host: str, port: int, models_dir: Path | None, auth: str | None, output_dir: Path,
            device: str) -> None:
    """Open the studio in a browser: explore seeds, keyframe a timeline, preview, render and download."""
    credentials = parse_auth(auth)
    if models_dir is not None and not models_dir.is_dir():
        raise UserError(f"models folder not found: {models_dir}", field="--models-dir")
    if not is_loopback(host) and credentials is None:
        click.echo(f"warning: serving on {host} without --auth: anyone who can reach this port can use the "
                   f"studio", err=True)
    app = ui_app.build_app(models_dir, output_dir, device=device)
    click.echo(f"Latent Studio on http://{host if ':' not in host else f'[{host}]'}:{port}/  "
               f"(output: {Path(output_dir).resolve()}; Ctrl-C to stop)")
    ui_app.launch(app, host=host, port=port, auth=credentials, quiet=True)
