"""Decoding with the bundled ffmpeg, the content-hash cache, and ``studio audio`` (output and bad input)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from ganlib.errors import UserError
from studio.audio import cache as audio_cache
from studio.audio.decode import decode_audio, ffmpeg_exe
from tests.audio_support import RATE, click_track, tone, write_wav
from tests.conftest import run_cli


@pytest.fixture()
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(root))
    return root


def test_decode_resamples_and_offsets(tmp_path):
    y = tone([440.0], 0.0, 2.0, 2.0, rate=44100)
    wav = write_wav(tmp_path / "a.wav", y, rate=44100)
    x = decode_audio(wav, rate=RATE)
    assert x.dtype == np.float32 and x.size == pytest.approx(2 * RATE, abs=2)
    assert np.abs(x).max() == pytest.approx(0.3, abs=0.01)
    assert decode_audio(wav, rate=RATE, offset=0.5).size == pytest.approx(1.5 * RATE, abs=2)


def test_decode_compressed_format(tmp_path):
    wav = write_wav(tmp_path / "a.wav", tone([440.0], 0.0, 1.0, 1.0))
    flac = tmp_path / "a.flac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), str(flac)], check=True)
    assert np.allclose(decode_audio(flac), decode_audio(wav), atol=1e-4)


@pytest.mark.parametrize("kind", ["missing", "garbage", "folder", "no_audio"])
def test_decode_errors_name_the_file(tmp_path, kind):
    path = tmp_path / "song.wav"
    if kind == "garbage":
        path.write_bytes(b"not audio at all" * 64)
    elif kind == "folder":
        path.mkdir()
    elif kind == "no_audio":
        path = tmp_path / "song.txt"
        path.write_text("hello\n")
    with pytest.raises(UserError) as err:
        decode_audio(path)
    assert path.name in str(err.value) and "\n" not in str(err.value)


def test_cache_hit_by_content_not_name(tmp_path, cache_root):
    wav = write_wav(tmp_path / "song.wav", click_track(120, 3.0))
    first, cached = audio_cache.analyse_file(wav)
    assert not cached
    copy = tmp_path / "renamed.wav"
    shutil.copy(wav, copy)
    again, cached = audio_cache.analyse_file(copy)
    assert cached
    assert np.array_equal(first.onsets["all"], again.onsets["all"]) and first.tempo == again.tempo
    entries = list((cache_root / "audio").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".npz"  # no temporary file left
    write_wav(copy, click_track(90, 3.0))  # new content under the same name: analysed again
    _, cached = audio_cache.analyse_file(copy)
    assert not cached and len(list((cache_root / "audio").iterdir())) == 2


def test_damaged_cache_entry_is_replaced(tmp_path, cache_root):
    wav = write_wav(tmp_path / "song.wav", click_track(120, 2.0))
    audio_cache.analyse_file(wav)
    (entry,) = (cache_root / "audio").iterdir()
    entry.write_bytes(b"broken")
    analysis, cached = audio_cache.analyse_file(wav)
    assert not cached and analysis.tempo > 0
    assert audio_cache.analyse_file(wav)[1]


def test_studio_audio_prints_and_plots(tmp_path, cache_root):
    wav = write_wav(tmp_path / "song.wav", click_track(120, 6.0))
    code, out, err = run_cli("audio", str(wav), "--out", str(tmp_path / "features.png"))
    assert code == 0, err
    assert "tempo 120" in out and "beats" in out and "6.00 s" in out
    png = (tmp_path / "features.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    code, out, _ = run_cli("audio", str(wav))
    assert code == 0 and "cached" in out


@pytest.mark.parametrize("kind", ["missing", "garbage", "bad_out"])
def test_studio_audio_bad_input_one_line_exit_2(tmp_path, cache_root, kind):
    path = tmp_path / "song.wav"
    args = ["audio", str(path)]
    if kind == "garbage":
        path.write_bytes(b"RIFF0000WAVEjunk" * 50)
    if kind == "bad_out":
        write_wav(path, click_track(120, 1.0))
        args += ["--out", str(tmp_path / "plot.jpg")]
    code, out, err = run_cli(*args)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert ("plot.jpg" if kind == "bad_out" else "song.wav") in err
    assert not (tmp_path / "plot.jpg").exists()
