"""``studio live`` from the command line, the MIDI mapping file and frame pacing's drop count."""
from __future__ import annotations

import time

import pytest

from conftest import run_cli
from ganlib.errors import ConfigError
from studio.live.controls import Control
from studio.live.midi import controls_for, load_mapping
from studio.live.player import Player
from studio.render import get_model
from studio.timeline import load_timeline, parse_timeline

mido = pytest.importorskip("mido")
pytest.importorskip("pythonosc")

TIMELINE = "model: builtin:tiny\nfps: 20\nkeyframes:\n  - {time: 0, seed: 1}\n  - {time: 0.5, seed: 2}\n"


def test_live_command_plays_and_records(tiny_models, tmp_path, one_torch_thread):
    src = tmp_path / "tl.yaml"
    src.write_text(TIMELINE)
    rec = tmp_path / "takes" / "take.yaml"
    code, out, err = run_cli("live", str(src), "--port", "0", "--osc-port", "0", "--duration", "0.3",
                             "--record", str(rec))
    assert code == 0, err
    assert "http://127.0.0.1:" in out and "wrote" in out
    tl = load_timeline(rec)
    assert tl.loop is False and tl.n_frames >= 1
    code, out, err = run_cli("render", str(rec), "--frames", str(tmp_path / "frames"), "--batch", "1", "--quiet")
    assert code == 0, err
    assert len(list((tmp_path / "frames").glob("*.png"))) == tl.n_frames


def test_live_command_refuses_bad_options(tiny_models, tmp_path):
    src = tmp_path / "tl.yaml"
    src.write_text(TIMELINE)
    code, _, err = run_cli("live", str(src), "--record", str(tmp_path / "take.mp4"))
    assert code == 2 and "error:" in err and ".yaml" in err
    code, _, err = run_cli("live", str(src), "--midi", "Some Port")
    assert code == 2 and "--map" in err
    code, _, err = run_cli("live", str(src), "--directions", "smile")
    assert code == 2 and "--directions" in err and "NAME=FILE.npy" in err
    code, _, err = run_cli("live", str(src), "--directions", f"smile={tmp_path / 'none.npy'}")
    assert code == 2 and "--directions" in err and "none.npy" in err
    bad = tmp_path / "map.yaml"
    bad.write_text("controls:\n  - {cc: 1, address: /studio/truncation}\n  - {cc: 2, adress: /studio/seed}\n")
    code, _, err = run_cli("live", str(src), "--map", str(bad))
    assert code == 2 and f"{bad}:3" in err and "address" in err


def test_midi_mapping_turns_cc_and_notes_into_controls(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("controls:\n"
                    "  - {cc: 1, address: /studio/truncation, min: 0.2, max: 1.2}\n"
                    "  - {cc: 2, channel: 3, address: /studio/direction/sefa1, min: -2, max: 2}\n"
                    "  - {note: 36, address: /studio/seed, value: 12}\n"
                    "  - {note: 38, address: /studio/stop}\n")
    mapping = load_mapping(path)
    [c] = controls_for(mapping, mido.Message("control_change", control=1, value=127))
    assert c == Control("/studio/truncation", (1.2,))
    assert controls_for(mapping, mido.Message("control_change", control=2, value=0, channel=0)) == []
    [c] = controls_for(mapping, mido.Message("control_change", control=2, value=0, channel=3))
    assert c.name == "sefa1" and c.value == -2.0
    [c] = controls_for(mapping, mido.Message("note_on", note=36, velocity=90))
    assert c == Control("/studio/seed", (12,))
    assert controls_for(mapping, mido.Message("note_on", note=36, velocity=0)) == []
    [c] = controls_for(mapping, mido.Message("note_on", note=38, velocity=1))
    assert c.address == "/studio/stop"
    path.write_text("controls:\n  - {note: 36, address: /studio/sed, value: 12}\n")
    with pytest.raises(ConfigError, match=r"map.yaml:2.*unknown address '/studio/sed'"):
        load_mapping(path)
    path.write_text("directions: {smile: dirs/smile.npy}\ncontrols:\n  - {cc: 3, address: /studio/direction/smile}\n")
    assert load_mapping(path).directions == {"smile": str(tmp_path / "dirs" / "smile.npy")}
    path.write_text("directions: {sefa1: x.npy}\ncontrols:\n  - {cc: 3, address: /studio/direction/sefa1}\n")
    with pytest.raises(ConfigError, match=r"map.yaml:1.*SeFa"):
        load_mapping(path)


def test_pacing_drops_frames_that_are_past_due(tiny_models):
    tl = parse_timeline(TIMELINE)
    player = Player(tl, get_model(tl.model), fps=20)
    try:
        nxt = player._next(0, start=time.monotonic() - 1.0)  # a second behind: about 20 frames are past due
        assert nxt >= 20 and player.stats.dropped == nxt - 1
        assert player._next(nxt, start=time.monotonic() - nxt / 20) == nxt + 1  # on time: no drop
        assert player.stats.dropped == nxt - 1
    finally:
        player.close()


def test_a_real_midi_port_is_read(tmp_path):
    """A virtual MIDI output port (python-rtmidi) read by MidiInput, as ``--midi NAME`` opens it."""
    import threading

    from studio.live.controls import LogOnce
    from studio.live.midi import MidiInput
    pytest.importorskip("rtmidi", reason="python-rtmidi (mido's MIDI port backend) is not installed")
    try:
        out = mido.open_output("studio-live-test", virtual=True)
    except Exception as exc:  # rtmidi raises its own SystemError when the platform has no MIDI system
        pytest.skip(f"no MIDI system for a virtual port here ({type(exc).__name__}: {exc}); on Linux it needs the "
                    f"ALSA sequencer (/dev/snd/seq, module snd-seq)")
    path = tmp_path / "map.yaml"
    path.write_text("controls:\n  - {cc: 7, address: /studio/truncation, min: 0, max: 1}\n"
                    "  - {note: 40, address: /studio/seed, value: 3}\n")
    got, done = [], threading.Event()

    def submit(control):
        got.append(control)
        if len(got) == 2:
            done.set()

    try:
        name = next(n for n in mido.get_input_names() if "studio-live-test" in n)
        midi = MidiInput(name, load_mapping(path), submit, LogOnce())
        try:
            out.send(mido.Message("control_change", control=7, value=127))
            out.send(mido.Message("note_on", note=40, velocity=100))
            assert done.wait(30.0)
        finally:
            midi.close()
    finally:
        out.close()
    assert got == [Control("/studio/truncation", (1.0,)), Control("/studio/seed", (3,))]
