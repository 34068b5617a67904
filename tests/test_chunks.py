"""Chunked renders: the plan, identical frames however chunks are scheduled (--workers 1 on 2 threads / --workers 2:
every process runs the render's 2 threads), a worker killed mid-chunk is retried, joins neither drop nor duplicate
a frame, GIF/zip/PNG resume, refused manifests."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganlib.errors import UserError
from studio.chunks import plan_chunks, work_dir
from studio.chunks.backends import FAULT_ENV
from studio.chunks.manifest import MANIFEST_NAME
from tests.chunk_support import LOOP, Interrupt, decoded, png_frames, stop_after, write_timeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny renders: far faster on one thread on a busy machine


def test_plan_rounds_chunks_to_batches_and_resumes_inside_one():
    chunks = plan_chunks(23, 5, batch=4)  # 5 → 8 frames: every chunk starts on a batch boundary
    assert [(c.index, c.start, c.stop) for c in chunks] == [(0, 0, 8), (1, 8, 16), (2, 16, 23)]
    assert [(c.index, c.start, c.stop) for c in plan_chunks(23, 5, batch=4, start=10)] == [(1, 10, 16), (2, 16, 23)]
    assert sum(c.n_frames for c in plan_chunks(1000, 7, batch=3)) == 1000


@pytest.mark.parametrize("value,message", [("0", "must be at least 1, got 0"), ("1.5", "must be a whole number")])
def test_chunk_frames_is_validated_with_its_line(tmp_path, value, message):
    from studio.timeline import load_timeline
    path = tmp_path / "bad.yaml"
    path.write_text(f"model: builtin:tiny\noutput: {{chunk_frames: {value}}}\nkeyframes: [{{time: 0, seed: 1}}]\n")
    with pytest.raises(UserError, match=rf"bad.yaml:2: 'output.chunk_frames': {message}"):
        load_timeline(path)


def test_workers_give_the_frames_of_one_process_and_a_killed_worker_is_retried(tiny_models, tmp_path,
                                                                               monkeypatch):
    """--workers 1 on 2 threads and --workers 2: both run every chunk on the render's 2 threads (a chunk run on
    another count is refused), so the frames are the same (torch's sums and kernels depend on the thread count)."""
    from studio.render import render_timeline
    torch.set_num_threads(2)  # as a render without settings on the 2-core CI machine (one_torch_thread restores)
    _, tl = write_timeline(tmp_path, chunk=2, end=0.5)  # 7 frames in 4 chunks
    one = render_timeline(tl, out=tmp_path / "one.mp4", progress=False, batch=2)
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(FAULT_ENV, f"1:{marker}")  # the process rendering chunk 1 is SIGKILLed the first time
    seen = []
    two = render_timeline(tl, out=tmp_path / "two.mp4", progress=False, batch=2, workers=2,
                          on_progress=lambda done, total: seen.append(done))
    assert marker.exists() and one.chunks == two.chunks == 4 and one.threads == two.threads == 2
    assert seen[-1] == 7 and max(seen) == 7  # the workers' frames, each counted once (chunk 1 was retried)
    a, b = decoded(one.path), decoded(two.path)
    assert a.shape == (7, 32, 32, 3) and np.array_equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed-once", "one.mp4", "t.yaml", "two.mp4"]


def test_random_zip_with_workers_equals_one_process(tiny_models, tmp_path):
    from tests.conftest import run_cli
    for name, extra in (("one.zip", []), ("two.zip", ["--workers", "2"])):
        code, out, err = run_cli("random", "--model", "builtin:tiny", "--seeds", "0-5,9,20-30", "--batch", "2",
                                 "--out", str(tmp_path / name), "--quiet", *extra)
        assert code == 0, err
    one, two = _zip_members(tmp_path / "one.zip"), _zip_members(tmp_path / "two.zip")
    assert len(one) == 18 and one == two


def test_music_is_the_same_across_joins_as_in_one_stream(tiny_models, tmp_path, monkeypatch):
    """Audio is muxed once at the join: the same samples, as long as the video, as a single-stream render's."""
    from studio.audio.decode import decode_audio
    from studio.render import get_model, iter_frames, render_timeline
    from studio.sinks import open_sink
    from studio.timeline import load_timeline
    from tests.audio_support import tone, write_wav
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    write_wav(tmp_path / "song.wav", tone([440, 660], 0.1, 1.3, 1.4))  # 1.2 s after the offset
    path, _ = write_timeline(tmp_path, chunk=4)
    path.write_text(path.read_text() + "audio: {path: song.wav, offset: 0.2}\n")
    tl = load_timeline(path)
    chunked = render_timeline(tl, out=tmp_path / "chunked.mp4", progress=False, batch=4)
    seconds = tl.n_frames / tl.fps
    with open_sink(tmp_path / "one.mp4", fps=tl.fps, preset="ultrafast", audio_path=tmp_path / "song.wav",
                   audio_offset=0.2, audio_duration=seconds) as sink:
        for _, frame in iter_frames(tl, get_model(tl.model), batch=4):
            sink.write(frame)
    joined, single = decode_audio(chunked.path, rate=48000), decode_audio(tmp_path / "one.mp4", rate=48000)
    assert chunked.chunks >= 3 and len(decoded(chunked.path)) == tl.n_frames
    assert abs(joined.size / 48000 - seconds) <= 1024 / 48000  # one AAC frame
    assert joined.shape == single.shape and np.array_equal(joined, single)


def test_joins_drop_and_duplicate_no_frame(tiny_models, tmp_path):
    """A loop cut into 2-frame segments: every decoded frame is closest to its own source frame."""
    from studio.render import get_model, iter_frames, render_timeline
    _, tl = write_timeline(tmp_path, chunk=2, end=0.6, kind=LOOP)
    result = render_timeline(tl, out=tmp_path / "loop.mkv", progress=False, batch=2)
    source = np.stack([f for _, f in iter_frames(tl, get_model(tl.model), batch=2)]).astype(float)
    video = decoded(result.path).astype(float)
    assert result.chunks > 3 and len(video) == len(source) == tl.n_frames
    err = ((video[:, None] - source[None]) ** 2).mean(axis=(2, 3, 4))  # decoded i vs source j
    assert (err.argmin(axis=1) == np.arange(len(source))).all()


@pytest.mark.parametrize("name", ["anim.gif", "frames.zip", "frames/"])
def test_interrupted_gif_zip_png_resume_to_the_same_output(tiny_models, tmp_path, name):
    from studio.render import render_timeline
    _, tl = write_timeline(tmp_path, chunk=4)
    kw = dict(progress=False, batch=4)
    full = render_timeline(tl, out=tmp_path / "full" / name, **kw)
    target = tmp_path / "part" / name
    with pytest.raises(Interrupt):
        render_timeline(tl, out=target, on_progress=stop_after(6), **kw)
    kind = "png" if name.endswith("/") else "frames"
    folder = work_dir(target, "png" if kind == "png" else "video")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["state"] == "rendering" and list(manifest["done"]) == ["0"]
    if kind != "png":
        assert not target.exists()  # an unfinished render never looks finished
    resumed = render_timeline(tl, out=target, resume=True, **kw)
    assert resumed.frames_done_before == 4 and resumed.chunks_rendered == 3
    if kind == "png":
        assert png_frames(resumed.path) == png_frames(full.path)
        assert not (resumed.path / MANIFEST_NAME).exists()
    elif name.endswith(".gif"):
        assert np.array_equal(decoded(resumed.path), decoded(full.path))
    else:
        assert resumed.path.read_bytes() != b"" and _zip_members(resumed.path) == _zip_members(full.path)
    assert not folder.exists() or kind == "png"


def _zip_members(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return [(n, z.read(n)) for n in z.namelist()]


def test_a_manifest_of_another_timeline_or_model_is_refused(tiny_models, tmp_path):
    from studio.render import render_timeline
    path, tl = write_timeline(tmp_path, chunk=4)
    out = tmp_path / "x.mp4"
    with pytest.raises(Interrupt):
        render_timeline(tl, out=out, progress=False, batch=4, on_progress=stop_after(5))
    _, other = write_timeline(tmp_path, chunk=4, end=1.5, name="other.yaml")
    with pytest.raises(UserError, match="different timeline, frame count; render without --resume"):
        render_timeline(other, out=out, progress=False, batch=4, resume=True)
    with pytest.raises(UserError, match=r"different --batch"):
        render_timeline(tl, out=out, progress=False, batch=2, resume=True)
    model = tiny_models / "tiny.safetensors"
    original = model.read_bytes()
    try:
        model.write_bytes((tiny_models / "tiny_cond.safetensors").read_bytes())
        with pytest.raises(UserError, match=r"made with a different model file;"):
            render_timeline(tl, out=out, progress=False, batch=4, resume=True)
    finally:
        model.write_bytes(original)
    assert render_timeline(tl, out=out, progress=False, batch=4, resume=True).frames_done_before == 4
    assert not work_dir(out, "video").exists()


def test_without_ray_the_option_says_how_to_install_it(monkeypatch):
    import builtins
    from studio.chunks import open_backend
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UserError, match=r'pip install "latent-studio\[ray\]"'):
        open_backend(1, ray="local")
