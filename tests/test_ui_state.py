"""Studio UI logic without a server: timeline editing (studio.ui.state), the model catalog's checks, job folders."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ganlib.errors import CheckpointError, UserError
from studio.timeline import parse_timeline, timeline_to_yaml
from studio.ui import state
from studio.ui.jobs import JobManager
from studio.ui.models import ModelCatalog, safe_name


def _three() -> dict:
    d = state.new_timeline("builtin:default")
    d, _ = state.add_keyframe(d, seed=1)
    d, _ = state.add_keyframe(d, seed=2, truncation=0.5)
    d, _ = state.add_keyframe(d, seed=3)
    return d


def test_add_keyframes_spaces_them_and_never_mutates_the_input():
    d0 = state.new_timeline()
    d1, i = state.add_keyframe(d0, seed=12)
    assert d0["keyframes"] == [] and i == 0
    d2, j = state.add_keyframe(d1, seed=345, truncation=0.5)
    assert j == 1
    assert d2["keyframes"] == [{"time": 0.0, "seed": 12}, {"time": 2.0, "seed": 345, "truncation": 0.5}]
    d3, k = state.add_keyframe(d2, seed=7, at=1.0)  # inserted in time order
    assert k == 1 and [kf["seed"] for kf in d3["keyframes"]] == [12, 7, 345]
    with pytest.raises(state.StateError, match="two keyframes"):
        state.add_keyframe(d3, seed=8, at=2.0)
    with pytest.raises(state.StateError, match="seed"):
        state.add_keyframe(d3, seed=-1)
    with pytest.raises(state.StateError, match="seed or a latent"):
        state.add_keyframe(d3)


def test_update_keyframe_resorts_and_follows_the_edited_one():
    d = _three()
    d2, i = state.update_keyframe(d, 0, time=5.0, ease="in-out", truncation=0.8)
    assert i == 2
    assert [kf["seed"] for kf in d2["keyframes"]] == [2, 3, 1]
    assert d2["keyframes"][2] == {"time": 5.0, "seed": 1, "truncation": 0.8, "ease": "in-out"}
    d3, i = state.update_keyframe(d2, 0, inherit_truncation=True, seed=99)
    assert d3["keyframes"][0] == {"time": 2.0, "seed": 99}
    with pytest.raises(state.StateError, match="two keyframes would be at 4"):
        state.update_keyframe(d2, 0, time=4.0)
    with pytest.raises(state.StateError, match="easing"):
        state.update_keyframe(d2, 0, ease="bounce")
    with pytest.raises(state.StateError, match="no keyframe 7"):
        state.update_keyframe(d2, 7, time=1.0)


def test_move_swaps_content_but_keeps_times():
    d = _three()
    d2, j = state.move_keyframe(d, 1, -1)
    assert j == 0
    assert d2["keyframes"] == [{"time": 0.0, "seed": 2, "truncation": 0.5}, {"time": 2.0, "seed": 1},
                               {"time": 4.0, "seed": 3}]
    d3, j = state.move_keyframe(d2, 0, -1)  # already first: nothing changes
    assert j == 0 and d3 == d2
    d4, j = state.move_keyframe(d2, 0, +1)
    assert d4 == d and j == 1


def test_delete_selects_a_neighbour():
    d = _three()
    d2, i = state.delete_keyframe(d, 2)
    assert i == 1 and len(d2["keyframes"]) == 2
    d3, i = state.delete_keyframe(d2, 0)
    d4, i = state.delete_keyframe(d3, 0)
    assert i == -1 and d4["keyframes"] == []
    with pytest.raises(state.StateError, match="no keyframes yet"):
        state.delete_keyframe(d4, 0)


def test_directions_are_stored_as_named_amounts():
    d = _three()
    d2 = state.set_directions(d, 1, [1.5, 0, -0.5, 0, 0, 0, 0, 0])
    assert d2["keyframes"][1]["directions"] == {"sefa0": 1.5, "sefa2": -0.5}
    assert state.direction_values(d2, 1)[:3] == [1.5, 0.0, -0.5]
    assert "directions" not in state.set_directions(d2, 1, [0] * 8)["keyframes"][1]
    with pytest.raises(state.StateError, match="unknown direction"):
        state.set_directions(d, 0, {"smile": 1.0})
    assert "sefa0 +1.5" in state.keyframe_rows(d2)[1][5]


def test_settings_sizes_and_validation():
    d = state.apply_settings(_three(), "builtin:x", 24, "768x512", 0, "slerp", True, 0.6, "w", "loop")
    assert d["size"] == [768, 512] and d["fps"] == 24.0 and d["loop"] is True and "duration" not in d
    assert state.settings_of(d) == ("builtin:x", 24.0, "768x512", 0.0, "slerp", True, 0.6, "w", "loop")
    assert state.parse_size("model") is None and state.parse_size("512") == 512
    with pytest.raises(state.StateError, match="at most 2048"):
        state.parse_size(4096)
    with pytest.raises(state.StateError, match="size must be"):
        state.parse_size("big")
    with pytest.raises(UserError, match="even"):
        state.to_timeline(state.apply_settings(d, size="511"))
    with pytest.raises(state.StateError, match="no keyframes yet"):
        state.to_timeline(state.new_timeline())
    long = state.apply_settings(d, fps=120, duration=200)
    with pytest.raises(state.StateError, match="at most 10000"):
        state.to_timeline(long)
    assert state.preview_yaml(state.new_timeline()).startswith("# not renderable yet")


def test_yaml_round_trip_is_the_cli_schema():
    d = state.set_directions(state.apply_settings(_three(), fps=12, size="128", loop=True), 0, [2.0] + [0] * 7)
    text = state.to_yaml(d)
    tl = parse_timeline(text)
    assert tl == state.to_timeline(d)
    assert timeline_to_yaml(tl) == text
    assert state.from_yaml(text) == state.timeline_dict(tl)
    assert tl.keyframes[0].directions == {"sefa0": 2.0}
    with pytest.raises(UserError, match=r":2: 'fps'"):
        state.from_yaml("keyframes: [{time: 0, seed: 1}]\nfps: fast\n")


def test_keyframe_frame_positions():
    d = state.apply_settings(_three(), fps=10)
    assert [state.keyframe_frame(d, i) for i in range(3)] == [0, 20, 40]


def test_catalog_refuses_anything_it_does_not_offer(tmp_path, monkeypatch):
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "default.safetensors").write_bytes(b"x")
    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.pkl").write_bytes(b"x")
    (models / "notes.txt").write_text("x")
    secret = tmp_path / "secret.pkl"
    secret.write_bytes(b"x")
    (models / "link.pkl").symlink_to(secret)
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(builtin))
    cat = ModelCatalog(models, tmp_path / "uploads")
    specs = [s for _, s in cat.choices()]
    assert specs == ["builtin:default", str(models.resolve() / "mine.pkl")]
    assert cat.check("builtin:default") == "builtin:default"
    assert cat.check(str(models / "mine.pkl"))
    for bad in ["builtin:../secret", "builtin:nope", str(secret), str(models / "link.pkl"),
                str(models / "notes.txt"), str(models / ".." / "secret.pkl"), "/etc/passwd", ""]:
        with pytest.raises(CheckpointError):
            cat.check(bad)


def test_upload_refuses_wrong_extension(tmp_path):
    cat = ModelCatalog(None, tmp_path / "uploads")
    f = tmp_path / "evil.sh"
    f.write_text("rm -rf /")
    with pytest.raises(CheckpointError, match="refused"):
        cat.add_upload(f, "evil.sh")


def test_safe_names():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("  my walk!.mp4") == "my_walk_.mp4"
    assert safe_name("...", default="walk") == "walk"


def test_job_folders_are_unique_under_concurrency(tmp_path):
    jobs = JobManager(tmp_path)
    made: list[Path] = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            job = jobs.new_job("render", "walk")
            with lock:
                made.append(job.folder)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 100 and all(p.parent == tmp_path.resolve() for p in made)
