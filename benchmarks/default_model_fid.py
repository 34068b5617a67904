"""FID / KID of a 64 px landscape generator (the shipped ``builtin:default`` or a training checkpoint) against
held-out procedural landscapes: the protocol quoted in ``presets/models/default.md``.

Protocol: real images are the procedural landscapes of dataset seed ``--real-seed`` (default 1; the model trains on
seed 0, and datasets of different seeds share no images), ``--num-real`` of them (default 1000) at 64 px; generated
images are G_ema's seeds ``--seed-start .. --seed-start + --num - 1`` (default 0..999) at truncation 1. Features come
from the offline FID Inception network of ``ganlib.metrics.inception`` (clean-fid resize); FID and KID from
``ganlib.metrics.fid``. The real features are cached in ``--real-cache`` (default: no cache). The same protocol from
the CLI: ``studio metrics fid kid --real procedural:1000:1 --model MODEL --num 1000 --truncation 1``.

Usage::

    python benchmarks/default_model_fid.py builtin:default runs/x/checkpoint.safetensors --real-cache real.npz
    python benchmarks/default_model_fid.py builtin:default --seed-start 1000   # a disjoint sample set: the noise

Prints one JSON line per model: ``{"model", "fid", "kid", "kid_std", "num_fake", "num_real", "seed_start"}``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganlib.checkpoints import load_generator  # noqa: E402
from ganlib.metrics.fid import compute_metrics  # noqa: E402
from ganlib.metrics.inception import load_inception  # noqa: E402
from ganlib.metrics.stats import (FeatureSet, features_from_generator, features_from_source,  # noqa: E402
                                  save_feature_set)


def real_features(extractor, num: int, seed: int, cache: str | None) -> FeatureSet:
    """Return the Inception features of ``num`` procedural 64 px landscapes of dataset ``seed``: the source
    ``procedural:NUM:SEED`` of ``studio metrics`` (cached in ``cache`` when given: reused when it matches)."""
    return features_from_source(f"procedural:{num}:{seed}", extractor, cache=cache, procedural_size=64)


def evaluate(spec: str, extractor, real: FeatureSet, num: int, seed_start: int, save: str | None = None) -> dict:
    """Return FID/KID of ``num`` truncation-1 samples of checkpoint ``spec`` (seeds from ``seed_start``); their
    features go to ``save`` (.npz) when given."""
    G = load_generator(spec).G.eval()
    fake = features_from_generator(G, num, extractor, seed_start=seed_start, truncation_psi=1.0)
    if save:
        save_feature_set(save, fake)
    values = compute_metrics(real.features, fake.features, ["fid", "kid"], kid_subsets=100,
                             kid_subset_size=min(1000, num, real.num))
    return {"model": spec, "fid": round(values["fid"], 3), "kid": round(values["kid"], 5),
            "kid_std": round(values["kid_std"], 5), "num_fake": num, "num_real": real.num, "seed_start": seed_start}


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, print one JSON line per model; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="checkpoints (path or builtin:NAME)")
    ap.add_argument("--num", type=int, default=1000, help="generated images per model")
    ap.add_argument("--seed-start", type=int, default=0, help="first generation seed")
    ap.add_argument("--num-real", type=int, default=1000, help="held-out real landscapes")
    ap.add_argument("--real-seed", type=int, default=1, help="dataset seed of the real landscapes (training: 0)")
    ap.add_argument("--real-cache", default=None, help=".npz cache of the real features")
    ap.add_argument("--fake-features", default=None, help=".npz for the generated features (one model only)")
    ap.add_argument("--inception", default=None, help="TorchScript Inception file (default: the fid extra)")
    args = ap.parse_args(argv)
    extractor = load_inception(args.inception)
    real = real_features(extractor, args.num_real, args.real_seed, args.real_cache)
    if args.fake_features and len(args.models) > 1:
        ap.error("--fake-features takes one model")
    for spec in args.models:
        print(json.dumps(evaluate(spec, extractor, real, args.num, args.seed_start, args.fake_features)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
