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
from ganlib.synth import Generator, check_camera, condition, has_w_space, map_z, mix_styles, seed_to_z
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


def offset_dims(vec: np.ndarray, dims: dict[int, float] | None, tl, where: str, space: str) -> np.ndarray:
    """Return ``vec`` (z [z_dim], or w [num_ws, w_dim] / [w_dim]) with keyframe ``dims`` (index → offset) added to
    those single dimensions (every w layer alike). TimelineError at the ``dims`` line for an index the latent
    does not have."""
    if not dims:
        return vec
    size = vec.shape[-1]
    out = np.array(vec, dtype=np.float64, copy=True)
    for index, offset in dims.items():
        if not 0 <= int(index) < size:
            field = f"{where}.dims"
            raise TimelineError(f"latent dimension {index} does not exist: this model's {space} has {size} "
                                f"dimensions (0..{size - 1})", file=tl.source,
                                line=tl.line_of(field) or tl.line_of(where), field=field)
        out[..., int(index)] += float(offset)
    return out


def check_timeline_camera(tl, G: Generator) -> None:
    """Raise TimelineError at the field's line when the timeline moves the camera (keyframe ``translate`` or
    ``rotate``, timeline ``stabilize``) and ``G`` is not a StyleGAN3 model. Returns nothing."""
    used = [("stabilize", tl.line_of("stabilize"))] if tl.stabilize else []
    for i, kf in enumerate(tl.keyframes):
        for name in ("translate", "rotate"):
            if getattr(kf, name) is not None:
                field = f"keyframes[{i}].{name}"
                used.append((field, tl.line_of(field) or tl.line_of(f"keyframes[{i}]")))
    for field, line in used[:1]:
        try:
            check_camera(G, field)
        except UserError as exc:
            raise TimelineError(exc.message, file=tl.source, line=line, field=field) from None


def resolve_keyframes(tl, G: Generator) -> ResolvedTimeline:
    """Return the timeline's keyframes as anchor vectors for ``G``: z [z_dim] when interpolating in z (or for
    models without w space), else untruncated w [num_ws, w_dim] with style mixing and slider offsets applied;
    plus per-keyframe conditioning and truncation. Raises TimelineError for keyframes that do not fit the model
    (camera moves on a model that is not StyleGAN3 included). Keyframe ``dims`` offset single dimensions of the
    anchor (z, or every layer of w)."""
    check_timeline_camera(tl, G)
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
            anchors.append(offset_dims(np.asarray(vec, dtype=np.float64), kf.dims, tl, where, "z"))
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
        anchors.append(offset_dims(w, kf.dims, tl, where, "w"))
    return ResolvedTimeline(space=space, anchors=anchors, conds=conds or None, truncations=truncations,
                            mix_deltas=mix_deltas if space == "w" else None)


__all__ = ["ResolvedTimeline", "resolve_keyframes", "offset_dims", "keyframe_condition", "check_timeline_camera"]
