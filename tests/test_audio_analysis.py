"""Audio analysis on audio the tests synthesise: onsets at clicks, bands, chroma, tempo and beats."""
from __future__ import annotations

import numpy as np
import pytest

from studio.audio.analysis import PITCH_CLASSES, analyse, frame_features
from tests.audio_support import RATE, click_track, clicks, tone

FPS = 30


def test_clicks_give_onsets_within_one_frame():
    times = [0.5, 1.3, 2.0, 2.77, 3.41]
    ff = frame_features(analyse(clicks(times, 4.0)), FPS, 4 * FPS)
    for band in ("all", "high", "mid"):
        onset = ff.get("onsets", band)
        peaks = np.sort(np.argsort(onset)[-len(times):])
        expected = np.floor(np.array(times) * FPS)
        assert np.all(np.abs(peaks - expected) <= 1), (band, peaks, expected)
        # away from the clicks the onset strength is small
        far = np.ones(onset.size, bool)
        for e in expected.astype(int):
            far[max(0, e - 3): e + 4] = False
        assert onset[far].max() < 0.2 * onset.max()
    flux = ff.get("flux")
    assert np.all(np.abs(np.sort(np.argsort(flux)[-len(times):]) - np.floor(np.array(times) * FPS)) <= 1)


def test_low_tone_burst_moves_low_not_high():
    y = tone([80.0], 1.0, 2.0, 3.0)
    ff = frame_features(analyse(y), FPS, 3 * FPS)
    inside, outside = slice(35, 55), slice(70, 90)
    low, high = ff.get("rms", "low"), ff.get("rms", "high")
    assert low[inside].mean() > 100 * max(low[outside].mean(), 1e-9)
    assert high[inside].mean() < 0.01 * low[inside].mean()
    on_low, on_high = ff.get("onsets", "low"), ff.get("onsets", "high")
    burst = slice(28, 33)  # the tone starts at frame 30
    assert on_low[burst].max() > 5 * on_high[burst].max()
    assert ff.get("rms", "all")[inside].mean() == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_chord_change_moves_chroma():
    c_major = [261.63, 329.63, 392.00]   # C E G
    f_sharp = [369.99, 466.16, 554.37]   # F# A# C#
    y = tone(c_major, 0.0, 2.0, 4.0) + tone(f_sharp, 2.0, 4.0, 4.0)
    ff = frame_features(analyse(y), FPS, 4 * FPS)
    chroma = ff.get("chroma")
    assert chroma.shape == (4 * FPS, 12)
    first, second = chroma[10:50].mean(axis=0), chroma[70:110].mean(axis=0)
    names = np.array(PITCH_CLASSES)
    assert set(names[np.argsort(first)[-3:]]) == {"C", "E", "G"}
    assert set(names[np.argsort(second)[-3:]]) == {"F#", "A#", "C#"}
    assert np.abs(first - second).max() > 0.5


def test_click_track_tempo_and_beats():
    a = analyse(click_track(120, 10.0))
    assert a.tempo == pytest.approx(120, abs=2)
    ff = frame_features(a, FPS, 10 * FPS)
    assert ff.beat_times[8] == pytest.approx(4.0, abs=1.0 / FPS)
    beat = ff.get("beat")
    assert set(np.unique(beat)) == {0.0, 1.0}
    assert beat[120] == 1.0 and beat.sum() == len(ff.beat_times)


def test_offset_shifts_features_and_beats():
    a = analyse(click_track(120, 10.0))
    ff = frame_features(a, FPS, 4 * FPS, offset=2.0)
    assert ff.beat_times[0] == pytest.approx(0.0, abs=1.0 / FPS)
    assert ff.duration == pytest.approx(8.0, abs=1e-6)
    full = frame_features(a, FPS, 10 * FPS)
    assert np.array_equal(ff.get("onsets", "all"), full.get("onsets", "all")[60:180])


def test_frames_after_the_end_are_silent_and_fast_fps_keeps_each_beat_once():
    a = analyse(click_track(120, 3.0))
    ff = frame_features(a, 240, 5 * 240)
    assert np.all(ff.get("rms", "all")[3 * 240 + 2:] == 0)
    assert ff.get("beat").sum() == len(ff.beat_times)


def test_silence_and_tiny_input_do_not_fail():
    a = analyse(np.zeros(10, np.float32))
    ff = frame_features(a, FPS, 5)
    assert a.tempo == 0.0 and len(a.beat_times) == 0
    assert all(np.all(v == 0) for v in ff.values.values())


def test_matches_librosa_tempo_and_beats():
    librosa = pytest.importorskip("librosa", reason="librosa (the 'audio' extra) is the reference for this check")
    y = click_track(100, 12.0)
    ours = analyse(y)
    env = librosa.onset.onset_strength(y=y, sr=RATE, hop_length=256)
    tempo, beats = librosa.beat.beat_track(onset_envelope=env, sr=RATE, hop_length=256)
    ref = librosa.frames_to_time(beats, sr=RATE, hop_length=256)
    assert ours.tempo == pytest.approx(float(np.atleast_1d(tempo)[0]), rel=0.03)
    # every beat librosa finds is one of ours, within 30 ms
    assert all(np.min(np.abs(ours.beat_times - t)) < 0.03 for t in ref)
