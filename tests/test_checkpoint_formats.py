"""Foreign checkpoints (NVlabs ada/stylegan3 pickles, TF-era pickles, rosinality .pt): detection by content, key
mapping and numerics against outputs computed once with the real upstream code (tests/fixtures/README.md),
``studio convert`` and ``--model`` with foreign files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import ckpt_helpers as H
from ganlib.checkpoints import detect_format, load_generator
from ganlib.checkpoints.native import save_module
from ganlib.errors import CheckpointError


pytestmark = pytest.mark.usefixtures("one_torch_thread")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def expected():
    return np.load(FIXTURES / "foreign_expected.npz")




@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp("foreign")
    st_ros, lat = H.random_rosinality_state(H.ROS_CONFIG["size"], H.ROS_CONFIG["style_dim"], H.ROS_CONFIG["n_mlp"],
                                            H.ROS_CONFIG["channels"], seed=12)
    return {
        "nv_ada": H.write_nvlabs_pickle(d / "ada.pkl", H.NV_ADA_KWARGS, H.random_nvlabs_state(H.NV_ADA_KWARGS, 10)),
        "nv_sg3": H.write_nvlabs_pickle(d / "sg3.pkl", H.NV_SG3_KWARGS,
                                        H.random_nvlabs_state(H.NV_SG3_GANLIB_KWARGS, 11), flavor="sg3",
                                        ganlib_kwargs=H.NV_SG3_GANLIB_KWARGS),
        "tf": H.write_tf_pickle(d / "tf.pkl", H.TF_STATIC_KWARGS, seed=13),
        "ros": H.write_rosinality_pt(d / "ros.pt", st_ros, lat),
        "ros_train": H.write_rosinality_pt(d / "ros_train.pt", st_ros, None, training=True),
        "ros_state": st_ros,
        "ros_latent_avg": lat,
    }


def render(G, seed: int, psi: float, cls: int, **synthesis_kwargs) -> np.ndarray:
    z = torch.from_numpy(H.seed_z(seed, G.z_dim)).float()
    c = torch.zeros([1, G.c_dim])
    if G.c_dim:
        c[:, cls] = 1
    with torch.no_grad():
        return G(z, c, truncation_psi=psi, noise_mode="const", **synthesis_kwargs).numpy()


@pytest.mark.parametrize("key,fmt,tol", [("nv_ada", "nvlabs-pkl", 1e-5), ("nv_sg3", "nvlabs-pkl", 1e-5),
                                         ("tf", "tf-pkl", 1e-5), ("ros", "rosinality-pt", 1e-5)])
def test_matches_upstream_outputs(ckpts, expected, key, fmt, tol):
    path = ckpts[key]
    # (zip-based .pt files are reported as 'torch-zip' by the registry and identified when loaded)
    assert detect_format(path) in ((fmt, "torch-zip") if fmt == "rosinality-pt" else (fmt,))
    model = load_generator(path)
    assert model.format == fmt and model.arch == "stylegan2"
    for seed, psi, cls in H.SAMPLES:
        got = render(model.G, seed, psi, cls)
        want = expected[f"{key}/{seed}_{psi}_{cls}"]
        assert np.abs(got - want).max() <= tol, (key, seed)
        # and the same 8-bit pixels as NVlabs' conversion
        px = lambda a: np.clip(a * 127.5 + 128, 0, 255).astype(np.uint8)  # noqa: E731
        assert np.abs(px(got).astype(int) - px(want).astype(int)).max() <= 1


def test_fp16_blocks_match_nvlabs_fp16(ckpts, expected):
    """--dtype float16 runs the checkpoint's fp16 blocks as stylegan2-ada-pytorch does (here on CPU)."""
    G = load_generator(ckpts["nv_ada"]).G
    for seed, psi, cls in H.SAMPLES:
        got = render(G, seed, psi, cls, precision="float16")  # precision is an argument, the model is unchanged
        want = expected[f"nv_ada_fp16/{seed}_{psi}_{cls}"]
        assert np.abs(got - want).max() <= 1e-3
    seed, psi, cls = H.SAMPLES[0]  # after the fp16 calls, a default call is fp32 again (nothing was left changed)
    assert np.abs(render(G, seed, psi, cls) - expected[f"nv_ada/{seed}_{psi}_{cls}"]).max() <= 1e-5


