"""Helpers for the studio UI tests: a small random-weights 64 px StyleGAN2 and a real studio server on loopback.

Not a test module; imported by tests/test_ui_*.py. Nothing here depends on the trained default model.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from gradio_client import Client

from ganlib.checkpoints import save_generator
from ganlib.networks.stylegan2 import Generator
from studio.ui.app import build_app, launch

UI_KWARGS = dict(z_dim=128, w_dim=128, img_resolution=64, img_channels=3, mapping_kwargs=dict(num_layers=4),
                 synthesis_kwargs=dict(channel_base=2048, channel_max=128))


def make_ui_model(folder: Path, name: str = "default", seed: int = 0) -> Path:
    """Save a 64 px random-weights StyleGAN2 (non-zero noise strengths and w_avg) as ``folder/name.safetensors``."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    G = Generator(**UI_KWARGS).eval()
    with torch.no_grad():
        for pname, p in G.named_parameters():
            if pname.endswith("noise_strength"):
                p.fill_(0.1)
        G.mapping.w_avg.copy_(torch.randn(G.w_dim) * 0.5)
    return save_generator(folder / f"{name}.safetensors", G, "stylegan2", UI_KWARGS, {"trained_by": "tests"})


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StudioServer:
    """A launched studio: its URL, folders and Blocks."""

    url: str
    output_dir: Path
    models_dir: Path
    builtin_dir: Path
    app: object

    def client(self, **kwargs):
        """A fresh gradio_client.Client (its own session) downloading into a private folder."""
        dl = self.output_dir.parent / "client-downloads" / f"{time.time_ns()}"
        dl.mkdir(parents=True)
        kwargs.setdefault("httpx_kwargs", {"timeout": 120})  # a shared, loaded machine answers slowly, not wrongly
        return Client(self.url, verbose=False, download_files=str(dl), analytics_enabled=False, **kwargs)


@contextlib.contextmanager
def studio_server(root: Path, auth: tuple[str, str] | None = None, shipped_model: Path | None = None):
    """Start a studio on 127.0.0.1 (random free port) over a 64 px test model; yield a StudioServer; close it.

    ``STUDIO_MODELS_DIR`` points at ``root/builtin`` (so ``builtin:default`` is the test model, or a copy of
    ``shipped_model`` when given) for the duration.
    """
    builtin = root / "builtin"
    if shipped_model is not None:
        builtin.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped_model, builtin / "default.safetensors")
    else:
        make_ui_model(builtin, "default")
    models = root / "models"
    make_ui_model(models, "other", seed=1)
    out = root / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDIO_MODELS_DIR", str(builtin))
        mp.setenv("GRADIO_TEMP_DIR", str(out / "_gradio"))
        app = build_app(models, out, device="cpu")
        last_error = None
        for _ in range(5):
            port = free_port()
            try:
                launch(app, host="127.0.0.1", port=port, auth=auth, prevent_thread_lock=True)
                break
            except OSError as exc:  # the port was taken in between: try another
                last_error = exc
        else:
            raise RuntimeError(f"could not start the studio: {last_error}")
        try:
            yield StudioServer(url=f"http://127.0.0.1:{port}/", output_dir=out.resolve(), models_dir=models,
                               builtin_dir=builtin, app=app)
        finally:
            app.close()
