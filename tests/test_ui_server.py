"""The studio as its users reach it: gradio_client against a real server on 127.0.0.1, raw HTTP for the file routes.

One server (random free port, 64 px random-weights test model) serves the whole module. Every action is called
through its ``api_name``; a timeline saved in the UI is rendered again with ``studio render`` and compared bit for
bit; four renders run concurrently; path-traversal attempts and a malicious pickle are refused.
"""
from __future__ import annotations

import http.client
import json
import os
import pickle
import re
import threading
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import studio.ui.app as app_module
from conftest import run_cli
from studio.timeline import parse_timeline
from tests.video_tools import probe_video, read_video_frames
from ui_support import make_ui_model, studio_server

SETTINGS = dict(model="builtin:default", fps=8, size="model", duration=0, interpolation="cubic", loop=False,
                truncation=0.7, space="w", noise="fixed")
YAML = 1  # position of the timeline YAML in the outputs of the editing actions


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with studio_server(tmp_path_factory.mktemp("studio")) as srv:
        yield srv


def _yaml(result) -> str:
    return result[YAML]


def _timeline(result):
    return parse_timeline(_yaml(result))


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _job_id(message: str) -> str:
    return re.search(r"job `([^`]+)`", message).group(1)


def _settings(client, **settings):
    """Set the session's timeline-wide settings (SETTINGS, with ``settings`` changed); return the outputs."""
    return client.predict(**dict(SETTINGS, **settings), api_name="/apply_settings")


def _two_keyframes(client, seeds=(3, 7), **settings):
    _settings(client, **settings)
    psi = settings.get("truncation", SETTINGS["truncation"])
    client.predict(seed=seeds[0], keyframe_truncation=psi, api_name="/add_keyframe")
    return client.predict(seed=seeds[1], keyframe_truncation=0.5, api_name="/add_keyframe")


# ------------------------------------------------------------------------------------------------ the API
def test_every_action_has_an_api_name(server):
    names = set(server.client().view_api(print_info=False, return_format="dict")["named_endpoints"])
    expected = {"/select_model", "/refresh_models", "/upload_model", "/gallery", "/gallery_prev", "/gallery_next",
                "/add_keyframe", "/add_latent", "/select_keyframe", "/update_keyframe", "/move_up", "/move_down",
                "/delete_keyframe", "/set_directions", "/reset_directions", "/preview", "/preview_keyframe",
                "/apply_settings", "/save_timeline", "/load_timeline", "/load_yaml", "/render", "/jobs", "/batch"}
    assert expected <= names, expected - names


def test_models_and_gallery_paging(server):
    c = server.client()
    assert "64×64" in c.predict("builtin:default", api_name="/select_model")
    other = str(server.models_dir.resolve() / "other.safetensors")
    choices = c.predict("builtin:default", api_name="/refresh_models")
    assert "64×64" in c.predict(other, api_name="/select_model")
    page0 = c.predict("builtin:default", 0, 0.7, api_name="/gallery")
    assert [g["caption"] for g in page0] == [f"seed {s}" for s in range(16)]
    assert _pixels(page0[0]["image"]).shape == (64, 64, 3)
    page, images = c.predict("builtin:default", 0, 0.7, api_name="/gallery_next")
    assert page == 1 and [g["caption"] for g in images][:2] == ["seed 16", "seed 17"]
    page, low = c.predict("builtin:default", 1, 0.0, api_name="/gallery_prev")
    assert page == 0 and low[0]["caption"] == "seed 0"
    assert not np.array_equal(_pixels(low[0]["image"]), _pixels(page0[0]["image"]))  # truncation is applied
    assert [label for label, _ in choices["choices"]] == ["builtin:default", "other.safetensors  (models folder)"]


