"""Writers of foreign generator checkpoints for tests, with deterministic random weights (numpy RandomState):

- ``write_nvlabs_pickle``: an NVlabs PyTorch network pickle with the same opcode/global structure as files written by
  stylegan2-ada-pytorch / stylegan3 (``torch_utils.persistence._reconstruct_persistent_obj(meta)`` per module,
  ``dnnlib.util.EasyDict`` kwargs, tensors through ``torch._utils._rebuild_tensor_v2`` and nested
  ``torch.storage._load_from_bytes`` blobs). The embedded "module source" is a stand-in comment.
- ``write_rosinality_pt``: a rosinality/stylegan2-pytorch ``.pt`` in their state-dict layout, built independently of
  ganlib's key mapping.
- ``write_tf_pickle``: a TF-era ``(G, D, Gs)`` pickle of ``dnnlib.tflib.network.Network`` objects holding numpy
  variables in TF layout.

Names the pickles refer to (``torch_utils.persistence``, ``dnnlib.util``, ``dnnlib.tflib.network``) exist only while a
writer runs, as throw-away modules in ``sys.modules``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import math
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch

# ----------------------------------------------------------------------------------------------- configurations
# Small configurations whose expected outputs were computed once with the real NVlabs / rosinality code
# (tests/fixtures/foreign_expected.npz, see tests/fixtures/README.md).
NV_ADA_KWARGS = dict(z_dim=32, c_dim=3, w_dim=32, img_resolution=32, img_channels=3,
                     mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channel_base=512, channel_max=32, num_fp16_res=2, conv_clamp=256))
NV_SG3_KWARGS = dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                     mapping_kwargs=dict(num_layers=8), channel_base=512, channel_max=32,
                     fused_modconv_default="inference_only")
NV_SG3_GANLIB_KWARGS = dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                            mapping_kwargs=dict(num_layers=8, w_avg_beta=0.998),
                            synthesis_kwargs=dict(channel_base=512, channel_max=32,
                                                  fused_modconv_default="inference_only", num_fp16_res=4,
                                                  conv_clamp=256))
ROS_CONFIG = dict(size=32, style_dim=32, n_mlp=3, channels={4: 32, 8: 32, 16: 32, 32: 16})
TF_STATIC_KWARGS = dict(latent_size=32, dlatent_size=32, label_size=2, resolution=32, num_channels=3,
                        fmap_base=256, fmap_max=32, mapping_layers=2, mapping_fmaps=32, label_fmaps=32,
                        truncation_psi=0.5)
# (seed, truncation psi, class) triples rendered for the fixtures
SAMPLES = [(0, 1.0, 0), (1, 0.7, 1), (5, 0.5, 0)]


def seed_z(seed: int, z_dim: int) -> np.ndarray:
    """z [1, z_dim] float64 as NVlabs generate.py draws it."""
    return np.random.RandomState(seed).randn(1, z_dim)


# --------------------------------------------------------------------------------------------- fake modules
@contextlib.contextmanager
def fake_modules(**modules: dict):
    """Install throw-away modules named by keyword (dots as '__') holding the given attributes."""
    added = []
    try:
        for dotted, attrs in modules.items():
            name = dotted.replace("__", ".")
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                sub = ".".join(parts[:i])
                if sub not in sys.modules:
                    sys.modules[sub] = types.ModuleType(sub)
                    added.append(sub)
            mod = sys.modules[name]
            for key, value in attrs.items():
                setattr(mod, key, value)
        yield
    finally:
        for name in reversed(added):
            sys.modules.pop(name, None)


def _reconstruct_persistent_obj(meta):  # never called: only its name is pickled
    raise AssertionError("test stand-in")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


class EasyDict(dict):
    """Pickles as ``dnnlib.util.EasyDict``."""


EasyDict.__module__ = "dnnlib.util"


class Network:
    """Pickles as ``dnnlib.tflib.network.Network`` with a TF network's state."""

    def __init__(self, name: str, static_kwargs: dict, variables: list, components: dict | None = None):
        self._state = {"version": 4, "name": name, "static_kwargs": dict(static_kwargs),
                       "components": dict(components or {}),
                       "build_module_src": "# stand-in for TF network source (never executed)\n",
                       "build_func_name": name, "variables": variables}

    def __getstate__(self):
        return self._state


