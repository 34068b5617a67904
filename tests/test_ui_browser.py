"""End to end in a real browser: headless Chromium (Debian's package) driven by Playwright.

Loads the studio, adds two keyframes by clicking gallery images, renders, and sees the video element; starts a
long render and cancels it (no output is left, the job row says so); on the way it saves a screenshot of each tab
to docs/screenshots/<tab>.png (used by the README). Chromium comes from the set-up
(scripts/setup_env.sh installs Debian's package when it can); the test is skipped, with the reason, where Chromium or
Playwright is missing. It never installs anything itself.
The screenshots use the shipped default model when presets/models/default.safetensors exists, else the 64 px
random-weights test model.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ui_support import studio_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
# README screenshots are refreshed only on request (STUDIO_SCREENSHOTS=1), so a test run leaves the tree clean.
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("STUDIO_SCREENSHOTS") == "1" else \
    Path(os.environ.get("TMPDIR", "/tmp")) / "latent-studio-screenshots"
SHIPPED = REPO / "presets" / "models" / "default.safetensors"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium (installed by the set-up, scripts/setup_env.sh); skips with the reason when it or
    Playwright is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run the set-up (make test, or sh scripts/setup_env.sh as root), or "
                    f"apt-get install -y --no-install-recommends chromium")
    return CHROMIUM


@pytest.fixture()
def server(tmp_path):
    with studio_server(tmp_path, shipped_model=SHIPPED if SHIPPED.is_file() else None) as srv:
        yield srv


def add_two_keyframes(page) -> None:
    """On a freshly opened studio page: wait for the 16-image Explore gallery, click seeds 2 and 5 and see them added
    as keyframes at 0 s and 2 s (the start of every browser test)."""
    from playwright.sync_api import expect

    images = page.locator("#seed-gallery img")
    expect(images).to_have_count(16)
    images.nth(2).click()
    expect(page.get_by_text("Added seed 2 at 0 s")).to_be_visible()
    images.nth(5).click()
    expect(page.get_by_text("Added seed 5 at 2 s")).to_be_visible()


def test_explore_keyframe_render_in_chromium(chromium, server, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=120_000)  # a loaded 2-core machine can be very slow
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)  # a loaded 2-core machine can be very slow
            page.goto(server.url)

            # Explore: the gallery fills in; clicking two images adds two keyframes
            add_two_keyframes(page)
            page.mouse.move(0, 0)
            page.screenshot(path=str(SHOTS / "explore.png"), full_page=True)

            # Timeline: both keyframes listed, the selected one previewed
            page.get_by_role("tab", name="Timeline").click()
            table = page.locator("#keyframes")
            expect(table).to_contain_text("seed 2")
            expect(table).to_contain_text("seed 5")
            expect(page.locator("#kf-index input")).to_have_value("1")  # the keyframe added last
            table.get_by_test_id("cell-0-2").click()  # a row click selects that keyframe for editing
            expect(page.locator("#kf-index input")).to_have_value("0")
            expect(page.locator("#frame-preview img")).to_be_visible()
            expect(page.get_by_text("rendered in")).to_be_visible()
            page.screenshot(path=str(SHOTS / "timeline.png"), full_page=True)

            # Render: the video appears in the player
            page.get_by_role("tab", name="Render").click()
            page.get_by_role("button", name="Render video").click()
            video = page.locator("#video-player video")
            expect(video).to_be_attached(timeout=180_000)
            assert "walk.mp4" in (video.get_attribute("src") or "")
            expect(page.get_by_text("Rendered walk.mp4")).to_be_visible()
            page.wait_for_function("document.querySelector('#video-player video').readyState >= 2")
            page.screenshot(path=str(SHOTS / "render.png"), full_page=True)

            # Cancel: a long render (120 s of video) stops at once; its button is disabled meanwhile; nothing is kept
            page.get_by_role("tab", name="Timeline").click()
            length = page.get_by_label("Length", exact=False)
            length.fill("120")
            length.press("Enter")
            expect(page.locator("#keyframes")).to_be_visible()
            page.get_by_role("tab", name="Render").click()
            expect(page.locator("#render-plan")).to_contain_text("frames · 120.")
            render_btn = page.locator("#render-button")
            render_btn.click()
            expect(render_btn).to_be_disabled()
            expect(page.locator("#render-status")).to_contain_text("Rendering")
            page.locator("#cancel-button").click()
            expect(page.get_by_text("nothing was kept")).to_be_visible()
            expect(page.locator("#jobs-table")).to_contain_text("cancelled")
            expect(render_btn).to_be_enabled()

            # Batch: a zip of seed images and its contact sheet
            page.get_by_role("tab", name="Batch").click()
            page.get_by_role("button", name="Make zip of images").click()
            expect(page.get_by_text("32 PNGs in")).to_be_visible()
            page.screenshot(path=str(SHOTS / "batch.png"), full_page=True)
            page.close()
        finally:
            browser.close()
    for tab in ("explore", "timeline", "render", "batch"):
        assert (SHOTS / f"{tab}.png").stat().st_size > 10_000
    assert len(list(server.output_dir.glob("*/walk.mp4"))) == 1  # the first render; the cancelled one left nothing
    assert len(list(server.output_dir.glob("*/walk.yaml"))) == 1
