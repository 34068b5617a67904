"""Hostile and broken checkpoint files: refused with a CheckpointError naming the file and the offending global
(exit 2 from the CLI), never executed (a canary file is never created); truncated/corrupt files give clear errors."""
from __future__ import annotations

import io
import os
import pickle

import pytest
import torch

import ckpt_helpers as H
from ganlib.checkpoints import load_generator
from ganlib.errors import CheckpointError




class _Call:
    """Pickles as a call of ``func(*args)`` (what an attacker's __reduce__ would do)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args



pytestmark = pytest.mark.usefixtures("one_torch_thread")

def _write(path, obj, protocol=4):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def _hostile_files(tmp_path, canary):
    cmd = f"touch {canary}"
    files = {}
    files["os_system.pkl"] = (_write(tmp_path / "os_system.pkl", _Call(os.system, cmd)), "system")
    files["eval.pkl"] = (_write(tmp_path / "eval.pkl", _Call(eval, f"__import__('os').system({cmd!r})")),
                         "builtins.eval")
    files["proto2.pkl"] = (_write(tmp_path / "proto2.pkl", {"G_ema": _Call(os.system, cmd)}, protocol=2), "system")
    # hidden inside an otherwise plausible NVlabs snapshot
    files["nested.pkl"] = (_write(tmp_path / "nested.pkl", {"training_set_kwargs": {"path": _Call(os.system, cmd)},
                                                             "G_ema": None}), "system")
    # an unknown class
    with H.fake_modules(some_pkg__things={}):
        import sys

        class Thing:
            pass
        Thing.__module__ = "some_pkg.things"
        Thing.__qualname__ = "Thing"
        sys.modules["some_pkg.things"].Thing = Thing
        files["unknown_class.pkl"] = (_write(tmp_path / "unknown_class.pkl", {"G_ema": Thing()}),
                                      "some_pkg.things.Thing")
    # an allowed function abused: a nested torch.save blob whose payload calls os.system
    blob = io.BytesIO()
    torch.save(_Call(os.system, cmd), blob, _use_new_zipfile_serialization=False)
    files["storage_blob.pkl"] = (_write(tmp_path / "storage_blob.pkl",
                                        {"G_ema": _Call(torch.storage._load_from_bytes, blob.getvalue())}), "system")
    # a builtin type, and numpy's array reconstruction called on another (allowed) type
    import collections
    import numpy as np
    reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
    files["builtin_type.pkl"] = (_write(tmp_path / "builtin_type.pkl", _Call(reconstruct, dict, (0,), b"b")),
                                 "builtins.dict")
    files["np_subtype.pkl"] = (_write(tmp_path / "np_subtype.pkl",
                                      _Call(reconstruct, collections.OrderedDict, (0,), b"b")), "numpy.ndarray")
    # a TF-style pickle with a payload in its variables
    with H.fake_modules(dnnlib__tflib__network={"Network": H.Network}):
        net = H.Network("G_main", {}, [("x", _Call(os.system, cmd))])
        files["tf_evil.pkl"] = (_write(tmp_path / "tf_evil.pkl", (net, net, net)), "system")
    # a rosinality-style .pt (zip) with a payload: weights-only loading refuses it
    torch.save({"g_ema": {"input.input": _Call(os.system, cmd)}}, str(tmp_path / "ros_evil.pt"))
    files["ros_evil.pt"] = (tmp_path / "ros_evil.pt", "system")
    return files


def test_hostile_pickles_are_refused_and_never_run(tmp_path):
    canary = tmp_path / "canary"
    for name, (path, global_hint) in _hostile_files(tmp_path, canary).items():
        with pytest.raises(CheckpointError) as info:
            load_generator(path)
        msg = str(info.value)
        assert str(path) in msg, name
        assert "refused" in msg or "not allowed" in msg, (name, msg)
        assert global_hint in msg, (name, msg)
        assert not canary.exists(), name
    assert not canary.exists()


def test_cli_exit_2_names_file_and_global(tmp_path, capsys):
    from studio.cli import main
    canary = tmp_path / "canary"
    path = _write(tmp_path / "evil.pkl", _Call(os.system, f"touch {canary}"))
    for argv in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.safetensors")],
                 ["random", "--model", str(path), "--seeds", "0", "--out", str(tmp_path / "o"), "--quiet"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "evil.pkl" in err and "system" in err and "Traceback" not in err
    assert not canary.exists()
    assert not (tmp_path / "out.safetensors").exists()


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    st, lat = H.random_rosinality_state(16, 8, 2, {4: 8, 8: 8, 16: 8}, seed=1)
    kw = dict(H.NV_ADA_KWARGS, img_resolution=16, c_dim=0)
    return {
        "nvlabs": H.write_nvlabs_pickle(d / "a.pkl", kw, H.random_nvlabs_state(kw, 1), with_g=False),
        "tf": H.write_tf_pickle(d / "t.pkl", dict(H.TF_STATIC_KWARGS, resolution=16), seed=1),
        "ros": H.write_rosinality_pt(d / "r.pt", st, lat),
    }


@pytest.mark.parametrize("kind", ["nvlabs", "tf", "ros"])
def test_truncated_files_give_clear_errors(good_files, tmp_path, kind):
    data = good_files[kind].read_bytes()
    for frac in (0.02, 0.1, 0.3, 0.5, 0.75, 0.97):
        path = tmp_path / f"cut_{int(frac * 100)}{good_files[kind].suffix}"
        path.write_bytes(data[:max(3, int(len(data) * frac))])
        with pytest.raises(CheckpointError) as info:
            load_generator(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize("kind", ["nvlabs", "tf"])
def test_corrupt_bytes_give_clear_errors(good_files, tmp_path, kind):
    data = bytearray(good_files[kind].read_bytes())
    for k, pos in enumerate((40, len(data) // 3, len(data) // 2)):
        bad = bytearray(data)
        bad[pos:pos + 64] = bytes((b * 37 + 11) % 256 for b in range(64))
        path = tmp_path / f"bad{k}.pkl"
        path.write_bytes(bytes(bad))
        try:
            load_generator(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
        # (a flip inside raw tensor data may still load: that is not detectable without a checksum)


def test_empty_and_garbage_files(tmp_path, capsys):
    from studio.cli import main
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x04" + bytes(range(256)) * 4)
    for path in (empty, garbage):
        assert main(["info", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err


def test_plain_pickle_of_data_is_not_a_checkpoint(tmp_path):
    path = _write(tmp_path / "data.pkl", {"a": [1, 2, 3]})
    with pytest.raises(CheckpointError, match="neither an NVlabs"):
        load_generator(path)


@pytest.mark.parametrize("arch", ["stylegan2", "stylegan3", "dcgan"])
def test_model_settings_are_sized_before_anything_is_allocated(arch, monkeypatch):
    # The sizing build runs on the meta device; it must measure every architecture (a StyleGAN2 filter buffer
    # once made it fail, so its size read 0 and the tensor_bytes limit never applied)
    from ganlib import limits
    from ganlib.networks.registry import build_generator
    monkeypatch.setitem(limits._overrides, "tensor_bytes", 1 << 20)
    kwargs = dict(z_dim=64, w_dim=64, img_resolution=32, img_channels=3) if arch.startswith("stylegan") else {}
    with pytest.raises(CheckpointError, match=r"model's settings declares [\d.]+ MiB, above the limit of 1 MiB"):
        build_generator(arch, kwargs)
