"""Small StyleGAN3 networks for tests: deterministic random weights in NVlabs' stylegan3 layout, written as NVlabs
network pickles (the class layout and pickle structure of files written by NVlabs' training loop; see
``ckpt_helpers.write_nvlabs_pickle``), and the cases whose expected images are pinned in
``tests/fixtures/sg3_expected.npz`` (see tests/fixtures/README.md for how they were made).

The weights are made by ganlib's own StyleGAN3 classes and numpy; no NVlabs code is imported here.

Run as a script to (re)write the fixture pickles into a folder: ``python tests/sg3_helpers.py OUTDIR``.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import ckpt_helpers as H  # noqa: E402

# NVlabs Generator init kwargs (flat synthesis kwargs, as NVlabs' train.py records them), tiny channel counts.
_COMMON = dict(z_dim=16, w_dim=16, img_resolution=64, img_channels=3, mapping_kwargs=dict(num_layers=2),
               channel_base=2048, channel_max=16, magnitude_ema_beta=0.999)
NV_CONFIGS = {
    "t": dict(_COMMON, c_dim=0),
    "r": dict(_COMMON, c_dim=0, conv_kernel=1, use_radial_filters=True, channel_base=512, channel_max=32),
    "t_cond": dict(_COMMON, c_dim=4),
}
WEIGHT_SEEDS = {"t": 30, "r": 31, "t_cond": 32}
TORGB_GAIN = {"t": 3.0, "r": 1.0, "t_cond": 2.0}  # to-RGB weight scale: images spread over [-1, 1]
# (seed, truncation psi, class, translate (x, y), rotate in degrees) rendered for the fixtures
CASES = [(0, 1.0, 0, (0.0, 0.0), 0.0), (3, 0.7, 1, (0.0, 0.0), 0.0), (3, 0.7, 1, (0.3, -0.2), 0.0),
         (7, 0.5, 2, (0.1, 0.25), 30.0)]
_TOP = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")


def ganlib_kwargs(nv_kwargs: dict) -> dict:
    """Return ganlib ``stylegan3`` Generator kwargs (synthesis settings nested) for NVlabs init kwargs."""
    out = {k: v for k, v in nv_kwargs.items() if k in _TOP}
    out["synthesis_kwargs"] = {k: v for k, v in nv_kwargs.items() if k not in _TOP}
    return out


def random_sg3_state(nv_kwargs: dict, seed: int) -> dict[str, torch.Tensor]:
    """Random weights in NVlabs' stylegan3 Generator layout (names, shapes) with non-trivial biases, w_avg,
    input affine (so w moves the input), magnitude EMAs, frequencies and phases; filters and the identity
    ``transform`` as the architecture designs them."""
    from ganlib.networks.stylegan3 import Generator
    rs = np.random.RandomState(seed)
    G = Generator(**ganlib_kwargs(nv_kwargs))
    bandwidth = G.synthesis.input.bandwidth
    torgb = f"synthesis.{G.synthesis.layer_names[-1]}.weight"
    gain = TORGB_GAIN.get(next((k for k, v in NV_CONFIGS.items() if v == nv_kwargs), ""), 1.0)
    out = {}
    for name, t in G.state_dict().items():
        shape = tuple(t.shape)
        if name.endswith(("up_filter", "down_filter", "input.transform")):
            out[name] = t.clone()
            continue
        v = rs.randn(*shape)
        if name.endswith("input.freqs"):
            r = np.linalg.norm(v, axis=1, keepdims=True)
            v = v / (r * np.exp(r ** 2) ** 0.25) * bandwidth
        elif name.endswith("input.phases"):
            v = rs.rand(*shape) - 0.5
        elif name.endswith("input.affine.weight"):
            v = 0.3 * v
        elif name.endswith("input.affine.bias"):
            v = np.array([1.0, 0.0, 0.0, 0.0]) + 0.1 * v
        elif name.endswith("magnitude_ema"):
            v = np.ones(shape)  # calibrated below
        elif name == torgb:
            v = gain * v
        else:
            v = H.trained_like(name, v)
        out[name] = torch.from_numpy(np.asarray(v, dtype=np.float32).reshape(shape))
    return calibrate_magnitudes(G, out, rs)


def calibrate_magnitudes(G, state: dict[str, torch.Tensor], rs: np.random.RandomState) -> dict[str, torch.Tensor]:
    """Set every layer's ``magnitude_ema`` to the mean square of its input over a batch of 8 random latents (what
    training converges to), rounded to 3 significant digits so the weights do not depend on float rounding."""
    G.load_state_dict(state)
    z = torch.from_numpy(rs.randn(8, G.z_dim)).float()
    c = torch.zeros([8, G.c_dim])
    if G.c_dim:
        c[torch.arange(8), torch.from_numpy(rs.randint(0, G.c_dim, 8))] = 1
    layers = G.synthesis.layers()
    for layer in layers:
        layer.magnitude_ema_beta = 0.0
    with torch.no_grad():
        G.synthesis(G.mapping(z, c), update_emas=True)
    out = dict(state)
    for name, layer in zip(G.synthesis.layer_names, layers):
        value = float(f"{float(layer.magnitude_ema):.3g}")
        out[f"synthesis.{name}.magnitude_ema"] = torch.tensor(value, dtype=torch.float32)
    return out


def write_sg3_pickle(path: str | Path, nv_kwargs: dict, state: dict[str, torch.Tensor]) -> Path:
    """Write an NVlabs snapshot pickle ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}`` whose G_ema
    is a stylegan3 Generator holding ``state`` (G gets other weights). Returns the path."""
    from ganlib.networks.stylegan3 import Generator
    source = "# stand-in for NVlabs training/networks_stylegan3.py (test fixture)\n"

    def build(st):
        G = Generator(**ganlib_kwargs(nv_kwargs)).eval().requires_grad_(False)
        G.load_state_dict(st)
        return G

    G_ema = build(state)
    G = build({k: v * 0.5 if v.is_floating_point() and "filter" not in k and "transform" not in k else v
               for k, v in state.items()})
    snapshot = {"G": G, "D": None, "G_ema": G_ema, "augment_pipe": None,
                "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "data.zip",
                                        "use_labels": nv_kwargs["c_dim"] > 0, "max_size": 100, "xflip": False,
                                        "resolution": nv_kwargs["img_resolution"]}}
    top = {id(G_ema): H._easy(nv_kwargs), id(G): H._easy(nv_kwargs)}
    buf = io.BytesIO()
    with H.fake_modules(torch_utils__persistence={"_reconstruct_persistent_obj": H._reconstruct_persistent_obj},
                        dnnlib__util={"EasyDict": H.EasyDict}):
        H._NVlabsPickler(buf, top, source).dump(snapshot)
    Path(path).write_bytes(buf.getvalue())
    return Path(path)


def expected_images():
    """The expected uint8 images NVlabs' code rendered (``tests/fixtures/sg3_expected.npz``), an NpzFile."""
    return np.load(Path(__file__).parent / "fixtures" / "sg3_expected.npz")


def write_fixture_pickles(outdir: str | Path) -> dict[str, Path]:
    """Write ``sg3_{t,r,t_cond}.pkl`` into ``outdir``; returns {config: path}."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    return {key: write_sg3_pickle(outdir / f"sg3_{key}.pkl", kw, random_sg3_state(kw, WEIGHT_SEEDS[key]))
            for key, kw in NV_CONFIGS.items()}


def case_key(config: str, case: tuple) -> str:
    """The fixture key of one rendered case: ``<config>/<seed>_<psi>_<class>_<tx>_<ty>_<rotate>``."""
    seed, psi, cls, (tx, ty), rot = case
    return f"{config}/{seed}_{psi}_{cls}_{tx}_{ty}_{rot}"


if __name__ == "__main__":
    for k, p in write_fixture_pickles(sys.argv[1]).items():
        print(k, p, p.stat().st_size)