def test_keyframe_editing_through_the_api(server):
    c = server.client()
    _two_keyframes(c)
    r = c.predict(seed=11, keyframe_truncation=0.7, api_name="/add_keyframe")
    tl = _timeline(r)
    assert [(k.time, k.seed, k.truncation) for k in tl.keyframes] == [(0, 3, None), (2, 7, 0.5), (4, 11, None)]
    assert r[-1].startswith("Added seed 11 at 4 s")
    r = c.predict(index=2, time_s=1.0, seed=12, own_truncation=True, keyframe_truncation=0.9,
                  ease="in-out", api_name="/update_keyframe")
    tl = _timeline(r)
    assert [(k.time, k.seed) for k in tl.keyframes] == [(0, 3), (1, 12), (2, 7)]
    assert tl.keyframes[1].truncation == 0.9 and tl.keyframes[1].ease == "in-out"
    assert r[3] == 1  # the editor follows the keyframe to its new place
    r = c.predict(index=1, api_name="/move_up")
    assert [(k.time, k.seed) for k in _timeline(r).keyframes] == [(0, 12), (1, 3), (2, 7)]
    r = c.predict(index=1, api_name="/move_down")
    assert [(k.time, k.seed) for k in _timeline(r).keyframes] == [(0, 12), (1, 7), (2, 3)]
    r = c.predict(index=0, api_name="/delete_keyframe")
    assert [k.seed for k in _timeline(r).keyframes] == [7, 3]
    r = c.predict(1, api_name="/select_keyframe")
    assert r[3:6] == (1, 2.0, 3)
    r = _settings(c, fps=12, loop=True)
    assert "fps: 12.0" in r[0] and "loop: true" in r[0]
    r = c.predict(index=0, time_s=2.0, seed=7, own_truncation=False, keyframe_truncation=0.7, ease="linear",
                  api_name="/update_keyframe")
    assert "**Time (s)**: two keyframes would be at 2 s" in r[-2]  # refused beside the field, nothing raised
    assert "two keyframes would be at 2 s" in r[-1]  # and in the status line


def test_direction_sliders_are_stored_and_change_the_frame(server):
    c = server.client()
    _two_keyframes(c)
    before = _pixels(c.predict(index=1, api_name="/preview_keyframe")[0])
    r = c.predict(index=1, sefa0=2.0, sefa1=0, sefa2=0, sefa3=-1.5, sefa4=0, sefa5=0, sefa6=0, sefa7=0,
                  api_name="/set_directions")
    assert "{time: 2.0, seed: 7, truncation: 0.5, directions: {sefa0: 2.0, sefa3: -1.5}}" in r[1]
    after, info, frame = c.predict(index=1, api_name="/preview_keyframe")
    assert frame == 16 and not np.array_equal(before, _pixels(after))
    r = c.predict(index=1, api_name="/reset_directions")
    assert "directions" not in _yaml(r)


def test_preview_of_any_frame(server):
    c = server.client()
    _two_keyframes(c)
    for frame in (0, 3, 9, 16):
        img, info = c.predict(frame=frame, api_name="/preview")
        assert _pixels(img).shape == (64, 64, 3) and f"frame **{frame}** of 17" in info


