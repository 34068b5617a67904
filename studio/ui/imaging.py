"""Pictures for the studio UI: seed gallery pages, single-frame previews and a model's summary.

All of them go through the same code as the command line (``studio.batch.seed_images`` for seeds,
``studio.render.iter_frames`` for timeline frames, both on ``ganlib.synth``), so what the UI shows is what
``studio render`` writes. Images are uint8 H×W×C with the model's channels (1, 3 or 4).
"""
from __future__ import annotations

import numpy as np

from ganlib.checkpoints import LoadedModel
from ganlib.errors import UserError
from ganlib.synth import cond_kind, has_w_space, to_rgb
from studio.batch import seed_images
from studio.ui import state
from studio.render import iter_frames
from studio.keyframe_model import MAX_FEATURE
from studio.seeds import MAX_SEED

PER_PAGE = 16


def page_seeds(page: int, per_page: int = PER_PAGE) -> list[int]:
    """The seeds shown on gallery ``page`` (0-based): ``page*per_page`` .. ``page*per_page + per_page - 1``."""
    page = max(0, int(page))
    first = page * per_page
    return [s for s in range(first, first + per_page) if s <= MAX_SEED]


def displayable(pixels: np.ndarray) -> np.ndarray:
    """Return uint8 pixels a browser image widget shows as they are: grey H×W×1 as H×W×3 (same grey), RGB and RGBA
    unchanged."""
    return to_rgb(pixels) if pixels.shape[-1] == 1 else pixels


def class_names(model: LoadedModel) -> list[str]:
    """The class names of a label-conditioned model: its provenance's ``class_names`` (the training folder's
    sub-folder names) when they fit ``c_dim``, else "class 0", "class 1", ...; [] for other models."""
    G = model.G
    if cond_kind(G) != "label":
        return []
    names = list((model.provenance or {}).get("class_names") or [])
    if len(names) != int(G.c_dim):
        names = [f"class {i}" for i in range(int(G.c_dim))]
    return [str(n) for n in names]


def class_choices(model: LoadedModel) -> list[tuple[str, int]]:
    """(label, class index) pairs for a class picker: "0 · A", "1 · B", ...; [] for models without labels."""
    return [(name if name == f"class {i}" else f"{i} · {name}", i) for i, name in enumerate(class_names(model))]


def parse_features(text: str | None, model: LoadedModel) -> np.ndarray | None:
    """The feature vector [c_dim] typed into a feature box ("0.1, 0.5 -1": commas or spaces) for a
    feature-conditioned model; zeros when the box is empty; None for other models. UserError naming ``features``
    for a value that is not a finite number or the wrong count."""
    G = model.G
    if cond_kind(G) != "features":
        return None
    cells = [c for c in str(text or "").replace(",", " ").split() if c]
    if not cells:
        return np.zeros(int(G.c_dim))
    try:
        vec = np.array([float(c) for c in cells], dtype=np.float64)
    except ValueError:
        raise UserError(f"features must be numbers separated by commas (got {str(text)[:40]!r})",
                        field="features") from None
    if not np.isfinite(vec).all() or np.abs(vec).max() > MAX_FEATURE:
        raise UserError(f"features must be finite numbers within ±{MAX_FEATURE:g}", field="features")
    if vec.shape[0] != int(G.c_dim):
        raise UserError(f"{vec.shape[0]} feature values; this model takes {G.c_dim}", field="features")
    return vec


def format_features(vec) -> str:
    """A feature vector as the text of a feature box ("0.1, 0.5, -1")."""
    return ", ".join(f"{float(v):.6g}" for v in np.asarray(vec).reshape(-1))


def condition_fields(model: LoadedModel, class_idx: int | None = None, features: str | None = None) -> dict:
    """Keyframe fields (plain data) for the class picker's ``class_idx`` (an index, or a class name) and the feature
    box's text: ``label`` for a label model, ``features`` for a feature model, nothing for others. UserError for a
    bad class or vector."""
    kind = cond_kind(model.G)
    if kind == "label":
        names = class_names(model)
        if class_idx in (None, ""):
            label = 0
        elif str(class_idx).strip() in names:
            label = names.index(str(class_idx).strip())
        else:
            try:
                label = int(float(class_idx))
            except (TypeError, ValueError):
                raise UserError(f"no class {str(class_idx)[:40]!r}; the classes are {', '.join(names)}",
                                field="class") from None
        if not 0 <= label < int(model.G.c_dim):
            raise UserError(f"class {label} is out of range: the model has {model.G.c_dim} classes "
                            f"(0..{model.G.c_dim - 1})", field="class")
        return {"label": label}
    if kind == "features":
        return {"features": [float(v) for v in parse_features(features, model)]}
    return {}


