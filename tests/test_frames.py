"""``studio frames``: a training folder from a video written by the project's own video sink."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlib.data.datasets import open_dataset
from studio.sinks import open_sink
from studio.video_frames import shape_frame
from tests.conftest import run_cli

W, H, N = 64, 48, 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 10-frame 64×48 MP4 whose frame i is a flat grey of level 20 + 20·i (so each kept frame is identifiable)."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with open_sink(path, fps=10, crf=0) as sink:
        for i in range(N):
            frame = np.full((H, W, 3), 20 + 20 * i, np.uint8)
            frame[:, :4] = 255  # a bright left edge the center crop removes
            sink.write(frame)
    return path


def _levels(folder: Path) -> list[int]:
    files = sorted(folder.glob("frame_*.png"))
    return [int(np.median(np.asarray(Image.open(f))[:, :, 0])) for f in files]


def test_every_third_frame_center_cropped_and_resized(tmp_path, clip):
    out = tmp_path / "data"
    code, stdout, err = run_cli("frames", str(clip), "--out", str(out), "--every", "3", "--size", "32", "--quiet")
    assert code == 0, err
    assert "wrote 4 frames" in stdout
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(4)]
    assert all(Image.open(f).size == (32, 32) for f in files)
    assert [abs(a - b) <= 3 for a, b in zip(_levels(out), [20, 80, 140, 200])] == [True] * 4
    assert np.asarray(Image.open(files[0]))[:, :2].max() < 60  # the bright edge is cropped away
    assert not list(out.glob(".*"))  # no temporary files left
    assert len(open_dataset(out, resolution=32)) == 4


def test_crop_none_keeps_the_whole_frame(tmp_path, clip):
    out = tmp_path / "whole"
    code, _, err = run_cli("frames", str(clip), "--outdir", str(out), "--crop", "none", "--every", "5", "--quiet")
    assert code == 0, err
    files = sorted(out.glob("*.png"))
    assert [Image.open(f).size for f in files] == [(W, H)] * 2
    assert np.asarray(Image.open(files[0]))[:, :2].min() > 200  # the bright edge is kept


def test_shape_frame_none_scales_the_shorter_side():
    assert shape_frame(np.zeros((48, 64, 3), np.uint8), "none", 24).shape == (24, 32, 3)


def test_bad_input_is_one_line_with_exit_2(tmp_path):
    code, _, err = run_cli("frames", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "d"))
    assert code == 2 and "missing.mp4" in err and "no such video file" in err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    code, _, err = run_cli("frames", str(junk), "--out", str(tmp_path / "d"))
    assert code == 2 and "junk.mp4" in err and "not a video" in err and "Traceback" not in err
    code, _, err = run_cli("frames", str(junk), "--out", str(tmp_path / "d"), "--crop", "left")
    assert code == 2 and "--crop" in err
