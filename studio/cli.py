"""The one command-line entry point, ``studio``: a click group whose sub-commands live in ``studio.commands``.

Sub-commands are loaded lazily (click's lazy-group pattern): ``studio --help`` lists every command from the table
below without importing any of them (so no torch), and ``studio NAME ...`` imports only ``NAME``'s module. A command
module that fails to import fails loudly with its own traceback.

Every ``UserError`` (bad timeline, checkpoint, data folder or option) is printed as one line on stderr and exits
with code 2; no traceback is shown for bad input.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from ganlib import limits
from ganlib.errors import UserError
from ganlib.paths import OS_USER_ERRORS, escape_text, os_error_text

# name → ("module:attribute" of the click command, the one-line help shown by ``studio --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("studio.commands.render:command", "Render a timeline (.yaml) to video or a PNG sequence."),
    "random": ("studio.commands.random_images:command", "One image per seed into a folder or a .zip."),
    "grid": ("studio.commands.grid:command", "A contact sheet of seeds, each captioned with its seed."),
    "info": ("studio.commands.info:command", "Describe a model: resolution, latents, labels, provenance."),
    "train": ("studio.commands.train:command", "Train a GAN, autoencoder, classifier or StyleGAN2 on images."),
    "convert": ("studio.commands.convert:command", "Convert a checkpoint (.pkl, .pt) to .safetensors."),
    "ui": ("studio.commands.ui:command", "Open the studio in a browser (Gradio, 127.0.0.1)."),
    "classify": ("studio.commands.classify:command", "Label images with a trained classifier; write a CSV."),
    "autoencode": ("studio.commands.autoencode:command", "Encode a dataset with an autoencoder; codes, PCA, plots."),
    "metrics": ("studio.commands.metrics:command", "FID, KID and MiFID of generated images against real ones."),
    "experiment": ("studio.commands.experiment:command", "A grid of training settings x seeds, with statistics."),
    "audio": ("studio.commands.audio:command", "Analyse music: tempo, beats, a plot of its features."),
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when that sub-command is asked for.

    ``lazy_commands`` maps a name to ("package.module:attribute", short help); the short help is what the group's
    ``--help`` lists, so listing imports nothing.
    """

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the names of the eager and the lazy sub-commands, sorted."""
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the sub-command ``cmd_name`` (importing its module if it is lazy), or None if unknown."""
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        target, short_help = self.lazy_commands[cmd_name]
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is a {type(command).__name__}, not a click command")
        command.short_help = command.short_help or short_help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the "Commands:" section from the short helps of the table, importing no command module."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(formatter.width)))
            else:
                rows.append((name, self.lazy_commands[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="latent-studio", prog_name="studio")
@click.option("--limit", "limit_values", multiple=True, metavar="NAME=VALUE", expose_value=True,
              help="Raise a resource limit for this run, e.g. --limit keyframes=50000 (see docs/robustness.md).")
def cli(limit_values: tuple[str, ...] = ()) -> None:
    """Latent Studio: keyframe a GAN's latent space and render it to video."""
    for item in limit_values:
        limits.set_from_text(item)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the process exit code."""
    try:
        cli.main(args=argv, prog_name="studio", standalone_mode=False)
    except UserError as err:
        click.echo(f"error: {escape_text(str(err))}", err=True)
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
    except MemoryError:
        click.echo("error: out of memory; use a smaller batch, resolution or input", err=True)
        return 2
    except OSError as err:
        if err.errno not in OS_USER_ERRORS:
            raise
        where = f"{escape_text(str(err.filename))}: " if err.filename else ""
        click.echo(f"error: {where}{os_error_text(err)}; partial outputs were removed", err=True)
        return 2
    return 0


def entry_point() -> None:
    """Console-script entry: run ``main`` and exit with its code."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
