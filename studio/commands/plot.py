"""``studio plot``: draw a run's ``losses.csv`` / ``metrics.csv`` (several files overlaid) with a rolling mean."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from ganlib.train.samples import rolling_mean
from studio.options import out_option
from studio.run_logs import RunLog, parse_columns, read_run_log, select_columns

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def logs_figure(logs: list[RunLog], columns: list[str], window: int, title: str = "") -> Figure:
    """Return a matplotlib Figure (no pyplot state) with one panel per column of ``columns`` and one colour per log
    of ``logs``: raw values faint and their trailing rolling mean over ``window`` rows solid (raw only for 1)."""
    height = 1.9 * len(columns) + 0.8
    fig = Figure(figsize=(8, height), dpi=90)
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.11, right=0.98, top=1 - 0.4 / height, bottom=0.5 / height, hspace=0.14)
    colours = [f"C{i % 10}" for i in range(len(logs))]
    for ax, col in zip(axes, columns):
        for log, colour in zip(logs, colours):
            if col not in log.series:
                continue
            x, y = np.asarray(log.x), np.asarray(log.series[col], dtype=np.float64)
            ok = np.isfinite(y)
            label = log.name if len(logs) > 1 else col
            if window > 1:
                ax.plot(x[ok], y[ok], color=colour, alpha=0.25, linewidth=0.8)
                ax.plot(x[ok], rolling_mean(y[ok], window), color=colour, linewidth=1.6,
                        label=f"{label} (mean of {window})")
            else:
                ax.plot(x[ok], y[ok], color=colour, linewidth=1.4, marker="." if ok.sum() < 30 else None,
                        label=label)
        ax.set_ylabel(col)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel(logs[0].x_name)
    axes[-1].xaxis.set_major_locator(MaxNLocator(8, integer=True))
    if title:
        axes[0].set_title(title, fontsize=10)
    return fig


def plot_logs(logs: list[RunLog], columns: list[str], out: Path, window: int, title: str = "") -> Path:
    """Write :func:`logs_figure` atomically to ``out`` (PNG, SVG or PDF by its suffix); return ``out``."""
    fig = logs_figure(logs, columns, window, title)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=PLOT_FORMATS[out.suffix.lower()])
    return out


@click.command("plot")
@click.argument("csv_files", metavar="CSV...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--window", type=click.IntRange(min=1), default=50, show_default=True,
              help="Rolling-mean window in rows (1 = raw values only).")
@click.option("--columns", default=None, help="Columns to plot, e.g. loss_d,loss_g (default: every column).")
@click.option("--title", default="", help="A title above the first panel.")
@out_option("The figure (.png, .svg or .pdf).", folder=False, file_only=True)
def command(csv_files: tuple[Path, ...], window: int, columns: str | None, title: str, out: Path) -> None:
    """Plot training logs (RUN/losses.csv, RUN/metrics.csv; several files are overlaid, one colour each)."""
    if out.suffix.lower() not in PLOT_FORMATS:
        raise UserError(f"the figure is {', '.join(PLOT_FORMATS)}: not {out.name!r}", field="--out")
    wanted = parse_columns(columns)
    logs = [read_run_log(p) for p in csv_files]
    chosen = select_columns(logs, wanted)
    plot_logs(logs, chosen, out, window, title)
    click.echo(f"wrote {out} ({len(chosen)} columns from {len(logs)} file{'s' if len(logs) > 1 else ''})")
