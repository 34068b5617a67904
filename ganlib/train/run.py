"""``train()``: the single entry point of ``studio train`` and of experiments.

    from ganlib.train.run import train
    result = train("dcgan", "monet/", "runs/monet", overrides={"batch_size": 32}, max_steps=2000)
    result.checkpoint   # runs/monet/checkpoint.safetensors, usable as a timeline ``model:``

Outputs in ``out_dir``: ``config.yaml`` (resolved settings), ``losses.csv``, ``metrics.csv``, ``samples/grid_*.png``
(fixed latents, every epoch), ``evolution.gif``, ``loss_plot.png``, ``train_state.pt`` (resume) and
``checkpoint.safetensors`` (the generator via ``save_generator``; the classifier via ``export.save_model``).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Callable

import torch
import yaml
from tqdm import tqdm

from ganlib.data.datasets import open_dataset
from ganlib.devices import resolve_device
from ganlib.errors import ConfigError, UserError
from ganlib.io_utils import atomic_path
from ganlib.metrics.hook import training_hook
from ganlib.train import distributed, other_tasks
from ganlib.train.checkpointing import load_state, seed_everything
from ganlib.train.config import RESUME_MUTABLE, apply_overrides, check_kind, config_diff, load_config, validate_config
from ganlib.train.gan_tasks import GANTask
from ganlib.train.loop import STATE_FILE, TrainLoop
from ganlib.train.result import TrainResult
from ganlib.train.stylegan2_task import StyleGAN2Task

__all__ = ["train", "TrainResult", "TASKS"]

DISTRIBUTED_KINDS = ("stylegan2",)

TASKS = {"dcgan": "gan", "dcgan-mod": "gan", "wgan": "gan", "wgan-gp": "gan", "cgan": "gan",
         "mse": "mse", "autoencoder": "autoencoder", "classifier": "classifier", "stylegan2": "stylegan2"}


def _make_task(kind: str, cfg, dataset, device, ddp=None):
    family = TASKS[kind]
    if family == "gan":
        return GANTask(kind, cfg, dataset, device)
    if family == "stylegan2":
        return StyleGAN2Task(kind, cfg, dataset, device, ddp=ddp)
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


def train(kind: str, data: str | Path, out_dir: str | Path, *, config: str | Path | None = None,
          overrides: dict | None = None, max_steps: int | None = None, resume: bool = False, device: str = "cpu",
          progress: bool = True, metrics_hook: Callable | None = None, nproc: int = 1) -> TrainResult:
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
        metrics_hook: ``hook(step, G, device) -> dict[str, float]``, called at the steps that are multiples of the
            ``metrics_every`` setting (else of the hook's ``every`` attribute, else at each evaluation); its values go
            to ``metrics.csv`` and ``final_metrics``. Without a hook, ``metrics_every: N`` computes FID of the
            generator against ``data`` on ``metrics_num`` samples (needs the offline Inception network).
        nproc: data-parallel processes on this machine (stylegan2; the global batch is split across them). Under
            ``torchrun`` (``WORLD_SIZE`` in the environment) each process joins that group instead.

    Returns: TrainResult(out_dir, steps, final_metrics, checkpoint). Raises UserError (ConfigError, DataError,
    CheckpointError) for bad input, out-of-memory (with advice) and a device that is not available;
    KeyboardInterrupt after a Ctrl-C, once the current step is finished and checkpointed.
    """
    check_kind(kind)
    if max_steps is not None and int(max_steps) < 0:
        raise ConfigError(f"max_steps must be >= 0, got {max_steps}", field="max_steps")
    cfg = load_config(kind, config, overrides)
    if int(nproc) < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}", field="nproc")
    if (int(nproc) > 1 or distributed.in_group()) and kind not in DISTRIBUTED_KINDS:
        raise ConfigError(f"several processes (--nproc, torchrun) train {', '.join(DISTRIBUTED_KINDS)} only, "
                          f"not {kind!r}", field="nproc")
    if int(nproc) > 1 and not distributed.in_group():
        distributed.Group(0, int(nproc), 0).check_batch(cfg.batch_size)  # before any process starts
        res = distributed.launch(int(nproc), _rank_main, kind, str(data), str(out_dir), config=config,
                                 overrides=overrides, max_steps=max_steps, resume=resume, device=device,
                                 progress=progress, metrics_hook=metrics_hook)
        return TrainResult(out_dir=Path(res["out_dir"]), steps=res["steps"], final_metrics=res["final_metrics"],
                           checkpoint=Path(res["checkpoint"]))
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
        cfg = cfg.model_copy(update={"steps": max(1, int(max_steps)), "epochs": None})
    dev = resolve_device(device)
    group = distributed.from_env(dev.type)
    if group is not None:
        group.check_batch(cfg.batch_size)
        if dev.type == "cuda":
            dev = torch.device("cuda", group.local_rank)
    writer = group is None or group.is_writer
    progress = progress and writer
    if metrics_hook is None and cfg.metrics_every and writer and TASKS[kind] != "classifier":
        metrics_hook = training_hook(cfg.val_data or data, num=cfg.metrics_num, every=cfg.metrics_every,
                                     procedural_size=cfg.resolution)

    dataset = _open_data(data, cfg)
    _say(dataset.describe(), progress)
    if writer:
        out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    task = _make_task(kind, cfg, dataset, dev, group)
    if cfg.val_data:
        task.val_ds = _open_data(cfg.val_data, cfg)
    stream = task.make_stream()  # checks batch size against the data before any model is built
    total = int(max_steps) if max_steps is not None else steps_for(cfg, stream, task)
    task.build(fresh=state is None, progress=progress)
    loop = TrainLoop(task, stream, out, str(data), max_steps=total, progress=progress, metrics_hook=metrics_hook)
    if state is not None:
        loop.restore(state)
        del state
    if writer:
        _write_config(out / "config.yaml", kind, cfg)
    try:
        steps, metrics, ckpt = loop.run()
    finally:
        stream.close()
    return TrainResult(out_dir=out, steps=steps, final_metrics=metrics, checkpoint=Path(ckpt))


def steps_for(cfg, stream, task) -> int:
    """Return the steps to train: ``steps``, or with ``epochs`` set, enough steps for that many passes over the
    training images (a step draws ``task.batches_per_step`` batches)."""
    if not getattr(cfg, "epochs", None):
        return cfg.steps
    return max(1, math.ceil(cfg.epochs * stream.steps_per_epoch / task.batches_per_step))


def _rank_main(kind: str, data: str, out_dir: str, **kwargs) -> dict:
    """One process of ``train(..., nproc=N)``: train and return the result as plain data."""
    res = train(kind, data, out_dir, **kwargs)
    return {"out_dir": str(res.out_dir), "steps": res.steps, "final_metrics": res.final_metrics,
            "checkpoint": str(res.checkpoint)}


def _write_config(path: Path, kind: str, cfg) -> None:
    text = f"# resolved settings of this run: studio train {kind} --config {path.name} ...\n"
    text += yaml.safe_dump({"kind": kind, **cfg.model_dump(mode="json")}, sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
