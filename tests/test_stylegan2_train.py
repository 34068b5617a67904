"""``studio train stylegan2`` on an image folder: trains, exports a checkpoint that loads and renders."""
from __future__ import annotations

from tests.conftest import run_cli


def test_stylegan2_trains_on_image_folder(tmp_path):
    from ganlib.checkpoints import load_generator
    from ganlib.data.procedural import write_image_folder
    import torch
    data = write_image_folder(tmp_path / "data", 16, size=32, seed=0)
    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "stylegan2", "--data", str(data), "--out", str(out),
                                "--set", "resolution=32", "--set", "batch_size=4", "--set", "channel_base=256",
                                "--set", "channel_max=16", "--set", "z_dim=16", "--set", "w_dim=16",
                                "--max-steps", "2", "--quiet")
    assert code == 0, err
    assert "2 steps" in stdout
    G = load_generator(out / "network-final.safetensors").G
    with torch.no_grad():
        img = G(torch.randn(2, 16))
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()
    assert (out / "log.csv").read_text().count("\n") == 3  # header + 2 steps
