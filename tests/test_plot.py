"""``studio plot``: a run's CSV logs (written by the training loop's own CSVLog) re-plotted with rolling means."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganlib.train.logging import CSVLog
from studio.commands.plot import logs_figure
from studio.run_logs import read_run_log, select_columns
from tests.conftest import run_cli


def _run(folder: Path, n: int = 40, offset: float = 0.0) -> Path:
    """Write ``folder/losses.csv`` (loss_d, loss_g; loss_g missing on odd steps) and ``folder/metrics.csv``."""
    folder.mkdir(parents=True)
    log = CSVLog(folder / "losses.csv", ["epoch", "loss_d", "loss_g"])
    for step in range(n):
        log.append(step * 10, {"epoch": step // 10, "loss_d": offset + step % 7,
                               "loss_g": None if step % 2 else offset - step})
    log.close()
    metrics = CSVLog(folder / "metrics.csv", None)
    for step in (0, 200, 400):
        metrics.append(step, {"fid": 300.0 - step / 2})
    metrics.close()
    return folder / "losses.csv"


def test_read_run_log_takes_step_and_skips_index_columns(tmp_path):
    log = read_run_log(_run(tmp_path / "a"))
    assert log.x_name == "step" and log.x[:3] == [0.0, 10.0, 20.0]
    assert list(log.series) == ["loss_d", "loss_g"]
    assert np.isnan(log.series["loss_g"][1]) and log.series["loss_g"][2] == -2.0
    assert log.name == "a/losses"


def test_figure_has_the_columns_asked_for_and_a_rolling_mean(tmp_path):
    log = read_run_log(_run(tmp_path / "a"))
    fig = logs_figure([log], select_columns([log], ["loss_d"]), window=5)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "loss_d"
    raw, mean = ax.get_lines()
    values = np.asarray(log.series["loss_d"])
    assert np.allclose(mean.get_ydata()[-1], values[-5:].mean())
    assert np.allclose(mean.get_ydata()[0], values[0])
    assert len(raw.get_xdata()) == 40


def test_cli_overlays_two_runs(tmp_path):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b", n=20, offset=3.0)
    out = tmp_path / "plot.png"
    code, stdout, err = run_cli("plot", str(a), str(b), "--columns", "loss_d,loss_g", "--window", "4",
                                "--out", str(out))
    assert code == 0, err
    assert "2 columns from 2 files" in stdout
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height > im.width / 2


def test_cli_plots_metrics_csv_raw(tmp_path):
    _run(tmp_path / "a")
    out = tmp_path / "fid.svg"
    code, _, err = run_cli("plot", str(tmp_path / "a" / "metrics.csv"), "--window", "1", "--out", str(out))
    assert code == 0, err
    assert out.read_text().lstrip().startswith("<?xml")


def test_errors_are_one_line_with_exit_2(tmp_path):
    csv = _run(tmp_path / "a")
    code, _, err = run_cli("plot", str(csv), "--columns", "loss_x", "--out", str(tmp_path / "p.png"))
    assert code == 2 and "'--columns'" in err and "loss_x" in err and "loss_d, loss_g" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("step,loss\n0,1.0\n10,oops\n")
    code, _, err = run_cli("plot", str(bad), "--out", str(tmp_path / "p.png"))
    assert code == 2 and f"{bad}:3:" in err and "'oops'" in err
    code, _, err = run_cli("plot", str(tmp_path / "none.csv"), "--out", str(tmp_path / "p.png"))
    assert code == 2 and "no such CSV file" in err
    code, _, err = run_cli("plot", str(csv), "--out", str(tmp_path / "p.jpg"))
    assert code == 2 and "'--out'" in err
    assert not list(tmp_path.glob("*.png")) and "Traceback" not in err
