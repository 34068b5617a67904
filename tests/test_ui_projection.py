"""Explore's "Your own picture" panel through a real studio server: upload a photo, project it (progress and live
previews), add the projection as a keyframe, and the keyframe previews as the projection."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from studio.timeline import parse_timeline
from studio.ui.context import Studio
from studio.ui.jobs import JobManager
from studio.ui.models import ModelCatalog
from studio.ui.tabs.projection import projection_updates
from ui_support import make_ui_model, studio_server

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with studio_server(tmp_path_factory.mktemp("studio")) as srv:
        yield srv


def test_updates_stream_previews_then_write_the_latent(tmp_path, monkeypatch):
    make_ui_model(tmp_path / "builtin", "default")
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(tmp_path / "builtin"))
    out = tmp_path / "out"
    ctx = Studio(catalog=ModelCatalog(None, out / "uploads"), jobs=JobManager(out, device="cpu"), output_dir=out,
                 device="cpu")
    photo = np.random.RandomState(0).randint(0, 255, (50, 80, 3)).astype(np.uint8)
    updates = list(projection_updates(ctx, "builtin:default", photo, 20, "w+"))
    assert [u[3] for u in updates] == [0.0, 0.5, 1.0, 1.0]  # a preview every 10 steps, then the result
    assert all(u[0].shape == (64, 128, 3) for u in updates) and all(u[2] is None for u in updates[:-1])
    assert "centre-cropped 80x50 to 50x50" in updates[0][1]
    path = Path(updates[-1][2])
    assert path.parent == ctx.latent_dir and "PSNR" in updates[-1][1]
    with np.load(path, allow_pickle=False) as z:
        assert z["w"].shape == (1, 10, 128)
    with pytest.raises(Exception, match="upload a photo"):
        list(projection_updates(ctx, "builtin:default", None, 20, "w+"))


def test_project_photo_then_add_as_keyframe(server, tmp_path):
    c = server.client()
    photo = tmp_path / "me.png"
    Image.fromarray(np.random.RandomState(1).randint(0, 255, (64, 64, 3)).astype(np.uint8)).save(photo)
    with pytest.raises(AppError, match="project a photo first"):
        c.predict(api_name="/add_projection")
    preview, status = c.predict(spec="builtin:default", photo=handle_file(str(photo)), steps=10, space="w",
                                api_name="/project_photo")
    assert "PSNR" in status
    shown = np.asarray(Image.open(preview).convert("RGB"))
    assert shown.shape == (64, 128, 3)
    r = c.predict(api_name="/add_projection")  # the session's last projection
    latent = Path(parse_timeline(r[1]).keyframes[0].latent)
    assert latent.parent == server.output_dir / "latents" and latent.name.startswith("projection-")
    frame, _ = c.predict(frame=0, api_name="/preview")
    # the keyframe previews as the panel showed the projection (the right half); the preview's float64 frame
    # planning may round one channel of a pixel the other way (measured: 1 of 12288 values, by 1)
    diff = np.abs(np.asarray(Image.open(frame).convert("RGB")).astype(int) - shown[:, 64:])
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
