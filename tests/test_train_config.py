"""Training configuration (presets, --set parsing, did-you-mean), the small networks' contract and init, losses."""
from __future__ import annotations

import pytest
import torch

from ganlib.errors import ConfigError
from ganlib.networks import build_generator
from ganlib.networks.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANModGenerator
from ganlib.train import losses
from ganlib.train.config import (KIND_DEFAULTS, SCHEMAS, load_config, merge, parse_set, preset_path, read_yaml,
                                 validate_config)
from studio.cli import main


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_presets_are_complete_and_match_the_code(kind):
    preset = read_yaml(preset_path(kind))
    code = merge(SCHEMAS[kind]().model_dump(mode="json"), KIND_DEFAULTS.get(kind, {}))
    assert set(preset) == set(code)
    assert validate_config(kind, preset) == validate_config(kind, code)


def test_paper_hyperparameters():
    dc = load_config("dcgan")
    assert (dc.lr_g, dc.lr_d, tuple(dc.betas), dc.loss, dc.d_norm) == (2e-4, 2e-4, (0.5, 0.999), "bce", "batch")
    w = load_config("wgan")
    assert (w.optimizer, w.lr_d, w.clip, w.n_critic, w.loss) == ("rmsprop", 5e-5, 0.01, 5, "wasserstein")
    gp = load_config("wgan-gp")
    assert (gp.optimizer, gp.lr_d, tuple(gp.betas), gp.gp_lambda, gp.n_critic, gp.clip) == \
        ("adam", 1e-4, (0.0, 0.9), 10.0, 5, None)
    mod = load_config("dcgan-mod")
    assert (mod.upsample, mod.spectral_norm, mod.d_norm) == ("resize", True, "none")
    assert load_config("classifier").data.balanced is True


def test_set_values_are_parsed_and_type_checked(tmp_path):
    over = parse_set(["lr_g=1e-4", "data.flip=false", "betas=[0, 0.9]", "arch=mlp", "clip=null"])
    assert over == {"lr_g": 1e-4, "data.flip": False, "betas": [0, 0.9], "arch": "mlp", "clip": None}
    cfg = load_config("wgan", overrides=over)
    assert cfg.lr_g == 1e-4 and cfg.data.flip is False and cfg.arch == "mlp" and cfg.clip is None
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        load_config("dcgan", overrides={"batchsize": 8})
    with pytest.raises(ConfigError) as err:
        load_config("dcgan", overrides={"arch": "transformer"})
    assert err.value.field == "arch" and "'conv'" in str(err.value)
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("batch_size: 8\ndata:\n  fit: stretch\n")
    cfg = load_config("dcgan", cfg_file, {"data.flip": False})
    assert cfg.batch_size == 8 and cfg.data.fit == "stretch" and cfg.data.flip is False and cfg.lr_g == 2e-4
    cfg_file.write_text("batch_size: 8\nlearning_rate: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config("dcgan", cfg_file)
    assert str(err.value).startswith(str(cfg_file)) and "learning_rate" in str(err.value)
    cfg_file.write_text("kind: wgan\n")
    with pytest.raises(ConfigError, match="for KIND 'wgan'"):
        load_config("dcgan", cfg_file)


@pytest.mark.parametrize("res", [64, 128, 256])
def test_dcgan_sizes_and_init(res):
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=16, img_resolution=res, ngf=4).eval()
    D = DCGANDiscriminator(img_resolution=res, ndf=4)
    assert G(torch.randn(2, 16)).shape == (2, 3, res, res)
    assert D(torch.randn(2, 3, res, res)).shape == (2,)
    conv = [m.weight.detach() for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)][0]
    assert abs(float(conv.std()) - 0.02) < 0.004 and abs(float(conv.mean())) < 0.002  # N(0, 0.02), not 0.2
    assert any(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in D.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


def test_generator_contract_attributes():
    specs = {
        "dcgan": dict(img_resolution=32, ngf=4), "dcgan-mod": dict(img_resolution=32, ngf=4),
        "mlp": dict(img_resolution=16, hidden=8, z_dim=8), "cgan": dict(img_resolution=32, ngf=4, c_dim=3),
        "mse": dict(img_resolution=32, ngf=4, c_dim=5), "autoencoder": dict(img_resolution=32, width=4),
        "encoded": dict(encoder=dict(in_dim=5, out_dim=3), generator_arch="cgan",
                        generator_kwargs=dict(img_resolution=32, ngf=4, c_dim=3, cond_kind="features")),
    }
    for arch, kw in specs.items():
        G = build_generator(arch, kw).eval()
        for attr in ("z_dim", "c_dim", "img_resolution", "img_channels", "cond_kind", "w_dim", "num_ws"):
            assert hasattr(G, attr), (arch, attr)
        assert G.w_dim == 0 and G.num_ws == 0
        rebuilt = build_generator(arch, G.init_kwargs)  # kwargs are JSON-able and complete
        assert type(rebuilt) is type(G)
        c = None if G.cond_kind == "none" else torch.ones(2, G.c_dim) / G.c_dim
        img = G(torch.randn(2, G.z_dim), c, truncation_psi=0.5, truncation_cutoff=None, noise_mode="random")
        assert img.shape == (2, 3, G.img_resolution, G.img_resolution)
    cg = build_generator("cgan", specs["cgan"]).eval()
    z = torch.randn(2, cg.z_dim)
    assert torch.equal(cg(z, torch.tensor([0, 2])), cg(z, torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])))
    doc = DCGANModGenerator.__doc__.lower()
    assert "resize" in doc and "spectral" in doc