def test_saved_timeline_renders_identically_with_the_cli(server, tmp_path):
    c = server.client()
    s = dict(SETTINGS, loop=True, noise="loop", interpolation="slerp")
    _two_keyframes(c, **s)
    c.predict(seed=11, keyframe_truncation=0.7, api_name="/add_keyframe")
    c.predict(index=1, sefa0=2.0, sefa1=0, sefa2=0, sefa3=-1.5, sefa4=0, sefa5=0, sefa6=0, sefa7=0,
              api_name="/set_directions")
    saved, text, status = c.predict(name="walk", api_name="/save_timeline")
    assert Path(saved).name == "walk.yaml" and "studio render" in status
    assert Path(saved).read_text().strip() == text.strip()
    assert "directions: {sefa0: 2.0, sefa3: -1.5}" in text
    # one frame: the UI preview against the CLI's PNG of that frame
    ui_img, _ = c.predict(frame=13, api_name="/preview")
    frames = tmp_path / "frames"
    code, _, err = run_cli("render", saved, "--frames", str(frames), "--batch", "1", "--device", "cpu", "--quiet")
    assert code == 0, err
    assert _pixels(ui_img).tobytes() == _pixels(frames / "frame_000013.png").tobytes()
    # the whole video: the UI render against `studio render` of the saved file
    video, files, message, _ = c.predict(name="walk", api_name="/render")
    server_mp4 = server.output_dir / _job_id(message) / "walk.mp4"
    cli_mp4 = tmp_path / "cli.mp4"
    code, _, err = run_cli("render", saved, "--out", str(cli_mp4), "--device", "cpu", "--quiet")
    assert code == 0, err
    ui_frames = list(read_video_frames(server_mp4))
    cli_frames = list(read_video_frames(cli_mp4))
    assert len(ui_frames) == len(cli_frames) == 48  # loop: 3 keyframes 2 s apart, closing segment 2 s, 8 fps
    assert all(a.tobytes() == b.tobytes() for a, b in zip(ui_frames, cli_frames))
    assert server_mp4.read_bytes() == cli_mp4.read_bytes() == Path(video).read_bytes()


def test_load_timeline_file_and_yaml_text(server, tmp_path):
    c = server.client()
    f = tmp_path / "mine.yaml"
    f.write_text("model: builtin:default\nfps: 10\nsize: 128\ninterpolation: linear\nloop: true\nnoise: random\n"
                 "keyframes:\n  - {time: 0, seed: 5}\n  - {time: 1.5, seed: 6, ease: in}\n")
    r = c.predict(handle_file(str(f)), api_name="/load_timeline")
    assert r[-10:-1] == ("builtin:default", 10.0, "128", 0.0, "linear", True, 1.0, "w", "random")
    assert "Loaded **mine.yaml** — 2 keyframes · 30 frames" in r[-11]
    img, info = c.predict(frame=3, api_name="/preview")  # the loaded timeline's settings
    assert _pixels(img).shape == (128, 128, 3)
    r = c.predict("keyframes: [{time: 0, seed: 1}, {time: 3, seed: 2}]\nfps: 5\n", api_name="/load_yaml")
    assert r[-9] == 5.0 and "16 frames" in r[-11]
    r = c.predict("fps: 5\nkeyframes: [{tim: 0, seed: 1}]\n", api_name="/load_yaml")
    assert re.search(r"timeline YAML:2: 'keyframes\[0\].tim'.*did you mean 'time'", r[-11])  # the status line
    assert "did you mean 'time'" in r[-1]  # beside the YAML editor


def test_timelines_cannot_reach_outside_files(server, tmp_path):
    c = server.client()

    def refused(text):  # a refused YAML leaves the timeline alone and says why beside the editor
        return c.predict(text, api_name="/load_yaml")[-1]

    assert "not one this studio offers" in refused("model: /etc/passwd\nkeyframes: [{time: 0, seed: 1}]\n")
    builtin = server.output_dir / ".." / "builtin" / "default.safetensors"
    assert "not one this studio offers" in refused(f"model: {builtin}\nkeyframes: [{{time: 0, seed: 1}}]\n")
    outside = tmp_path / "w.npy"
    np.save(outside, np.zeros([128]))
    assert "outside the studio's folders" in refused(f"keyframes: [{{time: 0, latent: {outside}}}]\n")
    with pytest.raises(AppError, match="not in the list of choices"):
        _settings(c, model="/etc/passwd")


def test_latent_upload_becomes_a_keyframe(server, tmp_path):
    c = server.client()
    z = tmp_path / "portrait.npy"
    np.save(z, np.random.RandomState(1).randn(128))
    _settings(c)
    r = c.predict(file=handle_file(str(z)), latent_space="z", api_name="/add_latent")
    kf = _timeline(r).keyframes[0]
    assert kf.latent and Path(kf.latent).parent == server.output_dir / "latents"
    assert kf.latent_space == "z"  # [128] fits both z and w of this model: the file's space is said
    img, _ = c.predict(frame=0, api_name="/preview")
    assert _pixels(img).shape == (64, 64, 3)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(AppError, match="(?i)pickle"):
        c.predict(file=handle_file(str(bad)), api_name="/add_latent")


