"""Pictures the Timeline tab draws while editing: keyframe thumbnails, previews that survive a bad keyframe, and
playback of the whole timeline from frames rendered ahead in a background thread.

Every picture comes from :func:`studio.render.iter_frames` (the one generation path, ``ganlib.synth``), so a
thumbnail or a played frame is exactly the frame ``studio render`` writes, shown smaller (every n-th pixel).
"""
from __future__ import annotations

import base64
import io
import re
import threading
import time
from collections import OrderedDict
from typing import Iterator

import numpy as np
from PIL import Image

from ganlib.checkpoints import LoadedModel
from ganlib.errors import UserError
from studio.render import iter_frames
from studio.resolve import resolve_keyframes
from studio.timeline import Timeline, with_audio
from studio.ui import imaging, state

PLAY_SIZE = 128          # played frames are shown at most this many pixels a side
THUMB_SIZE = 48          # keyframe thumbnails on the ruler
PLAY_CACHE_FRAMES = 600  # frames one player keeps (a longer timeline renders its frames again on the next loop)
PLAY_CHUNK = 4           # frames rendered per step of the background renderer
PLAYERS_KEPT = 4         # timelines whose played frames are kept (all sessions together)
THUMBS_KEPT = 512
_KEYFRAME_FIELD = re.compile(r"^keyframes\[(\d+)\]")


