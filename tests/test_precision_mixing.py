"""Synthesis precision (--dtype), torch.compile plumbing (--compile), style mixing and truncation cutoff in
``studio random`` and in timelines (precision plans and the thread test: test_synth.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_render_dtype_and_compile(tiny_models, tmp_path, monkeypatch):
    """--dtype float16 and --compile reach the synthesis network; compiled frames equal plain ones."""
    import studio.render as render
    calls = []

    def fake_compile(module, **kw):
        calls.append(module)
        return module
    monkeypatch.setattr(torch, "compile", fake_compile)
    render._COMPILED.clear()
    tl = tmp_path / "t.yaml"
    tl.write_text("model: builtin:tiny\nfps: 4\nkeyframes:\n  - {time: 0, seed: 1}\n  - {time: 1, seed: 2}\n")
    outs = {}
    for name, extra in [("plain", []), ("compiled", ["--compile"]), ("half", ["--dtype", "float16"])]:
        code, _, err = run_cli("render", str(tl), "--frames", str(tmp_path / name), "--quiet", "--device", "cpu",
                               *extra)
        assert code == 0, err
        outs[name] = np.stack([np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(p))
                               for p in sorted((tmp_path / name).glob("*.png"))]).astype(int)
    assert len(calls) == 1
    assert np.array_equal(outs["plain"], outs["compiled"])
    assert 0 < np.abs(outs["half"] - outs["plain"]).max() <= 8
    code, _, err = run_cli("render", str(tl), "--frames", str(tmp_path / "x"), "--dtype", "int8", "--quiet")
    assert code == 2


# ----------------------------------------------------------------------------------------- mixing and cutoff
def _capture_ws(monkeypatch, G):
    seen = []
    orig = G.synthesis.forward

    def spy(ws, *a, **k):
        seen.append(ws.detach().clone())
        return orig(ws, *a, **k)
    monkeypatch.setattr(G.synthesis, "forward", spy)
    return seen


def test_random_style_mixing_replaces_only_the_chosen_layers(tiny_models, tmp_path, monkeypatch):
    from studio.render import get_model
    from studio.seeds import seed_to_z
    model = get_model("builtin:tiny", "cpu")
    G = model.G
    assert G.num_ws == 8
    seen = _capture_ws(monkeypatch, G)
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "3", "--mix-seed", "9", "--mix-layers", "5-", "--device", "cpu",
                           "--truncation", "0.6", "--out", str(tmp_path / "mix"), "--quiet")
    assert code == 0, err
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "3", "--device", "cpu", "--truncation", "0.6",
                           "--out", str(tmp_path / "plain"), "--quiet")
    assert code == 0, err
    mixed, plain = seen[0][0], seen[1][0]
    with torch.no_grad():
        w_mix = G.mapping(torch.from_numpy(seed_to_z(9, G.z_dim)).float()[None], None, truncation_psi=0.6)[0]
    assert torch.equal(mixed[:5], plain[:5])
    assert torch.allclose(mixed[5:], w_mix[5:])
    assert not torch.allclose(mixed[5:], plain[5:])
    a = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "mix" / "seed0003.png"))
    b = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "plain" / "seed0003.png"))
    assert not np.array_equal(a, b)
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "3", "--mix-seed", "9", "--mix-layers", "8-", "--device", "cpu",
                           "--out", str(tmp_path / "bad"), "--quiet")
    assert code == 2 and "layer 8 does not exist" in err


def test_random_truncation_cutoff(tiny_models, tmp_path, monkeypatch):
    from studio.render import get_model
    G = get_model("builtin:tiny", "cpu").G
    seen = _capture_ws(monkeypatch, G)
    for extra in ([], ["--truncation-cutoff", "3"]):
        code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "4", "--truncation", "0.5", "--device", "cpu",
                               "--out", str(tmp_path / f"c{len(extra)}"), "--quiet", *extra)
        assert code == 0, err
    with torch.no_grad():
        from studio.seeds import seed_to_z
        w = G.mapping(torch.from_numpy(seed_to_z(4, G.z_dim)).float()[None], None)[0]
    full, cut = seen[0][0], seen[1][0]
    w_avg = G.mapping.w_avg
    assert torch.allclose(full, w_avg.lerp(w, 0.5), atol=1e-6)
    assert torch.allclose(cut[:3], w_avg.lerp(w[:3], 0.5), atol=1e-6)
    assert torch.equal(cut[3:], w[3:])


def test_timeline_mix_and_cutoff(tiny_models, monkeypatch):
    from ganlib.synth import generate
    from studio.render import get_model
    from studio.resolve import resolve_keyframes
    from studio.seeds import seed_to_z
    from studio.timeline import timeline_from_dict
    G = get_model("builtin:tiny", "cpu").G
    tl = timeline_from_dict({"model": "builtin:tiny", "fps": 4, "truncation_cutoff": 2, "keyframes": [
        {"time": 0, "seed": 1, "mix": {"seed": 7, "layers": "0-1,6"}}, {"time": 1, "seed": 2}]})
    resolved = resolve_keyframes(tl, G)
    with torch.no_grad():
        w1 = G.mapping(torch.from_numpy(seed_to_z(1, G.z_dim)).float()[None], None)[0].double().numpy()
        w7 = G.mapping(torch.from_numpy(seed_to_z(7, G.z_dim)).float()[None], None)[0].double().numpy()
    a = resolved.anchors[0]
    assert np.allclose(a[[0, 1, 6]], w7[[0, 1, 6]]) and np.allclose(a[[2, 3, 4, 5, 7]], w1[[2, 3, 4, 5, 7]])
    seen = _capture_ws(monkeypatch, G)
    generate(G, a[None], space="w", psi=np.array([0.5]), cutoff=tl.truncation_cutoff)
    ws = seen[0][0].double()
    w_avg = G.mapping.w_avg.double()
    at = torch.from_numpy(a)
    assert torch.allclose(ws[:2], w_avg + 0.5 * (at[:2] - w_avg), atol=1e-5)
    assert torch.allclose(ws[2:], at[2:], atol=1e-6)