# ------------------------------------------------------------------------------------------ render, batch
def test_four_concurrent_renders_get_their_own_files(server):
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []

    def user(k: int) -> None:
        try:
            c = server.client()
            _two_keyframes(c, seeds=(10 + k, 20 + k))
            results[k] = c.predict(name="walk", api_name="/render")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    jobs = [_job_id(results[k][2]) for k in range(4)]
    assert len(set(jobs)) == 4
    firsts = []
    for job in jobs:
        mp4 = server.output_dir / job / "walk.mp4"
        info = probe_video(mp4)
        assert (info["n_frames"], info["width"], info["height"], info["codec"], info["pix_fmt"]) == \
            (17, 64, 64, "h264", "yuv420p")
        assert (server.output_dir / job / "walk.yaml").is_file()
        assert not [p for p in (server.output_dir / job).iterdir() if p.name.startswith(".")]  # no temp files
        firsts.append(next(read_video_frames(mp4)).tobytes())
    assert len(set(firsts)) == 4  # each user's own keyframes
    rows = server.client().predict(api_name="/jobs")["data"]
    assert {r[0] for r in rows} >= set(jobs)


def test_render_needs_keyframes(server):
    with pytest.raises(AppError, match="no keyframes yet"):
        server.client().predict(name="walk", api_name="/render")


def test_batch_zip_of_seeds(server):
    c = server.client()
    zpath, sheet, status = c.predict("builtin:default", "0-5, 9", 0.7, api_name="/batch")
    assert Path(zpath).name == "seeds_0-9.zip" and "7 PNGs" in status
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert names == [f"seed{s:04d}.png" for s in (0, 1, 2, 3, 4, 5, 9)]
        assert np.asarray(Image.open(zf.open(names[0]))).shape == (64, 64, 3)
    assert _pixels(sheet).shape[1] > 7 * 128
    with pytest.raises(AppError, match="not a seed"):
        c.predict("builtin:default", "zero", 0.7, api_name="/batch")


# ---------------------------------------------------------------------------------------------- security
def _get(url: str, raw_path: str) -> tuple[int, bytes]:
    host, port = url.split("//")[1].strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.request("GET", raw_path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_file_routes_serve_nothing_outside_the_output_folder(server):
    c = server.client()
    _two_keyframes(c)
    _, _, message, _ = c.predict(name="walk", api_name="/render")
    inside = server.output_dir / _job_id(message) / "walk.mp4"
    status, body = _get(server.url, f"/gradio_api/file={inside}")
    assert status == 200 and body == inside.read_bytes()  # the control: output files are served
    # an uploaded checkpoint lives under <output>/uploads, which is blocked
    c.predict(handle_file(str(server.models_dir / "other.safetensors")), api_name="/upload_model")
    uploaded = next((server.output_dir / "uploads").rglob("other.safetensors"))
    repo = Path(__file__).resolve().parents[1]
    out = str(server.output_dir)
    secrets = {
        "/etc/passwd": b"root:",
        str(server.builtin_dir / "default.safetensors"): (server.builtin_dir / "default.safetensors").read_bytes(),
        str(repo / "pyproject.toml"): b"latent-studio",
        str(uploaded): uploaded.read_bytes(),
    }
    attempts = [
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        f"/gradio_api/file={out}/../../../../../../../etc/passwd",
        f"/gradio_api/file={out}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"/gradio_api/file={out}/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
        f"/gradio_api/file={out}/../builtin/default.safetensors",
        f"/gradio_api/file={server.builtin_dir}/default.safetensors",
        f"/gradio_api/file={repo}/pyproject.toml",
        f"/gradio_api/file={uploaded}",
        "/gradio_api/file=/proc/self/environ",
        "/file=/etc/passwd",
        "/file=../../../../etc/passwd",
        "/static/../../../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/assets/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/gradio_api/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/favicon.ico/../../../../etc/passwd",
    ]
    for raw in attempts:
        status, body = _get(server.url, raw)
        for secret in secrets.values():
            assert not (status == 200 and secret[:200] in body), f"{raw} served a file it must not ({status})"
        if raw.startswith(("/gradio_api/file=", "/file=")):
            assert status != 200, f"{raw} answered {status}"


def test_inputs_must_be_uploaded_files(server):
    """An API caller cannot hand the server a path of its own (only files it uploaded)."""
    payload = {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]}
    r = httpx.post(f"{server.url}gradio_api/call/load_timeline", json=payload, timeout=20)
    assert r.status_code == 200
    event = r.json()["event_id"]
    stream = httpx.get(f"{server.url}gradio_api/call/load_timeline/{event}", timeout=30).text
    assert "event: error" in stream and "root:" not in stream


