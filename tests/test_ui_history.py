"""Undo/redo history and the pure timeline edits behind the Timeline tab's ruler and keyframe panel (no server)."""
from __future__ import annotations

import json

import pytest

from ganlib.errors import UserError
from studio.timeline import parse_timeline
from studio.ui import ruler, state
from studio.ui.history import History
from studio.ui.tabs.timeline_editor import editor_changes, editor_values, refusal


def _tl(*seeds):
    tl = state.new_timeline()
    for s in seeds:
        tl, _ = state.add_keyframe(tl, seed=s)
    return tl


def test_undo_redo_and_a_new_edit_drops_the_redo_states():
    h = History()
    for v in ("a", "b", "b", "c"):
        h.observe(v)
    assert len(h) == 3 and h.current == "c" and h.counts() == (2, 0)
    assert h.undo() == "b" and h.undo() == "a" and h.undo() is None and h.current == "a"
    assert h.redo() == "b" and h.can_redo
    h.observe("d")  # an edit after undo: "c" can no longer be redone
    assert not h.can_redo and h.redo() is None and h.current == "d"
    assert h.undo() == "b"


def test_history_compares_by_key_keeps_a_limit_and_knows_what_was_saved():
    h = History(key=lambda v: v.lower(), limit=3)
    assert not h.observe("A") or h.observe("a") is False
    for v in "bcd":
        h.observe(v)
    assert len(h) == 3 and h.undo() == "c" and h.undo() == "b" and h.undo() is None
    assert h.unsaved("b")
    h.mark_saved("B")
    assert not h.unsaved("b") and h.unsaved("c")


def test_timelines_are_one_state_when_their_fields_are_equal():
    h = History(key=state.fields_of)
    assert h.observe(_tl(1, 2))
    assert not h.observe(_tl(1, 2))
    assert h.observe(_tl(1, 3))


def test_edit_duplicate_copy_paste_keyframes():
    tl = _tl(3, 7)  # at 0 s and 2 s
    tl2, i = state.edit_keyframe(tl, 0, {"time": 3.0, "mix": {"seed": 5, "layers": "4-"}, "label": None})
    assert (i, [k.seed for k in tl2.keyframes], tl2.keyframes[1].mix.seed) == (1, [7, 3], 5)
    tl3, j = state.duplicate_keyframe(tl, 0)
    assert j == 1 and [(k.time, k.seed) for k in tl3.keyframes] == [(0, 3), (1.0, 3), (2, 7)]
    content = state.keyframe_content(tl, 1)
    assert content == {"seed": 7, "ease": "linear"}
    tl4, k = state.paste_keyframe(tl, content, 2.0)  # occupied: goes after the last keyframe
    assert (k, tl4.keyframes[k].time) == (2, 4.0)
    with pytest.raises(UserError, match="two keyframes would be at 2 s"):
        state.edit_keyframe(tl, 0, {"time": 2.0})
    with pytest.raises(UserError, match="copy a keyframe first"):
        state.paste_keyframe(tl, {}, 1.0)


def test_the_panel_round_trips_a_keyframe_and_names_bad_fields():
    tl = parse_timeline("keyframes:\n  - {time: 0, seed: 4, mix: {seed: 9, layers: '8-'}, translate: [0.1, 0]}\n"
                        "  - {time: 1, seed: 5}\n")
    values = editor_values(tl, 0)
    changes = editor_changes(tl, 0, *values[1:3], *values[4:])
    new, _ = state.edit_keyframe(tl, 0, changes)
    assert state.fields_of(new) == state.fields_of(tl)  # showing then applying changes nothing
    with pytest.raises(UserError) as err:
        editor_changes(tl, 0, 0, 4, "as the file says", "linear", False, 0.7, None, "", 9, "", "", None)
    assert "Mix layers" in refusal(err.value)[0]
    with pytest.raises(UserError, match="Translate needs 2 numbers"):
        editor_changes(tl, 0, 0, 4, "as the file says", "linear", False, 0.7, None, "", None, "", "1", None)


def test_ruler_payload_and_commands():
    tl = _tl(3, 7)
    data = json.loads(ruler.payload(tl, state.to_timeline(tl), 1, lambda i: ("", "")))
    assert [k["t"] for k in data["keyframes"]] == [0.0, 2.0] and data["selected"] == 1 and data["length"] == 2.0
    assert data["frames"] == state.to_timeline(tl).n_frames and data["fingerprint"] == ruler.fingerprint(tl)
    assert ruler.parse_command('{"op": "move", "index": 1, "time": 1.5}') == {"op": "move", "index": 1, "time": 1.5}
    assert ruler.parse_command("") is None
    for bad in ('{"op": "drop", "index": 1}', '{"op": "move", "index": 1, "time": -1}', "[1]", "{",
                '{"op": "select", "index": true}'):
        with pytest.raises(UserError):
            ruler.parse_command(bad)


def test_messages_name_their_source_in_words():
    with pytest.raises(UserError) as err:
        state.build({"keyframes": [{"time": 0, "seed": 1}, {"time": 0, "seed": 2}]})
    assert str(err.value).startswith("timeline (edited in the studio):") and "<" not in str(err.value)
