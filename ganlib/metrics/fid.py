"""FID, KID and Kaggle's MiFID computed from Inception features (pure numpy / scipy, no torch).

All functions take feature matrices ``[N, D]`` (rows are images; ``D`` = 2048 for Inception pool-3), real first.

* **FID** (Heusel et al., 2017): ``|mu_r - mu_g|² + Tr(S_r + S_g - 2 (S_r S_g)^½)`` with ``S`` the unbiased
  (``N - 1``) covariance. ``frechet_distance`` is the reference computation with ``scipy.linalg.sqrtm``, as in
  pytorch-fid / TTUR: if the product is singular and ``sqrtm`` returns non-finite values, ``eps`` is added to both
  diagonals and the root recomputed; a small imaginary part from rounding is dropped. ``fid_from_features`` uses
  that route when both sets have more samples than dimensions, and otherwise the exact low-rank identity
  ``Tr (S_r S_g)^½ = ||A_r A_gᵀ||_* / sqrt((n_r - 1)(n_g - 1))`` (nuclear norm; ``A`` the centred features), which
  is faster and free of the near-singular trouble when ``N <= D`` (typical in tests and during training).
* **KID** (Bińkowski et al., 2018): unbiased MMD² with the cubic polynomial kernel
  ``k(x, y) = (xᵀy / D + 1)³``, averaged over random subsets of size ``min(n_r, n_g, max_subset_size)`` drawn
  without replacement; returns mean and standard deviation over subsets (as torch-fidelity / clean-fid).
* **MiFID** (Kaggle "Generative Dog Images" / "I'm Something of a Painter Myself" metric): memorisation distance
  ``d = mean_i min_j (1 - |cos(f_g_i, f_r_j)|)`` over generated samples ``i`` and real samples ``j`` (all-zero
  feature rows dropped, as the Kaggle kernel does), thresholded ``d_thr = d if d < epsilon else 1`` with
  ``epsilon = 0.1``, and ``MiFID = FID / (d_thr + 1e-14)``. So MiFID equals FID unless the generated images sit
  closer than ``epsilon`` to training images on average, in which case it is FID multiplied by ``1 / d``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ganlib.errors import UserError

MIFID_EPSILON = 0.1
MIFID_FID_EPSILON = 1e-14  # Kaggle's `fid_epsilon = 10e-15`


def _as_features(x: np.ndarray, name: str, min_rows: int = 2) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise UserError(f"features must be a 2-D [N, D] array, got shape {a.shape}", field=name)
    if a.shape[0] < min_rows:
        raise UserError(f"need at least {min_rows} samples, got {a.shape[0]}", field=name)
    if not np.isfinite(a).all():
        raise UserError("features contain NaN or infinite values", field=name)
    return a


def _check_pair(real: np.ndarray, fake: np.ndarray, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    r = _as_features(real, "real", min_rows)
    f = _as_features(fake, "fake", min_rows)
    if r.shape[1] != f.shape[1]:
        raise UserError(f"real and fake features differ in width ({r.shape[1]} vs {f.shape[1]})", field="features")
    return r, f


def feature_mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mu [D], sigma [D, D])`` of ``features [N, D]``: mean and unbiased covariance in float64."""
    a = _as_features(features, "features")
    return a.mean(axis=0), np.cov(a, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) with ``scipy.linalg.sqrtm`` (reference route).

    If ``sqrtm(sigma1 @ sigma2)`` is not finite or scipy reports the product singular, ``eps * I`` is added to both
    covariances and the root recomputed; an imaginary part from rounding is discarded (with a warning when it is large).
    Returns a float (>= 0 up to rounding).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise UserError(f"statistics do not match: mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / "
                        f"{sigma2.shape}", field="features")
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    if singular or not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            warnings.warn(f"FID: matrix square root has an imaginary component up to "
                          f"{np.max(np.abs(covmean.imag)):.3g}; using the real part", RuntimeWarning, stacklevel=2)
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def trace_sqrt_product_lowrank(real: np.ndarray, fake: np.ndarray) -> float:
    """Return ``Tr (S_r S_g)^½`` exactly from features via the nuclear norm of ``A_r A_gᵀ / sqrt((n_r-1)(n_g-1))``.

    ``S_r S_g`` has the same non-zero eigenvalues as ``M Mᵀ`` with ``M = A_r A_gᵀ / c`` (``A`` centred features),
    so the trace of its principal square root is the sum of the singular values of ``M``.
    """
    r, f = _check_pair(real, fake)
    ar = r - r.mean(axis=0)
    af = f - f.mean(axis=0)
    m = (ar @ af.T) / math.sqrt((r.shape[0] - 1) * (f.shape[0] - 1))
    return float(np.linalg.svd(m, compute_uv=False).sum())


