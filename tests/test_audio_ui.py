"""The studio's Music panel through a real server: upload a track (feature plot, tempo), edit react rules as rows,
bad rules refused in one line; the rendered video carries the sound."""
from __future__ import annotations

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from studio.audio.decode import decode_audio
from studio.timeline import parse_timeline
from studio.ui.tabs.music import rules_from_rows
from tests.audio_support import click_track, write_wav
from tests.video_tools import probe_video
from tests.ui_support import studio_server

SETTINGS = dict(model="builtin:default", fps=8, size="model", duration=0, interpolation="cubic", loop=False,
                truncation=0.7, space="w", noise="fixed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with studio_server(tmp_path_factory.mktemp("studio")) as srv:
        yield srv


def test_rows_round_trip_to_rules():
    rows = [["onsets", "low", "pulse", 0.8, "", "99", 0.25], ["rms", "", "direction", 2, "0.02/0.3", "sefa1", ""],
            ["chroma", "", "chroma-blend", 0.5, "0.5", "1,2,3,4,5,6,7,8,9,10,11,12", ""], ["", "", "", "", "", "", ""]]
    rules = rules_from_rows(rows)
    assert rules[0] == {"feature": "onsets", "target": "pulse", "band": "low", "amount": 0.8, "seed": 99,
                        "decay": 0.25}
    assert rules[1]["smooth"] == {"attack": 0.02, "release": 0.3} and rules[1]["direction"] == "sefa1"
    assert rules[2]["seeds"] == list(range(1, 13)) and len(rules) == 3


def test_upload_track_and_react_rules(server, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    client = server.client()
    client.predict(**SETTINGS, api_name="/apply_settings")
    client.predict(seed=3, keyframe_truncation=0.7, api_name="/add_keyframe")
    client.predict(seed=7, keyframe_truncation=0.7, api_name="/add_keyframe")
    wav = write_wav(tmp_path / "beat.wav", click_track(120, 3.0))
    yaml_text, plot, info = client.predict(handle_file(str(wav)), 0.0, api_name="/set_audio")
    assert "120" in info and "beats" in info
    assert open(plot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    tl = parse_timeline(yaml_text)
    assert tl.audio is not None and tl.audio.path.endswith("beat.wav")
    rows = {"headers": ["feature", "band", "target", "amount", "smooth (s)", "seed / direction / seeds",
                        "decay (s)"], "data": [["onsets", "all", "pulse", 1.0, "", "9", 0.2]]}
    yaml_text, table = client.predict(rows, api_name="/set_react")
    rule = parse_timeline(yaml_text).react[0]
    assert (rule.feature, rule.target, rule.seed, rule.decay) == ("onsets", "pulse", 9, 0.2)
    bad = dict(rows, data=[["onsets", "bass", "pulse", 1.0, "", "9", ""]])
    with pytest.raises(AppError) as err:
        client.predict(bad, api_name="/set_react")
    assert "react[0].band" in str(err.value) and "\n" not in str(err.value).strip()
    video, files, message, _ = client.predict("music", api_name="/render")
    info = probe_video(video)
    assert info["audio_codec"] == "aac" and info["n_frames"] == 3 * SETTINGS["fps"]  # as long as the track
    assert len(decode_audio(video, rate=8000)) == pytest.approx(3 * 8000, abs=1024 * 8000 / 48000 + 1)
