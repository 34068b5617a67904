"""The latent explorer and the Explore tab's conditioning, through gradio_client against a real studio on loopback.

The studio's models folder gets a 32 px DCGAN (20 z dimensions: two slider pages), a letters cGAN with class names,
a feature-conditioned model and a file that is no checkpoint. A recorded slider traversal is saved and rendered to a
GIF with ``studio render``.
"""
from __future__ import annotations


import numpy as np
import pytest
import torch
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageSequence

from conftest import run_cli
from ganlib.checkpoints.native import save_generator
from ganlib.networks.conditional import ConditionalGenerator
from ganlib.networks.dcgan import DCGANGenerator
from studio.directions import slider_support
from studio.timeline import parse_timeline
from ui_support import make_ui_model, studio_server

DCGAN_KW = dict(z_dim=20, img_resolution=32, img_channels=3, ngf=4)
LETTERS_KW = dict(z_dim=8, img_resolution=32, img_channels=1, ngf=4, c_dim=3, embed_dim=4)
FEATURES_KW = dict(z_dim=8, img_resolution=32, img_channels=3, ngf=4, cond_kind="features", c_dim=3, embed_dim=4)
SETTINGS = dict(fps=4, size="model", duration=0, interpolation="linear", loop=False, truncation=1.0, space="z",
                noise="fixed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("latent")
    models = root / "models"
    models.mkdir()
    torch.manual_seed(0)
    save_generator(models / "dcgan.safetensors", DCGANGenerator(**DCGAN_KW).eval(), "dcgan", DCGAN_KW, {})
    save_generator(models / "letters.safetensors", ConditionalGenerator(**LETTERS_KW).eval(), "cgan", LETTERS_KW,
                   {"class_names": ["A", "B", "C"]})
    save_generator(models / "feat.safetensors", ConditionalGenerator(**FEATURES_KW).eval(), "cgan", FEATURES_KW, {})
    (models / "broken.safetensors").write_bytes(b"this is not a checkpoint")
    with studio_server(root) as srv:
        srv.models_dir = models  # studio_server made it; the fixture's models join its 'other' model
        yield srv


def _spec(server, name: str) -> str:
    return str((server.models_dir / f"{name}.safetensors").resolve())


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _yaml(result) -> str:
    return next(v for v in result if isinstance(v, str) and "keyframes:" in v)


def _slots(**values) -> dict:
    return {f"dim{k}": float(values.get(f"dim{k}", 0.0)) for k in range(16)}


def test_recorded_slider_traversal_renders(server, tmp_path):
    c = server.client()
    spec = _spec(server, "dcgan")
    c.predict(model=spec, **SETTINGS, api_name="/apply_settings")
    setup = c.predict(spec, 0, 3, 0, "", api_name="/latent_setup")
    assert "z 0–15 of 20 (page 1 of 2)" in setup
    page, info, *sliders = c.predict(spec, 0, api_name="/latent_page_next")
    assert page == 1 and info == "z 16–19 of 20 (page 2 of 2)"
    base = dict(spec=spec, page=1, seed=3, class_idx=0, features="", record_each=True, spacing=1.0)
    first = c.predict(**base, **_slots(), api_name="/latent_move")
    second = c.predict(**base, **_slots(dim1=2.5), api_name="/latent_move")  # z[17] + 2.5
    assert "z[17] +2.5" in second[1] and not np.array_equal(_pixels(first[0]), _pixels(second[0]))
    c.predict(**base, **_slots(dim1=-2.5), api_name="/latent_move")
    recorded = c.predict(spec, 3, 0, "", 1.0, api_name="/latent_record")  # page 1 unchanged: a held keyframe
    assert recorded[-1].startswith("Recorded keyframe 3 at 3 s")
    tl = parse_timeline(_yaml(recorded))
    assert [(k.time, k.seed, k.dims) for k in tl.keyframes] == [
        (0, 3, None), (1, 3, {17: 2.5}), (2, 3, {17: -2.5}), (3, 3, {17: -2.5})]
    saved, text, _ = c.predict(name="traversal", api_name="/save_timeline")
    gif = tmp_path / "traversal.gif"
    code, _, err = run_cli("render", saved, "--out", str(gif), "--device", "cpu", "--quiet")
    assert code == 0, err
    frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(gif))]
    assert len(frames) == tl.n_frames == 13 and frames[0].shape == (32, 32, 3)
    assert not np.array_equal(frames[0], frames[4]) and not np.array_equal(frames[4], frames[8])
    # offsets beyond the latent are refused at render time with the line (the preview says so, leaving it out)
    c.predict(text.replace("{17: 2.5}", "{40: 1}"), api_name="/load_yaml")
    assert "latent dimension 40 does not exist" in c.predict(frame=0, api_name="/preview")[1]