def shrink(frame: np.ndarray, side: int) -> np.ndarray:
    """Every n-th pixel of a uint8 frame so its longer side is at most ``side`` (the frame itself if it is)."""
    step = max(1, -(-max(frame.shape[:2]) // int(side)))
    return np.ascontiguousarray(frame[::step, ::step])


def data_uri(frame: np.ndarray) -> str:
    """A PNG ``data:`` URI of a uint8 H×W×C frame (for the ruler's thumbnails)."""
    buf = io.BytesIO()
    Image.fromarray(frame if frame.shape[-1] != 1 else frame[..., 0]).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def bad_keyframe(err: UserError) -> int | None:
    """The keyframe index a UserError's ``field`` names (``keyframes[2].latent`` → 2), or None."""
    m = _KEYFRAME_FIELD.match(str(getattr(err, "field", "") or ""))
    return int(m.group(1)) if m else None


def usable_part(tl: Timeline, model: LoadedModel) -> tuple[Timeline, list[str]]:
    """``tl`` without the keyframes that cannot be rendered with ``model`` (a latent of the wrong shape, a
    direction the model lacks, ...), found by resolving the keyframes as the renderer does; returns (that
    timeline, one warning per keyframe left out, naming it by its index in ``tl``). A UserError that names no
    keyframe, or would leave none, is raised."""
    warnings: list[str] = []
    kept = list(range(len(tl.keyframes)))
    current = tl
    while True:
        try:
            resolve_keyframes(with_audio(current), model.G)
            return current, warnings
        except UserError as err:
            i = bad_keyframe(err)
            if i is None:
                i = _failing_keyframe(current, model)
            if i is None or i >= len(kept) or len(kept) < 2:
                raise
            warnings.append(f"keyframe {kept[i]} left out: {err.message}")
            del kept[i]
            data = state.fields_of(current)
            del data["keyframes"][i]
            current = state.to_timeline(state.build(data))


def _alone(tl: Timeline, index: int) -> Timeline:
    """Keyframe ``index`` of ``tl`` as a one-keyframe timeline with the same settings (no music, no loop) at the
    model's own size."""
    data = state.fields_of(tl)
    kf = {k: v for k, v in data["keyframes"][index].items() if k not in ("time", "frame", "beat", "bar")}
    single = {k: v for k, v in data.items() if k not in ("keyframes", "audio", "react", "duration", "loop", "size")}
    return state.to_timeline(state.build({**single, "loop": False, "keyframes": [{"time": 0, **kf}]}))


def _failing_keyframe(tl: Timeline, model: LoadedModel) -> int | None:
    """The first keyframe of ``tl`` that cannot be resolved alone with ``model``, or None."""
    for i in range(len(tl.keyframes)):
        try:
            resolve_keyframes(_alone(tl, i), model.G)
        except UserError:
            return i
    return None


def check_keyframe(tl: Timeline, model: LoadedModel, index: int) -> None:
    """Refuse keyframe ``index`` of ``tl`` at once when it cannot be rendered with ``model`` (a latent file of the
    wrong shape, a class the model lacks, ...): the renderer's UserError."""
    resolve_keyframes(_alone(tl, index), model.G)


def frame_image(tl: Timeline, model: LoadedModel, index: int) -> tuple[np.ndarray, list[str]]:
    """Frame ``index`` of ``tl`` (uint8, displayable) and warnings for keyframes left out because they cannot be
    rendered (:func:`usable_part`)."""
    part, warnings = usable_part(tl, model)
    return imaging.preview_frame(part, model, index), warnings


class Thumbnails:
    """Keyframe thumbnails (PNG data URIs), cached by what they show: the model and the keyframe's fields with the
    timeline settings that change its image."""

    def __init__(self, kept: int = THUMBS_KEPT):
        self._cache: OrderedDict = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def of(self, tl: Timeline, model: LoadedModel, index: int) -> tuple[str, str]:
        """(data URI or "", problem or "") for keyframe ``index`` of ``tl`` shown alone."""
        try:
            one = _alone(tl, index)
        except UserError as err:
            return "", err.message
        key = (id(model.G), repr(state.fields_of(one)))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            result = (data_uri(shrink(imaging.preview_frame(one, model, 0), THUMB_SIZE)), "")
        except UserError as err:
            result = ("", err.message)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._kept:
                self._cache.popitem(last=False)
        return result


class FramePlayer:
    """Frames of one timeline at :data:`PLAY_SIZE`, rendered ahead of the playhead by a background thread.

    ``request(i)`` moves the playhead; :meth:`frame` waits for a frame. The thread renders the frames after the
    playhead (wrapping round for a loop) until it holds :data:`PLAY_CACHE_FRAMES` of them, and stops after a while
    without requests.
    """

    IDLE_S = 30.0

    def __init__(self, tl: Timeline, model: LoadedModel, loop: bool = True):
        self.tl, self.model, self.loop = tl, model, loop
        self.n = int(tl.n_frames)
        self._frames: dict[int, np.ndarray] = {}
        self._want = 0
        self._error: UserError | None = None
        self._cond = threading.Condition()
        self._last_request = time.monotonic()
        self._thread: threading.Thread | None = None

    def _ahead(self) -> list[int]:
        window = min(self.n, PLAY_CACHE_FRAMES)
        idx = [self._want + k for k in range(window)]
        return [i % self.n for i in idx] if self.loop else [i for i in idx if i < self.n]

    def _next_missing(self) -> int | None:
        return next((i for i in self._ahead() if i not in self._frames), None)

    def _run(self) -> None:
        while True:
            with self._cond:
                start = self._next_missing()
                while start is None or self._error is not None:
                    if time.monotonic() - self._last_request > self.IDLE_S:
                        self._thread = None
                        return
                    self._cond.wait(1.0)
                    start = self._next_missing()
            stop = min(self.n, start + PLAY_CHUNK)
            try:
                for i, frame in iter_frames(self.tl, self.model, start=start, stop=stop, batch=PLAY_CHUNK):
                    if i >= start:
                        self._store(i, shrink(imaging.displayable(frame), PLAY_SIZE))
            except UserError as err:
                with self._cond:
                    self._error = err
                    self._cond.notify_all()

    def _store(self, i: int, frame: np.ndarray) -> None:
        with self._cond:
            self._frames[i] = frame
            if len(self._frames) > PLAY_CACHE_FRAMES:
                keep = set(self._ahead())
                for j in [j for j in self._frames if j not in keep][:len(self._frames) - PLAY_CACHE_FRAMES]:
                    del self._frames[j]
            self._cond.notify_all()

    def request(self, i: int) -> None:
        """Move the playhead to frame ``i`` (rendering starts there) and make sure the renderer runs."""
        with self._cond:
            self._want = int(i) % self.n
            self._last_request = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="studio-playback", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def frame(self, i: int, timeout: float = 120.0) -> np.ndarray:
        """Frame ``i`` (uint8, at most PLAY_SIZE a side), waiting up to ``timeout`` s for the renderer; raises the
        renderer's UserError, or a UserError when it takes longer."""
        self.request(i)
        deadline = time.monotonic() + timeout
        with self._cond:
            while i not in self._frames:
                if self._error is not None:
                    raise self._error
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UserError(f"frame {i} took over {timeout:g} s to render; try a smaller model or size",
                                    field="frame")
                self._cond.wait(min(left, 1.0))
            return self._frames[i]

    def cached(self) -> int:
        """How many frames are ready."""
        with self._cond:
            return len(self._frames)


class Players:
    """The :class:`FramePlayer` of each recently played timeline (shared by sessions playing the same one)."""

    def __init__(self, kept: int = PLAYERS_KEPT):
        self._players: OrderedDict = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def get(self, tl: Timeline, model: LoadedModel, loop: bool) -> FramePlayer:
        """The player of ``tl`` (made on first use)."""
        key = (id(model.G), repr(state.fields_of(tl)), bool(loop))
        with self._lock:
            player = self._players.get(key)
            if player is None:
                player = self._players[key] = FramePlayer(tl, model, loop)
            self._players.move_to_end(key)
            while len(self._players) > self._kept:
                self._players.popitem(last=False)
            return player


def play(player: FramePlayer, start: int, fps: float, loop: bool) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, frame) from ``start`` at ``fps`` (waiting for frames not rendered yet; never faster
    than ``fps``), round and round when ``loop``, else once to the last frame."""
    i = min(max(0, int(start)), player.n - 1)
    period = 1.0 / float(fps)
    due = time.monotonic()
    while True:
        frame = player.frame(i)
        yield i, frame
        due = max(due + period, time.monotonic() - period)
        time.sleep(max(0.0, due - time.monotonic()))
        i += 1
        if i >= player.n:
            if not loop:
                return
            i = 0
