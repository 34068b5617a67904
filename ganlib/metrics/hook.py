"""A metrics hook for the training loop: FID / KID / MiFID of the generator against real images, every N steps.

``train(..., metrics_hook=training_hook("data/monet", num=500, every=1000))``. The loop calls
``hook(step, G, device)`` at evaluation time; the hook returns ``{}`` on steps that are not a multiple of ``every``
and otherwise a dict such as ``{"fid": 87.3}``. Real features are computed once (first call) and kept in memory and,
when ``cache`` is given, in an ``.npz``. Generated images use the fixed seeds ``0 .. num-1`` so successive values
differ only because the generator changed. The hook samples in eval mode under ``torch.no_grad`` inside
``torch.random.fork_rng``, restoring the generator's mode and every RNG, so enabling metrics never changes the
training run itself.

Cost on 2 CPU cores: the Inception network runs at ~8 images/s, so ``num=500`` adds about a minute per evaluation.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import torch

from ganlib.errors import UserError
from ganlib.metrics.fid import METRIC_KINDS, compute_metrics
from ganlib.metrics.inception import load_inception, resolve_inception_path
from ganlib.metrics.stats import FeatureSet, features_from_generator, features_from_source, source_kind

MetricsHook = Callable[[int, torch.nn.Module, "str | torch.device"], dict]


def training_hook(real_path: str | os.PathLike, num: int = 500, every: int = 1, kinds: Sequence[str] = ("fid",), *,
                  inception: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                  max_real: int | None = None, batch_size: int = 16, kid_subsets: int = 50,
                  kid_subset_size: int = 1000, procedural_size: int = 64) -> MetricsHook:
    """Build ``metrics_hook(step, G, device) -> dict[str, float]`` for ``ganlib.train.run.train``.

    ``real_path``: image folder, ``.zip``, HDF5 file, feature ``.npz`` or ``procedural[:N[:SEED]]`` spec (its
    images drawn at ``procedural_size`` pixels); ``num``: generated images per evaluation
    (seeds 0..num-1); ``every``: compute only when ``step % every == 0`` (else return ``{}``); ``kinds``: any of
    "fid", "kid", "mifid"; ``inception``: TorchScript file (default: ``$STUDIO_INCEPTION`` or the ``fid`` extra);
    ``cache``: ``.npz`` for the real features; ``max_real``: cap on real images. Validates the arguments and that an
    Inception network exists now (``UserError``), so a misconfigured run fails before training starts.
    """
    kinds = tuple(dict.fromkeys(kinds))
    if not kinds:
        raise UserError("no metrics requested", field="metrics")
    for k in kinds:
        if k not in METRIC_KINDS:
            raise UserError(f"unknown metric {k!r}; choose from {', '.join(METRIC_KINDS)}", field="metrics")
    if int(num) < 2:
        raise UserError("metrics need at least 2 generated images", field="num")
    if int(every) < 1:
        raise UserError("'every' must be >= 1", field="every")
    source_kind(real_path)  # raises DataError for a missing / unsupported source
    inception_path = resolve_inception_path(inception)
    state: dict[str, FeatureSet] = {}

    def hook(step: int, G: torch.nn.Module, device: str | torch.device = "cpu") -> dict[str, float]:
        """Return metrics of ``G`` at ``step`` (``{}`` when ``step`` is not a multiple of ``every``)."""
        if int(step) % int(every) != 0:
            return {}
        extractor = load_inception(inception_path, device=device)
        if "real" not in state:
            state["real"] = features_from_source(real_path, extractor, limit=max_real, cache=cache,
                                                 batch_size=32, procedural_size=procedural_size)
        devices = [torch.device(device).index or 0] if torch.device(device).type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            fake = features_from_generator(G, int(num), extractor, batch_size=batch_size, device=device)
        return compute_metrics(state["real"].features, fake.features, kinds, kid_subsets=kid_subsets,
                               kid_subset_size=kid_subset_size)

    hook.kinds = kinds  # type: ignore[attr-defined]
    hook.every = int(every)  # type: ignore[attr-defined]
    hook.real_path = Path(real_path)  # type: ignore[attr-defined]
    return hook
