"""Audio in the timeline schema: beat/bar keyframes, the length from the audio and its offset, YAML round trips,
and bad input (unknown feature/target/band, beat: or react without audio, missing or undecodable audio) as one
line with file:line and exit 2."""
from __future__ import annotations

import pytest

from studio.timeline import load_timeline
from tests.audio_support import REACT_RULES, click_track, write_wav
from tests.conftest import run_cli


FPS = 10


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, tiny_models):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _timeline(tmp_path, body: str, name: str = "t.yaml"):
    path = tmp_path / name
    path.write_text("model: builtin:tiny\nfps: %d\n" % FPS + body)
    return path


def test_beat_keyframes_and_duration_from_audio(tmp_path):
    write_wav(tmp_path / "clicks.wav", click_track(120, 6.0))
    path = _timeline(tmp_path, "audio: clicks.wav\nbeats_per_bar: 4\nkeyframes:\n  - {time: 0, seed: 1}\n"
                               "  - {beat: 8, seed: 2}\n  - {bar: 2.5, seed: 3}\n")
    tl = load_timeline(path)
    t = tl.keyframe_times
    assert t[1] == pytest.approx(4.0, abs=1 / FPS) and t[2] == pytest.approx(5.0, abs=1 / FPS)
    assert tl.n_frames == 6 * FPS  # no duration: as long as the audio


def test_offset_shortens_the_video(tmp_path):
    write_wav(tmp_path / "clicks.wav", click_track(120, 6.0))
    tl = load_timeline(_timeline(tmp_path, "audio: {path: clicks.wav, offset: 2.0}\n"
                                           "keyframes: [{time: 0, seed: 1}, {beat: 2, seed: 2}]\n"))
    assert tl.n_frames == 4 * FPS
    assert tl.keyframe_times[1] == pytest.approx(1.0, abs=1 / FPS)  # beats count from the offset


ONE = "audio: s.wav\nkeyframes: [{time: 0, seed: 1}]\n"
BAD = {
    "unknown_feature": (ONE + "react: [{feature: onset, target: pulse, seed: 1}]\n", ["react[0].feature", "onsets"]),
    "unknown_target": (ONE + "react: [{feature: rms, target: wobble}]\n", ["react[0].target", "truncation"]),
    "unknown_band": (ONE + "react: [{feature: rms, band: bass, target: noise}]\n", ["react[0].band", "low"]),
    "band_on_flux": (ONE + "react: [{feature: flux, band: low, target: noise}]\n", ["react[0].band"]),
    "beat_without_audio": ("keyframes: [{time: 0, seed: 1}, {beat: 4, seed: 2}]\n", ["keyframes[1].beat", "audio"]),
    "react_without_audio": ("keyframes: [{time: 0, seed: 1}]\nreact: [{feature: rms, target: noise}]\n",
                            ["react[0]", "audio"]),
    "pulse_without_seed": (ONE + "react: [{feature: rms, target: pulse}]\n", ["react[0]", "seed"]),
    "missing_audio": ("audio: nowhere.wav\nkeyframes: [{time: 0, seed: 1}]\n", ["nowhere.wav", "not found"]),
    "undecodable_audio": ("audio: junk.wav\nkeyframes: [{time: 0, seed: 1}]\n", ["junk.wav", "cannot decode"]),
    "beats_out_of_order": ("audio: s.wav\nkeyframes: [{time: 3, seed: 1}, {beat: 2, seed: 2}]\n", ["keyframes[1]"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_audio_timelines_one_line_exit_2(tmp_path, case):
    body, words = BAD[case]
    write_wav(tmp_path / "s.wav", click_track(120, 4.0))
    (tmp_path / "junk.wav").write_bytes(b"RIFF....WAVEnope" * 20)
    path = _timeline(tmp_path, body + "output: {path: out.mp4}\n", "bad.yaml")
    code, out, err = run_cli("render", str(path), cwd=tmp_path)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    if case not in ("missing_audio", "undecodable_audio"):
        assert "bad.yaml:" in err, err
    assert not (tmp_path / "out.mp4").exists()


def test_audio_timeline_round_trips_through_yaml(tmp_path):
    from studio.timeline import parse_timeline, timeline_to_yaml
    write_wav(tmp_path / "s.wav", click_track(120, 4.0))
    tl = load_timeline(_timeline(tmp_path, "audio: {path: s.wav, offset: 0.5}\nbeats_per_bar: 3\nkeyframes:\n"
                                           "  - {time: 0, seed: 1}\n  - {bar: 1, seed: 2}\n" + REACT_RULES.replace(
                                               "  - {feature: rms, target: mix, amount: 1.0}\n", "")))
    text = timeline_to_yaml(tl, relative_to=tmp_path)
    assert "s.wav" in text and "react:" in text and "beats_per_bar: 3" in text
    again = parse_timeline(text, source=str(tmp_path / "again.yaml"), base_dir=tmp_path)
    assert again == tl


def test_presets_music_timeline_loads():
    tl = load_timeline("presets/timelines/music.yaml")
    assert tl.audio_track is not None and 110 < tl.audio_track.tempo < 114
    assert tl.n_frames == int(tl.audio_track.duration * tl.fps)
    assert len(tl.react) == 5 and tl.keyframe_times[-1] == pytest.approx(10 * 4 * 60 / 112, abs=0.05)

