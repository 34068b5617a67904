"""The Timeline tab as its users reach it: the ruler, undo/redo, refusals beside the field, playback and the
browser's autosave, through gradio_client and in headless Chromium (one 64 px test studio for the module)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

import test_ui_browser as browser_support
from studio.timeline import parse_timeline
from ui_support import studio_server

chromium = browser_support.chromium  # the fixture: Chromium's path, or a skip saying why
YAML, INDEX = 1, 3  # places of the YAML and the selected keyframe in the editing actions' outputs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with studio_server(tmp_path_factory.mktemp("timeline")) as srv:
        yield srv


def _seeds(r) -> list:
    return [(k.time, k.seed) for k in parse_timeline(r[YAML].split("\n", 1)[-1] if r[YAML].startswith("#")
                                                      else r[YAML]).keyframes]


def _start(c, seeds=(3, 7)):
    c.predict(model="builtin:default", fps=4, size="model", duration=0, interpolation="linear", loop=False,
              truncation=0.7, space="w", noise="fixed", api_name="/apply_settings")
    for s in seeds:
        r = c.predict(seed=s, keyframe_truncation=0.7, api_name="/add_keyframe")
    return r


def test_ruler_moves_undo_redo_copy_paste_through_the_api(server):
    c = server.client()
    _start(c)
    r = c.predict(json.dumps({"op": "move", "index": 1, "time": 1.25}), 1, api_name="/ruler")
    assert _seeds(r) == [(0, 3), (1.25, 7)] and "moved to 1.25 s" in r[-10]  # the status, then 9 settings
    bar = json.loads(r[-12])
    assert [k["t"] for k in bar["keyframes"]] == [0, 1.25] and bar["keyframes"][1]["thumb"].startswith("data:image")
    r = c.predict(index=0, api_name="/delete_keyframe")
    assert _seeds(r) == [(1.25, 7)]
    r = c.predict(index=0, api_name="/undo")
    assert _seeds(r) == [(0, 3), (1.25, 7)] and r[-10].startswith("Undone")
    assert _seeds(c.predict(index=0, api_name="/redo")) == [(1.25, 7)]
    r = c.predict(index=0, api_name="/undo")
    assert _seeds(c.predict(index=0, api_name="/undo")) == [(0, 3), (2, 7)]  # before the move
    c.predict(index=1, api_name="/copy_keyframe")
    r = c.predict(frame=4, api_name="/paste_keyframe")  # frame 4 at 4 fps: 1 s
    assert _seeds(r) == [(0, 3), (1, 7), (2, 7)] and r[INDEX] == 1
    r = c.predict(index=0, api_name="/duplicate_keyframe")
    assert _seeds(r) == [(0, 3), (0.5, 3), (1, 7), (2, 7)]


def test_a_bad_edit_is_refused_beside_its_field_and_a_bad_keyframe_spares_the_others(server):
    c = server.client()
    _start(c)
    r = c.predict(index=1, time_s=2, seed=7, mix_seed=4, mix_layers="two", api_name="/update_keyframe")
    assert "**Mix layers**" in r[-2] and "Refused" in r[-1]
    assert _seeds(c.predict(1, api_name="/select_keyframe")) == [(0, 3), (2, 7)]  # nothing changed
    latents = server.output_dir / "latents"
    latents.mkdir(exist_ok=True)
    np.save(latents / "wrong.npy", np.zeros([3, 7], np.float32))
    r = c.predict(f"fps: 4\nkeyframes:\n  - {{time: 0, seed: 3}}\n  - {{time: 1, latent: {latents / 'wrong.npy'}}}\n"
                  f"  - {{time: 2, seed: 5}}\n", api_name="/load_yaml")
    img, info = c.predict(frame=8, api_name="/preview")
    assert img and "keyframe 1 left out" in info  # the other frames still preview
    with pytest.raises(AppError, match=r"has shape \[3, 7\]"):  # an upload is checked against the model at once
        c.predict(file=handle_file(str(latents / "wrong.npy")), api_name="/add_latent")


def test_play_streams_advancing_frames(server):
    c = server.client()
    _start(c)  # 9 frames at 4 fps
    job = c.submit(0, False, api_name="/play")
    frames = [out[-1] for out in job]
    assert frames == list(range(9))


def test_timeline_in_chromium_drag_refuse_undo_play_reload(chromium, server, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    expect.set_options(timeout=60_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=browser_support.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            questions = []
            page.on("dialog", lambda d: (questions.append(d.message), d.accept()))
            page.goto(server.url)
            browser_support.add_two_keyframes(page)
            page.get_by_role("tab", name="Timeline").click()
            page.locator("#tl-fps input").fill("4")  # 9 frames: quick to play
            page.locator("#tl-fps input").press("Enter")
            expect(page.locator("#tl-status")).to_contain_text("9 frames")
            expect(page.locator("#tl-ruler")).to_contain_text("0.25 s · 1")

            # drag the second thumbnail to the left on the ruler: its time (and the YAML) change
            keys = page.locator("#tl-ruler .tl-key")
            expect(keys).to_have_count(2)
            expect(keys.nth(1).locator("img")).to_be_visible()
            keys.nth(1).scroll_into_view_if_needed()
            box = keys.nth(1).bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x - 150, y, steps=5)
            page.mouse.up()
            expect(page.locator("#tl-status")).to_contain_text("Keyframe moved to")
            page.get_by_text("Save / load timeline YAML").click()
            yaml_text = page.locator(".cm-content").first
            expect(yaml_text).not_to_contain_text("time: 2.0")
            moved = float(page.locator("#kf-time input").input_value())
            assert 0 < moved < 2

            # a bad edit: refused beside the field; the table stays usable and the typed value is kept
            page.locator("#kf-time input").fill("0")
            page.get_by_role("button", name="Apply changes").click()
            expect(page.locator("#kf-error")).to_contain_text("two keyframes would be at 0 s")
            expect(page.locator("#kf-time input")).to_have_value("0")
            assert page.locator(".error").count() == 0  # no error badges over the form
            page.locator("#kf-time input").fill("1.5")
            page.locator("#keyframes").get_by_test_id("cell-0-2").click()  # the edit is applied, not lost
            expect(page.locator("#kf-index input")).to_have_value("0")
            expect(page.locator("#keyframes")).to_contain_text("1.5")

            # delete asks first; Ctrl+Z brings the keyframe back
            page.locator("#kf-delete").click()
            expect(page.locator("#keyframes")).not_to_contain_text("seed 2")
            assert questions and "Delete keyframe 0" in questions[-1]
            page.locator("#tl-ruler .tl-ruler").focus()
            page.keyboard.press("Control+z")
            expect(page.locator("#keyframes")).to_contain_text("seed 2")

            # play: the frame on the scrubber advances; pause stops it
            page.locator("#tl-play").click()
            expect(page.locator("#preview-info")).to_contain_text("▶ frame")
            page.wait_for_function("parseInt(document.querySelector('#scrubber input[type=number]').value) > 2")
            page.evaluate("document.querySelector('#tl-pause').click()")

            # a reload restores the timeline from the browser's storage
            page.reload()
            page.get_by_role("tab", name="Timeline").click()
            expect(page.locator("#tl-status")).to_contain_text("Restored the timeline")
            expect(page.locator("#keyframes")).to_contain_text("seed 5")
            expect(page.locator("#tl-ruler .tl-key")).to_have_count(2)
            page.close()
        finally:
            browser.close()