def test_nvlabs_settings_and_g_ema_preferred(ckpts):
    m = load_generator(ckpts["nv_ada"])
    assert m.kwargs["synthesis_kwargs"] == {"channel_base": 512, "channel_max": 32, "num_fp16_res": 2,
                                            "conv_clamp": 256}
    assert m.provenance["network"] == "G_ema" and m.provenance["source_repo"] == "stylegan2-ada-pytorch"
    state = H.random_nvlabs_state(H.NV_ADA_KWARGS, 10)
    assert torch.equal(m.G.synthesis.b8.conv0.weight, state["synthesis.b8.conv0.weight"])  # not G's (×0.5)
    sg3 = load_generator(ckpts["nv_sg3"])
    # stylegan3's StyleGAN2: flat kwargs; its defaults num_fp16_res=4, conv_clamp=256 made explicit
    assert sg3.kwargs["synthesis_kwargs"]["num_fp16_res"] == 4
    assert sg3.kwargs["synthesis_kwargs"]["conv_clamp"] == 256
    assert sg3.kwargs["synthesis_kwargs"]["fused_modconv_default"] == "inference_only"
    assert sg3.provenance["source_repo"] == "stylegan3"
    assert [b.use_fp16 for b in sg3.G.synthesis.blocks()] == [False, True, True, True]


