"""Studio UI logic without a server: Timeline editing (studio.ui.state, studio.ui.settings), the model catalog's
checks, job folders."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import get_args

import pytest

import numpy as np

from ganlib.errors import CheckpointError, UserError
from studio.engine import plan_frames
from studio.timeline import Timeline, parse_timeline, timeline_to_yaml
from studio.ui import settings, state
from studio.ui.jobs import Job, JobManager, cancel_line
from studio.ui.models import ModelCatalog, safe_name


def _kfs(tl: Timeline) -> list[dict]:
    """The keyframes as the YAML writes them (unset options left out)."""
    return [kf.model_dump(exclude_none=True, exclude_defaults=True) for kf in tl.keyframes]


def _three() -> Timeline:
    tl = state.new_timeline("builtin:default")
    tl, _ = state.add_keyframe(tl, seed=1)
    tl, _ = state.add_keyframe(tl, seed=2, truncation=0.5)
    tl, _ = state.add_keyframe(tl, seed=3)
    return tl


def test_add_keyframes_spaces_them_and_never_mutates_the_input():
    t0 = state.new_timeline()
    t1, i = state.add_keyframe(t0, seed=12)
    assert t0.keyframes == [] and i == 0 and isinstance(t1, Timeline)
    t2, j = state.add_keyframe(t1, seed=345, truncation=0.5)
    assert j == 1
    assert _kfs(t2) == [{"time": 0.0, "seed": 12}, {"time": 2.0, "seed": 345, "truncation": 0.5}]
    t3, k = state.add_keyframe(t2, seed=7, at=1.0)  # inserted in time order
    assert k == 1 and [kf.seed for kf in t3.keyframes] == [12, 7, 345]
    with pytest.raises(state.StateError, match="two keyframes"):
        state.add_keyframe(t3, seed=8, at=2.0)
    with pytest.raises(UserError, match="seed"):
        state.add_keyframe(t3, seed=-1)
    with pytest.raises(state.StateError, match="seed or a latent"):
        state.add_keyframe(t3)


def test_update_keyframe_resorts_and_follows_the_edited_one():
    tl = _three()
    t2, i = state.update_keyframe(tl, 0, time=5.0, ease="in-out", truncation=0.8)
    assert i == 2
    assert [kf.seed for kf in t2.keyframes] == [2, 3, 1]
    assert _kfs(t2)[2] == {"time": 5.0, "seed": 1, "truncation": 0.8, "ease": "in-out"}
    t3, i = state.update_keyframe(t2, 0, inherit_truncation=True, seed=99)
    assert _kfs(t3)[0] == {"time": 2.0, "seed": 99}
    with pytest.raises(state.StateError, match="two keyframes would be at 4"):
        state.update_keyframe(t2, 0, time=4.0)
    with pytest.raises(UserError, match="ease"):
        state.update_keyframe(t2, 0, ease="bounce")
    with pytest.raises(state.StateError, match="no keyframe 7"):
        state.update_keyframe(t2, 7, time=1.0)


def test_errors_are_the_schemas_own():
    """A value the schema refuses gets the schema's message, as `studio render` prints it."""
    tl = _three()
    with pytest.raises(UserError) as ui:
        state.update_keyframe(tl, 1, truncation=2.5)
    with pytest.raises(UserError) as cli:
        parse_timeline("keyframes: [{time: 0, seed: 1}, {time: 2, seed: 2, truncation: 2.5}]")
    assert ui.value.message == cli.value.message and ui.value.field == cli.value.field == "keyframes[1].truncation"
    with pytest.raises(UserError, match="did you mean 'cubic'"):
        settings.apply_settings(tl, {"interpolation": "cubc"})


def test_move_swaps_content_but_keeps_times():
    tl = _three()
    t2, j = state.move_keyframe(tl, 1, -1)
    assert j == 0
    assert _kfs(t2) == [{"time": 0.0, "seed": 2, "truncation": 0.5}, {"time": 2.0, "seed": 1},
                        {"time": 4.0, "seed": 3}]
    t3, j = state.move_keyframe(t2, 0, -1)  # already first: nothing changes
    assert j == 0 and t3 == t2
    t4, j = state.move_keyframe(t2, 0, +1)
    assert t4 == tl and j == 1


def test_delete_selects_a_neighbour():
    tl = _three()
    t2, i = state.delete_keyframe(tl, 2)
    assert i == 1 and len(t2.keyframes) == 2
    t3, i = state.delete_keyframe(t2, 0)
    t4, i = state.delete_keyframe(t3, 0)
    assert i == -1 and t4.keyframes == []
    with pytest.raises(state.StateError, match="no keyframes yet"):
        state.delete_keyframe(t4, 0)


def test_directions_are_stored_as_named_amounts():
    tl = _three()
    t2 = state.set_directions(tl, 1, [1.5, 0, -0.5, 0, 0, 0, 0, 0])
    assert t2.keyframes[1].directions == {"sefa0": 1.5, "sefa2": -0.5}
    assert state.direction_values(t2, 1)[:3] == [1.5, 0.0, -0.5]
    assert state.set_directions(t2, 1, [0] * 8).keyframes[1].directions is None
    with pytest.raises(state.StateError, match="unknown direction"):
        state.set_directions(tl, 0, {"smile": 1.0})
    assert "sefa0 +1.5" in state.keyframe_rows(t2)[1][5]


