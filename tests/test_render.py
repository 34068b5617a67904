"""Rendering timelines end to end: MP4 frame count and size, determinism, resume, noise modes, conditioning."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import run_cli


def write_timeline(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


BASIC = """
model: builtin:tiny
fps: 12
size: 48
interpolation: cubic
truncation: 0.8
keyframes:
  - {time: 0, seed: 1}
  - {time: 0.5, seed: 2, ease: in-out}
  - {time: 1.0, seed: 3}
"""


def test_render_mp4_frame_count_and_size(tiny_models, tmp_path):
    from tests.video_tools import probe_video
    tl = write_timeline(tmp_path / "t.yaml", BASIC)
    out = tmp_path / "out.mp4"
    code, stdout, stderr = run_cli("render", str(tl), "--out", str(out), "--quiet")
    assert code == 0, stderr
    info = probe_video(out)
    assert info["n_frames"] == 13  # 1 s at 12 fps, both ends included
    assert (info["width"], info["height"]) == (48, 48)
    assert abs(info["fps"] - 12) < 1e-6
    assert not list(tmp_path.glob(".*part*"))


def test_render_duration_limits_frames(tiny_models, tmp_path):
    from tests.video_tools import probe_video
    tl = write_timeline(tmp_path / "t.yaml", BASIC)
    out = tmp_path / "short.mp4"
    assert run_cli("render", str(tl), "--out", str(out), "--duration", "0.5", "--quiet")[0] == 0
    assert probe_video(out)["n_frames"] == 6


def _frame_hashes(folder: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("frame_*.png"))]


def test_same_timeline_renders_identical_frames(tiny_models, tmp_path):
    tl = write_timeline(tmp_path / "t.yaml", BASIC.replace("keyframes:", "noise: random\nkeyframes:"))
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("render", str(tl), "--frames", str(a), "--quiet")[0] == 0
    assert run_cli("render", str(tl), "--frames", str(b), "--quiet", "--batch", "8")[0] == 0
    ha, hb = _frame_hashes(a), _frame_hashes(b)
    assert len(ha) == 13 and ha == hb
    assert len(set(ha)) > 5  # frames actually change


def test_resumed_render_equals_uninterrupted(tiny_models, tmp_path):
    tl = write_timeline(tmp_path / "t.yaml", BASIC)
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("render", str(tl), "--frames", str(full), "--quiet", "--batch", "4")[0] == 0
    assert run_cli("render", str(tl), "--frames", str(part), "--quiet", "--batch", "4")[0] == 0
    frames = sorted(part.glob("frame_*.png"))
    for p in frames[7:]:  # "interrupted" after 7 frames, the 7th written only half-way
        p.unlink()
    frames[6].write_bytes(frames[6].read_bytes()[:100])
    code, stdout, stderr = run_cli("render", str(tl), "--frames", str(part), "--resume", "--quiet", "--batch", "4")
    assert code == 0, stderr
    assert "resumed at frame 6" in stdout
    assert _frame_hashes(part) == _frame_hashes(full)


def test_loop_has_no_duplicated_seam_frame(tiny_models, tmp_path):
    from studio.render import get_model, iter_frames
    from studio.timeline import parse_timeline
    tl = parse_timeline(BASIC.replace("interpolation: cubic", "interpolation: cubic\nloop: true\nduration: 1.5")
                        .replace("size: 48", "size: null"), source="loop.yaml")
    model = get_model(tl.model)
    frames = [f for _, f in iter_frames(tl, model)]
    assert len(frames) == 18  # 1.5 s × 12 fps, frame 18 would equal frame 0
    first = frames[0].astype(float)
    diffs = [np.abs(frames[i].astype(float) - frames[i - 1].astype(float)).mean() for i in range(1, 18)]
    seam = np.abs(first - frames[-1].astype(float)).mean()
    assert 0 < seam < 3 * max(diffs)  # the wrap-around step looks like any other step


def test_conditional_model_labels(tiny_models, tmp_path):
    from studio.render import get_model, iter_frames
    from studio.timeline import parse_timeline
    body = """
model: builtin:tiny_cond
fps: 4
keyframes:
  - {time: 0, seed: 1, label: 0}
  - {time: 1, seed: 1, label: 3}
