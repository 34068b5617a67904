"""Keyframe resolution: a timeline's keyframes (seeds, latent files, labels, features, style mixing, slider
directions) turned into anchor vectors for one model, ready for the pure engine (``studio.engine.plan_frames``).

Anchors are z [z_dim] when the timeline interpolates in z (or the model has no w space), else untruncated
w [num_ws, w_dim]. Each keyframe also gets its truncation: its own ``truncation``, else the timeline's, except that a
w latent file renders as stored (psi 1) so a projection is reproduced. Problems are TimelineErrors naming the
timeline file, line and field.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganlib.errors import UserError
from ganlib.synth import Generator, condition, has_w_space, map_z, mix_styles, seed_to_z
from studio.directions import apply_directions, model_directions
from studio.errors import TimelineError
from studio.latents import check_latent_shape, keyframe_latent_space, read_features, read_latent


@dataclass
class ResolvedTimeline:
    """Keyframes turned into anchors in the interpolation space, with each keyframe's conditioning and truncation."""

    space: str                  # 'w' or 'z' (the space the engine interpolates)
    anchors: list[np.ndarray]
    conds: list[np.ndarray] | None
    truncations: list[float] | None = None
    mix_deltas: list[np.ndarray] | None = None  # per keyframe (w space): mixed − unmixed anchor, zeros without mix


def keyframe_condition(G: Generator, label: int | None, features, field: str, source: str | None = None,
                       line: int | None = None) -> np.ndarray | None:
    """Return ``ganlib.synth.condition`` for a keyframe, its errors as TimelineErrors at ``source``:``line``."""
    try:
        return condition(G, label, features, field=field)
    except UserError as exc:
        raise TimelineError(exc.message, file=source, line=line, field=field) from None


def resolve_keyframes(tl, G: Generator) -> ResolvedTimeline:
    """Return the timeline's keyframes as anchor vectors for ``G``: z [z_dim] when interpolating in z (or for
    models without w space), else untruncated w [num_ws, w_dim] with style mixing and slider offsets applied;
    plus per-keyframe conditioning and truncation. Raises TimelineError for keyframes that do not fit the model."""
    w_space = has_w_space(G)
    space = tl.space if w_space else "z"
    anchors: list[np.ndarray] = []
    conds: list[np.ndarray] = []
    truncations: list[float] = []
    mix_deltas: list[np.ndarray] = []
    for i, kf in enumerate(tl.keyframes):
        where = f"keyframes[{i}]"
        line = tl.line_of(where)
        features = kf.features
        if isinstance(features, str):
            features = read_features(features)
        label = kf.label if kf.label is not None else tl.label
        c = keyframe_condition(G, label, features, f"{where}.label" if features is None else f"{where}.features",
                               tl.source, line)
        if c is not None:
            conds.append(c)
        if kf.seed is not None:
            vec, vec_space = seed_to_z(kf.seed, G.z_dim), "z"
        else:
            arr, hint = read_latent(kf.latent, line=line, source=tl.source)
            vec_space = keyframe_latent_space(arr, hint, kf.latent_space, space=space, z_dim=G.z_dim,
                                              w_dim=G.w_dim, num_ws=G.num_ws, file=tl.source,
                                              line=tl.line_of(f"{where}.latent"), where=where, path=kf.latent)
            vec = check_latent_shape(arr, vec_space, z_dim=G.z_dim, w_dim=G.w_dim, num_ws=G.num_ws,
                                     file=kf.latent, line=line)
        if kf.truncation is not None:
            truncations.append(float(kf.truncation))
        else:
            truncations.append(1.0 if vec_space == "w" else float(tl.truncation))
        if space == "z":
            if vec_space == "w":
                raise TimelineError("a w latent cannot be used when interpolating in z; set 'space: w'",
                                    file=tl.source, line=line, field=f"{where}.latent")
            if kf.mix is not None or kf.directions:
                raise TimelineError("style mixing and slider directions need 'space: w'", file=tl.source,
                                    line=line, field=where)
            anchors.append(np.asarray(vec, dtype=np.float64))
            continue
        w = map_z(G, vec, c)[0].double().cpu().numpy() if vec_space == "z" else np.asarray(vec, dtype=np.float64)
        if kf.mix is not None:
            layers = tl.mix_layers(i, G.num_ws)
            w_mix = map_z(G, seed_to_z(kf.mix.seed, G.z_dim), c)[0].double().cpu().numpy()
            mixed = mix_styles(w, w_mix, layers)
            mix_deltas.append(mixed - w)
            w = mixed
        else:
            mix_deltas.append(np.zeros_like(w))
        if kf.directions:
            md = model_directions(G)
            try:
                w = apply_directions(w, kf.directions, md.directions, md.step)
            except KeyError as exc:
                raise TimelineError(f"unknown direction {exc.args[0]!r}; allowed: sefa0..sefa"
                                    f"{md.directions.shape[0] - 1}", file=tl.source, line=line,
                                    field=f"{where}.directions") from None
        anchors.append(w)
    return ResolvedTimeline(space=space, anchors=anchors, conds=conds or None, truncations=truncations,
                            mix_deltas=mix_deltas if space == "w" else None)


__all__ = ["ResolvedTimeline", "resolve_keyframes", "keyframe_condition"]