def test_settings_sizes_and_validation():
    values = dict(zip(settings.SETTINGS, ("builtin:x", 24, "768x512", 0, "slerp", True, 0.6, "w", "loop")))
    tl = settings.apply_settings(_three(), values)
    assert tl.size == [768, 512] and tl.fps == 24.0 and tl.loop is True and tl.duration is None
    assert settings.settings_of(tl) == ("builtin:x", 24.0, "768x512", 0.0, "slerp", True, 0.6, "w", "loop")
    assert settings.parse_size("model") is None and settings.parse_size("512") == 512
    with pytest.raises(state.StateError, match="at most 2048"):
        settings.parse_size(4096)
    with pytest.raises(state.StateError, match="size must be"):
        settings.parse_size("big")
    with pytest.raises(UserError, match="even"):
        settings.apply_settings(tl, {"size": "511"})
    with pytest.raises(state.StateError, match="no keyframes yet"):
        state.to_timeline(state.new_timeline())
    long = settings.apply_settings(tl, {"fps": 120, "duration": 200})
    with pytest.raises(state.StateError, match="at most 10000"):
        state.to_timeline(long)
    assert state.preview_yaml(state.new_timeline()).startswith("# not renderable yet")


def test_choices_and_defaults_come_from_the_schema():
    fields = Timeline.model_fields
    assert settings.INTERPOLATIONS == list(get_args(fields["interpolation"].annotation))
    assert settings.NOISES == list(get_args(fields["noise"].annotation))
    assert settings.bounds("truncation") == (0, 2)
    tl = state.new_timeline()
    for name in ("model", "fps", "interpolation", "loop", "space", "noise"):
        assert getattr(tl, name) == fields[name].default, name


def test_drafts_wait_for_what_they_miss():
    """A loop with one keyframe is a step on the way: kept, shown as not renderable, renderable once it has two."""
    tl = settings.apply_settings(state.new_timeline(), {"loop": True, "fps": 8})
    tl, _ = state.add_keyframe(tl, seed=1)
    assert tl.loop is True and len(tl.keyframes) == 1
    assert state.preview_yaml(tl).startswith("# not renderable yet: a loop with a single keyframe needs")
    assert state.frame_count(tl) == 1
    tl, _ = state.add_keyframe(tl, seed=2)
    assert state.to_timeline(tl).n_frames == 32  # keyframes 0 and 2 s, closing segment 2 s, 8 fps
    with pytest.raises(UserError, match="fps"):
        settings.apply_settings(state.new_timeline(), {"fps": -1})


def test_yaml_round_trip_is_the_cli_schema():
    tl = settings.apply_settings(_three(), {"fps": 12, "size": "128", "loop": True})
    tl = state.set_directions(tl, 0, [2.0] + [0] * 7)
    text = state.to_yaml(tl)
    cli = parse_timeline(text)
    assert cli == state.to_timeline(tl)
    assert timeline_to_yaml(cli) == text
    assert state.from_yaml(text) == cli
    assert cli.keyframes[0].directions == {"sefa0": 2.0}
    with pytest.raises(UserError, match=r":2: 'fps'"):
        state.from_yaml("keyframes: [{time: 0, seed: 1}]\nfps: fast\n")


def test_keyframe_frame_positions():
    tl = settings.apply_settings(_three(), {"fps": 10})
    assert [state.keyframe_frame(tl, i) for i in range(3)] == [0, 20, 40]


def test_frame_times_are_the_engines():
    """Keyframes at 0, 1 and 2.05 s in a 30 fps loop: the UI goes to frame 61 and shows the time the renderer draws
    it at (61/30 = 2.033 s), not 61 x duration / frames (2.04 s)."""
    tl = settings.apply_settings(state.new_timeline(), {"fps": 30, "loop": True})
    for t, seed in ((0, 1), (1, 2), (2.05, 3)):
        tl, _ = state.add_keyframe(tl, seed=seed, at=t)
    tl = state.to_timeline(tl)
    frame = state.keyframe_frame(tl, 2)
    assert frame == 61
    engine = plan_frames(tl, [np.zeros(4)] * 3)
    assert state.frame_seconds(tl, frame) == engine.times[frame]
    caption = state.frame_caption(tl, frame, 64, 64, 5.0)
    assert f"{engine.times[frame]:.2f} s" in caption and "2.03 s" in caption
    assert np.argmin(np.abs(engine.times - tl.keyframe_times[2])) == frame


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


def test_cancel_says_what_happened_to_each_job(tmp_path):
    """A job that ends on its own while the stop is on its way is said to have finished, not to be stopping."""
    jobs = JobManager(tmp_path)
    started, release = threading.Event(), threading.Event()

    def last_frame():  # the work's last frame is past its last progress check: the stop cannot reach it
        started.set()
        release.wait(10)

    job = jobs.new_job("render", "walk", session="s")
    runner = threading.Thread(target=jobs._run, args=(job, last_frame))
    runner.start()
    started.wait(10)
    threading.Timer(0.2, release.set).start()
    assert cancel_line(jobs.cancel("s", wait_s=10)) == f"Job `{job.id}` had already finished: its output is kept"
    runner.join()
    assert job.status == "done"

    def job_with(status: str, error: str | None = None) -> Job:
        j = jobs.new_job("batch", "b")
        j.status, j.error = status, error
        return j

    assert cancel_line([]) == "Nothing to cancel"
    one = job_with("cancelled")
    assert cancel_line([one]) == one.cancelled_line()
    assert cancel_line([job_with("failed", "disk full")]).endswith("had already failed: disk full")
    assert cancel_line([job_with("cancelled"), job_with("running")]) == "Cancelling 2 jobs… (1 stopped so far)"
    assert cancel_line([job_with("cancelled"), job_with("cancelled")]) == "Cancelled 2 jobs: nothing was kept"
    assert cancel_line([job_with("cancelled"), job_with("done"), job_with("failed")]) == (
        "Cancelled 1 of 3 jobs (nothing of theirs was kept); 1 had already finished (kept), 1 had already failed")