Network.__module__ = "dnnlib.tflib.network"


# ---------------------------------------------------------------------------------------------- NVlabs pickles
def random_nvlabs_state(ganlib_kwargs: dict, seed: int) -> dict[str, torch.Tensor]:
    """Random weights in NVlabs/ganlib StyleGAN2 layout (names and shapes), with non-trivial biases, noise
    strengths, w_avg and small to-RGB weights (images in about [-1, 1])."""
    from ganlib.networks.stylegan2 import Generator
    rs = np.random.RandomState(seed)
    G = Generator(**ganlib_kwargs)
    out = {}
    for name, t in G.state_dict().items():
        shape = tuple(t.shape)
        if name.endswith("resample_filter"):
            out[name] = t.clone()
            continue
        v = rs.randn(*shape)
        if name.endswith("noise_strength"):
            v = v * 0.3
        elif name.endswith("affine.bias"):
            v = 1 + 0.2 * v
        elif name.endswith("bias"):
            v = 0.2 * v
        elif name.endswith("w_avg"):
            v = 0.3 * v
        elif name.startswith("mapping.") and name.endswith("weight"):
            v = v / ganlib_kwargs.get("mapping_kwargs", {}).get("lr_multiplier", 0.01)  # stored as randn / lr
        if ".torgb." in name and (name.endswith("torgb.weight") or name.endswith("torgb.bias")):
            v = 0.1 * v
        out[name] = torch.from_numpy(np.asarray(v, dtype=np.float32).reshape(shape))
    return out


def _module_record(module: torch.nn.Module, init_kwargs: dict | None, source: str):
    state = dict(module.__dict__)
    state["_init_args"] = ()
    state["_init_kwargs"] = init_kwargs if init_kwargs is not None else {}
    meta = dict(type="class", version=6, module_src=source, class_name=type(module).__name__, state=state)
    return _reconstruct_persistent_obj, (meta,)


class _NVlabsPickler(pickle.Pickler):
    def __init__(self, file, top_kwargs: dict, source: str):
        super().__init__(file, protocol=4)
        self._top = top_kwargs
        self._source = source

    def reducer_override(self, obj):
        if isinstance(obj, torch.nn.Module) and type(obj).__module__.startswith("ganlib."):
            kwargs = self._top.get(id(obj))
            return _module_record(obj, kwargs, self._source)
        return NotImplemented


def _easy(value):
    if isinstance(value, dict):
        return EasyDict({k: _easy(v) for k, v in value.items()})
    return value


