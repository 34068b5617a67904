"""PNG-sequence and zip sinks, and the sink thread (studio.sinks.base): tiny frames, fast, no sleeping to time."""
from __future__ import annotations

import queue
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganlib.errors import UserError
from studio.sinks import EncoderError, FrameSink, existing_png_frames, open_sink
from tests.video_tools import grey_and_alpha_frames, indexed, leftovers, solid


class _WatchedQueue(queue.Queue):
    """A queue that sets ``saw_full`` whenever a put finds it full (the writer is about to wait)."""

    def __init__(self, maxsize):
        super().__init__(maxsize)
        self.saw_full = threading.Event()

    def put(self, item, block=True, timeout=None):
        if self.full():
            self.saw_full.set()
        super().put(item, block, timeout)


class _GatedSink(FrameSink):
    """A sink whose encoder waits on an event, to observe the bounded queue."""

    def __init__(self, path, fail_at=None, **kw):
        super().__init__(path, **kw)
        self._queue = _WatchedQueue(self._queue.maxsize)
        self.gate = threading.Event()
        self.started = threading.Event()
        self.consumed = []
        self.fail_at = fail_at

    def _consume(self, frame, name):
        self.started.set()
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
    assert sink.started.wait(10)  # the encoder holds frame 0 ...
    sink._queue.saw_full.clear()
    assert sink._queue.saw_full.wait(10)  # ... and, after that, the writer found the queue full
    assert writer.is_alive()  # blocked on the full queue
    assert sink._queue.full()
    assert 4 <= sink.frames_written <= 6  # queue size + the one being consumed (+ the one waiting to go in)
    assert sink.frames_written == 5
    sink.gate.set()
    writer.join(10)
    sink.close()
    assert sink.consumed == list(range(20))


def test_encoder_thread_error_reaches_next_write(tmp_path):
    sink = _GatedSink(tmp_path / "x", fail_at=3, queue_size=2)
    sink.gate.set()
    with pytest.raises(EncoderError, match="(?i)no space left"):  # the one disk-full wording
        with sink:
            for i in range(50):
                sink.write(solid((i, 0, 0), 8, 8))
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




@pytest.mark.parametrize("layout,mode", [("HxW", "L"), ("HxWx1", "L"), ("HxWx3", "RGB"), ("HxWx4", "RGBA")])
def test_png_sequence_and_zip_keep_grey_and_alpha(tmp_path, layout, mode):
    frames = [grey_and_alpha_frames(i)[layout] for i in range(3)]
    with open_sink(tmp_path / "seq", fps=30) as sink:
        for f in frames:
            sink.write(f)
    with open_sink(tmp_path / "all.zip", fps=1) as sink:
        for i, f in enumerate(frames):
            sink.write(f, name=f"f{i}.png")
        sink.write(frames[0], name="f0.jpg")
    with Image.open(tmp_path / "seq" / "frame_000002.png") as im:
        assert im.mode == mode
        assert np.array_equal(np.asarray(im), frames[2].reshape(np.asarray(im).shape))  # lossless, same channels
    with zipfile.ZipFile(tmp_path / "all.zip") as zf:
        with zf.open("f1.png") as fh, Image.open(fh) as im:
            assert im.mode == mode and np.array_equal(np.asarray(im), frames[1].reshape(np.asarray(im).shape))
        with zf.open("f0.jpg") as fh, Image.open(fh) as im:
            assert im.mode == ("L" if mode == "L" else "RGB")  # JPEG keeps grey, drops alpha
