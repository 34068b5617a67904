"""Frame sinks (studio.video) and resampling (studio.resample): small frames, a few dozen at most, fast."""
from __future__ import annotations

import threading
import time
import wave
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganlib.errors import UserError
from studio.resample import even_size, resize_frames
from studio.video import (EncoderError, FrameSink, GifSink, PngSequenceSink, VideoSink, ZipSink,
                          existing_png_frames, gif_delays_cs, open_sink, parse_fps, probe_video,
                          read_video_frames, sink_kind)

W, H = 64, 48


def solid(rgb, w=W, h=H) -> np.ndarray:
    """A w×h frame of one colour."""
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def indexed(i: int, w=W, h=H) -> np.ndarray:
    """Frame i: red encodes the index, green a horizontal ramp, blue constant."""
    f = np.empty((h, w, 3), np.uint8)
    f[..., 0] = min(255, 16 + 8 * i)
    f[..., 1] = np.linspace(0, 255, w).astype(np.uint8)[None, :]
    f[..., 2] = 128
    return f


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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


def test_audio_is_muxed_and_frame_count_kept(tmp_path):
    wav = write_wav(tmp_path / "music.wav", 3.0)
    out = tmp_path / "with_audio.mp4"
    with open_sink(out, fps=30, audio_path=wav) as sink:
        for i in range(30):
            sink.write(indexed(i))
    info = probe_video(out)
    assert info["n_frames"] == 30 and info["audio_codec"] == "aac"
    assert info["duration"] == pytest.approx(1.0, abs=0.05)  # -shortest: cut to the video


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
    assert sink._proc.poll() is not None  # ffmpeg is gone
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["live.mp4", "live.gif", "live.zip"])
def test_final_file_appears_only_after_close(tmp_path, name):
    out = tmp_path / name
    sink = open_sink(out, fps=20)
    for i in range(12):
        sink.write(indexed(i), name=f"f{i}.png")
    time.sleep(0.05)
    names = leftovers(tmp_path)
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


# ------------------------------------------------------------------------------------------------- threading


class _GatedSink(FrameSink):
    """A sink whose encoder waits on an event, to observe the bounded queue."""

    def __init__(self, path, fail_at=None, **kw):
        super().__init__(path, **kw)
        self.gate = threading.Event()
        self.consumed = []
        self.fail_at = fail_at

    def _consume(self, frame, name):
        self.gate.wait(10)
        if self.fail_at is not None and len(self.consumed) == self.fail_at:
            raise OSError(28, "No space left on device")
        self.consumed.append(int(frame[0, 0, 0]))

    def _commit(self):
        return self.path

    def _discard(self):
        pass


def test_write_blocks_when_queue_is_full(tmp_path):
    sink = _GatedSink(tmp_path / "x", queue_size=4)
    writer = threading.Thread(target=lambda: [sink.write(solid((i, 0, 0), 8, 8)) for i in range(20)])
    writer.start()
    time.sleep(0.4)
    assert writer.is_alive()  # blocked on the full queue
    assert 4 <= sink.frames_written <= 6  # queue size + the one being consumed (+ the one waiting to go in)
    sink.gate.set()
    writer.join(10)
    sink.close()
    assert sink.consumed == list(range(20))


def test_encoder_thread_error_reaches_next_write(tmp_path):
    sink = _GatedSink(tmp_path / "x", fail_at=3, queue_size=2)
    sink.gate.set()
    with pytest.raises(EncoderError, match="No space left"):
        with sink:
            for i in range(50):
                sink.write(solid((i, 0, 0), 8, 8))
                time.sleep(0.005)
    assert sink.consumed == [0, 1, 2]


# ------------------------------------------------------------------------------------------------- PNG sequence


def test_png_sequence_naming(tmp_path):
    folder = tmp_path / "frames"
    with open_sink(str(folder) + "/", fps=30) as sink:
        for i in range(5):
            sink.write(indexed(i))
    assert sink.close() == folder
    assert leftovers(folder) == [f"frame_{i:06d}.png" for i in range(5)]
    assert existing_png_frames(folder) == 5
    img = np.asarray(Image.open(folder / "frame_000003.png"))
    assert np.array_equal(img, indexed(3))  # PNG is lossless


def test_png_sequence_resume_keeps_frames_on_disk(tmp_path):
    folder = tmp_path / "frames"
    with pytest.raises(KeyboardInterrupt):  # an interrupted render: complete frames stay for --resume
        with open_sink(folder, fps=30) as sink:
            for i in range(4):
                sink.write(indexed(i))
            deadline = time.monotonic() + 10
            while existing_png_frames(folder) < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise KeyboardInterrupt
    assert existing_png_frames(folder) == 4
    before = {n: (folder / n).read_bytes() for n in leftovers(folder)}
    with open_sink(folder, fps=30, start_index=3) as sink:
        for i in range(3, 8):
            sink.write(indexed(100 + i))
    assert existing_png_frames(folder) == 8
    for i in range(3):
        assert (folder / f"frame_{i:06d}.png").read_bytes() == before[f"frame_{i:06d}.png"]
    assert np.array_equal(np.asarray(Image.open(folder / "frame_000003.png")), indexed(103))
    assert leftovers(folder) == [f"frame_{i:06d}.png" for i in range(8)]


def test_png_sequence_resume_checks(tmp_path):
    folder = tmp_path / "frames"
    with open_sink(folder, fps=30) as sink:
        for i in range(3):
            sink.write(indexed(i))
    with pytest.raises(UserError, match="resume"):  # a gap
        open_sink(folder, fps=30, start_index=5)
    with pytest.raises(UserError, match="resume"):  # another size than the frames on disk
        with open_sink(folder, fps=30, start_index=3) as sink:
            sink.write(indexed(3, w=32, h=32))
    with pytest.raises(UserError):  # refuse to overwrite without permission
        open_sink(folder, fps=30, overwrite=False)
    # A truncated (crashed) frame does not count; a fresh shorter render removes stale frames.
    (folder / "frame_000001.png").write_bytes((folder / "frame_000001.png").read_bytes()[:40])
    assert existing_png_frames(folder) == 1
    assert existing_png_frames(tmp_path / "missing") == 0
    with open_sink(folder, fps=30) as sink:
        sink.write(indexed(0))
        sink.write(indexed(1))
    assert leftovers(folder) == ["frame_000000.png", "frame_000001.png"]


# ------------------------------------------------------------------------------------------------- GIF and zip


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


def test_zip_members_named_by_caller(tmp_path):
    out = tmp_path / "seeds.zip"
    names = [f"seed{s:04d}.png" for s in (1, 7, 42)] + ["thumb/seed0042.jpg"]
    with open_sink(out, fps=1) as sink:
        for i, name in enumerate(names):
            sink.write(indexed(i), name=name)
        with pytest.raises(ValueError, match="duplicate"):
            sink.write(indexed(0), name="seed0001.png")
        with pytest.raises(ValueError):
            sink.write(indexed(0), name="../evil.png")
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == names
        with zf.open("seed0007.png") as fh:
            assert np.array_equal(np.asarray(Image.open(fh)), indexed(1))
    assert leftovers(tmp_path) == ["seeds.zip"]


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
