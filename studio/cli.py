"""The one command-line entry point, ``studio``: a click group whose sub-commands live in ``studio.commands``.

Every ``UserError`` (bad timeline, checkpoint, data folder or option) is printed as one line on stderr and exits
with code 2; no traceback is shown for bad input.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from ganlib.errors import UserError

# Sub-command modules; each defines a click command or group named ``command``.
COMMAND_MODULES = [
    "studio.commands.render",
    "studio.commands.random_images",
    "studio.commands.grid",
    "studio.commands.info",
    "studio.commands.train",
    "studio.commands.convert",
    "studio.commands.ui",
    "studio.commands.classify",
    "studio.commands.autoencode",
    "studio.commands.metrics",
    "studio.commands.experiment",
    "studio.commands.project",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="latent-studio", prog_name="studio")
def cli() -> None:
    """Latent Studio: keyframe a GAN's latent space and render it to video."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not written yet
                continue
            raise
        cli.add_command(module.command)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the process exit code."""
    try:
        cli.main(args=argv, prog_name="studio", standalone_mode=False)
    except UserError as err:
        click.echo(f"error: {err}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted: partial outputs were not kept under their final names", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return 2 if err.exit_code in (1, 2) else err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    return 0


def entry_point() -> None:
    """Console-script entry: run ``main`` and exit with its code."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
