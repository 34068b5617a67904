"""The Render tab: render options (format, codec, CRF, preset, fit: the timeline's ``output`` block, choices from
the one format table), the plan (frames, length, size) shown before starting, Render / Cancel with one progress bar,
the result in a player and as downloads, recent jobs, and the pruning of old jobs; "Live" opens the live player
(``studio.live``) for the Timeline.

While a render runs its Render button is disabled and Cancel enabled; Cancel stops the session's job at its next
frame, removes its folder and marks its row "cancelled".
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from ganlib.errors import UserError
from studio.live.session import open_live
from studio.sinks.formats import CODECS, FORMATS
from studio.ui.context import CONTROL, EDIT, HEAVY, Studio, session_id, user_errors
from studio.ui.models import safe_name
from studio.ui.prune import PrunePolicy
from studio.ui.settings import (FIT_CHOICES, OUTPUT_OPTIONS, PRESET_CHOICES, apply_output, codec_choices,
                                format_choices, output_options)

JOB_HEADERS = ["job", "what", "status", "frames", "seconds"]
MAX_FRAME_DOWNLOADS = 100  # frames of a PNG-sequence render offered one by one
CRF_TOP = max(c.crf_max or 0 for c in CODECS.values())  # the slider's range; each codec's own is applied on render


def plan_text(ctx: Studio, tl) -> str:
    """One line saying what a render of ``tl`` makes before it starts: frames, length, fps, size, fit, format;
    or why it cannot render yet."""
    try:
        full = ctx.renderable(tl)
    except UserError as err:
        return f"⚠️ Not ready to render: {err.message}"
    n = full.n_frames
    size = full.frame_size
    fit = ""
    if size is None:
        try:
            side = int(ctx.load_model(full.model).G.img_resolution)
            size = (side, side)
        except UserError:
            size = None
    elif size[0] != size[1]:
        fit = f" ({full.output.fit})"
    out = full.output
    codec = f" · {CODECS[out.codec_name].label}" if out.codec_name else ""
    shown = f"{size[0]}×{size[1]}" if size else "model size"
    return (f"**{n} frames** · {n / full.fps:.2f} s at {full.fps:g} fps · {shown}{fit} · "
            f"{FORMATS[out.format].label}{codec}")


def option_updates(tl) -> tuple:
    """Component updates showing ``tl``'s render options: format, codec (its format's codecs), CRF (its codec's
    range), preset (x264/x265 only), fit."""
    o = output_options(tl)
    codec = CODECS.get(o["codec"] or "")
    crf_max = codec.crf_max if codec is not None else None
    return (gr.update(value=o["format"]),
            gr.update(choices=codec_choices(o["format"]), value=o["codec"], interactive=codec is not None),
            gr.update(value=o["crf"], interactive=crf_max is not None),
            gr.update(value=o["preset"], interactive=bool(codec and codec.has_preset)),
            gr.update(value=o["fit"]))


def build(ctx: Studio, tab: Any = None) -> None:
    """Lay out the Render tab (inside the current ``gr.Tab``; ``tab`` is that tab, whose selection refreshes the
    options and plan) and wire its events: ``render_options``, ``render_plan``, ``render``, ``cancel_render``,
    ``jobs``, ``prune`` and ``live``."""
    start = ctx.timeline.value
    first = output_options(start)
    with gr.Row(elem_classes="compact-row"):
        name = gr.Textbox("walk", label="Video name", scale=3)
        render_btn = gr.Button("Render video", variant="primary", size="lg", scale=2, elem_id="render-button")
        cancel_btn = gr.Button("Cancel", variant="stop", size="lg", scale=1, interactive=False,
                               elem_id="cancel-button")
        live_btn = gr.Button("Live", size="lg", scale=1)
    with gr.Group():
        with gr.Row(elem_classes="compact-row"):
            fmt = gr.Dropdown(format_choices(), value=first["format"], label="Format", min_width=160)
            codec = gr.Dropdown(codec_choices(first["format"]), value=first["codec"], label="Codec", min_width=110,
                                allow_custom_value=True)  # any name: one the format cannot hold becomes its default
            crf = gr.Slider(0, CRF_TOP, value=first["crf"], step=1, label="CRF (0 = best; clamped to the codec's)",
                            min_width=160)
            preset = gr.Dropdown(PRESET_CHOICES, value=first["preset"], label="Encoder preset", min_width=110)
            fit = gr.Radio(FIT_CHOICES, value=first["fit"], label="Fit (when the size's aspect differs)",
                           min_width=200)
        plan = gr.Markdown(elem_id="render-plan")
    with gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(label="Video", interactive=False, autoplay=True, loop=True, height=420,
                             elem_id="video-player")
        with gr.Column(scale=1):
            files = gr.File(label="Downloads (the render and its timeline)", interactive=False,
                            file_count="multiple")
            status = gr.Markdown(elem_id="render-status")
            jobs_table = gr.Dataframe([], headers=JOB_HEADERS, interactive=False, label="Recent jobs",
                                      max_height=260, elem_id="jobs-table")
            jobs_btn = gr.Button("↻ Refresh jobs", size="sm")
            with gr.Accordion("Old jobs", open=False):
                policy = ctx.jobs.policy
                keep_hours = gr.Number(policy.keep_hours, label="Keep jobs for (hours)", minimum=0)
                keep_gb = gr.Number(policy.keep_gb, label="Keep at most (GB, jobs and cached previews)",
                                    minimum=0)
                prune_btn = gr.Button("Prune now", size="sm")
    options = [fmt, codec, crf, preset, fit]

    @user_errors
    def set_options(tl, name, format, codec, crf, preset, fit):  # noqa: A002 - the API's parameter names
        tl = apply_output(tl, name, dict(zip(OUTPUT_OPTIONS, (format, codec, crf, preset, fit))))
        return (tl, *option_updates(tl), plan_text(ctx, tl))

    def show_options(tl):
        return (*option_updates(tl), plan_text(ctx, tl))

    def lock_buttons():
        return gr.update(interactive=False), gr.update(interactive=True)

    def start_render(tl):
        return f"Rendering — {plan_text(ctx, tl)}"

    def end_render():
        return gr.update(interactive=True), gr.update(interactive=False)

    @user_errors
    def render(tl, name, request: gr.Request, progress=gr.Progress()):
        tl = ctx.renderable(tl)
        total = tl.n_frames
        progress((0, total), desc="Loading the model", unit="frames")
        ctx.load_model(tl.model)

        def on_progress(done: int, n: int) -> None:
            progress((done, n), desc="Rendering", unit="frames")

        job = ctx.jobs.render(tl, safe_name(name, "walk"), on_progress=on_progress,
                              session=session_id(request))
        if job.status == "cancelled":
            return None, None, job.cancelled_line(), ctx.jobs.recent()
        fps_done = job.frames / job.seconds if job.seconds else 0.0
        out = job.output
        msg = (f"Rendered **{out.name}**: {job.frames} frames in {job.seconds:.1f} s "
               f"({fps_done:.1f} frames/s) · job `{job.id}`")
        yaml_file = str(job.folder / f"{job.name}.yaml")
        if out.is_dir():  # a PNG sequence: its frames (the first MAX_FRAME_DOWNLOADS; the zip format holds all)
            frames = sorted(out.glob("*.png"))
            downloads = [str(p) for p in frames[:MAX_FRAME_DOWNLOADS]] + [yaml_file]
            if len(frames) > MAX_FRAME_DOWNLOADS:
                msg += f" · the first {MAX_FRAME_DOWNLOADS} frames offered here; choose PNG sequence (zip) for all"
        else:
            downloads = [str(out), yaml_file]
        playable = FORMATS[tl.output.format].kind == "video"
        return (str(out) if playable else None), downloads, msg, ctx.jobs.recent()

    def cancel(request: gr.Request):
        return ctx.cancel(request)

    @user_errors
    def live(tl):
        tl = ctx.renderable(tl)
        return open_live(tl, ctx.load_model(tl.model)).describe()

    def recent_jobs():
        return ctx.jobs.recent()

    @user_errors
    def prune(hours, gb):
        ctx.jobs.policy = PrunePolicy(keep_hours=float(hours if hours is not None else -1),
                                      keep_gb=float(gb if gb is not None else -1))
        done = ctx.jobs.prune()
        return f"Pruned: {done.describe()}", ctx.jobs.recent()

    for comp in options:
        comp.input(set_options, [ctx.timeline, name, *options], [ctx.timeline, *options, plan],
                   show_progress="hidden", **EDIT)
    # Render: disable the button at once (no second click), store the options, say what is being made, render
    # with one progress bar (on the status line), enable the button again whatever happened.
    render_btn.click(lock_buttons, None, [render_btn, cancel_btn], queue=False) \
        .then(set_options, [ctx.timeline, name, *options], [ctx.timeline, *options, plan],
              api_name="render_options", show_progress="hidden", **EDIT) \
        .then(start_render, [ctx.timeline], status, queue=False) \
        .then(render, [ctx.timeline, name], [video, files, status, jobs_table], api_name="render",
              show_progress_on=[status], **HEAVY) \
        .then(end_render, None, [render_btn, cancel_btn], queue=False)
    if tab is not None:
        tab.select(show_options, [ctx.timeline], [*options, plan], api_name="render_plan", show_progress="hidden",
                   **EDIT)
    cancel_btn.click(cancel, None, status, api_name="cancel_render", **CONTROL)
    live_btn.click(live, [ctx.timeline], status, api_name="live", **HEAVY)
    jobs_btn.click(recent_jobs, None, jobs_table, api_name="jobs")
    prune_btn.click(prune, [keep_hours, keep_gb], [status, jobs_table], api_name="prune", **CONTROL)
