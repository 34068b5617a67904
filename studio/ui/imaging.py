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
from studio.render import iter_frames
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


def _class_for(model: LoadedModel) -> int | None:
    kind = cond_kind(model.G)
    if kind == "label":
        return 0
    if kind == "features":
        raise UserError("this model is conditioned on feature vectors; the seed gallery needs an unconditional or "
                        "class-conditional model", field="model")
    return None


def seed_gallery(model: LoadedModel, seeds: list[int], truncation: float = 1.0) -> list[tuple[np.ndarray, str]]:
    """Return [(uint8 image, "seed N")] for ``seeds`` at ``truncation`` (class 0 for class-conditional models)."""
    psi = float(truncation)
    if not 0 <= psi <= 2:
        raise UserError(f"truncation must be between 0 and 2 (got {truncation!r})", field="truncation")
    return [(displayable(img), f"seed {s}") for s, img in seed_images(model, list(seeds), truncation=psi,
                                                         class_idx=_class_for(model), batch=8)]


def preview_frame(tl, model: LoadedModel, index: int) -> np.ndarray:
    """Render frame ``index`` of timeline ``tl`` alone (``iter_frames(start=i, stop=i+1, batch=1)``).

    Returns the uint8 frame at the timeline's output size (grey as H×W×3, see ``displayable``); the index is clamped to the timeline.
    """
    n = tl.n_frames
    i = min(max(0, int(index)), n - 1)
    for _, frame in iter_frames(tl, model, start=i, stop=i + 1, batch=1):
        return displayable(frame)
    raise UserError(f"frame {i} could not be rendered", field="frame")  # pragma: no cover - iter_frames yields


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
