"""Image-quality metrics: FID, KID and Kaggle's MiFID on Inception-v3 pool features; nothing is downloaded.

* ``ganlib.metrics.inception`` — find and load the TorchScript Inception network, clean-fid resizing.
* ``ganlib.metrics.fid`` — the maths (numpy / scipy) on feature matrices.
* ``ganlib.metrics.stats`` — features of image folders, zips, HDF5 files and generators, cached as ``.npz``.
* ``ganlib.metrics.hook`` — ``training_hook`` for ``ganlib.train.run.train(metrics_hook=...)``.
"""
from ganlib.metrics.fid import (METRIC_KINDS, KIDResult, MiFIDResult, compute_metrics, feature_mean_cov,
                                fid_from_features, frechet_distance, kid_from_features, memorization_distance,
                                mifid_from_features)
from ganlib.metrics.hook import training_hook
from ganlib.metrics.inception import (ENV_VAR, InceptionExtractor, inception_available, load_inception,
                                      resize_for_inception, resolve_inception_path)
from ganlib.metrics.stats import (FeatureSet, features_from_generator, features_from_images, features_from_source,
                                  load_feature_set, save_feature_set)

__all__ = [
    "METRIC_KINDS", "KIDResult", "MiFIDResult", "compute_metrics", "feature_mean_cov", "fid_from_features",
    "frechet_distance", "kid_from_features", "memorization_distance", "mifid_from_features", "training_hook",
    "ENV_VAR", "InceptionExtractor", "inception_available", "load_inception", "resize_for_inception",
    "resolve_inception_path", "FeatureSet", "features_from_generator", "features_from_images",
    "features_from_source", "load_feature_set", "save_feature_set",
]
