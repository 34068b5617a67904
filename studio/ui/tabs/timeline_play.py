"""The preview panel of the Timeline tab: one frame rendered at full size (the scrubber picks it; the selected
keyframe's frame after each edit) and playback of the whole timeline as a low-resolution loop at its fps, from
frames rendered ahead in the background (:mod:`studio.ui.playback`).

A keyframe that cannot be rendered (a latent of the wrong shape, say) is left out of previews and playback with a
warning under the picture, so the other frames can still be seen.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ganlib.errors import UserError
from studio.ui import playback, state
from studio.ui.context import Studio, user_errors


@dataclass
class PreviewPanel:
    """The panel's components."""

    image: Any
    info: Any
    scrubber: Any
    play: Any
    pause: Any
    loop: Any
    screen: Any


def build(ctx: Studio) -> PreviewPanel:
    """Lay out the preview panel (inside the current column)."""
    image = gr.Image(label="Preview", type="numpy", format="png", interactive=False, height=360,
                     elem_id="frame-preview", buttons=["download"])
    scrubber = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="scrubber")
    with gr.Row(elem_classes="compact-row"):
        play = gr.Button("▶ Play", size="sm", elem_id="tl-play", min_width=70)
        pause = gr.Button("⏸ Pause", size="sm", elem_id="tl-pause", min_width=70)
        loop = gr.Checkbox(True, label="Loop playback", min_width=100)
    info = gr.Markdown(elem_id="preview-info")
    screen = gr.HTML("", elem_id="tl-player", js_on_load=None)
    return PreviewPanel(image=image, info=info, scrubber=scrubber, play=play, pause=pause, loop=loop, screen=screen)


def screen_html(frame) -> str:
    """The played frame as an ``<img>`` with the picture inline (a ``data:`` URI: nothing is written to disk)."""
    return (f'<img src="{playback.data_uri(frame)}" alt="playing frame" '
            f'style="width: 100%; max-height: 360px; object-fit: contain; image-rendering: pixelated">')


def _warnings(warnings: list[str]) -> str:
    return "".join(f"  \n⚠️ {html.escape(w, quote=False)}" for w in warnings)


def render_preview(ctx: Studio, tl, frame: Any) -> tuple:
    """Render one frame of ``tl`` for the preview: (image, caption, frame index); keyframes that cannot be rendered
    are left out, and the caption says which and why."""
    tl = ctx.renderable(tl)
    model = ctx.load_model(tl.model)
    t0 = time.perf_counter()
    i = min(max(0, int(frame or 0)), tl.n_frames - 1)
    img, warnings = playback.frame_image(tl, model, i)
    caption = state.frame_caption(tl, i, img.shape[1], img.shape[0], (time.perf_counter() - t0) * 1000)
    return img, caption + _warnings(warnings), i


def preview_event(ctx: Studio, panel: PreviewPanel, timeline: Any, sel: Any) -> dict:
    """Keyword arguments for ``.then(**...)``: preview the selected keyframe's frame (problems shown under the
    preview, never raised)."""
    def preview_keyframe(tl, index):
        try:
            if not tl.keyframes or int(index if index is not None else -1) < 0:
                return gr.skip(), gr.skip(), gr.skip()
            return render_preview(ctx, tl, state.keyframe_frame(tl, int(index)))
        except UserError as err:
            return None, f"⚠️ no preview: {html.escape(str(err), quote=False)}", gr.skip()

    return dict(fn=preview_keyframe, inputs=[timeline, sel], outputs=[panel.image, panel.info, panel.scrubber],
                api_name=False, show_progress="hidden")


def connect(ctx: Studio, panel: PreviewPanel, timeline: Any) -> None:
    """Wire the scrubber (preview any frame), Play (stream the timeline's frames at its fps from the
    background renderer) and Pause."""
    players = playback.Players()

    @user_errors
    def preview_frame(tl, frame):
        try:
            img, caption, _ = render_preview(ctx, tl, frame)
        except UserError as err:
            return gr.skip(), f"⚠️ no preview: {html.escape(str(err), quote=False)}"
        return img, caption

    def play(tl, frame, loop):
        try:
            full = ctx.renderable(tl)
            model = ctx.load_model(full.model)
            part, warnings = playback.usable_part(full, model)
        except UserError as err:
            yield gr.skip(), f"⚠️ cannot play: {html.escape(str(err), quote=False)}", gr.skip()
            return
        player = players.get(part, model, bool(loop))
        n = player.n
        first = int(frame or 0)
        first = 0 if first >= n - 1 else first
        try:
            for i, img in playback.play(player, first, part.fps, bool(loop)):
                yield (screen_html(img), f"▶ frame **{i}** of {n} · {part.fps:g} fps · "
                       f"{player.cached()} frames ready{_warnings(warnings)}", i)
        except UserError as err:
            yield gr.skip(), f"⚠️ playback stopped: {html.escape(str(err), quote=False)}", gr.skip()

    panel.scrubber.input(preview_frame, [timeline, panel.scrubber], [panel.image, panel.info], api_name="preview",
                         trigger_mode="always_last", show_progress="hidden")
    panel.scrubber.release(preview_frame, [timeline, panel.scrubber], [panel.image, panel.info], api_name=False,
                           trigger_mode="always_last", show_progress="hidden")
    playing = panel.play.click(play, [timeline, panel.scrubber, panel.loop], [panel.screen, panel.info, panel.scrubber],
                               api_name="play", show_progress="hidden", concurrency_id="play",
                               concurrency_limit=None)
    panel.pause.click(None, cancels=[playing], api_name=False)