"""
    tl = parse_timeline(body, source="cond.yaml")
    frames = [f for _, f in iter_frames(tl, get_model(tl.model))]
    assert len(frames) == 5
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).max() > 0
    bad = parse_timeline(body.replace("label: 3", "label: 9"), source="cond.yaml")
    from studio.errors import TimelineError
    with pytest.raises(TimelineError, match="out of range"):
        list(iter_frames(bad, get_model(bad.model)))


def test_w_latent_file_keyframe(tiny_models, tmp_path):
    from studio.render import get_model, iter_frames
    from studio.seeds import seed_to_z
    from studio.timeline import load_timeline
    model = get_model("builtin:tiny")
    G = model.G
    with torch.no_grad():
        w = G.mapping(torch.from_numpy(seed_to_z(2, G.z_dim)).float()[None], None)[0].numpy()
    np.save(tmp_path / "w.npy", w[None])  # [1, num_ws, w_dim] as NVlabs' projector writes it
    tl_path = write_timeline(tmp_path / "t.yaml", """
model: builtin:tiny
fps: 2
keyframes:
  - {time: 0, latent: w.npy}
  - {time: 1, seed: 2}
""")
    frames = [f for _, f in iter_frames(load_timeline(tl_path), model)]
    assert np.array_equal(frames[0], frames[-1])  # the w file is seed 2's w


def test_random_zip_and_grid_and_info(tiny_models, tmp_path):
    import zipfile
    z = tmp_path / "batch.zip"
    assert run_cli("random", "--model", "builtin:tiny", "--seeds", "0-9", "--out", str(z), "--quiet")[0] == 0
    with zipfile.ZipFile(z) as zf:
        assert sorted(zf.namelist()) == [f"seed{i:04d}.png" for i in range(10)]
    g = tmp_path / "grid.png"
    code, out, err = run_cli("grid", "--model", "builtin:tiny", "--seeds", "0-5", "--out", str(g))
    assert code == 0, err
    from PIL import Image
    assert Image.open(g).size[0] > 3 * 128
    code, out, err = run_cli("info", "builtin:tiny")
    assert code == 0 and "32x32" in out and "z_dim 32" in out
    shipped = Path(__file__).resolve().parents[1] / "presets" / "models" / "default.safetensors"
    code, out, err = run_cli("info", str(shipped))  # the shipped model: trained in two stages, its FID recorded
    assert code == 0 and "over 2 stages" in out and "fid:" in out
    code, out, err = run_cli("random", "--model", "builtin:tiny_cond", "--seeds", "0", "--out", str(tmp_path / "c"))
    assert code == 2 and "--class" in err


def test_bad_options_exit_2(tiny_models, tmp_path):
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "5-2", "--out", str(tmp_path / "x"))
    assert code == 2 and "backwards" in err
    code, _, err = run_cli("random", "--model", "builtin:nope", "--seeds", "1", "--out", str(tmp_path / "x"))
    assert code == 2 and "tiny" in err
    tl = write_timeline(tmp_path / "t.yaml", BASIC)
    code, _, err = run_cli("render", str(tl), "--device", "tpu", "--out", str(tmp_path / "o.mp4"))
    assert code == 2 and "--device" in err
    assert not (tmp_path / "o.mp4").exists()


# ------------------------------------------------------------------------- latent files say what they hold
def _w_of_seed(G, seed):
    from ganlib.synth import map_z, seed_to_z
    return map_z(G, seed_to_z(seed, G.z_dim))[0].numpy()


def _frames(tl_path, model):
    from studio.render import iter_frames
    from studio.timeline import load_timeline
    return [f for _, f in iter_frames(load_timeline(tl_path), model, batch=1)]


def test_ambiguous_plain_npy_needs_latent_space(tiny_models, tmp_path):
    from studio.errors import TimelineError
    from studio.render import get_model
    from ganlib.synth import seed_to_z
    model = get_model("builtin:tiny")
    G = model.G
    assert G.z_dim == G.w_dim  # [1, 32] could be a z or a single w row
    np.save(tmp_path / "v.npy", seed_to_z(2, G.z_dim)[None])
    body = "model: builtin:tiny\nfps: 2\nkeyframes:\n  - {{time: 0, latent: v.npy{extra}}}\n  - {{time: 1, seed: 2}}\n"
    write_timeline(tmp_path / "t.yaml", body.format(extra=""))
    with pytest.raises(TimelineError, match=r"keyframes\[0\]\.latent_space: z or w") as info:
        _frames(tmp_path / "t.yaml", model)
    assert info.value.line == 4 and info.value.field == "keyframes[0].latent_space"
    write_timeline(tmp_path / "z.yaml", body.format(extra=", latent_space: z"))
    frames = _frames(tmp_path / "z.yaml", model)
    assert np.array_equal(frames[0], frames[-1])  # read as z: it is seed 2's z
    write_timeline(tmp_path / "w.yaml", body.format(extra=", latent_space: w"))
    assert not np.array_equal(_frames(tmp_path / "w.yaml", model)[0], frames[0])  # read as one w row


def test_shape_decides_where_unambiguous():
    from studio.latents import keyframe_latent_space
    dims = dict(z_dim=16, w_dim=32, num_ws=8)
    assert keyframe_latent_space(np.ones(16), None, None, space="w", **dims) == "z"
    assert keyframe_latent_space(np.ones((1, 16)), None, None, space="w", **dims) == "z"
    assert keyframe_latent_space(np.ones((1, 32)), None, None, space="w", **dims) == "w"
    assert keyframe_latent_space(np.ones((1, 8, 32)), None, None, space="w", **dims) == "w"
    assert keyframe_latent_space(np.ones((1, 16)), "w", None, space="w", **dims) == "w"  # the .npz name says


def test_projector_npz_w_renders_as_stored_unless_the_keyframe_truncates(tiny_models, tmp_path):
    from ganlib.synth import generate, to_uint8
    from studio.render import get_model
    model = get_model("builtin:tiny")
    G = model.G
    w = _w_of_seed(G, 5)
    np.savez(tmp_path / "proj.npz", w=w[None])  # NVlabs' projector: w [1, num_ws, w_dim]
    as_stored = to_uint8(generate(G, w[None].astype(np.float64), space="w", psi=np.array([1.0])))[0]
    truncated = to_uint8(generate(G, w[None].astype(np.float64), space="w", psi=np.array([0.5])))[0]
    assert not np.array_equal(as_stored, truncated)
    body = "model: builtin:tiny\nfps: 2\ntruncation: 0.5\nkeyframes:\n  - {{time: 0, latent: proj.npz{extra}}}\n" \
           "  - {{time: 1, seed: 2}}\n"
    write_timeline(tmp_path / "a.yaml", body.format(extra=""))
    assert np.array_equal(_frames(tmp_path / "a.yaml", model)[0], as_stored)  # the timeline's 0.5 is not applied
    write_timeline(tmp_path / "b.yaml", body.format(extra=", truncation: 0.5"))
    assert np.array_equal(_frames(tmp_path / "b.yaml", model)[0], truncated)


def test_w_latent_on_a_z_only_model_says_it_has_no_w_space(tiny_models, tmp_path):
    from ganlib.checkpoints import save_generator
    from ganlib.networks.conditional import ConditionalGenerator
    from studio.errors import TimelineError
    from studio.render import get_model
    torch.manual_seed(0)
    kw = dict(z_dim=8, img_resolution=16, img_channels=1, ngf=8, max_channels=16, c_dim=3, embed_dim=4)
    save_generator(tiny_models / "zonly.safetensors", ConditionalGenerator(**kw).eval(), "cgan", kw)
    model = get_model("builtin:zonly")
    np.savez(tmp_path / "proj.npz", w=np.ones((1, 4, 8)))
    np.save(tmp_path / "z.npy", np.ones((1, 8)))
    body = "model: builtin:zonly\nfps: 2\nkeyframes:\n  - {{time: 0, {kf}}}\n  - {{time: 1, seed: 2}}\n"
    for kf in ("latent: proj.npz", "latent: z.npy, latent_space: w"):
        write_timeline(tmp_path / "t.yaml", body.format(kf=kf))
        with pytest.raises(TimelineError, match="this model has no w space") as info:
            _frames(tmp_path / "t.yaml", model)
        assert "holds a w latent" not in str(info.value)
    write_timeline(tmp_path / "t.yaml", body.format(kf="latent: z.npy"))
    assert len(_frames(tmp_path / "t.yaml", model)) == 3  # a plain [1, z_dim] is z on a z-only model
