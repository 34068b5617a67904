"""ADA (Karras et al. 2020): every augmentation of the bgc pipeline keeps shapes and is differentiable (gradcheck in
float64); the controller follows the paper's rule; every image D sees is augmented; p rises on a tiny dataset that
D memorises and stays near 0 on a large one."""
from __future__ import annotations

import csv

import pytest
import torch
from PIL import Image

from ganlib.checkpoints import save_generator
from ganlib.networks.stylegan2 import Generator
from ganlib.train.ada import OPS, AdaController, AugmentPipe
from ganlib.train.run import train
from tests.train_data import tiny


def _fixed(pipe):
    return lambda x: pipe(x, torch.Generator().manual_seed(3))  # the same random draws on every call


@pytest.mark.parametrize("op", OPS)
def test_each_augmentation_keeps_shape_and_is_differentiable(op):
    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8, dtype=torch.float64) * 2 - 1
    f = _fixed(AugmentPipe(p=1.0, ops=(op,)))
    y = f(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert not torch.allclose(y, x)  # p = 1: it does something
    small = (torch.rand(2, 3, 4, 4, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    assert torch.autograd.gradcheck(f, (small,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_pipeline_identity_at_p0_and_grey_images():
    x = torch.rand(3, 1, 8, 8) * 2 - 1
    assert AugmentPipe(0.0)(x) is x
    y = AugmentPipe(1.0)(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and torch.isfinite(y).all()
    rgb = (torch.rand(3, 3, 4, 4, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    assert torch.autograd.gradcheck(_fixed(AugmentPipe(0.7)), (rgb,), eps=1e-6, atol=1e-5, fast_mode=True)
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        AugmentPipe(0.5, ops=("blur",))


def test_integer_ops_move_pixels_exactly():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    for op in ("xflip", "rotate90", "xint"):
        y = AugmentPipe(1.0, ops=(op,))(x, torch.Generator().manual_seed(0))
        for a, b in zip(x, y):  # every output pixel is an input pixel (no interpolation)
            assert torch.isin(b.round(), a).all()


def test_controller_follows_the_paper_rule():
    ada = AdaController(target=0.6, interval=2, kimg=0.1, batch_size=5)
    step = 5 * 2 / 100
    assert ada.update(torch.ones(5)) == 0.0  # adjusts every 2 steps
    assert ada.update(torch.ones(5)) == pytest.approx(step) and ada.rt == 1.0
    ada.update(torch.tensor([1.0, 1, 1, -1, -1]))
    assert ada.update(torch.tensor([1.0, 1, 1, -1, -1])) == pytest.approx(0.0)  # r_t 0.2 < 0.6: down
    for _ in range(4):
        ada.update(-torch.ones(5))
    assert ada.p == 0.0  # never below 0
    ada.update(torch.ones(5))
    copy = AdaController(0.6, 2, 0.1, 5)
    copy.load_state_dict(ada.state_dict())
    assert copy.update(torch.ones(5)) == ada.update(torch.ones(5)) == pytest.approx(step)


def test_every_image_d_sees_is_augmented(train_data, tmp_path, monkeypatch, one_torch_thread):
    from ganlib.networks.stylegan2 import Discriminator
    made, seen = set(), []
    real_call, real_forward = AugmentPipe.__call__, Discriminator.forward

    def call(self, x, generator=None):
        y = real_call(self, x, generator)
        made.add(id(y))
        return y

    def forward(self, img, c=None, **kw):
        seen.append(id(img) in made)
        return real_forward(self, img, c, **kw)

    monkeypatch.setattr(AugmentPipe, "__call__", call)
    monkeypatch.setattr(Discriminator, "forward", forward)
    train("stylegan2", train_data["folder"], tmp_path / "run", overrides=tiny("stylegan2", ada_p=0.5),
          max_steps=2, progress=False)
    assert len(seen) == 2 * 3 + 1 and all(seen)  # G main, D fake, D real every step; R1 on the first


def _generator_folder(G, path, n):
    path.mkdir()
    with torch.no_grad():
        img = G(torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(n)), noise_mode="random")
    pix = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for i, p in enumerate(pix):
        Image.fromarray(p).save(path / f"{i:04d}.png")
    return path


def test_p_rises_when_d_memorises_a_tiny_dataset_and_not_on_a_large_one(tmp_path, one_torch_thread):
    # Real images are samples of the (nearly frozen) starting generator itself, so D can only tell them from fakes
    # by memorising them: with 2 images it does and r_t rises above 0.6; with 256 it cannot and p stays near 0.
    torch.manual_seed(0)
    kw = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=1),
              synthesis_kwargs=dict(channel_base=64, channel_max=8))
    G = Generator(**kw).eval()
    save_generator(tmp_path / "g.safetensors", G, "stylegan2", kw, {})
    settings = dict(resolution=16, batch_size=2, init=str(tmp_path / "g.safetensors"), lr_g=1e-6, lr_d=0.01,
                    pl_weight=0, sample_count=2, checkpoint_every=0, eval_every=0, sample_every_epochs=0,
                    ada_interval=2, ada_kimg=0.1)
    p = {}
    for name, n in (("tiny", 2), ("large", 256)):
        data = _generator_folder(G, tmp_path / name, n)
        train("stylegan2", data, tmp_path / f"run_{name}", overrides=settings, max_steps=40, progress=False)
        with open(tmp_path / f"run_{name}" / "losses.csv", newline="") as f:
            p[name] = [float(r["ada_p"]) for r in csv.DictReader(f)]
    assert p["tiny"][-1] >= 0.12 and p["tiny"][-1] > p["tiny"][10]
    assert max(p["large"]) <= 0.08 and p["large"][-1] <= 0.04
