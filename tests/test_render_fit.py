"""``output.fit``: how frames meet a size whose aspect differs from the model's (crop, pad, stretch), pixel by
pixel, and honoured by ``studio render``."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from studio.resample import fit_frames
from studio.timeline import parse_timeline


def _wide() -> np.ndarray:
    """One 8x4 RGB frame of four 2-pixel-wide vertical bars: 10, 50, 90, 130."""
    frame = np.zeros((1, 4, 8, 3), np.uint8)
    for k, v in enumerate((10, 50, 90, 130)):
        frame[:, :, 2 * k:2 * k + 2] = v
    return frame


def test_crop_keeps_the_middle_unscaled():
    out = fit_frames(_wide(), (4, 4), "crop")
    assert out.shape == (1, 4, 4, 3)
    assert (out[0, :, :, 0] == np.array([50, 50, 90, 90])).all()  # the outer bars are cut off


def test_pad_shrinks_into_the_middle_on_black():
    out = fit_frames(_wide(), (4, 4), "pad")
    assert out.shape == (1, 4, 4, 3)
    assert (out[0, [0, 3]] == 0).all()  # black bars above and below
    assert (out[0, 1:3, :, 0] == np.array([10, 50, 90, 130])).all()  # each 2x2 bar block averaged to one pixel


def test_stretch_squeezes_each_axis_on_its_own():
    out = fit_frames(_wide(), (4, 8), "stretch")
    assert out.shape == (1, 8, 4, 3)
    assert (out[0, :, :, 0] == np.array([10, 50, 90, 130])).all()


def test_same_aspect_only_resizes_and_bad_fit_is_refused():
    frames = np.full((2, 4, 4, 1), 77, np.uint8)
    for fit in ("crop", "pad", "stretch"):
        assert (fit_frames(frames, (2, 2), fit) == 77).all()
    with pytest.raises(ValueError, match="crop, pad or stretch"):
        fit_frames(frames, (2, 1), "zoom")


def test_timeline_field_and_cli_render_honour_fit(tiny_models, tmp_path):
    with pytest.raises(Exception, match="crop"):
        parse_timeline("output: {fit: zoom}\nkeyframes: [{time: 0, seed: 1}]\n")
    tl = tmp_path / "pad.yaml"
    tl.write_text("model: builtin:tiny\nfps: 4\nsize: [32, 16]\nduration: 0.25\noutput: {fit: pad}\n"
                  "keyframes: [{time: 0, seed: 1}]\n")
    code, _, err = run_cli("render", str(tl), "--frames", str(tmp_path / "pad") + "/", "--quiet", "--device", "cpu")
    assert code == 0, err
    pad = np.asarray(Image.open(sorted((tmp_path / "pad").glob("*.png"))[0]))
    assert pad.shape[:2] == (16, 32)
    assert (pad[:, :8] == 0).all() and (pad[:, 24:] == 0).all() and pad[:, 8:24].std() > 0  # 32 px → 16, centred
