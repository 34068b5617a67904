"""``studio text``: a string composed from a 5-class label model's per-character images (random weights suffice
to check the classes looked up, the strip's width, the gaps and the errors)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlib.networks.conditional import ConditionalGenerator
from ganlib.synth import one_hot, seed_batch
from studio.text_strip import char_classes, compose_strip
from tests.conftest import run_cli
from tests.letters_model import CLASSES, save_letters_models


@pytest.fixture(scope="module")
def letters(tmp_path_factory) -> tuple[Path, Path, ConditionalGenerator]:
    """A random-weight 5-class cGAN saved with its class names, and the same weights saved without them."""
    return save_letters_models(tmp_path_factory.mktemp("letters"))


def test_characters_map_to_classes_case_insensitively_and_spaces_to_gaps():
    assert char_classes("Bad E", CLASSES) == [1, 0, 3, None, 4]
    assert char_classes("a", ["a", "A"]) == [0]


def test_compose_strip_width_and_gaps():
    tile = np.full((4, 3, 1), 200, np.uint8)
    strip = compose_strip([tile, None, tile], spacing=2)
    assert strip.shape == (4, 3 * 3 + 2 * 2, 1)
    assert (strip[:, :3] == 200).all() and (strip[:, 3:10] == 0).all() and (strip[:, 10:] == 200).all()


def test_cli_writes_the_strip_of_the_right_width_from_the_right_classes(tmp_path, letters):
    named, _, G = letters
    out = tmp_path / "hello.png"
    code, stdout, err = run_cli("text", "BAD CAB", "--model", str(named), "--seed", "5", "--spacing", "3",
                                "--out", str(out), "--device", "cpu")
    assert code == 0, err
    with Image.open(out) as im:
        strip = np.asarray(im)
    n = len("BAD CAB")
    assert strip.shape == (16, n * 16 + (n - 1) * 3)
    labels = [1, 0, 3, None, 2, 0, 1]
    for i, lab in enumerate(labels):
        tile = strip[:, i * 19:i * 19 + 16]
        if lab is None:
            assert (tile == 0).all()
        else:
            want = seed_batch(G, [5 + i], conds=one_hot([lab], 5))[0, :, :, 0]
            assert np.array_equal(tile, want), i
    assert not np.array_equal(strip[:, 19:35], strip[:, 5 * 19:5 * 19 + 16])  # two A's, two seeds


def test_unknown_characters_list_the_classes(tmp_path, letters):
    named, _, _ = letters
    code, _, err = run_cli("text", "HELLO", "--model", str(named), "--out", str(tmp_path / "x.png"))
    assert code == 2 and "'TEXT'" in err and "'HLO'" in err and "A, B, C, D, E" in err
    assert not (tmp_path / "x.png").exists()


def test_a_checkpoint_without_names_needs_classes(tmp_path, letters):
    _, bare, _ = letters
    code, _, err = run_cli("text", "AB", "--model", str(bare), "--out", str(tmp_path / "x.png"))
    assert code == 2 and "--classes" in err and "5 classes" in err
    code, _, err = run_cli("text", "AB", "--model", str(bare), "--classes", "A,B", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "2 class names for a model with 5 classes" in err
    code, _, err = run_cli("text", "vw", "--model", str(bare), "--classes", "v,w,x,y,z",
                           "--out", str(tmp_path / "x.png"))
    assert code == 0, err
    with Image.open(tmp_path / "x.png") as im:
        assert im.size == (2 * 16 + 2, 16)


def test_an_unconditional_model_is_refused(tmp_path):
    code, _, err = run_cli("text", "AB", "--model", "builtin:default", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "label-conditioned" in err and "Traceback" not in err
