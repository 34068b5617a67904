"""The CPU inference thread policy (ganlib/ops/cpu_threads.py): free cores under load, the user's choice stands."""
from __future__ import annotations

import pytest
import torch

from ganlib.errors import UserError
from ganlib.ops import cpu_threads


def test_free_threads_leaves_the_loaded_cores():
    assert cpu_threads.free_threads(2, 0.2) == 2
    assert cpu_threads.free_threads(2, 0.8) == 1
    assert cpu_threads.free_threads(2, 12.0) == 1
    assert cpu_threads.free_threads(16, 3.4) == 13
    assert cpu_threads.free_threads(4, -1.0) == 4


@pytest.fixture()
def clean_env(monkeypatch):
    for name in ("STUDIO_THREADS",) + cpu_threads.THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cpu_threads, "_AT_IMPORT", torch.get_num_threads())
    old = torch.get_num_threads()
    yield monkeypatch
    torch.set_num_threads(old)


def test_the_users_choice_stands(clean_env):
    clean_env.setattr(cpu_threads, "_load", lambda: 0.0)
    assert cpu_threads.inference_threads() is None  # by default torch's choice: renders round alike run to run
    clean_env.setenv("STUDIO_THREADS", "auto")
    assert cpu_threads.inference_threads() == cpu_threads.cores()
    clean_env.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads.inference_threads() is None
    clean_env.delenv("OMP_NUM_THREADS")
    clean_env.setattr(cpu_threads, "_AT_IMPORT", torch.get_num_threads() + 1)  # set_num_threads since import
    assert cpu_threads.inference_threads() is None
    clean_env.delenv("STUDIO_THREADS")
    clean_env.setenv("STUDIO_THREADS", "3")
    assert cpu_threads.inference_threads() == 3
    clean_env.setenv("STUDIO_THREADS", "torch")
    assert cpu_threads.inference_threads() is None
    clean_env.setenv("STUDIO_THREADS", "0")
    with pytest.raises(UserError, match="STUDIO_THREADS"):
        cpu_threads.inference_threads()


def test_apply_decides_once_per_process(clean_env):
    clean_env.setattr(cpu_threads, "_DONE", [])
    clean_env.setenv("STUDIO_THREADS", "1")
    assert cpu_threads.apply_inference_threads() == 1 == torch.get_num_threads()
    clean_env.setenv("STUDIO_THREADS", "2")
    assert cpu_threads.apply_inference_threads() == 1  # a long job keeps one setting