def seed_gallery(model: LoadedModel, seeds: list[int], truncation: float = 1.0, *, class_idx: int | None = None,
                 features: str | None = None) -> list[tuple[np.ndarray, str]]:
    """Return [(uint8 image, "seed N")] for ``seeds`` at ``truncation``: class ``class_idx`` (default 0) of a
    class-conditional model, the vector typed as ``features`` (default zeros) for a feature model."""
    psi = float(truncation)
    if not 0 <= psi <= 2:
        raise UserError(f"truncation must be between 0 and 2 (got {truncation!r})", field="truncation")
    cond = condition_fields(model, class_idx, features)
    rows = None if "features" not in cond else np.tile(np.asarray(cond["features"]), (len(seeds), 1))
    return [(displayable(img), f"seed {s}") for s, img in seed_images(model, list(seeds), truncation=psi,
                                                                      class_idx=cond.get("label"), features=rows,
                                                                      batch=8)]


def mark_seeds(images: list, seeds: list[int], marked) -> list[tuple[np.ndarray, str]]:
    """Gallery items [(image, caption)] for ``images`` of ``seeds``, captions of the seeds in ``marked`` (those on
    the timeline) ending in " ★"."""
    marked = set(marked)
    return [(img, f"seed {s}" + (" ★" if s in marked else "")) for img, s in zip(images, seeds)]


def enlarge(pixels: np.ndarray, at_least: int = 384) -> np.ndarray:
    """Return uint8 ``pixels`` (H×W×C) scaled up by a whole factor (nearest neighbour) to at least ``at_least``
    pixels a side, for the larger preview; unchanged when already that large."""
    k = max(1, -(-int(at_least) // max(pixels.shape[:2])))
    return np.repeat(np.repeat(pixels, k, axis=0), k, axis=1) if k > 1 else pixels


def preview_frame(tl, model: LoadedModel, index: int) -> np.ndarray:
    """Render frame ``index`` of timeline ``tl`` alone (``iter_frames(start=i, stop=i+1, batch=1)``).

    Returns the uint8 frame at the timeline's output size (grey as H×W×3, see ``displayable``); the index is clamped to the timeline.
    """
    n = tl.n_frames
    i = min(max(0, int(index)), n - 1)
    for _, frame in iter_frames(tl, model, start=i, stop=i + 1, batch=1):
        return displayable(frame)
    raise UserError(f"frame {i} could not be rendered", field="frame")  # pragma: no cover - iter_frames yields


_NOT_FOR_ONE_KEYFRAME = ("keyframes", "audio", "react", "duration", "loop", "output")


def keyframe_preview(tl, model: LoadedModel, fields: dict) -> np.ndarray:
    """Render a keyframe on its own: ``fields`` (plain keyframe data: seed, dims, label, features, ...) at time 0
    with ``tl``'s model, size, truncation, space and noise (its keyframes, music and react rules left out), through
    :func:`preview_frame`, so it is the frame ``studio render`` draws for that keyframe. Returns uint8 pixels."""
    data = {k: v for k, v in state.fields_of(tl).items() if k not in _NOT_FOR_ONE_KEYFRAME}
    one = state.to_timeline(state.build({**data, "keyframes": [{"time": 0.0, **fields}]}))
    return preview_frame(one, model, 0)


def model_summary(model: LoadedModel) -> str:
    """A short Markdown description of a loaded model: architecture, resolution, latent sizes, provenance."""
    G = model.G
    parts = [f"**{model.arch}** · {G.img_resolution}×{G.img_resolution} px · z {G.z_dim}"]
    if has_w_space(G):
        parts.append(f"w {G.w_dim} × {G.num_ws} layers")
    if G.c_dim:
        parts.append(f"{G.c_dim} classes" if cond_kind(G) == "label" else f"{G.c_dim} features")
    prov = model.provenance or {}
    extra = ", ".join(f"{k}: {v}" for k, v in list(prov.items())[:4] if isinstance(v, (str, int, float)))
    return " · ".join(parts) + (f"  \n<small>{extra}</small>" if extra else "")
