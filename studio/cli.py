"""The one command-line entry point, ``studio``: a click group whose sub-commands live in ``studio.commands``.

Sub-commands are loaded lazily (click's lazy-group pattern): ``studio --help`` lists every command from the table
below without importing any of them (so no torch), and ``studio NAME ...`` imports only ``NAME``'s module. A command
module that fails to import fails loudly with its own traceback.

Every ``UserError`` (bad timeline, checkpoint, data folder or option) is printed as one line on stderr and exits
with code 2; no traceback is shown for bad input. SIGTERM and SIGHUP end a job exactly like Ctrl-C (the same
``KeyboardInterrupt`` path: partial outputs removed, chunked renders and training resumable), with one line and the
exit code 128 + the signal's number (143, 129); Ctrl-C exits 130.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading

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
    "live": ("studio.commands.live:command", "Play a timeline live, steered over OSC/MIDI; record it."),
    "classify": ("studio.commands.classify:command", "Label images with a trained classifier; write a CSV."),
    "autoencode": ("studio.commands.autoencode:command", "Encode a dataset with an autoencoder; codes, PCA, plots."),
    "metrics": ("studio.commands.metrics:command", "FID, KID and MiFID of generated images against real ones."),
    "experiment": ("studio.commands.experiment:command", "A grid of training settings x seeds, with statistics."),
    "project": ("studio.commands.project:command", "Find the latents of your own pictures (w, w+ or z)."),
    "audio": ("studio.commands.audio:command", "Analyse music: tempo, beats, a plot of its features."),
    "frames": ("studio.commands.frames:command", "Make a training folder of PNG frames from a video."),
    "text": ("studio.commands.text:command", "Write a string with a letters model, one image per character."),
    "spread": ("studio.commands.spread:command", "How varied a model's images are per class: box plot and CSV."),
    "plot": ("studio.commands.plot:command", "Plot a run's losses.csv / metrics.csv with rolling means."),
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


TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Signals:
    """The signals that arrived during one ``main`` call (the first decides the exit code)."""

    def __init__(self):
        self.received: list[int] = []

    def as_interrupt(self, signum, frame) -> None:
        """Handle SIGTERM/SIGHUP as Ctrl-C: call whatever handles SIGINT now (training's handler stops after the
        current step and checkpoints; Python's default raises KeyboardInterrupt)."""
        self.received.append(signum)
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not signal.default_int_handler:
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _terminating_signals_as_interrupt(state: _Signals):
    """Install ``state.as_interrupt`` for SIGTERM and SIGHUP (main thread only, where they are not ignored) and
    restore the previous handlers on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in TERMINATING_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup'ed jobs keep ignoring SIGHUP
            previous[sig] = signal.signal(sig, state.as_interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted_line(exc: BaseException, state: _Signals) -> tuple[str, int]:
    """The one line and exit code for a job ended by Ctrl-C (130) or a terminating signal (128 + its number)."""
    how = f"terminated ({signal.Signals(state.received[0]).name})" if state.received else "interrupted"
    said = (escape_text(str(exc).splitlines()[0]) if str(exc)
            else "partial outputs were not kept under their final names")
    return f"{how}: {said}", 128 + state.received[0] if state.received else 130


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the process exit code."""
    state = _Signals()
    try:
        with _terminating_signals_as_interrupt(state):
            cli.main(args=argv, prog_name="studio", standalone_mode=False)
    except UserError as err:
        click.echo(f"error: {escape_text(str(err))}", err=True)
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns KeyboardInterrupt into Abort
        cause = exc.__cause__ if isinstance(exc, click.exceptions.Abort) else exc
        if not isinstance(cause, KeyboardInterrupt) and not state.received:
            click.echo("aborted", err=True)
            return 130
        line, code = _interrupted_line(cause if isinstance(cause, KeyboardInterrupt) else KeyboardInterrupt(), state)
        click.echo(line, err=True)
        return code
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