def test_losses():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    assert torch.isclose(losses.d_loss("wasserstein", real, fake), torch.tensor(-1.0))
    assert torch.isclose(losses.d_loss("hinge", real, fake), torch.tensor(0.5 + 1.0))
    assert torch.isclose(losses.g_loss("bce", torch.tensor([0.0])), torch.log(torch.tensor(2.0)))
    w = torch.full((1, 3, 2, 2), 0.5)  # a linear critic: grad = w everywhere, ||w|| = sqrt(12) * 0.5

    def critic(x, c=None):
        return (x * w).flatten(1).sum(1)
    gp = losses.gradient_penalty(critic, torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2))
    assert torch.isclose(gp, (torch.tensor(12.0).sqrt() * 0.5 - 1) ** 2)
    r1 = losses.r1_penalty(critic, torch.randn(4, 3, 2, 2))
    assert torch.isclose(r1, torch.tensor(12 * 0.25))


@pytest.mark.parametrize("kind", ["dcgan", "stylegan2"])
def test_set_typo_gets_the_same_did_you_mean_for_every_kind(kind):
    with pytest.raises(ConfigError) as err:
        load_config(kind, overrides=parse_set(["batch_sise=8"]))
    assert str(err.value) == "'batch_sise': unknown field 'batch_sise'; did you mean 'batch_size'?"
    assert err.value.file is None and err.value.field == "batch_sise"


@pytest.mark.parametrize("kind", ["dcgan", "stylegan2"])
def test_bad_value_in_a_config_file_names_file_and_line(tmp_path, kind):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 1\nbatch_size: many\n")
    with pytest.raises(ConfigError) as err:
        load_config(kind, f)
    assert str(err.value).startswith(f"{f}:2: 'batch_size': must be a whole number")
    assert "validation error" not in str(err.value).lower() and "pydantic" not in str(err.value).lower()


def test_yaml12_floats_in_training_configs(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lr_g: 1e-4\ncache_limit_mb: 3e1\n".replace("cache_limit_mb", "data:\n  cache_limit_mb"))
    raw = read_yaml(f)
    assert raw["lr_g"] == 1e-4 and isinstance(raw["lr_g"], float)
    assert raw["data"]["cache_limit_mb"] == 30.0 and isinstance(raw["data"]["cache_limit_mb"], float)
    cfg = load_config("dcgan", f)
    assert cfg.lr_g == 1e-4 and cfg.data.cache_limit_mb == 30.0
    sg = tmp_path / "sg.yaml"
    sg.write_text("lr_g: 1e-4\nada_kimg: 3e1\n")
    assert read_yaml(sg)["ada_kimg"] == 30.0
    cfg = load_config("stylegan2", sg)
    assert cfg.lr_g == 1e-4 and cfg.ada_kimg == 30.0
    assert parse_set(["lr_g=3e1", "seed=1_000"]) == {"lr_g": 30.0, "seed": 1000}


def test_stylegan2_trainer_validates_through_the_schema(tmp_path):
    from ganlib.train.run import train
    with pytest.raises(ConfigError) as err:
        train("stylegan2", "procedural", tmp_path / "run", overrides={"mapping_layers": 9}, progress=False)
    assert str(err.value) == "'mapping_layers': must be at most 8, got 9"
    with pytest.raises(ConfigError, match="'augment': must be one of 'ada', 'diffaugment', 'none'"):
        load_config("stylegan2", overrides={"augment": "adaptive"})
    with pytest.raises(ConfigError, match="unknown DiffAugment policy 'blur'"):
        load_config("stylegan2", overrides={"diffaugment": "color,blur"})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["dcgan", "stylegan2"])
def test_cli_set_typo_is_one_line_for_every_kind(kind, tmp_path, capsys):
    code = main(["train", kind, "--data", "procedural", "--out", str(tmp_path / "run"), "--quiet",
                 "--set", "batch_sise=8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: 'batch_sise': unknown field 'batch_sise'; did you mean 'batch_size'?"]
    assert not (tmp_path / "run").exists()
