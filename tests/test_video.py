"""Video and GIF sinks (studio.sinks) and resampling (studio.resample): small frames, a few dozen at most, fast.

PNG sequences, zips and the sink thread are in test_sinks_images.py; reading videos back is tests/video_tools.py."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganlib.errors import UserError
from studio.resample import even_size, resize_frames
from studio.sinks import (EncoderError, GifSink, PngSequenceSink, VideoSink, ZipSink, gif_delays_cs, open_sink,
                          parse_fps, sink_kind)
from tests.video_tools import (H, W, grey_and_alpha_frames, indexed, leftovers, probe_video, read_video_frames,
                               solid, write_wav)

# ------------------------------------------------------------------------------------------------- video


@pytest.mark.parametrize("fps", [24, 30, 29.97])
def test_mp4_exact_frame_count_size_and_fps(tmp_path, fps):
    out = tmp_path / "walk.mp4"
    n = 23
    with open_sink(out, fps=fps) as sink:
        for i in range(n):
            sink.write(indexed(i))
    assert sink.close() == out  # close() after __exit__ is a no-op that returns the path
    info = probe_video(out)
    assert info["n_frames"] == n
    assert (info["width"], info["height"]) == (W, H)
    assert info["fps"] == pytest.approx(fps, abs=0.005)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert "bt709" in info["color"] and info["color"].startswith("tv")  # BT.709 tags, limited range
    assert leftovers(tmp_path) == ["walk.mp4"]


def test_ntsc_rational_fps_is_kept_exactly():
    assert parse_fps(29.97) == parse_fps("2997/100")
    assert parse_fps("30000/1001").denominator == 1001
    assert parse_fps(30000 / 1001) == parse_fps("30000/1001")
    assert parse_fps(24) == 24
    for bad in (0, -1, "abc", float("nan"), None):
        with pytest.raises(UserError):
            parse_fps(bad)


def test_solid_colour_survives_encoding(tmp_path):
    out = tmp_path / "solid.mp4"
    colour = (200, 40, 90)
    with open_sink(out, fps=30) as sink:
        for _ in range(10):
            sink.write(solid(colour))
    frames = list(read_video_frames(out))
    assert len(frames) == 10
    for f in frames:
        assert f.shape == (H, W, 3) and f.dtype == np.uint8
        assert np.abs(f.reshape(-1, 3).mean(0) - colour).max() < 4


def test_frame_content_changes_across_frames(tmp_path):
    out = tmp_path / "ramp.mp4"
    n = 20
    with open_sink(out, fps=24) as sink:
        for i in range(n):
            sink.write(indexed(i))
    frames = list(read_video_frames(out))
    reds = np.array([f[..., 0].mean() for f in frames])
    expected = np.array([indexed(i)[..., 0].mean() for i in range(n)], float)
    assert np.abs(reds - expected).max() < 5  # each frame decodes as its own index, in order
    assert np.all(np.diff(reds) > 3)
    ramp = frames[0][H // 2, :, 1].astype(int)  # the horizontal green ramp survives
    assert ramp[0] < 30 and ramp[-1] > 225


@pytest.mark.parametrize("name,codec,expected", [("v.webm", None, "vp9"), ("v.mkv", "h265", "hevc"),
                                                 ("v.mp4", "hevc", "hevc"), ("v.mov", "prores", "prores")])
def test_other_codecs(tmp_path, name, codec, expected):
    out = tmp_path / name
    with open_sink(out, fps=30, codec=codec) as sink:
        for i in range(12):
            sink.write(indexed(i))
    info = probe_video(out)
    assert (info["n_frames"], info["width"], info["height"], info["codec"]) == (12, W, H, expected)


def test_odd_size_is_a_user_error_and_leaves_nothing(tmp_path):
    out = tmp_path / "odd.mp4"
    with pytest.raises(UserError, match="H.264.*even"):
        with open_sink(out, fps=30) as sink:
            sink.write(solid((10, 20, 30), w=65, h=48))
    assert leftovers(tmp_path) == []
    with pytest.raises(UserError, match="even"):  # a size given up front is checked at once
        open_sink(out, fps=30, size=(64, 47))
    assert leftovers(tmp_path) == []


def test_pad_to_even_pads_one_pixel(tmp_path):
    out = tmp_path / "padded.mp4"
    with open_sink(out, fps=30, pad_to_even=True) as sink:
        for _ in range(5):
            sink.write(solid((250, 250, 250), w=65, h=47))
    info = probe_video(out)
    assert (info["n_frames"], info["width"], info["height"]) == (5, 66, 48)
    frame = next(iter(read_video_frames(out)))
    assert frame[-1, -1].min() > 235  # edge copy, not black


def test_frame_size_must_not_change(tmp_path):
    with pytest.raises(ValueError, match="first frame"):
        with open_sink(tmp_path / "a.mp4", fps=30) as sink:
            sink.write(solid((1, 2, 3)))
            sink.write(solid((1, 2, 3), w=32, h=32))
    assert leftovers(tmp_path) == []
    with pytest.raises(TypeError):
        with open_sink(tmp_path / "b.mp4", fps=30) as sink:
            sink.write(np.zeros((H, W, 3), np.float32))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name,n,codec,audio", [("with_audio.mp4", 30, "h264", "aac"),
                                                 ("with_audio.webm", 15, "vp9", "opus")])  # from the format table
def test_audio_is_muxed_and_frame_count_kept(tmp_path, name, n, codec, audio):
    wav = write_wav(tmp_path / "music.wav", 3.0)
    out = tmp_path / name
    with open_sink(out, fps=30, audio_path=wav) as sink:
        for i in range(n):
            sink.write(indexed(i))
    info = probe_video(out)
    assert info["n_frames"] == n and info["audio_codec"] == audio and info["codec"] == codec
    assert info["duration"] == pytest.approx(n / 30, abs=0.05)  # -shortest: cut to the video


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
@pytest.mark.parametrize("layout", ["HxW", "HxWx1", "HxWx3", "HxWx4"])
def test_video_and_gif_take_grey_rgb_and_rgba(tmp_path, suffix, layout):
    out = tmp_path / f"c{suffix}"
    with open_sink(out, fps=10) as sink:
        for i in range(4):
            sink.write(grey_and_alpha_frames(i)[layout])
    if suffix == ".gif":
        with Image.open(out) as im:
            assert im.n_frames == 4
            im.seek(2)
            got = np.asarray(im.convert("RGB"), dtype=int)
    else:
        frames = list(read_video_frames(out))
        assert len(frames) == 4
        got = frames[2].astype(int)
    src = grey_and_alpha_frames(2)[layout]
    want = np.repeat(src.reshape(H, W, -1), 3, axis=2) if src.ndim == 2 or src.shape[2] == 1 else src[:, :, :3]
    assert got.shape == (H, W, 3)
    assert np.abs(got - want).mean() < 6  # grey becomes RGB; alpha is dropped, colours kept as they are


def test_channel_count_must_not_change(tmp_path):
    with pytest.raises(ValueError, match="channels"):
        with open_sink(tmp_path / "a.mp4", fps=30) as sink:
            sink.write(indexed(0))
            sink.write(indexed(1)[:, :, :1])
    with pytest.raises(ValueError, match="C = 1"):
        with open_sink(tmp_path / "b.gif", fps=10) as sink:
            sink.write(np.zeros((H, W, 2), np.uint8))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["crash.mp4", "crash.gif", "crash.zip"])
def test_exception_inside_with_leaves_no_file(tmp_path, name):
    out = tmp_path / name
    with pytest.raises(RuntimeError, match="boom"):
        with open_sink(out, fps=20) as sink:
            for i in range(6):
                sink.write(indexed(i), name=f"f{i}.png")
            raise RuntimeError("boom")
    assert leftovers(tmp_path) == []


def test_ctrl_c_inside_with_removes_partial_video(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with open_sink(tmp_path / "stop.mp4", fps=30) as sink:
            for i in range(40):
                sink.write(indexed(i))
            raise KeyboardInterrupt
    assert sink.process.poll() is not None  # ffmpeg is gone
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["live.mp4", "live.gif", "live.zip"])
def test_final_file_appears_only_after_close(tmp_path, name):
    out = tmp_path / name
    sink = open_sink(out, fps=20)
    for i in range(12):
        sink.write(indexed(i), name=f"f{i}.png")
    names = leftovers(tmp_path)  # the temporary file exists from the start (made when the sink opens)
    assert not out.exists()
    assert len(names) == 1 and names[0].startswith(f".{name}.") and ".part" in names[0]
    assert sink.close() == out
    assert leftovers(tmp_path) == [name]


def test_encoder_error_is_raised_in_callers_thread(tmp_path):
    bad_audio = tmp_path / "bad.wav"
    bad_audio.write_bytes(b"not audio at all" * 64)
    out = tmp_path / "fail.mp4"
    with pytest.raises(EncoderError, match="ffmpeg failed"):
        with open_sink(out, fps=30, audio_path=bad_audio) as sink:
            for i in range(200):
                sink.write(indexed(i))
    assert leftovers(tmp_path) == ["bad.wav"]


def test_bad_options_are_user_errors(tmp_path):
    (tmp_path / "exists.mp4").write_bytes(b"x")
    cases = [
        dict(path=tmp_path / "a.webm", codec="h264"),      # WebM cannot hold H.264
        dict(path=tmp_path / "a.mp4", codec="prores"),     # ProRes needs .mov/.mkv
        dict(path=tmp_path / "a.mp4", codec="divx"),       # unknown codec
        dict(path=tmp_path / "a.mp4", crf=99),             # out of range
        dict(path=tmp_path / "a.mp4", audio_path=tmp_path / "missing.wav"),
        dict(path=tmp_path / "a.gif", audio_path=tmp_path / "exists.mp4"),
        dict(path=tmp_path / "a.txt"),                     # unsupported type
        dict(path=tmp_path / "exists.mp4", overwrite=False),
        dict(path=tmp_path / "fast.gif", fps=60),          # GIF cannot time 60 fps
    ]
    for kw in cases:
        kw.setdefault("fps", 30)
        with pytest.raises(UserError):
            open_sink(kw.pop("path"), **kw)
    assert leftovers(tmp_path) == ["exists.mp4"]
    with pytest.raises(UserError):
        probe_video(tmp_path / "nope.mp4")


def test_sink_kind_by_path(tmp_path):
    assert sink_kind("a/b.MP4") == "video"
    assert sink_kind("a/b.webm") == "video"
    assert sink_kind("a/b.gif") == "gif"
    assert sink_kind("a/b.zip") == "zip"
    assert sink_kind("a/frames/") == "png"
    assert sink_kind("a/frames") == "png"
    assert isinstance(open_sink(tmp_path / "x.mov", fps=30), VideoSink)
    for s in (open_sink(tmp_path / "x.gif", fps=10), open_sink(tmp_path / "x.zip", fps=10)):
        assert isinstance(s, (GifSink, ZipSink))
        s.abort()
    assert isinstance(open_sink(tmp_path / "seq", fps=10), PngSequenceSink)


# ------------------------------------------------------------------------------------------------- GIF


def _gif_durations(path: Path) -> tuple[int, list[int], int | None]:
    with Image.open(path) as im:
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
        return im.n_frames, durations, im.info.get("loop")


def test_gif_frame_count_duration_and_loop(tmp_path):
    out = tmp_path / "loop.gif"
    with open_sink(out, fps=25) as sink:
        for i in range(12):
            sink.write(indexed(i))
    n, durations, loop = _gif_durations(out)
    assert n == 12 and durations == [40] * 12 and loop == 0
    with Image.open(out) as im:
        im.seek(5)
        rgb = np.asarray(im.convert("RGB"), dtype=int)
    assert rgb.shape == (H, W, 3)
    assert np.abs(rgb - indexed(5)).mean() < 6


def test_gif_timing_rounds_to_10ms_without_drift(tmp_path):
    out = tmp_path / "thirty.gif"
    with open_sink(out, fps=30) as sink:
        for i in range(30):
            sink.write(indexed(i))
    n, durations, _ = _gif_durations(out)
    assert n == 30 and set(durations) == {30, 40}
    assert sum(durations) == 1000  # 30 frames at 30 fps: exactly one second
    assert gif_delays_cs(6, 30) == [3, 4, 3, 3, 4, 3]
    assert sum(gif_delays_cs(24, 24)) == 100
    assert sum(gif_delays_cs(100, 29.97)) == round(100 * 100 / 29.97)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_gif_file_holds_exactly_the_error_diffused_delays(tmp_path, n):
    out = tmp_path / "seven.gif"  # at 7 fps the last delay often differs from the one before it
    with open_sink(out, fps=7) as sink:
        for i in range(n):
            sink.write(indexed(i))
    frames, durations, loop = _gif_durations(out)
    assert frames == n and loop == 0
    assert durations == [10 * d for d in gif_delays_cs(n, 7)]
    assert leftovers(tmp_path) == ["seven.gif"]


# ------------------------------------------------------------------------------------------------- resampling


def test_resize_shrink_enlarge_identity():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    small = resize_frames(batch, (32, 24))
    assert small.shape == (3, 24, 32, 3) and small.dtype == np.uint8
    big = resize_frames(batch, (128, 96))
    assert big.shape == (3, 96, 128, 3) and big.dtype == np.uint8
    mixed = resize_frames(batch, (32, 96))
    assert mixed.shape == (3, 96, 32, 3) and mixed.dtype == np.uint8
    assert resize_frames(batch, (64, 48)) is batch
    assert resize_frames(batch[0], 16).shape == (16, 16, 3)


def test_resize_filters_behave():
    flat = np.full((2, 48, 64, 3), 77, np.uint8)
    assert (resize_frames(flat, (20, 14)) == 77).all()  # area average keeps a flat colour exact
    assert (resize_frames(flat, (100, 80)) == 77).all()
    # Shrinking by 2 with INTER_AREA is the exact 2×2 mean.
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    mean = img[0].reshape(4, 2, 4, 2, 3).astype(float).mean((1, 3))
    assert np.abs(resize_frames(img, (4, 4))[0] - mean).max() <= 0.5 + 1e-9
    # Lanczos overshoots at hard edges: results are saturated to 0..255, never wrapped around.
    edge = np.zeros((1, 8, 8, 3), np.uint8)
    edge[:, :, 4:] = 255
    up = resize_frames(edge, (32, 32))[0].astype(int)
    ref = cv2.resize(edge[0].astype(np.float32), (32, 32), interpolation=cv2.INTER_LANCZOS4)
    assert ref.min() < -1 and ref.max() > 256  # the filter does overshoot here ...
    assert np.abs(up - np.clip(ref, 0, 255)).max() <= 1  # ... and the result is clipped to 0..255


def test_even_size():
    assert even_size(64, 48) == (64, 48)
    assert even_size(65, 47) == (64, 46)
    assert even_size(1, 1) == (2, 2)
