"""Frames of a live performance, drawn through the render path: the keyframes around frame ``n``
(:meth:`Performance.window`) make a timeline, and frame ``n`` of it is drawn as ``studio render --batch 1`` draws
it: anchors from ``studio.resolve`` (cached per keyframe: an anchor depends on the keyframe's settings only), the
plan from ``studio.engine.plan_frames``, pixels from ``studio.render.generate_plan`` and ``postprocess``.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ganlib.networks.stylegan3 import is_stylegan3
from ganlib.synth import has_w_space
from studio.directions import apply_directions, model_directions
from studio.engine import plan_frames
from studio.live.performance import Performance
from studio.render import generate_plan, postprocess, timeline_noise
from studio.resolve import ResolvedTimeline, resolve_keyframes
from studio.timeline import timeline_from_dict

HORIZON = 3600.0  # seconds a window timeline runs past its last keyframe (holds do not depend on it)


class LiveFrames:
    """Draws the frames of a performance of timeline ``tl`` with ``model`` (a LoadedModel) at ``dtype``.

    Latents that keep played frames exact after a control (see ``studio.live.performance``) are saved as .npy
    files in ``workdir`` (a temporary folder when None; removed by :meth:`close` when it was made here).
    ``directions`` ({name: vector [w_dim], one slider step long}, from ``studio.live.directions``) are the user
    directions ``/studio/direction/NAME`` moves along, beside the SeFa ones.
    """

    def __init__(self, tl, model, *, dtype: str = "auto", transition: float = 1.0, workdir: str | Path | None = None,
                 directions: dict[str, np.ndarray] | None = None):
        self.model = model
        self.user_directions = dict(directions or {})
        self._baked: dict[str, dict] = {}
        self.dtype = dtype
        self._own = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="studio-live-")) if workdir is None else Path(workdir)
        (self.workdir / "latents").mkdir(parents=True, exist_ok=True)
        self._window = None
        self._anchors: dict[str, ResolvedTimeline] = {}
        self._noise = None
        shift = self._shift if has_w_space(model.G) else None
        self.perf = Performance(tl, sample=self.latent_at, store=self._store, shift=shift, bake=self._bake,
                                camera=is_stylegan3(model.G), transition=transition)

    def window_timeline(self, n: int):
        """Return the timeline of the keyframes frame ``n`` is drawn from (absolute frame times kept; it runs
        ``HORIZON`` seconds past them, which changes no frame: the performance never loops)."""
        keys = self.perf.window(n)
        cached = self._window
        if cached is not None and len(cached[0]) == len(keys) and all(a is b for a, b in zip(cached[0], keys)) \
                and cached[1].n_frames > n:
            return cached[1]
        d = self.perf.timeline_dict(keys, n)
        d["duration"] = d["duration"] + HORIZON
        tl = timeline_from_dict(d, source="<live>")
        self._window = (keys, tl)
        return tl

    def resolved(self, tl) -> ResolvedTimeline:
        """Return ``studio.resolve.resolve_keyframes`` of window timeline ``tl``, each keyframe resolved once."""
        anchors, conds, truncs = [], [], []
        for kf in tl.keyframes:
            r = self._resolve_one(kf.model_dump(exclude_none=True))
            anchors.append(r.anchors[0])
            truncs.append(r.truncations[0])
            if r.conds:
                conds.append(r.conds[0])
            space = r.space
        return ResolvedTimeline(space=space, anchors=anchors, conds=conds or None, truncations=truncs)

    def _resolve_one(self, kf: dict) -> ResolvedTimeline:
        """Return ``resolve_keyframes`` of one keyframe (a dict; its time and ease do not matter), cached."""
        key = json.dumps({k: v for k, v in kf.items() if k not in ("time", "frame", "ease")}, sort_keys=True)
        if key not in self._anchors:
            one = timeline_from_dict({**self.perf.settings, "keyframes": [{"time": 0.0, **json.loads(key)}]},
                                     source="<live>")
            self._anchors[key] = resolve_keyframes(one, self.model.G)
        return self._anchors[key]

    def plan(self, n: int):
        """Return (window timeline, its resolution, the engine's FramePlan of frame ``n``)."""
        tl = self.window_timeline(n)
        res = self.resolved(tl)
        return tl, res, plan_frames(tl, res.anchors, res.conds, start=n, stop=n + 1, truncations=res.truncations)

    def frame(self, n: int) -> np.ndarray:
        """Return frame ``n`` of the performance: uint8 H×W×C at the timeline's size."""
        tl, res, plan = self.plan(n)
        if self._noise is None:
            self._noise = timeline_noise(tl, self.model.G)
        images = generate_plan(self.model.G, tl, res.space, plan, self._noise, dtype=self.dtype)
        return postprocess(images, tl.frame_size, tl.output.fit)[0]

    def latent_at(self, n: int) -> tuple[np.ndarray, dict]:
        """Return (latent, keyframe fields) frame ``n`` is drawn with, from the engine's plan of the window
        timeline: its ``truncation`` and, when the frame has them, ``noise_strength``, ``translate``, ``rotate``."""
        _, _, plan = self.plan(n)
        state = {"truncation": float(plan.truncation[0])}
        if plan.noise_strength is not None:
            state["noise_strength"] = float(plan.noise_strength[0])
        if plan.translate is not None:
            state["translate"] = [float(v) for v in plan.translate[0]]
            state["rotate"] = float(plan.rotate[0])
        return plan.latents[0].copy(), state

    def _store(self, stem: str, latent: np.ndarray) -> str:
        """Save ``latent`` as a new file (never over one saved before: resolved anchors are cached by path)."""
        path, k = self.workdir / "latents" / f"{stem}.npy", 0
        while path.exists():
            k += 1
            path = self.workdir / "latents" / f"{stem}_{k}.npy"
        np.save(path, np.asarray(latent, dtype=np.float64))
        return str(path.resolve())

    def _shift(self, latent: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        """Return ``latent`` moved by ``amounts`` ({name: steps}) along SeFa and user directions; KeyError (its
        argument: the names allowed) for an unknown name."""
        md = model_directions(self.model.G)
        out = np.array(latent, dtype=np.float64, copy=True)
        for name, amount in amounts.items():
            if name in self.user_directions:
                out = out + float(amount) * self.user_directions[name]
                continue
            try:
                out = apply_directions(out, {name: amount}, md.directions, md.step)
            except KeyError:
                allowed = [f"sefa0..sefa{md.directions.shape[0] - 1}", *self.user_directions]
                raise KeyError(", ".join(allowed)) from None
        return out

    def _bake(self, kf: dict, amounts: dict[str, float]) -> dict:
        """Return keyframe dict ``kf`` moved along user directions ``amounts``: a w latent keyframe (its anchor,
        shifted, saved as a file) keeping its truncation, ease, camera, noise strength and conditioning."""
        key = json.dumps([kf, amounts], sort_keys=True)
        if key not in self._baked:
            r = self._resolve_one(kf)
            path = self._store(f"key_{len(self._baked):06d}", self._shift(r.anchors[0], amounts))
            keep = {k: v for k, v in kf.items() if k in ("ease", "translate", "rotate", "noise_strength", "label",
                                                           "features")}
            self._baked[key] = {**keep, "latent": path, "latent_space": "w", "truncation": float(r.truncations[0])}
        return dict(self._baked[key])

    def close(self) -> None:
        """Remove the latent folder if this object made it. Returns None."""
        if self._own:
            shutil.rmtree(self.workdir, ignore_errors=True)


__all__ = ["LiveFrames"]
