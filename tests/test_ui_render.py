"""The Render and Batch tabs' actions through gradio_client against a real studio: render options (format, codec,
fit) stored in the timeline and honoured, the plan shown before starting, cancel (no output left, the job row says
so), pruning old jobs, and the batch's seed cap."""
from __future__ import annotations

import os
import re
import time
import zipfile
from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from ganlib.errors import UserError
from studio.timeline import load_timeline
from studio.ui.prune import PrunePolicy
from studio.ui.jobs import MAX_BATCH
from tests.video_tools import probe_video
from ui_support import studio_server

SETTINGS = dict(model="builtin:default", fps=8, size="model", duration=0, interpolation="linear", loop=False,
                truncation=0.7, space="w", noise="fixed")
OPTIONS = dict(name="walk", format="mp4", codec="h264", crf=18, preset="ultrafast", fit="crop")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with studio_server(tmp_path_factory.mktemp("studio-render")) as srv:
        yield srv


def _timeline(client, **settings):
    """Two keyframes (at 0 and 2 s), then ``settings``: fps 1 by default, so 3 frames."""
    client.predict(**SETTINGS, api_name="/apply_settings")
    client.predict(seed=3, keyframe_truncation=0.7, api_name="/add_keyframe")
    client.predict(seed=7, keyframe_truncation=0.7, api_name="/add_keyframe")
    client.predict(**{**SETTINGS, "fps": 1, **settings}, api_name="/apply_settings")


def _options(client, **options):
    return client.predict(**dict(OPTIONS, **options), api_name="/render_options")


def _job(message: str) -> str:
    return re.search(r"job `([^`]+)`", message).group(1)


def test_format_codec_and_fit_are_rendered_and_saved(server):
    c = server.client()
    names = set(c.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/render_options", "/render_plan", "/render", "/cancel_render", "/prune", "/batch_count",
            "/cancel_batch"} <= names
    _timeline(c, size="48x32")
    out = _options(c, format="mov", codec="prores", crf=30, fit="pad")
    plan = out[-1]
    assert "3 frames" in plan and "3.00 s at 1 fps" in plan and "48×32 (pad)" in plan and "ProRes" in plan
    assert out[1]["value"] == "prores" and {"h264", "h265", "prores"} == {v for _, v in out[1]["choices"]}
    assert out[2]["interactive"] is False  # ProRes has no CRF
    shown = c.predict(api_name="/render_plan")  # what the Render tab shows when it is selected
    assert shown[0]["value"] == "mov" and shown[1]["value"] == "prores" and shown[-1] == plan
    video, files, message, _ = c.predict(name="walk", api_name="/render")
    folder = server.output_dir / _job(message)
    info = probe_video(folder / "walk.mov")
    assert (info["codec"], info["width"], info["height"], info["n_frames"]) == ("prores", 48, 32, 3)
    saved = load_timeline(folder / "walk.yaml")
    assert (saved.output.fit, saved.output.codec) == ("pad", "prores")
    assert Path(saved.output.path) == folder / "walk.mov"  # relative to the YAML: `studio render` writes beside it
    # a codec the format cannot hold falls back to its default; GIF has no codec and no player
    out = _options(c, format="webm", codec="h265", crf=60)
    assert out[1]["value"] == "vp9" and "VP9" in out[-1]
    out = _options(c, format="gif")
    assert out[1]["choices"] == [] and "GIF" in out[-1]
    with pytest.raises(AppError, match="not in the list of choices"):  # Gradio checks the choices
        _options(c, format="avi")


def test_cancel_stops_the_render_and_keeps_nothing(server):
    c = server.client()
    _timeline(c, fps=8, duration=120)  # 961 frames: far longer than the test waits
    _options(c)
    job = c.submit(name="long", api_name="/render")
    deadline = time.time() + 120
    while not any(r[2] == "running" for r in c.predict(api_name="/jobs")["data"] if "long" in r[1]):
        assert time.time() < deadline and not job.done(), "the render never started"
        time.sleep(0.05)
    said = c.predict(api_name="/cancel_render")  # waits for the job to stop, then says what the render says
    video, files, message, rows = job.result(timeout=120)
    assert video is None and "Cancelled" in message and said == message
    job_id = _job(message)
    assert [r[2] for r in rows["data"] if r[0] == job_id] == ["cancelled"]
    assert not (server.output_dir / job_id).exists()  # no output file, no chunk folder, no YAML
    assert server.client().predict(api_name="/cancel_render") == "Nothing to cancel"  # other sessions: nothing


def _job_folder(root: Path, job_id: str, age_s: float, size: int = 1000) -> Path:
    folder = root / job_id
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "frame.png").write_bytes(b"x" * size)
    past = time.time() - age_s
    for p in (folder / "sub" / "frame.png", folder / "sub", folder):
        os.utime(p, (past, past))
    return folder


def test_prune_removes_old_jobs_but_nothing_else(server):
    c = server.client()
    old = _job_folder(server.output_dir, "20250101-000000-0000000a", 3 * 3600)
    new = _job_folder(server.output_dir, "20250101-000000-0000000b", 60)
    other = _job_folder(server.output_dir, "keep-me", 3 * 3600)  # not a job folder: never touched
    cached = _job_folder(server.output_dir / "_gradio", "0123abcd", 2 * 3600)  # a Gradio copy, an hour old
    status, rows = c.predict(2, 5, api_name="/prune")
    assert "removed 1 job folder and 1 cached preview" in status
    assert not old.exists() and not cached.exists() and new.is_dir() and other.is_dir()
    c.predict(72, 0, api_name="/prune")  # over the size: the oldest go first, down to running jobs
    assert not new.exists() and other.is_dir()
    c.predict(72, 5, api_name="/prune")
    with pytest.raises(AppError, match="less than minimum"):  # the field's minimum, checked by Gradio
        c.predict(-1, 5, api_name="/prune")
    with pytest.raises(UserError, match="--keep-gb"):
        PrunePolicy(keep_hours=1, keep_gb=float("nan"))


def test_batch_counts_and_caps_seed_ranges(server):
    c = server.client()
    assert c.predict("0-9, 20", api_name="/batch_count") == "11 images"
    huge = c.predict("0-999999999", api_name="/batch_count")
    assert "1,000,000,000 images" in huge and f"at most {MAX_BATCH:,}" in huge
    with pytest.raises(AppError, match=f"at most {MAX_BATCH:,} per batch"):
        c.predict("builtin:default", "0-999999999", 0.7, api_name="/batch")
    zpath, _, status = c.predict("builtin:default", "0-2", 0.7, api_name="/batch")
    with zipfile.ZipFile(zpath) as zf:
        assert len(zf.namelist()) == 3
    assert c.predict(api_name="/cancel_batch") == "Nothing to cancel"
