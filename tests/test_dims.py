"""Keyframe ``dims: {index: offset}``: one latent dimension moved, interpolated between keyframes, checked against
the model (line-numbered errors) and kept through YAML."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlib.networks.dcgan import DCGANGenerator
from ganlib.networks.stylegan2 import Generator
from ganlib.synth import map_z, seed_to_z
from studio.engine import plan_frames
from studio.errors import TimelineError
from studio.resolve import resolve_keyframes
from studio.timeline import parse_timeline, timeline_to_yaml

SG_KW = dict(z_dim=16, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
             synthesis_kwargs=dict(channel_base=256, channel_max=16))


@pytest.fixture(scope="module")
def dcgan():
    torch.manual_seed(0)
    return DCGANGenerator(z_dim=8, img_resolution=16, img_channels=3, ngf=4).eval()


@pytest.fixture(scope="module")
def stylegan():
    torch.manual_seed(0)
    return Generator(**SG_KW).eval()


TWO = """fps: 4
space: {space}
interpolation: linear
keyframes:
  - {{time: 0, seed: 3}}
  - {{time: 1, seed: 3, dims: {{5: 2.5}}}}
"""


def test_dims_moves_one_z_dimension_and_interpolates(dcgan):
    tl = parse_timeline(TWO.format(space="z"))
    assert tl.keyframes[1].dims == {5: 2.5}
    res = resolve_keyframes(tl, dcgan)
    z = seed_to_z(3, 8)
    assert res.space == "z"
    np.testing.assert_allclose(res.anchors[0], z)
    diff = res.anchors[1] - z
    assert np.flatnonzero(diff).tolist() == [5] and diff[5] == pytest.approx(2.5)
    plan = plan_frames(tl, res.anchors, res.conds, truncations=res.truncations)
    moved = plan.latents - z
    assert np.count_nonzero(moved[:, np.arange(8) != 5]) == 0  # no other dimension moves in any frame
    offsets = moved[:, 5]
    assert offsets[0] == 0 and offsets[-1] == pytest.approx(2.5)
    assert np.all(np.diff(offsets) > 0) and 0 < offsets[len(offsets) // 2] < 2.5  # interpolated in between


def test_dims_in_w_space_moves_that_w_dimension_on_every_layer(stylegan):
    tl = parse_timeline(TWO.format(space="w"))
    res = resolve_keyframes(tl, stylegan)
    w = map_z(stylegan, seed_to_z(3, 16))[0].double().numpy()
    diff = res.anchors[1] - w
    assert res.space == "w" and diff.shape == (stylegan.num_ws, 16)
    np.testing.assert_allclose(diff[:, 5], 2.5, atol=1e-6)
    np.testing.assert_allclose(np.delete(diff, 5, axis=1), 0, atol=1e-6)


def test_dims_index_is_checked_against_the_model(dcgan):
    text = TWO.format(space="z").replace("{5: 2.5}", "{8: 1}")
    tl = parse_timeline(text, source="walk.yaml")
    with pytest.raises(TimelineError, match=r"walk\.yaml:6.*latent dimension 8 does not exist.*8 dimensions "
                                            r"\(0\.\.7\)"):
        resolve_keyframes(tl, dcgan)


@pytest.mark.parametrize("dims, message", [("{5: .nan}", "finite number"), ("{-1: 2}", "whole numbers >= 0"),
                                           ("{a: 2}", "whole numbers >= 0"), ("[5, 2]", "must map latent indices"),
                                           ("{5: 1e9}", "within ±1000")])
def test_bad_dims_are_refused_with_their_line(dims, message):
    text = TWO.format(space="z").replace("{5: 2.5}", dims)
    with pytest.raises(TimelineError, match=rf"walk\.yaml:6.*dims.*{message}"):
        parse_timeline(text, source="walk.yaml")


def test_dims_survive_yaml():
    tl = parse_timeline(TWO.format(space="z").replace("{5: 2.5}", "{5: 2.5, 0: -1}"))
    again = parse_timeline(timeline_to_yaml(tl))
    assert again.keyframes[1].dims == {5: 2.5, 0: -1.0}