def write_nvlabs_pickle(path: str | Path, nv_kwargs: dict, state: dict[str, torch.Tensor], flavor: str = "ada",
                        with_g: bool = True, ganlib_kwargs: dict | None = None,
                        D: tuple[torch.nn.Module, dict] | None = None) -> Path:
    """Write an NVlabs snapshot pickle ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}`` whose G_ema
    holds ``state``; ``nv_kwargs`` are the Generator's NVlabs init kwargs (nested for 'ada', flat for 'sg3').
    'G' (if ``with_g``) gets different weights, so that picking G_ema is tested. ``D``: (a ganlib Discriminator,
    its init kwargs) stored as 'D' (else None). Returns the path."""
    from ganlib.networks.stylegan2 import Generator
    ganlib_kwargs = ganlib_kwargs or nv_kwargs
    source = "# stand-in for NVlabs training/networks.py (test fixture)\n"
    if flavor == "sg3":
        source += "# fused_modconv_default\n"
    G_ema = Generator(**ganlib_kwargs).eval().requires_grad_(False)
    G_ema.load_state_dict(state)
    snapshot = {"G": None, "D": None, "G_ema": G_ema, "augment_pipe": None,
                "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "data.zip",
                                        "use_labels": True, "max_size": 100, "xflip": False, "resolution": 32}}
    top = {id(G_ema): _easy(nv_kwargs)}
    if D is not None:
        snapshot["D"] = D[0]
        top[id(D[0])] = _easy(D[1])
    if with_g:
        G = Generator(**ganlib_kwargs).eval().requires_grad_(False)
        G.load_state_dict({k: v * 0.5 for k, v in state.items()})
        snapshot["G"] = G
        top[id(G)] = _easy(nv_kwargs)
    buf = io.BytesIO()
    with fake_modules(torch_utils__persistence={"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                      dnnlib__util={"EasyDict": EasyDict}):
        _NVlabsPickler(buf, top, source).dump(snapshot)
    Path(path).write_bytes(buf.getvalue())
    return Path(path)


def pickle_globals(data: bytes) -> set[str]:
    """Return the 'module.name' globals a pickle refers to (STACK_GLOBAL/GLOBAL), read with pickletools only."""
    import pickletools
    found: set[str] = set()
    strings: list = []
    memo: dict = {}
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = strings[-1] if strings else None
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            strings.append(memo.get(arg))
        elif op.name == "STACK_GLOBAL":
            found.add(f"{strings[-2]}.{strings[-1]}")
        elif op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        if op.name not in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "MEMOIZE", "BINGET",
                           "LONG_BINGET", "GET", "STACK_GLOBAL", "FRAME"):
            strings.append(None)
    return found


# ------------------------------------------------------------------------------------------------- rosinality
def _make_kernel(taps=(1, 3, 3, 1)) -> torch.Tensor:
    k = torch.tensor(taps, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum()


def random_rosinality_state(size: int, style_dim: int, n_mlp: int, channels: dict[int, int],
                            seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Random weights in rosinality's Generator layout (their model.py names and shapes); returns
    (g_ema state dict, latent_avg)."""
    rs = np.random.RandomState(seed)

    def t(*shape, scale=1.0, offset=0.0):
        return torch.from_numpy((offset + scale * rs.randn(*shape)).astype(np.float32).reshape(shape))

    st: dict[str, torch.Tensor] = {}
    for i in range(1, n_mlp + 1):
        st[f"style.{i}.weight"] = t(style_dim, style_dim, scale=100.0)  # randn / lr_mul
        st[f"style.{i}.bias"] = t(style_dim, scale=0.2)
    st["input.input"] = t(1, channels[4], 4, 4)

    def styled(name, cin, cout, up):
        st[f"{name}.conv.weight"] = t(1, cout, cin, 3, 3)
        st[f"{name}.conv.modulation.weight"] = t(cin, style_dim)
        st[f"{name}.conv.modulation.bias"] = t(cin, scale=0.2, offset=1.0)
        if up:
            st[f"{name}.conv.blur.kernel"] = _make_kernel() * 4
        st[f"{name}.noise.weight"] = t(1, scale=0.3)
        st[f"{name}.activate.bias"] = t(cout, scale=0.2)

    def rgb(name, cin, up):
        st[f"{name}.conv.weight"] = t(1, 3, cin, 1, 1, scale=0.1)
        st[f"{name}.conv.modulation.weight"] = t(cin, style_dim)
        st[f"{name}.conv.modulation.bias"] = t(cin, scale=0.2, offset=1.0)
        st[f"{name}.bias"] = t(1, 3, 1, 1, scale=0.02)
        if up:
            st[f"{name}.upsample.kernel"] = _make_kernel() * 4

    styled("conv1", channels[4], channels[4], False)
    rgb("to_rgb1", channels[4], False)
    log2 = int(math.log2(size))
    cin = channels[4]
    for k, lvl in enumerate(range(3, log2 + 1)):
        cout = channels[2 ** lvl]
        styled(f"convs.{2 * k}", cin, cout, True)
        styled(f"convs.{2 * k + 1}", cout, cout, False)
        rgb(f"to_rgbs.{k}", cout, True)
        cin = cout
    for j in range((log2 - 2) * 2 + 1):
        r = 2 ** ((j + 5) // 2)
        st[f"noises.noise_{j}"] = t(1, 1, r, r)
    return st, t(style_dim, scale=0.3)


def write_rosinality_pt(path: str | Path, state: dict, latent_avg: torch.Tensor | None, training: bool = False) -> Path:
    """Write a rosinality checkpoint: converted style ``{'g_ema', 'latent_avg'}`` or, with ``training``, a training
    checkpoint ``{'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'}`` (no latent_avg)."""
    if training:
        args = argparse.Namespace(size=32, n_mlp=3, channel_multiplier=2, latent=32, batch=4)
        obj = {"g": state, "d": {"convs.0.0.weight": torch.zeros(1)}, "g_ema": state, "g_optim": {}, "d_optim": {},
               "args": args, "ada_aug_p": 0.0}
    else:
        obj = {"g_ema": state, "latent_avg": latent_avg}
    torch.save(obj, str(path))
    return Path(path)


# ---------------------------------------------------------------------------------------------- TF pickles
def random_tf_variables(static_kwargs: dict, seed: int) -> tuple[list, list, list]:
    """Random TF-layout variables for G_main (own), G_mapping and G_synthesis from ``static_kwargs``;
    returns (main_vars, mapping_vars, synthesis_vars) as lists of (name, float32 array)."""
    rs = np.random.RandomState(seed)
    kw = static_kwargs

    def a(*shape, scale=1.0, offset=0.0):
        return np.asarray(offset + scale * rs.randn(*shape), dtype=np.float32).reshape(shape)

    z, w, c = kw["latent_size"], kw["dlatent_size"], kw.get("label_size", 0)
    fm = kw.get("mapping_fmaps", 512)
    n_map = kw.get("mapping_layers", 8)
    mapping = []
    if c:
        mapping += [("LabelEmbed/weight", a(c, kw.get("label_fmaps", w))), ("LabelEmbed/bias", a(kw.get("label_fmaps", w), scale=0.2))]
    in_f = z + (kw.get("label_fmaps", w) if c else 0)
    for i in range(n_map):
        out_f = w if i == n_map - 1 else fm
        mapping += [(f"Dense{i}/weight", a(in_f, out_f, scale=100.0)), (f"Dense{i}/bias", a(out_f, scale=0.2))]
        in_f = out_f
    res = kw["resolution"]
    log2 = int(math.log2(res))

    def nf(r):
        return min(int(kw["fmap_base"] / (r / 2)), kw["fmap_max"])

    synth = []
    for j in range(log2 * 2 - 3):
        r = 2 ** ((j + 5) // 2)
        synth.append((f"noise{j}", a(1, 1, r, r)))

    def layer(prefix, cin, cout, k=3):
        synth.extend([(f"{prefix}/weight", a(k, k, cin, cout)), (f"{prefix}/mod_weight", a(w, cin)),
                      (f"{prefix}/mod_bias", a(cin, scale=0.2)), (f"{prefix}/noise_strength", a(scale=0.3)),
                      (f"{prefix}/bias", a(cout, scale=0.2))])

    def torgb(prefix, cin):
        synth.extend([(f"{prefix}/weight", a(1, 1, cin, 3, scale=0.1)), (f"{prefix}/mod_weight", a(w, cin)),
                      (f"{prefix}/mod_bias", a(cin, scale=0.2)), (f"{prefix}/bias", a(3, scale=0.02))])

    synth.append(("4x4/Const/const", a(1, nf(4), 4, 4)))
    layer("4x4/Conv", nf(4), nf(4))
    torgb("4x4/ToRGB", nf(4))
    for lvl in range(3, log2 + 1):
        r = 2 ** lvl
        layer(f"{r}x{r}/Conv0_up", nf(r // 2), nf(r))
        layer(f"{r}x{r}/Conv1", nf(r), nf(r))
        torgb(f"{r}x{r}/ToRGB", nf(r))
    main = [("dlatent_avg", a(w, scale=0.3))]
    return main, mapping, synth


def write_tf_pickle(path: str | Path, static_kwargs: dict, seed: int) -> Path:
    """Write a TF-era ``(G, D, Gs)`` pickle; Gs holds the variables of ``random_tf_variables(static_kwargs, seed)``
    (G gets other weights). Returns the path."""
    def gen(s):
        main, mapping, synth = random_tf_variables(static_kwargs, s)
        comps = {"mapping": Network("G_mapping", static_kwargs, mapping),
                 "synthesis": Network("G_synthesis", static_kwargs, synth)}
        return Network("G_main", static_kwargs, main, comps)

    D = Network("D_stylegan2", {"resolution": static_kwargs["resolution"]}, [("Output/weight", np.zeros([1, 1],
                                                                                                       np.float32))])
    data = (gen(seed + 1), D, gen(seed))
    buf = io.BytesIO()
    with fake_modules(dnnlib__tflib__network={"Network": Network}):
        pickle.Pickler(buf, protocol=4).dump(data)
    Path(path).write_bytes(buf.getvalue())
    return Path(path)

