"""Data-parallel StyleGAN2 on CPU (gloo, 2 processes): the loss curve stays within noise of a 1-process run with the
same global batch, only rank 0 writes, a 2-process run stopped half way and resumed equals an uninterrupted one, and
the batch must split over the processes."""
from __future__ import annotations

import csv

import pytest
import torch
from safetensors.torch import load_file

from ganlib.errors import ConfigError
from ganlib.train.run import train
from tests.train_data import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
N = 4


def _losses(d):
    with open(d / "losses.csv", newline="") as f:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]


def test_two_processes_track_one_and_resume_bit_for_bit(train_data, tmp_path):
    settings = tiny("stylegan2", conditional=False)
    one = train("stylegan2", train_data["folder"], tmp_path / "one", overrides=settings, max_steps=N,
                progress=False)
    two = train("stylegan2", train_data["folder"], tmp_path / "two", overrides=settings, max_steps=N,
                progress=False, nproc=2)
    assert two.steps == N and two.checkpoint == tmp_path / "two" / "checkpoint.safetensors"
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert [r["step"] for r in b] == list(range(1, N + 1))
    for ra, rb in zip(a, b):  # same data, same noise: only float summation order and mbstd groups differ
        assert abs(ra["loss_d"] - rb["loss_d"]) < 0.05 and abs(ra["loss_g"] - rb["loss_g"]) < 0.05
    assert a != b  # ... and they do differ: two processes really ran
    files = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "one").iterdir())  # rank 1 wrote nothing extra
    halves = tmp_path / "halves"
    train("stylegan2", train_data["folder"], halves, overrides=settings, max_steps=N // 2, progress=False, nproc=2)
    train("stylegan2", train_data["folder"], halves, overrides=settings, max_steps=N, resume=True, progress=False,
          nproc=2)
    assert (halves / "losses.csv").read_text() == (tmp_path / "two" / "losses.csv").read_text()
    wa, wb = load_file(str(halves / "checkpoint.safetensors")), load_file(str(tmp_path / "two" /
                                                                             "checkpoint.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_batch_must_split_and_other_kinds_refuse(train_data, tmp_path):
    with pytest.raises(ConfigError, match="batch_size 5 does not split over 2 processes"):
        train("stylegan2", train_data["folder"], tmp_path / "odd", overrides=tiny("stylegan2", batch_size=5),
              max_steps=1, progress=False, nproc=2)
    with pytest.raises(ConfigError, match="train stylegan2 only, not 'dcgan'"):
        train("dcgan", train_data["folder"], tmp_path / "dc", overrides=tiny("dcgan"), max_steps=1, progress=False,
              nproc=2)


def test_ranks_share_the_cores_without_oversubscribing():
    import os

    from ganlib.train.distributed import threads_per_rank
    cores = len(os.sched_getaffinity(0))
    assert threads_per_rank(cores) == 1 and threads_per_rank(4 * cores) == 1
    assert threads_per_rank(1) == min(cores, torch.get_num_threads())
