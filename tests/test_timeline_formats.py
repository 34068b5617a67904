"""Timeline limits from the one format table (checked at parse time, with file and line), YAML 1.2 numbers, and
paths relative to the timeline file (rendering a project folder from another working folder)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib.checkpoints import save_generator
from ganlib.networks import build_generator
from studio.cli import main
from studio.timeline import load_timeline, parse_timeline, timeline_to_yaml
from tests.test_timeline import assert_where, err


# ------------------------------------------------------------------------- format table limits, YAML 1.2 floats
def test_yaml12_floats_are_numbers():
    tl = parse_timeline("fps: 3e1\ntruncation: 1e-4\nkeyframes: [{time: 0, seed: 1}, {time: 2E+0, seed: 2}]\n")
    assert tl.fps == 30.0 and tl.truncation == pytest.approx(1e-4) and tl.keyframe_times == [0.0, 2.0]


def test_gif_frame_rate_refused_at_parse_time():
    e = err("fps: 60\nkeyframes: [{time: 0, seed: 1}]\noutput: {path: a.gif}\n")
    assert_where(e, 1, "fps", "at most 50", "GIF")
    assert parse_timeline("fps: 50\nkeyframes: [{time: 0, seed: 1}]\noutput: {path: a.gif}\n").fps == 50
    assert_where(err("fps: 1001\nkeyframes: [{time: 0, seed: 1}]\n"), 1, "fps", "at most 1000")


def test_mkv_and_zip_outputs_are_accepted():
    tl = parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.mkv, codec: vp9}\n")
    assert tl.output.format == "mkv" and tl.output.codec_name == "vp9"
    tl = parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.mkv}\n")
    assert tl.output.codec_name == "h264"
    assert parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: f.zip}\n").output.codec_name is None


def test_crf_range_comes_from_the_codec():
    tl = parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.webm, codec: vp9, crf: 60}\n")
    assert tl.output.crf == 60
    e = err("keyframes: [{time: 0, seed: 1}]\noutput:\n  path: a.mp4\n  codec: h264\n  crf: 60\n")
    assert_where(e, 5, "output.crf", "at most 51", "H.264")


def test_codec_aliases_and_containers_from_the_table():
    tl = parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.mp4, codec: x265}\n")
    assert tl.output.codec == "h265" and tl.output.codec_name == "h265"
    e = err("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.mp4, codec: prores}\n")
    assert_where(e, 2, "output.codec", "ProRes", ".mov")


# ------------------------------------------------------------------------------------------- paths, one way
PROJECT = """\
model: models/tiny.safetensors
fps: 10
space: z
keyframes:
  - {time: 0, latent: latents/a.npy}
  - {time: 0.2, seed: 3}
output: {path: renders/clip.gif}
"""


def test_paths_resolve_against_the_timeline_file(tmp_path):
    (tmp_path / "latents").mkdir()
    np.save(tmp_path / "latents" / "a.npy", np.zeros(8, np.float32))
    f = tmp_path / "clip.yaml"
    f.write_text(PROJECT)
    tl = load_timeline(f)
    assert tl.model == str(tmp_path / "models" / "tiny.safetensors")
    assert tl.keyframes[0].latent == str(tmp_path / "latents" / "a.npy")
    assert tl.output_path == tmp_path / "renders" / "clip.gif"
    builtin = parse_timeline("model: builtin:default\nkeyframes: [{time: 0, seed: 1}]\n", base_dir=tmp_path)
    assert builtin.model == "builtin:default"
    frames = parse_timeline("keyframes: [{time: 0, seed: 1}]\noutput: {path: out/frames/}\n", base_dir=tmp_path)
    assert frames.output.path == str(tmp_path / "out" / "frames") + "/" and frames.output.format == "png"
    # round trip: written relative to a folder, read back against that folder
    text = timeline_to_yaml(tl, relative_to=tmp_path)
    assert str(tmp_path) not in text and "models/tiny.safetensors" in text and "renders/clip.gif" in text
    assert parse_timeline(text, base_dir=tmp_path) == tl
    moved = tmp_path / "sub"
    moved.mkdir()
    again = parse_timeline(timeline_to_yaml(tl, relative_to=moved), base_dir=moved)
    assert again == tl


def test_render_a_project_folder_from_another_folder(tmp_path, monkeypatch):
    """studio render resolves model, latent and output paths against the timeline file, not the working folder."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "latents").mkdir()
    kwargs = dict(z_dim=8, img_resolution=16, ngf=4)
    torch.manual_seed(0)
    save_generator(project / "models" / "tiny.safetensors", build_generator("dcgan", kwargs), "dcgan", kwargs, {})
    np.save(project / "latents" / "a.npy", np.random.RandomState(1).randn(8).astype(np.float32))
    (project / "clip.yaml").write_text(PROJECT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["render", str(project / "clip.yaml"), "--quiet", "--device", "cpu"]) == 0
    assert (project / "renders" / "clip.gif").is_file()
    assert not (elsewhere / "renders").exists()


def test_demo_renders_where_the_readme_says(monkeypatch, tmp_path):
    """presets/timelines/demo.yaml has no output.path: `make demo` writes renders/demo.mp4 in the working folder."""
    demo = Path(__file__).resolve().parents[1] / "presets" / "timelines" / "demo.yaml"
    monkeypatch.chdir(tmp_path)
    tl = load_timeline(demo)
    assert tl.output_path == Path("renders") / "demo.mp4" and tl.output.codec_name == "h264"
    assert tl.model == "builtin:default"
