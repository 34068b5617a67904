"""Reproducibility: the same seed gives the same loss CSV; a run stopped half way (or interrupted with Ctrl-C) and
resumed equals an uninterrupted one bit for bit (CPU); evaluation and the metrics hook never change the trajectory."""
from __future__ import annotations

import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from ganlib.errors import UserError
from ganlib.train.run import train
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
N = 6  # 4 batches per epoch: the halves meet mid-epoch 2 and the run crosses epoch boundaries


def _same_weights(a, b) -> bool:
    wa, wb = load_file(str(a / "checkpoint.safetensors")), load_file(str(b / "checkpoint.safetensors"))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _csv(d):
    return (d / "losses.csv").read_text()


@pytest.mark.parametrize("kind,data,extra", [
    ("dcgan", "folder", {"eval_every": 2}),
    ("wgan-gp", "hdf5", {}),                      # gradient-penalty noise, 2 critic batches per step
    ("classifier", "zip", {"dropout": 0.5}),     # dropout draws from the global torch RNG
    ("stylegan2", "folder", {"ada_p": 0.3, "ada_interval": 1, "ada_kimg": 0.05}),  # ADA p moving, lazy regs,
])                                                                                # style mixing, EMA, noise
def test_resume_equals_uninterrupted(kind, data, extra, train_data, tmp_path):
    settings = tiny(kind, **extra)
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    train(kind, train_data[data], straight, overrides=settings, max_steps=N, progress=False)
    first = train(kind, train_data[data], halves, overrides=settings, max_steps=N // 2, progress=False)
    assert first.steps == N // 2
    second = train(kind, train_data[data], halves, overrides=settings, max_steps=N, resume=True, progress=False)
    assert second.steps == N
    assert _csv(straight) == _csv(halves)
    assert _same_weights(straight, halves)
    sa = torch.load(straight / "train_state.pt", weights_only=True)
    sb = torch.load(halves / "train_state.pt", weights_only=True)
    for name, module in sa["modules"].items():
        assert all(torch.equal(v, sb["modules"][name][k]) for k, v in module.items())
    assert sa["stream"] == sb["stream"]


def test_same_seed_same_csv_and_other_seed_differs(train_data, tmp_path):
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train("dcgan-mod", train_data["folder"], tmp_path / name, overrides=tiny("dcgan-mod", seed=seed),
              max_steps=4, progress=False)
        runs.append(_csv(tmp_path / name))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_metrics_hook_logged_and_harmless(train_data, tmp_path):
    calls = []

    def hook(step, G, device):
        calls.append((step, G.training))
        torch.randn(100)  # a hook that uses the global RNG must not change training
        return {"fake_fid": float(step) * 0.5}

    settings = tiny("dcgan", eval_every=2)
    res = train("dcgan", train_data["folder"], tmp_path / "hooked", overrides=settings, max_steps=4,
                progress=False, metrics_hook=hook)
    train("dcgan", train_data["folder"], tmp_path / "plain", overrides=settings, max_steps=4, progress=False)
    assert calls == [(2, False), (4, False)]  # at eval_every and at the end, generator in eval mode
    assert res.final_metrics["fake_fid"] == 2.0
    assert "fake_fid" in (tmp_path / "hooked" / "metrics.csv").read_text().splitlines()[0]
    assert _csv(tmp_path / "hooked") == _csv(tmp_path / "plain")


@pytest.mark.parametrize("kind", ["dcgan", "stylegan2"])
def test_ctrl_c_checkpoints_and_resumes_without_loss(kind, train_data, tmp_path):
    settings = tiny(kind, eval_every=1)

    def interrupt_at_2(step, G, device):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during step 3
        return {}

    with pytest.raises(KeyboardInterrupt):
        train(kind, train_data["folder"], tmp_path / "cut", overrides=settings, max_steps=N, progress=False,
              metrics_hook=interrupt_at_2)
    state = torch.load(tmp_path / "cut" / "train_state.pt", weights_only=True)
    assert 2 <= state["step"] < N
    train(kind, train_data["folder"], tmp_path / "cut", overrides=settings, max_steps=N, resume=True,
          progress=False)
    train(kind, train_data["folder"], tmp_path / "whole", overrides=settings, max_steps=N, progress=False)
    assert _csv(tmp_path / "cut") == _csv(tmp_path / "whole")
    assert _same_weights(tmp_path / "cut", tmp_path / "whole")


def test_existing_run_needs_resume(train_data, tmp_path):
    out = tmp_path / "run"
    train("dcgan", train_data["folder"], out, overrides=tiny("dcgan"), max_steps=1, progress=False)
    with pytest.raises(UserError, match="--resume"):
        train("dcgan", train_data["folder"], out, overrides=tiny("dcgan"), max_steps=2, progress=False)
    with pytest.raises(UserError, match="'dcgan' run"):
        train("wgan", train_data["folder"], out, overrides=tiny("wgan"), max_steps=2, resume=True, progress=False)
    # --resume on an empty folder starts a new run
    res = train("dcgan", train_data["folder"], tmp_path / "fresh", overrides=tiny("dcgan"), max_steps=1,
                resume=True, progress=False)
    assert res.steps == 1


@pytest.mark.parametrize("kind,hint", [("dcgan", "ngf=32"), ("stylegan2", "channel_max=64")])
def test_out_of_memory_becomes_advice(kind, hint, train_data, tmp_path, monkeypatch):
    from ganlib.train.gan_tasks import GANTask
    from ganlib.train.stylegan2_task import StyleGAN2Task
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError

    def boom(self, stream):
        raise oom("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(StyleGAN2Task if kind == "stylegan2" else GANTask, "step", boom)
    with pytest.raises(UserError, match=rf"out of memory .* --set batch_size=2 .*--set {hint}"):
        train(kind, train_data["folder"], tmp_path / "oom", overrides=tiny(kind), max_steps=2, progress=False)