def test_latent_reset_and_conditioned_models(server):
    c = server.client()
    letters = _spec(server, "letters")
    c.predict(model=letters, **SETTINGS, api_name="/apply_settings")
    setup = c.predict(letters, 0, 1, 2, "", api_name="/latent_setup")
    classes = next(v for v in setup if isinstance(v, dict) and "choices" in v)
    assert [label for label, _ in classes["choices"]] == ["0 · A", "1 · B", "2 · C"]
    img_b, _ = c.predict(letters, 1, 1, "", api_name="/latent_preview")
    img_c, _ = c.predict(letters, 1, 2, "", api_name="/latent_preview")
    assert not np.array_equal(_pixels(img_b), _pixels(img_c))
    r = c.predict(letters, 1, "C", "", 1.0, api_name="/latent_record")  # a class by its name
    assert parse_timeline(_yaml(r)).keyframes[-1].label == 2
    feat = _spec(server, "feat")
    c.predict(model=feat, **SETTINGS, api_name="/apply_settings")
    zeros, _ = c.predict(feat, 1, 0, "", api_name="/latent_preview")
    ones, _ = c.predict(feat, 1, 0, "1, 1, 1", api_name="/latent_preview")
    assert not np.array_equal(_pixels(zeros), _pixels(ones))
    with pytest.raises(AppError, match="2 feature values; this model takes 3"):
        c.predict(feat, 1, 0, "1, 2", api_name="/latent_preview")
    reset = c.predict(feat, 0, 1, 0, "", api_name="/latent_reset")
    values = [s.get("value") if isinstance(s, dict) else s for s in reset[:16]]
    assert values == [0.0] * 16, values


def test_gallery_class_picker_feature_input_and_jump(server, tmp_path):
    c = server.client()
    letters = _spec(server, "letters")
    c.predict(model=letters, **SETTINGS, api_name="/apply_settings")
    r = c.predict(seed=33, keyframe_truncation=1.0, class_idx=1, feature_text="", api_name="/add_keyframe")
    assert parse_timeline(_yaml(r)).keyframes[-1].label == 1  # the class picker's class
    a = c.predict(letters, 2, 1.0, 0, "", api_name="/gallery")
    assert [g["caption"] for g in a][:3] == ["seed 32", "seed 33 ★", "seed 34"]  # ★: on the timeline
    page, b, seed = c.predict(letters, 37, 1.0, 1, "", api_name="/jump_to_seed")
    assert page == 2 and seed == 37 and [g["caption"] for g in b][0] == "seed 32"
    assert not np.array_equal(_pixels(a[0]["image"]), _pixels(b[0]["image"]))  # the class picker changes it
    feat = _spec(server, "feat")
    plain = c.predict(feat, 0, 1.0, 0, "", api_name="/gallery")
    np.save(tmp_path / "rows.npy", np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5]]))
    typed = c.predict(feat, handle_file(str(tmp_path / "rows.npy")), 1, api_name="/load_features")
    assert typed == "2, -1, 0.5"
    shifted = c.predict(feat, 0, 1.0, 0, typed, api_name="/gallery")
    assert not np.array_equal(_pixels(plain[0]["image"]), _pixels(shifted[0]["image"]))
    with pytest.raises(AppError, match="row 5 does not exist"):
        c.predict(feat, handle_file(str(tmp_path / "rows.npy")), 5, api_name="/load_features")


def test_unloadable_models_are_listed_with_the_reason(server):
    c = server.client()
    broken = _spec(server, "broken")
    info = c.predict(broken, api_name="/select_model")
    assert info.startswith("⚠️ cannot load this model") and "unrecognised checkpoint format" in info
    choices = c.predict(broken, api_name="/refresh_models")["choices"]
    assert ["broken.safetensors  (cannot load)", broken] in [list(x) for x in choices]
    assert "dcgan.safetensors  (models folder)" in [x[0] for x in choices]


def test_sefa_sliders_only_where_they_work(tmp_path):
    dcgan = DCGANGenerator(**DCGAN_KW)
    assert "w space" in slider_support(dcgan, "w")
    from ganlib.checkpoints import load_generator
    style = load_generator(make_ui_model(tmp_path)).G
    assert slider_support(style, "w") is None
    assert "space to w" in slider_support(style, "z")


def test_batch_follows_the_class_picker(server):
    """The Batch tab makes the class chosen in Explore's class picker (not always class 0)."""
    c = server.client()
    letters = _spec(server, "letters")
    sheets = [c.predict(letters, "0-1", 1.0, k, "", api_name="/batch")[1] for k in (0, 2)]
    assert not np.array_equal(_pixels(sheets[0]), _pixels(sheets[1]))
    with pytest.raises(AppError, match="out of range"):
        c.predict(letters, "0-1", 1.0, 7, "", api_name="/batch")
