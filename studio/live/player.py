"""The live player loop: draws frame after frame of a performance, paced to the wall clock, and applies the
controls that arrived (from any thread, :meth:`Player.submit`) at the next frame.

Pacing: frame ``n`` is due at ``start + n / fps``. The player draws a frame as soon as the one before it is shown
and holds it until it is due; when it falls behind by more than a frame, it skips the frames already past due
(counted in ``stats.dropped``), so playback keeps time. Skipped frames are still part of the performance (and of its
recording): only their drawing is skipped.

Latency: a control that arrives while a frame is drawn or held discards that frame (``stats.discarded``); the frame
is drawn again with the control, first, and shown as soon as it is ready (at most one period early), so a control
shows about one drawing time after it arrives. A frame drawn for a control is never discarded again (a controller
flooding messages cannot starve the screen); later controls apply from the next frame. Frames are drawn one at a
time (batch 1), as ``studio render --batch 1`` of the recording draws them, so the recording is exact.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from studio.live.controls import Control, ControlError, LogOnce
from studio.live.frames import LiveFrames

log = logging.getLogger("studio.live")


@dataclass
class LiveStats:
    """What the page shows: frames drawn and dropped, measured fps, generation time of the last frame, and the
    latency of the last control (arrival → the frame that shows it was shown), in milliseconds."""

    fps_target: float = 0.0
    frames: int = 0
    dropped: int = 0
    fps: float = 0.0
    frame_ms: float = 0.0
    latency_ms: float | None = None
    controls: int = 0
    rejected: int = 0
    discarded: int = 0  # frames drawn ahead and thrown away because a control arrived before they were shown
    last_frame: int = -1
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the stats as a JSON-able dict."""
        return asdict(self)


