"""The live control model: a performance is a timeline that grows as controls arrive. Pure (no torch, no files).

The player draws frame ``n`` as frame ``n`` of :meth:`Performance.window` (a timeline of the keyframes around
``n``) through the same resolver, engine and generator as ``studio render``; the recording is
:meth:`Performance.close`, the whole keyframe list. So the frames of a performance are a pure function of the
timeline and the controls applied (each at a frame index), and ``studio render`` of the recording draws them again.

Rules that keep already-played frames unchanged when a control arrives at frame ``m`` (played frames are ``< m``):

* interpolation is local (linear or slerp; a cubic timeline plays as slerp: cubic tangents need future keyframes),
  so frames between two keyframes depend on those two only;
* a control *cuts* the performance after frame ``c = m - 1``: keyframes after ``c`` are dropped; if ``c`` was
  inside a segment, each played frame of that segment after its first keyframe becomes a keyframe holding exactly
  the latent and per-frame settings it was drawn with (``sample``; stored by ``store``), and a hold becomes one copy
  of the held keyframe at ``c``;
* settings that change at once (truncation, noise strength, StyleGAN3 translate/rotate, directions) add a keyframe
  at ``m`` with the latent frame ``m`` would have had, changed, and hold on the keyframes scheduled after it (user
  directions, which a timeline cannot name, by baking those keyframes into latent files: ``bake``); seed and
  keyframe changes start a segment at ``c`` towards their target.

The timeline's own keyframes are scheduled ahead (looping, at ``speed``) as keyframes of the performance.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from typing import Callable, Iterator

import numpy as np

from studio.live.controls import Control, ControlError

Sample = Callable[[int], tuple[np.ndarray, dict]]  # frame index → (latent, its keyframe settings) as drawn
Store = Callable[[str, np.ndarray], str]           # file stem, latent → path of the saved .npy
Shift = Callable[[np.ndarray, dict[str, float]], np.ndarray]  # latent, {direction: steps} → moved latent
Bake = Callable[[dict, dict[str, float]], dict]    # keyframe dict, {user direction: steps} → latent keyframe dict
SEFA_PREFIX = "sefa"  # directions a timeline keyframe names itself (``directions: {sefa0: 2}``)
_SETTINGS_DROP = ("time", "frame", "beat", "bar")  # when: the performance sets it


def live_settings(tl) -> dict:
    """Return the top-level fields of the performance timeline for input timeline ``tl`` (a dict for
    ``timeline_from_dict``): as ``tl`` but never looping, interpolation linear or slerp (cubic → slerp), noise
    "fixed" for "loop" (a looping noise needs the final length), output without a path."""
    out = {name: getattr(tl, name) for name in ("model", "fps", "size", "space", "truncation",
                                               "truncation_cutoff", "seed", "label")}
    out["interpolation"] = tl.interpolation if tl.interpolation in ("linear", "slerp") else "slerp"
    out["noise"] = "fixed" if tl.noise == "loop" else tl.noise
    out["loop"] = False
    out["output"] = tl.output.model_dump(exclude_none=True, exclude={"path"})
    return {k: v for k, v in out.items() if v is not None}


class Performance:
    """Keyframes of a live performance of timeline ``tl``, changed by :meth:`apply`.

    ``sample(j)`` returns the latent frame ``j`` is drawn with and its other per-frame settings as keyframe fields
    (``truncation``; ``noise_strength``, ``translate``, ``rotate`` when the frame has them; the player computes them
    from :meth:`window`), ``store(stem, latent)`` saves a latent and returns its path, ``shift(latent, amounts)``
    moves a latent along named directions (KeyError for an unknown name), ``bake(keyframe, amounts)`` returns the
    keyframe as a latent keyframe moved along user directions (names a timeline cannot hold: baked into latent
    files); ``camera`` says whether the model takes /studio/translate and /studio/rotate (StyleGAN3);
    ``transition`` is the initial seconds of a seed or keyframe change.
    """

    def __init__(self, tl, *, sample: Sample, store: Store, shift: Shift | None = None, bake: Bake | None = None,
                 camera: bool = False, transition: float = 1.0):
        self.tl = tl
        self.fps = float(tl.fps)
        self.settings = live_settings(tl)
        self.sample, self.store, self.shift, self.bake = sample, store, shift, bake
        self.camera = camera
        self.transition = float(transition)
        self.speed = 1.0
        self.truncation: float | None = None
        self.held: dict = {}  # noise_strength, translate, rotate set live: they hold from then on
        self.directions: dict[str, float] = {}   # SeFa directions (timeline keyframes hold them by name)
        self.user_directions: dict[str, float] = {}  # user direction files (baked into latent keyframes)
        self.notes: list[str] = []
        if tl.interpolation == "cubic":
            self.notes.append("cubic curves need the keyframe after each segment, which a control replaces: live "
                              "plays and records them as slerp, so the recording renders the frames shown")
        if tl.noise == "loop":
            self.notes.append("noise 'loop' needs the final length: live plays and records noise 'fixed'")
        if getattr(tl, "audio", None) is not None or getattr(tl, "react", None):
            self.notes.append("live does not follow the timeline's audio and react rules (a reaction is normalised "
                              "over the whole render's frames, unknown until the performance stops): it plays "
                              "without sound and reactions")
        self.src = [(t, _settings(kf.model_dump(exclude_none=True, exclude_defaults=True)))
                    for t, kf in zip(tl.keyframe_times, tl.keyframes)]
        self.period = tl.n_frames / self.fps
        if not tl.loop and tl.total_duration > self.src[-1][0]:
            self.src.append((tl.total_duration, _plain(self.src[-1][1])))
        self.keys: list[tuple[float, dict]] = []
        self.times: list[float] = []
        self._goto: tuple[float, dict] | None = None          # (time, settings) of a pending target
        self._play: tuple[float, float] | None = (0.0, 0.0)   # (perf time, input time) the schedule starts at
        self._paused: tuple | None = None
        if self.src[0][0] > 0:  # hold the first keyframe from frame 0 (live starts at the first keyframe)
            self._add(0.0, {"time": 0.0, **_plain(self.src[0][1])})
        self._future = self._schedule(inclusive=not self.keys)

    # ------------------------------------------------------------------------------------------ keyframes
    def _add(self, t: float, kf: dict) -> None:
        self.keys.append((t, kf))
        self.times.append(t)

    def _overrides(self, settings: dict) -> dict:
        out = dict(settings)
        if self.truncation is not None:
            out["truncation"] = self.truncation
        out.update(self.held)
        if self.directions:
            out["directions"] = {**out.get("directions", {}), **self.directions}
        amounts = {k: v for k, v in self.user_directions.items() if v}
        if amounts and self.bake is not None:
            out = self.bake(out, amounts)
        return out

    def _entries(self, after: float, inclusive: bool) -> Iterator[tuple[float, dict]]:
        """The timeline's keyframes (input time, settings) after input time ``after``, looping forever."""
        loop = max(0, int(math.floor(after / self.period)) - 1)
        while True:
            for t, s in self.src:
                x = loop * self.period + t
                if x > after or (inclusive and x == after):
                    yield x, s
            loop += 1

    def _schedule(self, inclusive: bool = False) -> Iterator[tuple[float, dict]]:
        """Future keyframes (perf time, keyframe dict): the pending target, then the timeline at ``speed``. The
        state is read now, not when the iterator is first advanced."""
        return self._scheduled(self.times[-1] if self.times else -math.inf, self._goto, self._play, self.speed,
                               inclusive)

    def _scheduled(self, last, goto, play, speed, inclusive) -> Iterator[tuple[float, dict]]:
        if goto is not None and goto[0] > last:
            t, s = goto
            yield t, {"time": t, **self._overrides(s)}
            last = t
        if play is None or speed <= 0:
            return
        tb, ib = play
        for x, s in self._entries(ib, inclusive):
            t = tb + (x - ib) / speed
            if t <= last:
                continue
            yield t, {"time": t, **self._overrides(s)}
            last = t

    def ensure(self, n: int) -> None:
        """Schedule keyframes until one lies after frame ``n`` (when the performance goes on). Returns None."""
        tn = n / self.fps
        while not self.times or self.times[-1] <= tn:
            nxt = next(self._future, None)
            if nxt is None:
                return
            self._add(*nxt)

    def window(self, n: int) -> list[dict]:
        """Return the keyframe dicts frame ``n`` is drawn from: the last at or before it and the next one (one
        keyframe when holding after the last). Frame ``n`` of a timeline of these equals frame ``n`` of the whole."""
        self.ensure(n)
        i = bisect_right(self.times, n / self.fps) - 1
        i = max(i, 0)
        return [kf for _, kf in self.keys[i:i + 2]]

    def playhead(self, j: int) -> float:
        """Return the timeline time (seconds of the input timeline) that frame ``j`` plays."""
        if self._play is None:
            return self._paused[1] if self._paused and self._paused[0] == "play" else 0.0
        tb, ib = self._play
        return ib + max(0.0, j / self.fps - tb) * self.speed

    def cut(self, c: int) -> None:
        """Keep frames ``0..c`` exactly as they were drawn and drop every keyframe after frame ``c``."""
        self.ensure(c)
        tc = c / self.fps
        i = bisect_right(self.times, tc) - 1
        ta, a = self.keys[i]
        has_next = i + 1 < len(self.keys)
        added: list[tuple[float, dict]] = []
        if ta < tc and not has_next:  # a hold: one copy of the held keyframe at c
            added.append((tc, {"frame": c, **_plain(_settings(a))}))
        elif ta < tc:
            j = max(0, int(math.floor(ta * self.fps)))
            while j / self.fps <= ta:
                j += 1
            for f in range(j, c + 1):
                latent, state = self.sample(f)
                added.append((f / self.fps, self._latent_key(f, latent, state)))
        del self.keys[i + 1:], self.times[i + 1:]
        for t, kf in added:
            self._add(t, kf)

    def _latent_key(self, f: int, latent: np.ndarray, state: dict) -> dict:
        return {"frame": f, "latent": self.store(f"frame_{f:08d}", latent), "latent_space": self.settings["space"],
                **state}

    def _rebase(self, j: int, *, drop_goto_before: float) -> None:
        """Restart the schedule at frame ``j`` (pending target kept if still ahead)."""
        if self._goto is not None and self._goto[0] <= drop_goto_before:
            self._goto = None
        if self._play is not None:
            tb, ib = self._play
            if j / self.fps > tb:
                self._play = (j / self.fps, self.playhead(j))
        self._future = self._schedule()

    # ------------------------------------------------------------------------------------------- controls
    def apply(self, m: int, control: Control) -> None:
        """Apply ``control`` from frame ``m`` on (``m`` >= 1; frames before ``m`` are kept). Raises ControlError
        (one line) for a control that does not fit this timeline; the performance is then unchanged."""
        if m < 1:
            raise ValueError("controls apply from frame 1 on")
        a, c = control.address, m - 1
        tc = c / self.fps
        if self._goto is not None and self._goto[0] <= tc:  # the target was reached: playing on or holding
            self._goto = None
        if a in ("/studio/translate", "/studio/rotate") and not self.camera:
            raise ControlError(f"{a}: camera moves need a StyleGAN3 model; this one is not (ignored)")
        if a == "/studio/transition":
            self.transition = float(control.value)
        elif a in ("/studio/seed", "/studio/keyframe"):
            if a == "/studio/keyframe":
                k = int(control.value)
                if k >= len(self.tl.keyframes):
                    raise ControlError(f"{a}: keyframe {k} does not exist; the timeline has "
                                       f"{len(self.tl.keyframes)} (0..{len(self.tl.keyframes) - 1})")
                target, after = _plain(self.src[k][1]), self.src[k][0]
            else:
                target, after = {"seed": int(control.value)}, None
            self._paused = None
            self._go(c, target, after)
        elif a == "/studio/speed":
            if self._goto is not None:  # on the way to a target: the new speed applies after it
                self._drop_after_goto(c)
            else:
                if self._play is not None:
                    self._play = (tc, self.playhead(c))
                self.cut(c)
            self.speed = float(control.value)
            self._future = self._schedule()
        elif a == "/studio/pause":
            self._pause(c, bool(control.value))
        elif a in _AT_ONCE or control.name is not None:
            self._modify(m, control)
        elif a == "/studio/stop":
            return
        else:  # pragma: no cover - parse_control only makes the addresses above
            raise ControlError(f"{a}: not a control")

    def _go(self, c: int, target: dict, after: float | None) -> None:
        tc = c / self.fps
        self.cut(c)
        tt = tc + self.transition if self.transition > 0 else (c + 1) / self.fps
        self._goto = (tt, target)
        self._play = None if after is None else (tt, after)
        self._future = self._schedule()

    def _drop_after_goto(self, c: int) -> None:
        """Keep frames up to ``c`` and the pending target's keyframe; drop what was scheduled after it."""
        self.ensure(c)
        keep = bisect_right(self.times, c / self.fps)
        if self._goto is not None and keep < len(self.keys) and self.times[keep] == self._goto[0]:
            keep += 1
        del self.keys[keep:], self.times[keep:]

    def _pause(self, c: int, on: bool) -> None:
        if on == (self._paused is not None):
            return
        if on:
            if self._goto is not None:
                self._paused = ("goto", self._goto, self._play)
            elif self._play is not None:
                self._paused = ("play", self.playhead(c))
            else:
                self._paused = ("hold",)
            self.cut(c)
            self._goto, self._play = None, None
            self._future = self._schedule()
            return
        paused, self._paused = self._paused, None
        self.cut(c)
        tc = c / self.fps
        if paused[0] == "play":
            self._play = (tc, paused[1])
        elif paused[0] == "goto":
            (_, target), play = paused[1], paused[2]
            self._go(c, target, play[1] if play is not None else None)
            return
        self._future = self._schedule()

    def _modify(self, m: int, control: Control) -> None:
        """Truncation, noise strength, the camera or a direction: changed from frame ``m`` on (a keyframe at
        ``m``)."""
        self.ensure(m)
        latent, state = self.sample(m)
        state = dict(state)
        a = control.address
        if control.name is not None:
            if self.settings["space"] != "w" or self.shift is None:
                raise ControlError(f"{a}: directions need a timeline with space: w")
            user = not _is_sefa(control.name)
            held = self.user_directions if user else self.directions
            delta = float(control.value) - held.get(control.name, 0.0)
            try:
                latent = self.shift(latent, {control.name: delta})
            except KeyError as exc:  # its argument lists the names allowed
                raise ControlError(f"{a}: unknown direction {control.name!r}; allowed: "
                                   f"{exc.args[0] if exc.args else 'sefa0..sefa7'}") from None
            held[control.name] = float(control.value)
        elif a == "/studio/truncation":
            self.truncation = state["truncation"] = float(control.value)
        else:
            key = _AT_ONCE[a]
            value = list(control.values) if key == "translate" else float(control.value)
            self.held[key] = state[key] = value
        self.cut(m - 1)
        self._add(m / self.fps, self._latent_key(m, latent, state))
        self._rebase(m, drop_goto_before=m / self.fps)

    # ------------------------------------------------------------------------------------------ recording
    def timeline_dict(self, keyframes: list[dict], last: int) -> dict:
        """Return a timeline dict of ``keyframes`` covering frames ``0..last``."""
        t_last = max(last / self.fps, *(_time(k, self.fps) for k in keyframes))
        return {**self.settings, "duration": t_last if t_last > 0 else 1 / self.fps, "keyframes": keyframes}

    def close(self, last: int) -> dict:
        """Return the recording: a timeline dict whose frames ``0..last`` are the frames played."""
        if last >= 1:
            self.cut(last)
        else:
            self.ensure(0)
            del self.keys[1:], self.times[1:]
        return self.timeline_dict([kf for _, kf in self.keys], last)


_AT_ONCE = {"/studio/truncation": "truncation", "/studio/noise": "noise_strength", "/studio/translate": "translate",
            "/studio/rotate": "rotate"}  # controls that change the frames at once (keyframe field they set)


def _is_sefa(name: str) -> bool:
    return name.startswith(SEFA_PREFIX) and name[len(SEFA_PREFIX):].isdigit()


def _time(kf: dict, fps: float) -> float:
    return float(kf["time"]) if "time" in kf else kf["frame"] / fps


def _settings(kf: dict) -> dict:
    return {k: v for k, v in kf.items() if k not in _SETTINGS_DROP}


def _plain(settings: dict) -> dict:
    """Settings without ``ease``: a copy that holds a value, not a segment's shape."""
    return {k: v for k, v in settings.items() if k != "ease"}


__all__ = ["Performance", "live_settings"]
