"""Frames of a live performance, drawn through the render path: the keyframes around frame ``n``
(:meth:`Performance.window`) make a timeline, and frame ``n`` of it is drawn by ``studio.render.iter_frames``
(resolver → engine → ``ganlib.synth`` → resize), one frame per call, exactly as ``studio render --batch 1``.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from studio.directions import apply_directions, model_directions
from studio.engine import plan_frames
from studio.live.performance import Performance
from studio.render import iter_frames
from studio.resolve import resolve_keyframes
from studio.timeline import timeline_from_dict
from ganlib.synth import has_w_space


class LiveFrames:
    """Draws the frames of a performance of timeline ``tl`` with ``model`` (a LoadedModel) at ``dtype``.

    Latents that keep played frames exact after a control (see ``studio.live.performance``) are saved as .npy
    files in ``workdir`` (a temporary folder when None; removed by :meth:`close` when it was made here).
    """

    def __init__(self, tl, model, *, dtype: str = "auto", transition: float = 1.0, workdir: str | Path | None = None):
        self.model = model
        self.dtype = dtype
        self._own = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="studio-live-")) if workdir is None else Path(workdir)
        (self.workdir / "latents").mkdir(parents=True, exist_ok=True)
        shift = self._shift if has_w_space(model.G) else None
        self.perf = Performance(tl, sample=self.latent_at, store=self._store, shift=shift, transition=transition)

    def window_timeline(self, n: int):
        """Return the timeline of the keyframes frame ``n`` is drawn from (absolute frame times kept)."""
        keys = self.perf.window(n)
        return timeline_from_dict(self.perf.timeline_dict(keys, n), source="<live>")

    def frame(self, n: int) -> np.ndarray:
        """Return frame ``n`` of the performance: uint8 H×W×C at the timeline's size."""
        tl = self.window_timeline(n)
        for _, frame in iter_frames(tl, self.model, start=n, stop=n + 1, batch=1, dtype=self.dtype):
            return frame
        raise RuntimeError(f"no frame {n}")  # pragma: no cover - the window always covers n

    def latent_at(self, n: int) -> tuple[np.ndarray, float]:
        """Return (latent, truncation) frame ``n`` is drawn with: the engine's plan of the window timeline."""
        tl = self.window_timeline(n)
        resolved = resolve_keyframes(tl, self.model.G)
        plan = plan_frames(tl, resolved.anchors, resolved.conds, start=n, stop=n + 1,
                           truncations=resolved.truncations)
        return plan.latents[0].copy(), float(plan.truncation[0])

    def _store(self, n: int, latent: np.ndarray) -> str:
        path = self.workdir / "latents" / f"frame_{n:08d}.npy"
        np.save(path, np.asarray(latent, dtype=np.float64))
        return str(path.resolve())

    def _shift(self, latent: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        md = model_directions(self.model.G)
        return apply_directions(latent, amounts, md.directions, md.step)

    def close(self) -> None:
        """Remove the latent folder if this object made it. Returns None."""
        if self._own:
            shutil.rmtree(self.workdir, ignore_errors=True)


__all__ = ["LiveFrames"]
