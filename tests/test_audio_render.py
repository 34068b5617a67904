"""Audio-reactive renders with a tiny model: the modulation peaks at the clicks, the same timeline gives the same
frames, audio without react rules changes nothing, and the muxed sound lasts exactly as long as the video."""
from __future__ import annotations

import numpy as np
import pytest

from ganlib.errors import UserError
from studio.audio.decode import decode_audio
from studio.render import get_model, iter_frames, render_timeline
from studio.timeline import load_timeline
from tests.audio_support import REACT_RULES, clicks, tone, write_wav
from tests.video_tools import probe_video


FPS = 10
CLICKS = [0.5, 1.3, 2.1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, tiny_models, one_torch_thread):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _timeline(tmp_path, body: str, name: str = "t.yaml"):
    path = tmp_path / name
    path.write_text("model: builtin:tiny\nfps: %d\n" % FPS + body)
    return path


def _frames(tl, batch: int = 8) -> np.ndarray:
    model = get_model(tl.model, "cpu")
    return np.stack([f for _, f in iter_frames(tl, model, batch=batch)])


def test_clicks_peak_the_frame_to_frame_change(tmp_path):
    write_wav(tmp_path / "clicks.wav", clicks(CLICKS, 3.0))
    tl = load_timeline(_timeline(tmp_path, "audio: clicks.wav\nkeyframes: [{time: 0, seed: 1}]\nreact:\n"
                                           "  - {feature: onsets, target: pulse, seed: 99, amount: 1.0, decay: 0.1}\n"))
    frames = _frames(tl).astype(np.float64)
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))  # change[i-1]: frame i-1 → i
    peaks = np.sort(np.argsort(change)[-len(CLICKS):] + 1)
    expected = np.floor(np.array(CLICKS) * FPS)
    assert np.all(np.abs(peaks - expected) <= 1), (peaks, expected, change.round(2))
    assert change.max() > 5 * np.median(change)


def _song(tmp_path):
    y = clicks(CLICKS, 3.0) + tone([110.0], 0.8, 2.0, 3.0) + tone([261.6, 329.6, 392.0], 1.5, 3.0, 3.0, amp=0.1)
    return write_wav(tmp_path / "song.wav", y)


def test_same_timeline_renders_the_same_frames_twice(tmp_path):
    _song(tmp_path)
    path = _timeline(tmp_path, "audio: song.wav\nnoise: random\nkeyframes:\n  - {time: 0, seed: 1}\n"
                               "  - {time: 2, seed: 2, mix: {seed: 5, layers: '4-'}}\n" + REACT_RULES)
    first = _frames(load_timeline(path), batch=4)
    again = _frames(load_timeline(path), batch=4)
    assert first.shape[0] == 3 * FPS
    assert np.array_equal(first, again)
    # other batch sizes plan the same latents; only the convolutions' float rounding may differ
    other = _frames(load_timeline(path), batch=3)
    assert np.abs(other.astype(int) - first).max() <= 2
    still = _frames(load_timeline(_timeline(tmp_path, "audio: song.wav\nnoise: random\nkeyframes:\n"
                                                      "  - {time: 0, seed: 1}\n  - {time: 2, seed: 2, mix: "
                                                      "{seed: 5, layers: '4-'}}\n", "still.yaml")), batch=4)
    assert np.abs(still.astype(int) - first).mean() > 5  # the rules do change the picture


def test_audio_without_react_renders_as_before(tmp_path):
    _song(tmp_path)
    plain = _timeline(tmp_path, "duration: 3.0\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n", "a.yaml")
    music = _timeline(tmp_path, "duration: 3.0\naudio: song.wav\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n",
                      "b.yaml")
    assert np.array_equal(_frames(load_timeline(plain)), _frames(load_timeline(music)))


@pytest.mark.parametrize("noise", ["fixed", "random"])
def test_noise_target_scales_the_models_own_noise(tmp_path, noise):
    _song(tmp_path)
    body = f"duration: 1.0\naudio: song.wav\nnoise: {noise}\nkeyframes: [{{time: 0, seed: 1}}]\n"
    plain = _frames(load_timeline(_timeline(tmp_path, body, "plain.yaml")))
    same = _frames(load_timeline(_timeline(tmp_path, body + "react: [{feature: rms, target: noise, amount: 0}]\n",
                                           "same.yaml")))
    loud = _frames(load_timeline(_timeline(tmp_path, body + "react: [{feature: rms, target: noise, amount: 40, "
                                                             "percentile: 1}]\n", "loud.yaml")))
    assert np.array_equal(plain, same)  # strength 1: exactly the model's noise
    assert np.abs(loud.astype(int) - plain).mean() > 1


@pytest.mark.parametrize("suffix,codec,audio", [(".mp4", None, "aac"), (".webm", None, "opus"),
                                               (".mov", "prores", "pcm_s16le")])  # audio codecs: the format table
def test_muxed_audio_lasts_exactly_the_video(tmp_path, suffix, codec, audio):
    _song(tmp_path)
    out = tmp_path / f"clip{suffix}"
    codec_line = f", codec: {codec}" if codec else ""
    tl = load_timeline(_timeline(tmp_path, f"audio: {{path: song.wav, offset: 0.35}}\n"
                                           f"keyframes: [{{time: 0, seed: 1}}]\n"
                                           f"output: {{path: {out.name}{codec_line}}}\n"))
    for duration in (None, 1.23):
        res = render_timeline(tl, duration=duration, device="cpu", progress=False)
        seconds = res.n_frames / FPS
        rate = 48000
        sound = decode_audio(res.path, rate=rate)
        audio_frame = 1024 / rate if suffix != ".webm" else 960 / rate  # one AAC / Opus frame
        assert abs(sound.size / rate - seconds) <= audio_frame, (suffix, duration, sound.size / rate, seconds)
        info = probe_video(res.path)
        assert info["n_frames"] == res.n_frames and info["audio_codec"] == audio
    assert res.n_frames == round(1.23 * FPS)


def test_vector_files_as_direction_and_pulse_target(tmp_path):
    _song(tmp_path)
    G = get_model("builtin:tiny", "cpu").G
    np.save(tmp_path / "dir.npy", np.random.RandomState(0).randn(G.w_dim))
    np.save(tmp_path / "target.npy", np.random.RandomState(1).randn(G.z_dim))
    body = "duration: 1.0\naudio: song.wav\nkeyframes: [{time: 0, seed: 1}]\n"
    plain = _frames(load_timeline(_timeline(tmp_path, body, "plain.yaml")))
    moved = _frames(load_timeline(_timeline(tmp_path, body + "react:\n  - {feature: rms, target: direction, "
                                            "direction: dir.npy, amount: 3, percentile: 1}\n  - {feature: onsets, "
                                            "target: pulse, latent: target.npy, amount: 1}\n", "files.yaml")))
    assert np.abs(moved.astype(int) - plain).mean() > 2
    np.save(tmp_path / "bad.npy", np.zeros(5))
    with pytest.raises(UserError) as err:
        _frames(load_timeline(_timeline(tmp_path, body + "react: [{feature: rms, target: motion, "
                                                         "direction: bad.npy}]\n", "bad.yaml")))
    assert "bad.yaml" in str(err.value) and "react[0].direction" in str(err.value)
