"""The one training loop shared by every small KIND.

It drives a ``Task`` over a deterministic ``DataStream`` and owns everything around the steps: CSV logs, the fixed
sample grid every epoch, the evolution GIF and loss plot, evaluations (with an optional ``metrics_hook``),
atomic checkpoints every N steps and at the end, resume, the progress bar with ETA, graceful Ctrl-C (finish the
step, checkpoint, stop) and out-of-memory errors turned into advice.
"""
from __future__ import annotations

import contextlib
import math
import random
import signal
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from ganlib.errors import UserError
from ganlib.train.checkpointing import capture_rng, non_finite_module, restore_rng, save_checkpoint_pair
from ganlib.train.logging import CSVLog, MemoryLog
from ganlib.train.samples import plot_losses, save_evolution_gif, save_grid, save_real_vs_fake
from ganlib.train.task_base import Task

STATE_FILE = "train_state.pt"
CHECKPOINT_FILE = "checkpoint.safetensors"
REAL_VS_FAKE_FILE = "real_vs_fake.png"  # in samples/, GAN KINDs

MetricsHook = Callable[[int, torch.nn.Module, torch.device], dict]


@contextlib.contextmanager
def preserved_rng(gen: torch.Generator | None = None):
    """Run the block and then put python's, numpy's and torch's RNGs (and ``gen``) back as they were, so sampling
    and evaluation never change the training trajectory."""
    py, npst = random.getstate(), np.random.get_state()
    gstate = gen.get_state() if gen is not None else None
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npst)
            if gen is not None:
                gen.set_state(gstate)