def fid_from_features(real: np.ndarray, fake: np.ndarray, *, method: str = "auto", eps: float = 1e-6) -> float:
    """FID between two feature sets ``[N, D]``.

    ``method``: "sqrtm" (reference, ``frechet_distance`` on mean/covariance), "lowrank" (exact nuclear-norm route)
    or "auto" ("lowrank" when either set has at most ``D`` samples, i.e. a singular covariance, else "sqrtm").
    Returns a float.
    """
    r, f = _check_pair(real, fake)
    if method == "auto":
        method = "lowrank" if min(r.shape[0], f.shape[0]) <= r.shape[1] else "sqrtm"
    if method == "sqrtm":
        mu1, s1 = r.mean(axis=0), np.cov(r, rowvar=False)
        mu2, s2 = f.mean(axis=0), np.cov(f, rowvar=False)
        return frechet_distance(mu1, np.atleast_2d(s1), mu2, np.atleast_2d(s2), eps=eps)
    if method == "lowrank":
        diff = r.mean(axis=0) - f.mean(axis=0)
        tr1 = float(np.sum(np.var(r, axis=0, ddof=1)))
        tr2 = float(np.sum(np.var(f, axis=0, ddof=1)))
        return float(diff @ diff + tr1 + tr2 - 2.0 * trace_sqrt_product_lowrank(r, f))
    raise UserError(f"unknown FID method {method!r}; use auto, sqrtm or lowrank", field="method")


