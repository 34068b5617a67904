"""Audio-reactive rendering: a timeline's ``react`` rules made into modulation controls for one model, and applied
to each planned batch on top of the keyframed walk (the maths is ``studio.modulation``; features come from
``studio.audio``). Rule vectors live in the timeline's interpolation space: a pulse's ``seed`` is mapped to an
untruncated w (in w space) like a keyframe's; a ``direction`` is a SeFa direction (``sefaN``) or a vector file,
scaled so that ``amount: 1`` is one slider step, as keyframe ``directions`` are."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganlib.synth import Generator, map_z, seed_to_z
from studio.audio.analysis import frame_features
from studio.directions import model_directions
from studio.engine import FramePlan, plan_frames
from studio.latents import check_latent_shape, read_latent
from studio.modulation import Control, Modulated, Shaping, make_control, modulate


@dataclass
class ReactPlan:
    """The prepared rules of a render: ``controls`` (one per rule, signals for every frame) and, for ``mix``
    rules, ``mix_deltas`` (per keyframe: its mixed minus unmixed anchor)."""

    controls: list[Control]
    mix_deltas: list[np.ndarray] | None = None

    def apply(self, tl, plan: FramePlan, truncations: list[float] | None = None) -> Modulated:
        """Return the modulated latents, truncation and noise strength of the frames in ``plan`` (a batch planned
        by ``plan_frames`` for timeline ``tl``; ``truncations`` as given to it)."""
        mix_delta = None
        if self.mix_deltas is not None:
            mix_delta = plan_frames(tl, self.mix_deltas, None, start=plan.start, stop=plan.start + plan.n_frames,
                                    truncations=truncations).latents
        frames = np.arange(plan.start, plan.start + plan.n_frames)
        return modulate(plan.latents, plan.truncation, self.controls, frames, mix_delta=mix_delta)


def _latent(G: Generator, space: str, z: np.ndarray, cond: np.ndarray | None) -> np.ndarray:
    """z [z_dim] as a vector of the interpolation space: z itself, or its untruncated w [num_ws, w_dim]."""
    if space == "z":
        return np.asarray(z, dtype=np.float64)
    return map_z(G, z, cond)[0].double().cpu().numpy()


def _direction(tl, G: Generator, rule, where: str) -> np.ndarray:
    md = model_directions(G)
    name = rule.direction
    if name.startswith("sefa") and name[4:].isdigit():
        idx = int(name[4:])
        if idx >= md.directions.shape[0]:
            raise tl.error(f"unknown direction {name!r}; allowed: sefa0..sefa{md.directions.shape[0] - 1}",
                           f"{where}.direction")
        return md.directions[idx] * md.step
    arr, _ = read_latent(name, line=tl.line_of(f"{where}.direction"), source=tl.source)
    vec = np.asarray(arr, dtype=np.float64).reshape(-1)
    if vec.size == G.w_dim:
        shaped = vec
    elif vec.size == G.w_dim * G.num_ws:
        shaped = vec.reshape(G.num_ws, G.w_dim)
    else:
        raise tl.error(f"direction file {name} holds {vec.size} values; a direction in this model's w space has "
                       f"{G.w_dim} (or {G.num_ws}x{G.w_dim})", f"{where}.direction")
    norm = float(np.linalg.norm(shaped))
    if norm == 0:
        raise tl.error(f"direction file {name} is all zeros", f"{where}.direction")
    return shaped / norm * md.step * (np.sqrt(G.num_ws) if shaped.ndim == 2 else 1.0)


def _rule_vector(tl, G: Generator, space: str, rule, where: str, cond: np.ndarray | None):
    """The vector a rule needs (None for truncation, noise and mix)."""
    if rule.target in ("direction", "motion"):
        return _direction(tl, G, rule, where)
    if rule.target == "chroma-blend":
        return np.stack([_latent(G, space, seed_to_z(s, G.z_dim), cond) for s in rule.seeds])
    if rule.target == "pulse":
        if rule.seed is not None:
            return _latent(G, space, seed_to_z(rule.seed, G.z_dim), cond)
        arr, hint = read_latent(rule.latent, line=tl.line_of(f"{where}.latent"), source=tl.source)
        vec_space = hint or space
        if vec_space != space and not (vec_space == "z" and space == "w"):
            raise tl.error(f"{rule.latent} holds a {vec_space} latent but the timeline interpolates in {space}",
                           f"{where}.latent")
        vec = check_latent_shape(arr, vec_space, z_dim=G.z_dim, w_dim=G.w_dim, num_ws=G.num_ws,
                                 file=rule.latent, line=tl.line_of(f"{where}.latent"))
        return _latent(G, space, vec, cond) if vec_space == "z" else np.asarray(vec, dtype=np.float64)
    return None


def prepare_react(tl, G: Generator, resolved) -> ReactPlan | None:
    """Return the :class:`ReactPlan` of timeline ``tl``'s react rules for model ``G`` (``resolved``: its keyframes
    resolved by ``studio.resolve.resolve_keyframes``), with features of the attached audio
    (``tl.audio_track``) for all ``tl.n_frames`` frames; None when the timeline has no rules. TimelineError for
    a rule that does not fit the model."""
    if not tl.react:
        return None
    track = tl.audio_track
    if track is None:
        raise ValueError("react rules need the timeline's audio attached (studio.timeline.with_audio)")
    features = frame_features(track.analysis, tl.fps, tl.n_frames, offset=track.offset)
    cond = resolved.conds[0] if resolved.conds else None
    controls = []
    for i, rule in enumerate(tl.react):
        where = f"react[{i}]"
        vector = _rule_vector(tl, G, resolved.space, rule, where, cond)
        attack, release = rule.attack_release
        shaping = Shaping(percentile=rule.percentile, power=rule.power, attack=attack, release=release)
        controls.append(make_control(rule.target, rule.amount, features.get(rule.feature, rule.band_name), tl.fps,
                                     shaping, vector=vector, decay=rule.pulse_decay))
    needs_mix = any(c.target == "mix" for c in controls)
    return ReactPlan(controls=controls, mix_deltas=resolved.mix_deltas if needs_mix else None)
