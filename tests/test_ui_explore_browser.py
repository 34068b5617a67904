"""The Explore tab in headless Chromium: the class picker changes the gallery of a labelled model, the Timeline tab's
SeFa sliders are hidden for a DCGAN (they cannot work without a w space) and the Latent tab shows its z sliders. Skipped where Chromium or Playwright is
missing (see tests/test_ui_browser.py)."""
from __future__ import annotations

import pytest
import torch

from ganlib.checkpoints.native import save_generator
from ganlib.networks.conditional import ConditionalGenerator
from ganlib.networks.dcgan import DCGANGenerator
from test_ui_browser import CHROMIUM_ARGS, chromium  # noqa: F401  (the fixture)
from ui_support import studio_server

pytestmark = pytest.mark.browser

LETTERS_KW = dict(z_dim=8, img_resolution=32, img_channels=3, ngf=4, c_dim=3, embed_dim=4)
DCGAN_KW = dict(z_dim=8, img_resolution=32, img_channels=3, ngf=4)


def _pick(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option").filter(has_text=text).first.click()


def test_class_picker_changes_the_gallery_and_sefa_hides(chromium, tmp_path, monkeypatch):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    expect.set_options(timeout=120_000)
    models = tmp_path / "models"
    models.mkdir()
    torch.manual_seed(0)
    save_generator(models / "letters.safetensors", ConditionalGenerator(**LETTERS_KW).eval(), "cgan", LETTERS_KW,
                   {"class_names": ["A", "B", "C"]})
    save_generator(models / "plain.safetensors", DCGANGenerator(**DCGAN_KW).eval(), "dcgan", DCGAN_KW, {})
    with studio_server(tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(server.url)
            first = page.locator("#seed-gallery img").first
            expect(page.locator("#seed-gallery img")).to_have_count(16)
            page.get_by_role("tab", name="Timeline").click()
            expect(page.locator("#sefa-sliders")).to_be_visible()  # a StyleGAN2 in w space: sliders offered
            page.get_by_role("tab", name="Explore").click()
            _pick(page, "model-picker", "letters.safetensors")
            expect(page.locator("#class-picker")).to_be_visible()
            expect(page.locator("#seed-gallery")).to_contain_text("seed 0")
            page.wait_for_function("() => document.querySelector('#seed-gallery img') && "
                                   "!document.querySelector('#seed-gallery .pending')")
            before = first.get_attribute("src")
            _pick(page, "class-picker", "1 · B")
            page.wait_for_function("(src) => { const i = document.querySelector('#seed-gallery img');"
                                   " return i && i.getAttribute('src') !== src; }", arg=before)
            _pick(page, "model-picker", "plain.safetensors")
            expect(page.locator("#class-picker")).to_be_hidden()
            page.get_by_role("tab", name="Timeline").click()
            expect(page.locator("#sefa-sliders")).to_be_hidden()
            page.get_by_role("tab", name="Latent").click()  # the explorer follows the model: its 8 z dimensions
            expect(page.get_by_text("z 0–7 of 8 (page 1 of 1)")).to_be_visible()
            expect(page.locator("#latent-dim-7")).to_be_visible()
            expect(page.locator("#latent-dim-8")).to_be_hidden()
        finally:
            browser.close()
