"""Training faults (issue 19): a non-finite loss stops the run with the step and the last good checkpoint named (exit
2, one line, the good checkpoint untouched), and a full disk while checkpointing is one line that leaves the previous
checkpoint intact (ENOSPC injected into the write)."""
from __future__ import annotations

import errno

import pytest
import torch

from ganlib.checkpoints import load_generator
from ganlib.errors import UserError
from ganlib.train import checkpointing
from ganlib.train.gan_tasks import GANTask
from ganlib.train.run import train
from tests.conftest import run_cli
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _poison_after(monkeypatch, step: int) -> None:
    """Make G's weights NaN once ``step`` training steps are done (an injected divergence)."""
    original = GANTask.step
    count = {"n": 0}

    def step_then_poison(self, stream):
        out = original(self, stream)
        count["n"] += 1
        if count["n"] == step:
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("nan"))
        return out

    monkeypatch.setattr(GANTask, "step", step_then_poison)


def _good_run(train_data, out) -> tuple[bytes, bytes]:
    """Train 2 steps into ``out`` (checkpointed at step 2); return the checkpoint's and the state's bytes."""
    train("dcgan", train_data["folder"], out, overrides=tiny("dcgan", checkpoint_every=2), max_steps=2,
          progress=False)
    return (out / "checkpoint.safetensors").read_bytes(), (out / "train_state.pt").read_bytes()


def test_non_finite_loss_stops_and_keeps_the_good_checkpoint(train_data, tmp_path, monkeypatch):
    out = tmp_path / "run"
    good, good_state = _good_run(train_data, out)
    _poison_after(monkeypatch, 1)  # step 3's weights are NaN, so step 4's losses are
    code, _, err = run_cli("train", "dcgan", "--data", str(train_data["folder"]), "--out", str(out), "--resume",
                           "--max-steps", "6", "--quiet")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "training stopped at step 4" in lines[0] and "is nan" in lines[0]
    assert f"{out / 'checkpoint.safetensors'} (step 2)" in lines[0]
    assert (out / "checkpoint.safetensors").read_bytes() == good
    assert (out / "train_state.pt").read_bytes() == good_state
    G = load_generator(out / "checkpoint.safetensors").G
    assert all(torch.isfinite(p).all() for p in G.parameters())


def test_non_finite_weights_are_never_checkpointed(train_data, tmp_path, monkeypatch):
    _poison_after(monkeypatch, 2)  # the losses of step 2 are finite, its weights are not
    with pytest.raises(UserError) as exc:
        train("dcgan", train_data["folder"], tmp_path / "run", overrides=tiny("dcgan", checkpoint_every=2),
              max_steps=2, progress=False)
    assert "training stopped at step 2" in str(exc.value) and "no checkpoint was written before" in str(exc.value)
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_disk_full_while_checkpointing_keeps_the_previous_one(train_data, tmp_path, monkeypatch):
    out = tmp_path / "run"
    good, good_state = _good_run(train_data, out)
    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # the temporary file is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpointing.torch, "save", full_disk)
    code, _, err = run_cli("train", "dcgan", "--data", str(train_data["folder"]), "--out", str(out), "--resume",
                           "--max-steps", "4", "--quiet")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "disk full" in lines[0] and "train_state.pt" in lines[0] and "(step 2)" in lines[0]
    assert (out / "checkpoint.safetensors").read_bytes() == good
    assert (out / "train_state.pt").read_bytes() == good_state
    assert not [p.name for p in out.iterdir() if ".part" in p.name]  # no temporary files left behind
