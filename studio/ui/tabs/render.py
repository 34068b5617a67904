"""The Render tab: render the session's Timeline to an MP4 (with a progress bar), play it, list recent jobs."""
from __future__ import annotations

import gradio as gr

from studio.ui.context import HEAVY, Studio, user_errors
from studio.ui.models import safe_name

JOB_HEADERS = ["job", "what", "status", "frames", "seconds"]


def build(ctx: Studio) -> None:
    """Lay out the Render tab (inside the current ``gr.Tab``) and wire its events (``render`` and ``jobs``)."""
    with gr.Row(elem_classes="compact-row"):
        name = gr.Textbox("walk", label="Video name", scale=3)
        render_btn = gr.Button("Render video", variant="primary", size="lg", scale=2)
    with gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(label="Video", interactive=False, autoplay=True, loop=True, height=420,
                             elem_id="video-player")
        with gr.Column(scale=1):
            files = gr.File(label="Download MP4 and timeline", interactive=False, file_count="multiple")
            status = gr.Markdown()
            jobs_table = gr.Dataframe([], headers=JOB_HEADERS, interactive=False, label="Recent jobs",
                                      max_height=260)
            jobs_btn = gr.Button("↻ Refresh jobs", size="sm")

    @user_errors
    def render(tl, name, progress=gr.Progress()):
        tl = ctx.renderable(tl)
        progress(0, desc="Queued / loading model")
        ctx.load_model(tl.model)

        def on_progress(done: int, total: int) -> None:
            progress((done, total), desc="Rendering", unit="frames")

        job = ctx.jobs.render(tl, safe_name(name, "walk"), on_progress=on_progress)
        fps_done = job.frames / job.seconds if job.seconds else 0.0
        msg = (f"Rendered **{job.output.name}**: {job.frames} frames in {job.seconds:.1f} s "
               f"({fps_done:.1f} frames/s) · job `{job.id}`")
        return str(job.output), [str(job.output), str(job.folder / f"{job.name}.yaml")], msg, ctx.jobs.recent()

    def recent_jobs():
        return ctx.jobs.recent()

    render_btn.click(render, [ctx.timeline, name], [video, files, status, jobs_table], api_name="render", **HEAVY)
    jobs_btn.click(recent_jobs, None, jobs_table, api_name="jobs")