def _is_oom(exc: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


class TrainLoop:
    """Runs ``task`` until ``max_steps`` total steps, writing everything into ``out_dir``.

    Args: ``task`` (built), ``stream`` (its DataStream), ``out_dir``, ``data`` (the data spec, for provenance),
    ``max_steps``; ``progress`` shows a tqdm bar; ``metrics_hook(step, G, device) -> dict`` adds metrics: at exactly
    the steps that are multiples of ``metrics_every`` (the setting, else the hook's own ``every`` attribute), or at
    every evaluation when neither is set. With ``task.ddp`` (several processes) only rank 0 writes files and runs
    the hook. Call ``restore(state)`` before ``run`` to resume.
    """

    def __init__(self, task: Task, stream, out_dir: Path, data: str, *, max_steps: int, progress: bool = True,
                 metrics_hook: MetricsHook | None = None):
        self.task, self.stream, self.out, self.data = task, stream, Path(out_dir), str(data)
        self.cfg = task.cfg
        self.max_steps, self.progress, self.metrics_hook = int(max_steps), progress, metrics_hook
        self.metrics_every = int(getattr(self.cfg, "metrics_every", 0) or getattr(metrics_hook, "every", 0) or 0)
        self.writer = task.ddp is None or task.ddp.is_writer
        self.step = 0
        self.good_step: int | None = None  # the step of the last checkpoint written (or resumed from)
        self.sampled_epoch = -1
        self.resumed = False
        self._grid_nrow: int | None = None
        self.last_metrics: dict[str, float] = {}
        self._stop = False
        if self.writer:
            (self.out / "samples").mkdir(parents=True, exist_ok=True)

    # -- state --------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Return the full training state (models, optimizers, RNGs, data position, step)."""
        t = self.task
        return {"kind": t.kind, "step": self.step, "config": self.cfg.model_dump(mode="json"),
                "stream": self.stream.state_dict(), "sampled_epoch": self.sampled_epoch,
                "modules": {k: m.state_dict() for k, m in t.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in t.optimizers.items()},
                "rng": capture_rng(), "gen": t.gen.get_state(),
                "encoder_mse": getattr(t, "encoder_mse", None), "last_metrics": dict(self.last_metrics),
                "task": t.extra_state()}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a state saved by ``state_dict`` (RNGs restored last, after everything was built)."""
        t = self.task
        for k, m in t.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in t.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        self.stream.load_state_dict(state["stream"])
        self.step = int(state["step"])
        self.sampled_epoch = int(state["sampled_epoch"])
        if state.get("encoder_mse") is not None:
            t.encoder_mse = state["encoder_mse"]
        self.last_metrics = dict(state.get("last_metrics") or {})
        t.load_extra_state(state.get("task") or {})
        t.gen.set_state(state["gen"])
        restore_rng(state["rng"])
        self.resumed = True
        self.good_step = self.step

    # -- pieces -------------------------------------------------------------------------------------------------
    def _grid_path(self) -> Path:
        return self.out / "samples" / f"grid_e{self.stream.epoch:04d}_s{self.step:07d}.png"

    def write_grid(self) -> Path | None:
        """Write the fixed-latent sample grid for the current step; returns its path (None for KINDs without)."""
        if not self.writer:
            self.sampled_epoch = self.stream.epoch
            return None
        self.task.set_train(False)
        try:
            with torch.no_grad(), preserved_rng(self.task.gen):
                got = self.task.sample_images()
        finally:
            self.task.set_train(True)
        self.sampled_epoch = self.stream.epoch
        if got is None:
            return None
        images, nrow = got
        self.task.cached_samples = images  # until the next step: evaluate and real_vs_fake.png reuse them
        self._grid_nrow = nrow
        return save_grid(images, self._grid_path(), nrow)

    def write_real_vs_fake(self) -> Path | None:
        """Write ``samples/real_vs_fake.png`` (real training images beside the fixed samples of this step) for
        KINDs with real samples; returns its path or None."""
        t = self.task
        if not self.writer or t.cached_samples is None:
            return None
        real = t.real_samples()
        if real is None:
            return None
        return save_real_vs_fake(real, t.cached_samples, self.out / "samples" / REAL_VS_FAKE_FILE, self._grid_nrow)

    def evaluate(self, task_eval: bool = True, hook: bool | None = None) -> dict[str, float]:
        """Run the task's evaluation (``task_eval``) and the metrics hook (``hook``; None: only when metrics have
        no schedule of their own); log one metrics.csv row and return the metrics."""
        t = self.task
        run_hook = (not self.metrics_every) if hook is None else hook
        t.set_train(False)
        try:
            with preserved_rng(t.gen):
                metrics = {}
                if task_eval:
                    with torch.no_grad():
                        metrics = dict(t.evaluate())
                G = t.generator()
                if run_hook and self.writer and self.metrics_hook is not None and G is not None:
                    extra = self.metrics_hook(self.step, G, t.device) or {}
                    metrics.update({str(k): float(v) for k, v in extra.items()})
        finally:
            t.set_train(True)
        self.last_metrics.update(metrics)
        if metrics:
            self.metrics_log.append(self.step, {"epoch": self.stream.epoch, **metrics})
        return metrics

    def checkpoint(self) -> Path:
        """Flush logs, then write the training state and export the model together (both or neither, atomically);
        returns the export. A model with non-finite weights is never written (UserError naming the last good
        checkpoint); a full disk is one UserError and leaves the previous checkpoint intact."""
        if not self.writer:
            return self.out / CHECKPOINT_FILE
        self.losses_log.flush()
        self.metrics_log.flush()
        bad = non_finite_module(self.task.modules)
        if bad is not None:
            raise self._diverged(f"the weights of {bad} are not finite")
        save_checkpoint_pair(self.out / STATE_FILE, self.state_dict(), self.out / CHECKPOINT_FILE,
                             lambda tmp: self.task.export(tmp, self.task.provenance(self.step, self.data)),
                             self._good_text())
        self.good_step = self.step
        return self.out / CHECKPOINT_FILE

    def _good_text(self) -> str:
        if self.good_step is None:
            return "no checkpoint was written before"
        return f"the last good checkpoint is {self.out / CHECKPOINT_FILE} (step {self.good_step})"

    def _diverged(self, what: str) -> UserError:
        resume = ", continue from it with --resume" if self.good_step is not None else ""
        return UserError(f"training stopped at step {self.step}: {what} (diverged); {self._good_text()}{resume} "
                         f"(try lower lr_g/lr_d)")

    def _check_finite(self, values: dict[str, float]) -> None:
        """Raise the divergence error when a logged value of this step is NaN or infinite."""
        for name, v in values.items():
            if v is not None and not math.isfinite(v):
                raise self._diverged(f"{name} is {v}")

    def write_plot(self) -> None:
        """Write ``loss_plot.png`` (losses with rolling means, and a panel per metric when there are any)."""
        if self.writer:
            plot_losses(self.losses_log.rows, self.task.plot_columns or self.task.loss_names, self.out / "loss_plot.png",
                        window=self.cfg.plot_window, title=f"{self.task.kind}: {self.step} steps",
                        metrics=self.metrics_log.rows)

    def write_gif(self) -> None:
        """Write ``evolution.gif`` from the saved sample grids."""
        if self.writer:
            save_evolution_gif(sorted((self.out / "samples").glob("grid_*.png")), self.out / "evolution.gif")

    def final_metrics(self) -> dict[str, float]:
        """Return the mean of each loss over the last ``plot_window`` logged rows plus the last evaluation."""
        rows = self.losses_log.rows[-self.cfg.plot_window:]
        out: dict[str, float] = {}
        for name in self.task.loss_names:
            vals = [r[name] for r in rows if r.get(name) is not None]
            if vals:
                out[name] = float(np.mean(vals))
        out.update(self.last_metrics)
        return out

    # -- the loop -----------------------------------------------------------------------------------------------
    def _stopping(self) -> bool:
        """Whether to stop now: after a Ctrl-C here (or, with several processes, on any rank)."""
        if self.task.ddp is not None:
            self._stop = self.task.ddp.any(self._stop)
        return self._stop

    def _on_sigint(self, signum, frame) -> None:
        if self._stop:
            raise KeyboardInterrupt
        self._stop = True

    def run(self) -> tuple[int, dict[str, float], Path]:
        """Train up to ``max_steps``; returns (steps done, final metrics, exported checkpoint path)."""
        cfg, task = self.cfg, self.task
        resume_step = self.step if self.resumed else None
        log = CSVLog if self.writer else MemoryLog
        self.losses_log = log(self.out / "losses.csv", ["epoch"] + task.loss_names, resume_step=resume_step)
        self.metrics_log = log(self.out / "metrics.csv", None, resume_step=resume_step)
        if not self.resumed:
            self.write_grid()
        bar = None
        if self.progress:
            bar = tqdm(total=self.max_steps, initial=min(self.step, self.max_steps), desc=task.kind, unit="step",
                       dynamic_ncols=True, mininterval=0.5)
        old_handler = None
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        last_ckpt = last_eval = last_grid_step = None
        checkpoint_path = self.out / CHECKPOINT_FILE
        try:
            while self.step < self.max_steps and not self._stopping():
                epoch = self.stream.epoch
                try:
                    values = task.step(self.stream)
                except Exception as exc:
                    if _is_oom(exc):
                        raise self._oom_error(exc) from None
                    raise
                self.step += 1
                step = self.step
                task.cached_samples = None
                self._check_finite(values)
                if step % cfg.log_every == 0:
                    self.losses_log.append(step, {"epoch": epoch, **values})
                if bar is not None:
                    bar.update(1)
                    if step % 10 == 0 or step == self.max_steps:
                        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items() if v is not None}, refresh=False)
                if (cfg.sample_every_epochs and self.stream.epoch > self.sampled_epoch
                        and self.stream.epoch % cfg.sample_every_epochs == 0):
                    self.write_grid()
                    last_grid_step = step
                due_eval = bool(cfg.eval_every) and step % cfg.eval_every == 0
                due_metrics = bool(self.metrics_every) and step % self.metrics_every == 0
                if due_eval or due_metrics:
                    self.evaluate(hook=due_metrics or None)
                    last_eval = step
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    checkpoint_path = self.checkpoint()
                    self.write_plot()
                    last_ckpt = step
        finally:
            if bar is not None:
                bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        interrupted = self._stop
        if last_grid_step != self.step and self.step > 0:
            self.write_grid()
        if last_eval != self.step:
            self.evaluate(hook=None if not self.metrics_every else False)
        plotted = last_ckpt == self.step  # the plot was drawn with this step's checkpoint
        if not plotted:
            checkpoint_path = self.checkpoint()
        self.losses_log.close()
        self.metrics_log.close()
        self.write_gif()
        if not plotted:
            self.write_plot()
        self.write_real_vs_fake()
        if self.writer:
            task.set_train(False)
            with torch.no_grad(), preserved_rng(task.gen):
                task.extra_outputs(self.out)
            task.set_train(True)
        if interrupted:
            raise KeyboardInterrupt(f"stopped at step {self.step}; the checkpoint is saved, continue with --resume")
        return self.step, self.final_metrics(), checkpoint_path

    def _oom_error(self, exc: BaseException) -> UserError:
        dev = self.task.device
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        bs = self.cfg.batch_size
        smaller = max(1, bs // 2)
        return UserError(f"out of memory on {dev} at batch_size={bs} and resolution={self.cfg.resolution}: "
                         f"try a smaller batch with --set batch_size={smaller} (or a smaller model, e.g. "
                         f"--set {self.task.smaller_model_hint}); progress up to the last checkpoint is kept, "
                         f"continue with --resume")