def test_tf_mapping_details(ckpts):
    """TF → PyTorch: dense transposed, conv [k,k,I,O] → [O,I,k,k], Conv0_up flipped, mod_bias + 1, noise."""
    main, mapping, synth = H.random_tf_variables(H.TF_STATIC_KWARGS, 13)
    tf = dict(main + [("mapping/" + k, v) for k, v in mapping] + [("synthesis/" + k, v) for k, v in synth])
    G = load_generator(ckpts["tf"]).G
    sd = {k: v.numpy() for k, v in G.state_dict().items()}
    np.testing.assert_array_equal(sd["mapping.fc1.weight"], tf["mapping/Dense1/weight"].T)
    np.testing.assert_array_equal(sd["mapping.embed.weight"], tf["mapping/LabelEmbed/weight"].T)
    np.testing.assert_array_equal(sd["synthesis.b8.conv0.weight"],
                                  tf["synthesis/8x8/Conv0_up/weight"][::-1, ::-1].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(sd["synthesis.b8.conv1.weight"],
                                  tf["synthesis/8x8/Conv1/weight"].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(sd["synthesis.b16.torgb.affine.bias"], tf["synthesis/16x16/ToRGB/mod_bias"] + 1)
    np.testing.assert_array_equal(sd["synthesis.b16.conv0.noise_const"], tf["synthesis/noise3"][0, 0])
    np.testing.assert_array_equal(sd["synthesis.b16.conv1.noise_const"], tf["synthesis/noise4"][0, 0])
    np.testing.assert_array_equal(sd["synthesis.b4.const"], tf["synthesis/4x4/Const/const"][0])
    np.testing.assert_array_equal(sd["mapping.w_avg"], tf["dlatent_avg"])
    assert G.num_ws == 8 and G.c_dim == 2


def test_rosinality_mapping_details(ckpts):
    st = ckpts["ros_state"]
    m = load_generator(ckpts["ros"])
    sd = m.G.state_dict()
    assert m.kwargs["mapping_kwargs"] == {"num_layers": 3, "lr_multiplier": 0.01}
    assert torch.equal(sd["mapping.fc2.weight"], st["style.3.weight"])
    assert torch.equal(sd["synthesis.b8.conv0.weight"], st["convs.0.conv.weight"][0])  # not flipped
    assert torch.equal(sd["synthesis.b32.conv1.affine.bias"], st["convs.5.conv.modulation.bias"])
    assert torch.equal(sd["synthesis.b32.conv1.noise_const"], st["noises.noise_6"][0, 0])
    assert torch.equal(sd["synthesis.b16.torgb.bias"], st["to_rgbs.1.bias"].reshape(-1))
    assert torch.equal(sd["mapping.w_avg"], ckpts["ros_latent_avg"])
    assert [b.in_channels for b in m.G.synthesis.blocks()] == [0, 32, 32, 32]


def test_rosinality_training_checkpoint(ckpts):
    """Training checkpoints hold argparse.Namespace (read into a stand-in) and no latent_avg (estimated)."""
    m = load_generator(ckpts["ros_train"])
    assert m.format == "rosinality-pt"
    assert "mean of" in m.provenance["w_avg"]
    G = m.G
    with torch.no_grad():
        w = G.mapping(torch.randn(2000, G.z_dim, generator=torch.Generator().manual_seed(7)), None)[:, 0]
    spread = (w - w.mean(0)).norm(dim=1).mean()
    assert (G.mapping.w_avg - w.mean(0)).norm() < 0.1 * spread


def test_helper_pickle_has_upstream_structure(ckpts):
    """The test writer uses only globals that real NVlabs pickles use; the allow-list covers all of those."""
    from ganlib.checkpoints import nvlabs
    real = json.loads((FIXTURES / "nvlabs_real_globals.json").read_text())["globals"]
    real_all = set().union(*map(set, real.values()))
    ours = H.pickle_globals(Path(ckpts["nv_ada"]).read_bytes())
    assert ours <= real_all
    allowed = {f"{m}.{n}" for m, n in nvlabs.allowed_globals()}
    assert real_all <= allowed


def test_stylegan3_alias_free_refused(tmp_path):
    """A StyleGAN3 (alias-free) generator is recognised and refused with a clear message."""
    import io

    class Generator(torch.nn.Module):
        pass

    class SynthesisNetwork(torch.nn.Module):
        pass

    g = Generator()
    g.synthesis = SynthesisNetwork()
    g.synthesis.input = torch.nn.Linear(1, 1)      # StyleGAN3: SynthesisInput, L0_36_512, …
    g.synthesis.L0_36_512 = torch.nn.Linear(1, 1)

    class Pickler(H._NVlabsPickler):
        def reducer_override(self, obj):
            if isinstance(obj, torch.nn.Module):
                return H._module_record(obj, {"z_dim": 4, "w_dim": 4} if obj is g else None, "")
            return NotImplemented

    buf = io.BytesIO()
    with H.fake_modules(torch_utils__persistence={"_reconstruct_persistent_obj": H._reconstruct_persistent_obj}):
        Pickler(buf, {}, "").dump({"G_ema": g})
    path = tmp_path / "sg3_alias_free.pkl"
    path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        load_generator(path)


def test_convert_records_provenance(ckpts, tmp_path):
    from studio.cli import main
    from ganlib.io_utils import file_sha256
    dst = tmp_path / "ada.safetensors"
    assert main(["convert", str(ckpts["nv_ada"]), str(dst)]) == 0
    m = load_generator(dst)
    assert m.format == "latent-studio"
    prov = m.provenance
    assert prov["converted_from"] == "ada.pkl" and prov["source_format"] == "nvlabs-pkl"
    assert prov["source_sha256"] == file_sha256(ckpts["nv_ada"])
    assert prov["source_repo"] == "stylegan2-ada-pytorch"
    a = render(m.G, 1, 0.7, 1)
    b = render(load_generator(ckpts["nv_ada"]).G, 1, 0.7, 1)
    assert np.array_equal(a, b)
    assert main(["convert", str(ckpts["ros"]), str(dst)]) == 2          # exists
    assert main(["convert", str(ckpts["ros"]), str(tmp_path / "x.pt")]) == 2  # wrong suffix
    assert main(["convert", str(ckpts["ros"]), str(dst), "--overwrite"]) == 0
    assert load_generator(dst).provenance["source_format"] == "rosinality-pt"


def test_random_and_info_accept_foreign_models(ckpts, tmp_path, capsys):
    """Every command that takes --model accepts any format directly; PNGs equal NVlabs-converted pixels."""
    from PIL import Image
    from studio.cli import main
    out = tmp_path / "pngs"
    assert main(["random", "--model", str(ckpts["nv_ada"]), "--seeds", "1", "--truncation", "0.7", "--class", "1",
                 "--noise-mode", "const", "--out", str(out), "--quiet"]) == 0
    png = np.asarray(Image.open(out / "seed0001.png")).astype(int)
    want = np.load(FIXTURES / "foreign_expected.npz")["nv_ada/1_0.7_1"][0]
    want_px = np.clip(want * 127.5 + 128, 0, 255).astype(np.uint8).transpose(1, 2, 0).astype(int)
    assert np.abs(png - want_px).max() <= 1
    capsys.readouterr()
    assert main(["info", str(ckpts["tf"]), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "tf-pkl" and info["c_dim"] == 2 and info["resolution"] == 32


def test_written_checkpoints_get_the_users_umask(tmp_path):
    """safetensors writes a private (0600) file; the renamed checkpoint gets 0666 less the umask like any file."""
    old = os.umask(0o022)
    try:
        path = save_module(tmp_path / "m.safetensors", torch.nn.Linear(2, 2), "x", {})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
