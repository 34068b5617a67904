"""``train()``: the single entry point of ``studio train`` and of experiments.

    from ganlib.train.run import train
    result = train("dcgan", "monet/", "runs/monet", overrides={"batch_size": 32}, max_steps=2000)
    result.checkpoint   # runs/monet/checkpoint.safetensors, usable as a timeline ``model:``

Outputs in ``out_dir``: ``config.yaml`` (resolved settings), ``losses.csv``, ``metrics.csv``, ``samples/grid_*.png``
(fixed latents, every epoch), ``evolution.gif``, ``loss_plot.png``, ``train_state.pt`` (resume) and
``checkpoint.safetensors`` (the generator via ``save_generator``; the classifier via ``export.save_model``).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import yaml
from tqdm import tqdm

from ganlib.data.datasets import open_dataset
from ganlib.devices import resolve_device
from ganlib.errors import ConfigError, UserError
from ganlib.io_utils import atomic_path
from ganlib.train import other_tasks, stylegan2_loop
from ganlib.train.checkpointing import load_state, seed_everything
from ganlib.train.config import RESUME_MUTABLE, apply_overrides, check_kind, config_diff, load_config, validate_config
from ganlib.train.gan_tasks import GANTask
from ganlib.train.loop import STATE_FILE, TrainLoop
from ganlib.train.result import TrainResult

__all__ = ["train", "TrainResult", "TASKS"]

TASKS = {"dcgan": "gan", "dcgan-mod": "gan", "wgan": "gan", "wgan-gp": "gan", "cgan": "gan",
         "mse": "mse", "autoencoder": "autoencoder", "classifier": "classifier"}


def _make_task(kind: str, cfg, dataset, device):
    family = TASKS[kind]
    if family == "gan":
        return GANTask(kind, cfg, dataset, device)
    cls = {"mse": other_tasks.MSETask, "autoencoder": other_tasks.AutoencoderTask,
           "classifier": other_tasks.ClassifierTask}[family]
    return cls(kind, cfg, dataset, device)


def _say(msg: str, progress: bool) -> None:
    if progress:
        tqdm.write(msg, file=sys.stderr)


def _open_data(data, cfg):
    d = cfg.data
    return open_dataset(data, cfg.resolution, cfg.channels, d.fit, d.cache, d.cache_limit_mb,
                        hdf5=dict(images_key=d.images_key, labels_key=d.labels_key, features_key=d.features_key,
                                  layout=d.layout))


def _resume_config(kind: str, saved: dict, new, explicit: bool, progress: bool):
    """Return the config to continue with: the saved one, with the RESUME_MUTABLE settings taken from ``new``."""
    new_d = new.model_dump(mode="json")
    changed = config_diff(saved, new_d)
    keep = {k: _get(new_d, k) for k in changed if k in RESUME_MUTABLE}
    ignored = [k for k in changed if k not in RESUME_MUTABLE]
    if ignored and explicit:
        _say(f"note: resuming with the run's saved settings; ignoring changes to {', '.join(ignored)}", True)
    return validate_config(kind, apply_overrides(saved, keep))


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


def _train_stylegan2(data, out_dir, config, overrides, max_steps, resume, device, progress):
    cfg = load_config("stylegan2", config, overrides)  # file:line errors before any work starts
    return stylegan2_loop.train_stylegan2(data, out_dir, cfg.model_dump(), max_steps=max_steps, resume=resume,
                                          device=device, progress=progress)


def train(kind: str, data: str | Path, out_dir: str | Path, *, config: str | Path | None = None,
          overrides: dict | None = None, max_steps: int | None = None, resume: bool = False, device: str = "cpu",
          progress: bool = True, metrics_hook: Callable | None = None) -> TrainResult:
    """Train a model of ``kind`` on ``data`` into ``out_dir`` and return a TrainResult.

    Args:
        kind: dcgan, dcgan-mod, wgan, wgan-gp, mse, cgan, autoencoder, classifier or stylegan2.
        data: an image folder (class sub-folders → labels), a .zip of images or an HDF5 file.
        out_dir: run folder (created); holding a run already, it needs ``resume=True``.
        config: YAML file of settings over ``presets/train/<kind>.yaml``.
        overrides: {key: value} over both (dotted keys for nested settings, e.g. "data.flip").
        max_steps: total steps to reach (overrides the ``steps`` setting); a resumed run goes on up to it.
        resume: continue the run in ``out_dir`` bit for bit (on CPU) from its last checkpoint.
        device: "auto" (CUDA when present), "cpu", "cuda", "cuda:N" or "mps" (``ganlib.devices.resolve_device``).
        progress: show a progress bar with ETA (and notes) on stderr.
        metrics_hook: ``hook(step, G, device) -> dict[str, float]`` called at each evaluation (``eval_every`` steps
            and at the end); its values go to ``metrics.csv`` and ``final_metrics``.

    Returns: TrainResult(out_dir, steps, final_metrics, checkpoint). Raises UserError (ConfigError, DataError,
    CheckpointError) for bad input, out-of-memory (with advice) and a device that is not available;
    KeyboardInterrupt after a Ctrl-C, once the current step is finished and checkpointed.
    """
    check_kind(kind)
    if max_steps is not None and int(max_steps) < 0:
        raise ConfigError(f"max_steps must be >= 0, got {max_steps}", field="max_steps")
    if kind == "stylegan2":
        return _train_stylegan2(data, out_dir, config, overrides, max_steps, resume, str(resolve_device(device)),
                                progress)
    cfg = load_config(kind, config, overrides)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError("the output path exists and is not a folder", file=out)
    state_path = out / STATE_FILE
    state = None
    if state_path.exists():
        if not resume:
            raise UserError("this folder already holds a training run; pass --resume to continue it or choose "
                            "another --out", file=out)
        state = load_state(state_path)
        if state.get("kind") != kind:
            raise UserError(f"the run in this folder is a {state.get('kind')!r} run, not {kind!r}", file=out)
        cfg = _resume_config(kind, state["config"], cfg, bool(config or overrides), progress)
    elif resume:
        _say(f"note: nothing to resume in {out}; starting a new run", progress)
    if max_steps is not None:
        cfg = cfg.model_copy(update={"steps": max(1, int(max_steps))})
    total = int(max_steps) if max_steps is not None else cfg.steps
    dev = resolve_device(device)

    dataset = _open_data(data, cfg)
    _say(dataset.describe(), progress)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    task = _make_task(kind, cfg, dataset, dev)
    stream = task.make_stream()  # checks batch size against the data before any model is built
    task.build(fresh=state is None, progress=progress)
    loop = TrainLoop(task, stream, out, str(data), max_steps=total, progress=progress, metrics_hook=metrics_hook)
    if state is not None:
        loop.restore(state)
        del state
    _write_config(out / "config.yaml", kind, cfg)
    try:
        steps, metrics, ckpt = loop.run()
    finally:
        stream.close()
    return TrainResult(out_dir=out, steps=steps, final_metrics=metrics, checkpoint=Path(ckpt))


def _write_config(path: Path, kind: str, cfg) -> None:
    text = f"# resolved settings of this run: studio train {kind} --config {path.name} ...\n"
    text += yaml.safe_dump({"kind": kind, **cfg.model_dump(mode="json")}, sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
