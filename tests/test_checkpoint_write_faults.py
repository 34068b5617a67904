"""A checkpoint write that hits a file-size limit (EFBIG, which torch.save's own path writer reports only as
"unexpected pos") is one UserError line naming the file, and the previous checkpoint pair stays as it was."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import json, resource, signal, sys
from pathlib import Path
import torch
from ganlib.errors import UserError
from ganlib.train.checkpointing import load_state, save_checkpoint_pair

out = Path(sys.argv[1])
def export(tmp):
    Path(tmp).write_bytes(b"model" * 100)
save_checkpoint_pair(out / "train_state.pt", {"step": 1, "w": torch.zeros(10)}, out / "checkpoint.bin", export,
                     "the last good checkpoint is step 1")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    save_checkpoint_pair(out / "train_state.pt", {"step": 2, "w": torch.zeros(1 << 18)}, out / "checkpoint.bin",
                         export, "the last good checkpoint is step 1")
    message = None
except UserError as exc:
    message = str(exc)
print(json.dumps({"message": message, "step": load_state(out / "train_state.pt")["step"]}))
"""


def test_file_size_limit_during_checkpoint_is_one_line_and_keeps_the_previous_pair(tmp_path):
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["message"] is not None and "\n" not in result["message"]
    assert "file too large" in result["message"] and "train_state.pt" in result["message"]
    assert "step 1" in result["message"] and "untouched" in result["message"]
    assert result["step"] == 1  # the earlier state file still loads and is the earlier one
    assert (tmp_path / "checkpoint.bin").read_bytes() == b"model" * 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.bin", "train_state.pt"]  # no temp left