@dataclass(frozen=True)
class KIDResult:
    """KID estimate: ``mean`` and ``std`` of the unbiased MMD² over ``num_subsets`` subsets of ``subset_size``."""

    mean: float
    std: float
    num_subsets: int
    subset_size: int


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between samples ``x [m, D]`` and ``y [n, D]`` with the kernel ``(xᵀy / D + 1)³``.

    ``(Σ_{i≠j} k(x_i,x_j)) / (m(m-1)) + (Σ_{i≠j} k(y_i,y_j)) / (n(n-1)) - 2 Σ_{i,j} k(x_i,y_j) / (mn)``.
    """
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m, n = x.shape[0], y.shape[0]
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.sum() / (m * n))


def kid_from_features(real: np.ndarray, fake: np.ndarray, *, num_subsets: int = 100, max_subset_size: int = 1000,
                      seed: int = 0) -> KIDResult:
    """KID: unbiased polynomial-kernel MMD² over ``num_subsets`` random subsets (without replacement).

    Subset size is ``min(n_real, n_fake, max_subset_size)``; subsets are drawn with ``RandomState(seed)`` so the
    result is reproducible. Returns a ``KIDResult`` (mean and standard deviation over the subsets).
    """
    r, f = _check_pair(real, fake)
    if num_subsets < 1 or max_subset_size < 2:
        raise UserError("KID needs num_subsets >= 1 and max_subset_size >= 2", field="kid")
    m = min(r.shape[0], f.shape[0], max_subset_size)
    rng = np.random.RandomState(seed)
    values = np.empty(num_subsets)
    for k in range(num_subsets):
        x = f[rng.choice(f.shape[0], m, replace=False)]
        y = r[rng.choice(r.shape[0], m, replace=False)]
        values[k] = polynomial_mmd2_unbiased(x, y)
    return KIDResult(float(values.mean()), float(values.std()), num_subsets, m)


def memorization_distance(real: np.ndarray, fake: np.ndarray, *, chunk: int = 1024) -> float:
    """Kaggle's memorisation distance: mean over generated rows of the minimum cosine distance to any real row.

    Cosine distance is ``1 - |cos|`` (Kaggle takes the absolute value; Inception pool features are non-negative so
    it changes nothing there); rows that are all zero are dropped first. Computed in chunks of generated rows.
    Returns a float in ``[0, 1]``.
    """
    r, f = _check_pair(real, fake, min_rows=1)
    r = r[r.sum(axis=1) != 0]
    f = f[f.sum(axis=1) != 0]
    if len(r) == 0 or len(f) == 0:
        raise UserError("all feature rows are zero; cannot compute the memorisation distance", field="features")
    rn = r / np.linalg.norm(r, axis=1, keepdims=True)
    fn = f / np.linalg.norm(f, axis=1, keepdims=True)
    mins = []
    for start in range(0, len(fn), chunk):
        d = 1.0 - np.abs(fn[start:start + chunk] @ rn.T)
        mins.append(d.min(axis=1))
    return float(np.mean(np.concatenate(mins)))


@dataclass(frozen=True)
class MiFIDResult:
    """MiFID and its parts: ``fid``, raw memorisation ``distance`` d, thresholded ``distance_thr`` and ``penalized``."""

    mifid: float
    fid: float
    distance: float
    distance_thr: float
    penalized: bool
    epsilon: float


def mifid_from_features(real: np.ndarray, fake: np.ndarray, *, epsilon: float = MIFID_EPSILON,
                        fid: float | None = None) -> MiFIDResult:
    """Kaggle MiFID = FID / (d_thr + 1e-14), ``d_thr = d if d < epsilon else 1`` (see module docstring).

    ``fid`` may be passed if already computed. Returns a ``MiFIDResult``.
    """
    r, f = _check_pair(real, fake)
    fid_value = fid_from_features(r, f) if fid is None else float(fid)
    d = memorization_distance(r, f)
    penalized = d < epsilon
    d_thr = d if penalized else 1.0
    return MiFIDResult(fid_value / (d_thr + MIFID_FID_EPSILON), fid_value, d, d_thr, penalized, epsilon)


METRIC_KINDS = ("fid", "kid", "mifid")


def compute_metrics(real: np.ndarray, fake: np.ndarray, kinds=("fid",), *, kid_subsets: int = 100,
                    kid_subset_size: int = 1000, mifid_epsilon: float = MIFID_EPSILON, seed: int = 0
                    ) -> dict[str, float]:
    """Compute the requested metrics from features; returns a flat ``dict[str, float]``.

    Keys: ``fid``; ``kid`` and ``kid_std``; ``mifid`` and ``mifid_distance`` (the raw memorisation distance d).
    ``kinds`` is any subset of ("fid", "kid", "mifid"); unknown names raise ``UserError``.
    """
    kinds = list(dict.fromkeys(kinds))
    bad = [k for k in kinds if k not in METRIC_KINDS]
    if bad:
        raise UserError(f"unknown metric {bad[0]!r}; choose from {', '.join(METRIC_KINDS)}", field="metrics")
    out: dict[str, float] = {}
    fid_value = None
    if "fid" in kinds or "mifid" in kinds:
        fid_value = fid_from_features(real, fake)
        if "fid" in kinds:
            out["fid"] = fid_value
    if "kid" in kinds:
        k = kid_from_features(real, fake, num_subsets=kid_subsets, max_subset_size=kid_subset_size, seed=seed)
        out["kid"] = k.mean
        out["kid_std"] = k.std
    if "mifid" in kinds:
        mi = mifid_from_features(real, fake, epsilon=mifid_epsilon, fid=fid_value)
        out["mifid"] = mi.mifid
        out["mifid_distance"] = mi.distance
    return out