class FrameHub:
    """The newest frame, for any number of readers: :meth:`publish` from the player, :meth:`wait_next` and
    :meth:`jpeg` (encoded once per frame, shared by every stream) from the server threads."""

    def __init__(self, quality: int = 90):
        self.quality = int(quality)
        self._cond = threading.Condition()
        self._index = -1
        self._frame: np.ndarray | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self.closed = False

    def publish(self, index: int, frame: np.ndarray) -> None:
        """Make ``frame`` (uint8 H×W×C) the newest, as frame ``index``; wake the readers. Returns None."""
        with self._cond:
            self._index, self._frame = index, frame
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every reader for good (the player stopped). Returns None."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait_next(self, after: int, timeout: float) -> tuple[int, np.ndarray] | None:
        """Return (index, frame) of the newest frame once its index is above ``after``; None after ``timeout``
        seconds or when the hub is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._index > after or self.closed, timeout)
            if self._index <= after or self._frame is None:
                return None
            return self._index, self._frame

    def jpeg(self, index: int, frame: np.ndarray) -> bytes:
        """Return frame ``index`` as JPEG bytes (encoded once and cached)."""
        cached = self._jpeg
        if cached is not None and cached[0] == index:
            return cached[1]
        data = encode_jpeg(frame, self.quality)
        self._jpeg = (index, data)
        return data


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    """Return uint8 H×W×C pixels (C = 1, 3 or 4; alpha dropped) as JPEG bytes (OpenCV)."""
    import cv2  # opencv-python-headless is a core dependency; cv2 is slow to import, so only when streaming

    c = frame.shape[-1]
    img = frame[..., 0] if c == 1 else cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


class Player:
    """Plays timeline ``tl`` with ``model`` at ``fps`` (default the timeline's); ``realtime`` False draws every
    frame as fast as it can (tests, benchmarks). ``on_frame(index, frame)`` is called for each frame shown;
    ``directions`` are user directions ({name: vector}, ``studio.live.directions.load_user_directions``)."""

    def __init__(self, tl, model, *, fps: float | None = None, dtype: str = "auto", transition: float = 1.0,
                 realtime: bool = True, workdir=None, on_frame=None, directions=None):
        self.frames = LiveFrames(tl, model, dtype=dtype, transition=transition, workdir=workdir,
                                 directions=directions)
        self.fps = float(fps or tl.fps)
        self.realtime = realtime
        self.on_frame = on_frame
        self.hub = FrameHub()
        self.stats = LiveStats(fps_target=self.fps, notes=list(self.frames.perf.notes))
        self.problems = LogOnce(log)
        self.events: list[str] = []
        self.applied_frames: list[tuple[Control, int]] = []  # each applied control and the frame it applied at
        self.stopped = threading.Event()
        self.applied = threading.Condition()
        self._queue: queue.SimpleQueue[Control] = queue.SimpleQueue()
        self._wake = threading.Event()  # set by submit and stop: a held frame may be stale

    def submit(self, control: Control) -> None:
        """Queue ``control`` for the next frame (thread-safe); /studio/stop stops the player. Returns None."""
        if not control.received:
            control = Control(control.address, control.values, control.name, time.monotonic())
        self._queue.put(control)
        self._wake.set()

    def stop(self) -> None:
        """Ask the loop to stop after the frame it is drawing. Returns None."""
        self.stopped.set()
        self._wake.set()
        with self.applied:
            self.applied.notify_all()

    def wait_applied(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` controls were applied or rejected; return False after ``timeout`` seconds."""
        with self.applied:
            return self.applied.wait_for(lambda: self.stats.controls + self.stats.rejected >= count, timeout)

    def _drain(self, n: int) -> list[Control]:
        applied = []
        while True:
            try:
                c = self._queue.get_nowait()
            except queue.Empty:
                break
            if c.address == "/studio/stop":
                self.events.append(f"frame {n} ({n / self.fps:.3f} s): /studio/stop")
                self.stopped.set()
                break
            try:
                self.frames.perf.apply(n, c)
            except ControlError as exc:
                self.problems(str(exc))
                self.stats.rejected += 1
                continue
            self.events.append(f"frame {n} ({n / self.fps:.3f} s): {c.describe()}")
            self.applied_frames.append((c, n))
            applied.append(c)
        return applied

    def run(self, max_frames: int | None = None) -> int:
        """Play until :meth:`stop`, /studio/stop or ``max_frames`` frames; return the index of the last frame
        played (-1 when none).

        Each frame is drawn as soon as the one before it is shown, then held until it is due. A control that
        arrives while a frame is drawn or held makes that frame stale: it is discarded (``stats.discarded``) and
        the frame is drawn again with the control applied, first, and shown as soon as it is ready (at most one
        frame period before it is due), so a control shows within about one drawing time."""
        start = time.monotonic()
        n, last, t_prev = 0, -1, None
        applied: list[Control] = []
        frame = None
        try:
            while not self.stopped.is_set() and (max_frames is None or n < max_frames):
                new = self._drain(n) if n >= 1 else []
                applied += new
                if self.stopped.is_set():
                    break
                if frame is None or new:  # a frame drawn before a control arrived is stale: draw it again
                    self.stats.discarded += frame is not None
                    t0 = time.monotonic()
                    frame = self.frames.frame(n)
                    t1 = time.monotonic()
                if self.realtime:
                    due = start + n / self.fps
                    if self._hold(due - 1.0 / self.fps if applied else due, stale_ok=n >= 1 and not applied):
                        continue  # controls are waiting: apply them (a rejected one keeps the frame)
                    if self.stopped.is_set():
                        break
                self.hub.publish(n, frame)
                shown = time.monotonic()
                if self.on_frame is not None:
                    self.on_frame(n, frame)
                last = n
                self._count(n, t0, t1, shown, t_prev, applied)
                t_prev, applied, frame = shown, [], None
                n = self._next(n, start) if self.realtime else n + 1
        finally:
            self.hub.close()
            self.stats.last_frame = last
            with self.applied:
                self.applied.notify_all()
        return last

    def _hold(self, until: float, stale_ok: bool) -> bool:
        """Wait until monotonic time ``until``; return True at once when a control is waiting (the frame drawn is
        stale; only when ``stale_ok``), False when the time came or the player stops."""
        while True:
            if stale_ok and not self._queue.empty():
                return True
            left = until - time.monotonic()
            if left <= 0 or self.stopped.is_set():
                return False
            self._wake.wait(left)
            self._wake.clear()

    def _count(self, n: int, t0: float, t1: float, shown: float, t_prev: float | None,
               applied: list[Control]) -> None:
        s = self.stats
        s.frames += 1
        s.frame_ms = (t1 - t0) * 1000
        if t_prev is not None and shown > t_prev:
            inst = 1.0 / (shown - t_prev)
            s.fps = inst if s.fps == 0 else 0.9 * s.fps + 0.1 * inst
        if applied:
            s.latency_ms = (shown - min(c.received for c in applied)) * 1000
        s.last_frame = n
        with self.applied:
            s.controls += len(applied)
            self.applied.notify_all()

    def _next(self, n: int, start: float) -> int:
        """Return the next frame to draw after frame ``n``: ``n + 1``, or when that is more than a frame period
        past due, the first frame not yet due (the frames skipped are counted as dropped)."""
        now = time.monotonic()
        nxt = n + 1
        late = now - (start + nxt / self.fps)
        if late > 1.0 / self.fps:
            nxt = int(math.floor((now - start) * self.fps)) + 1
            self.stats.dropped += nxt - n - 1
        return nxt

    def recording(self) -> dict:
        """Return the performance so far as a timeline dict (see ``Performance.close``)."""
        return self.frames.perf.close(max(0, self.stats.last_frame))

    def close(self) -> None:
        """Free the player's temporary latent files. Returns None."""
        self.frames.close()


__all__ = ["Player", "FrameHub", "LiveStats", "encode_jpeg"]