def test_malicious_pickle_checkpoint_is_refused(server, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name in ("evil.pkl", "evil.pt", "evil.safetensors"):
        f = tmp_path / name
        f.write_bytes(pickle.dumps(Evil(), protocol=2))
        with pytest.raises(AppError, match=f"refused {name}"):
            server.client().predict(handle_file(str(f)), api_name="/upload_model")
    assert not marker.exists()
    uploads = server.output_dir / "uploads"
    assert not [p for p in uploads.rglob("evil*")] if uploads.exists() else True
    choices = json.dumps(server.client().predict("builtin:default", api_name="/refresh_models"))
    assert "evil" not in choices


def test_uploaded_checkpoint_is_offered(server, tmp_path):
    make_ui_model(tmp_path, "mine", seed=3)
    c = server.client()
    update, info = c.predict(handle_file(str(tmp_path / "mine.safetensors")), api_name="/upload_model")
    spec = update["value"] if isinstance(update, dict) else update
    assert spec.endswith("mine.safetensors") and "Loaded **mine.safetensors**" in info
    gallery = c.predict(spec, 0, 0.7, api_name="/gallery")
    assert len(gallery) == 16


def test_auth_is_required_when_asked(tmp_path):
    with studio_server(tmp_path, auth=("artist", "s3cret")) as srv:
        status, _ = _get(srv.url, "/config")
        assert status == 401
        with pytest.raises(Exception):
            Client(srv.url, verbose=False)
        c = srv.client(auth=("artist", "s3cret"))
        assert c.predict(api_name="/jobs")["data"] == []


# --------------------------------------------------------------------------------------------- the command
def test_studio_ui_command_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(app_module, "build_app", lambda models, out, device, prune: seen.update(
        models=models, out=out, device=device) or "app")
    monkeypatch.setattr(app_module, "launch", lambda app, host, port, auth, quiet: seen.update(
        app=app, host=host, port=port, auth=auth))
    code, out, err = run_cli("ui", "--port", "7999", "--output-dir", str(tmp_path / "o"), "--auth", "a:b:c",
                             "--device", "cpu")
    assert code == 0, err
    assert seen == dict(models=None, out=tmp_path / "o", device="cpu", app="app", host="127.0.0.1", port=7999,
                        auth=("a", "b:c"))
    code, _, err = run_cli("ui", "--host", "0.0.0.0", "--models-dir", str(tmp_path), "--insecure")
    assert code == 0 and "without --auth" in err and seen["host"] == "0.0.0.0"
    code, _, err = run_cli("ui", "--auth", "nopassword")
    assert code == 2 and "USER:PASS" in err
    code, _, err = run_cli("ui", "--models-dir", str(tmp_path / "missing"))
    assert code == 2
    code, out, _ = run_cli("ui", "--help")
    assert code == 0 and all(o in out for o in ("--host", "--port", "--models-dir", "--auth", "--output-dir"))
