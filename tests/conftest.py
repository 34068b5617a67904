"""Shared fixtures: a tiny random-weights StyleGAN2 saved in the project's format, tiny procedural training data,
one torch thread, and a CLI runner; the hypothesis profiles and the ``fuzz_full`` selection.

Hypothesis runs DERANDOMIZED in the default run (profile ``ci``: a fixed number of examples from a fixed seed per
test, no example database), so CI cannot flake; ``pytest -m fuzz_full`` loads the profile ``fuzz_full`` (random
search, many more examples, failures remembered in ``.hypothesis/``) and runs the long cases, which the default run
skips. ``--hypothesis-profile NAME`` still picks a profile by hand."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:  # pytest -n N: share the cores, not oversubscribe them
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read by torch at import, inherited by subprocesses
        os.environ.setdefault(_name, _share)

import torch  # noqa: E402 - after the thread share above
from hypothesis import HealthCheck, settings

from ganlib.checkpoints import save_generator
from ganlib.data.procedural import write_hdf5, write_image_folder, write_image_zip
from ganlib.networks.stylegan2 import Generator
from studio.cli import main
import sg3_helpers  # tests/ is on sys.path (pytest puts the conftest folder there)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

_QUIET = dict(deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True, database=None, max_examples=25, **_QUIET)
settings.register_profile("fuzz_full", derandomize=False, max_examples=400, **_QUIET)


def fuzz_full_selected(config) -> bool:
    """True when the run selects the ``fuzz_full`` marker (``-m fuzz_full``, alone or in an expression)."""
    expr = config.getoption("markexpr") or ""
    return "fuzz_full" in expr and "not fuzz_full" not in expr


def pytest_configure(config):
    """Register the ``fuzz_fast`` marker and load the hypothesis profile for this run (see the module doc)."""
    config.addinivalue_line("markers", "fuzz_fast: a fuzz_full test that also runs by default (hypothesis "
                                       "properties: derandomized by default, a random search under -m fuzz_full)")
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("fuzz_full" if fuzz_full_selected(config) else "ci")


def pytest_collection_modifyitems(config, items):
    """Skip the long ``fuzz_full`` cases unless the run selects them (those also marked ``fuzz_fast`` run in both:
    hypothesis properties, derandomized by default)."""
    if fuzz_full_selected(config):
        return
    skip = pytest.mark.skip(reason="part of the full fuzz set: run with -m fuzz_full")
    for item in items:
        if "fuzz_full" in item.keywords and "fuzz_fast" not in item.keywords:
            item.add_marker(skip)


TRAIN_IMAGES = 16  # images in the train_data fixture's sets
TRAIN_SIZE = 32
TINY_KWARGS = dict(z_dim=32, w_dim=32, img_resolution=32, img_channels=3,
                   mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=512, channel_max=32))


def make_tiny_stylegan2(seed: int = 0, c_dim: int = 0):
    """Return (G, kwargs): a small random StyleGAN2 with non-trivial noise strengths and w_avg."""
    torch.manual_seed(seed)
    kwargs = dict(TINY_KWARGS, c_dim=c_dim)
    G = Generator(**kwargs).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
        G.mapping.w_avg.copy_(torch.randn(G.w_dim) * 0.5)
    return G, kwargs


@pytest.fixture()
def one_torch_thread():
    """Run the test with torch on one thread: tiny ops on a busy 2-core machine run far faster that way."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> dict[str, Path]:
    """{"folder", "zip", "hdf5", "hdf5_nchw"}: the same 16 procedural 32 px landscapes (4 classes; features in HDF5)."""
    d = tmp_path_factory.mktemp("train_data")
    return {
        "folder": write_image_folder(d / "folder", TRAIN_IMAGES, size=TRAIN_SIZE, seed=0),
        "zip": write_image_zip(d / "images.zip", TRAIN_IMAGES, size=TRAIN_SIZE, seed=0),
        "hdf5": write_hdf5(d / "data.h5", TRAIN_IMAGES, size=TRAIN_SIZE, seed=0, layout="NHWC"),
        "hdf5_nchw": write_hdf5(d / "data_nchw.h5", TRAIN_IMAGES, size=TRAIN_SIZE, seed=0, layout="NCHW"),
    }


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A models folder holding tiny.safetensors (unconditional) and tiny_cond.safetensors (4 classes)."""
    d = tmp_path_factory.mktemp("models")
    G, kw = make_tiny_stylegan2(0)
    save_generator(d / "tiny.safetensors", G, "stylegan2", kw, {"trained_by": "tests"})
    Gc, kwc = make_tiny_stylegan2(1, c_dim=4)
    save_generator(d / "tiny_cond.safetensors", Gc, "stylegan2", kwc, {"trained_by": "tests"})
    return d


@pytest.fixture(scope="session")
def sg3_pickles(tmp_path_factory) -> dict[str, Path]:
    """The StyleGAN3 fixture pickles (``sg3_helpers.write_fixture_pickles``), written once per test session (here,
    not in sg3_helpers: a fixture imported into two modules is two fixtures, each set up once)."""
    return sg3_helpers.write_fixture_pickles(tmp_path_factory.mktemp("sg3"))


@pytest.fixture(scope="session")
def sg3_expected():
    """The expected uint8 images NVlabs' code rendered (``tests/fixtures/sg3_expected.npz``)."""
    return sg3_helpers.expected_images()


@pytest.fixture()
def tiny_models(tiny_model_dir, monkeypatch) -> Path:
    """Point builtin:NAME at the tiny models folder for this test."""
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(tiny_model_dir))
    return tiny_model_dir


def run_cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run ``studio ARGS`` in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()
