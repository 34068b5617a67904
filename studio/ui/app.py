"""The studio's Gradio Blocks: four tabs (Explore, Timeline, Render, Batch), one module each under
:mod:`studio.ui.tabs`, sharing one :class:`studio.ui.context.Studio` (model catalog, job queue, output folder) and one
``gr.State`` per browser session holding the real :class:`studio.timeline.Timeline` being edited.

Handlers are thin: each takes the session's Timeline, calls one plain function of :mod:`studio.ui.state`,
:mod:`studio.ui.models`, :mod:`studio.ui.imaging` or :mod:`studio.ui.jobs`, turns a :class:`ganlib.errors.UserError`
into a ``gr.Error`` (a message, never a traceback) and maps the result onto components. Every event has an
``api_name`` (``gradio_client`` can drive the whole studio) except those that only exist for the mouse (a gallery
click, a table row click) and need browser event data.

Security: :func:`launch` binds 127.0.0.1 unless told otherwise, never shares, serves files only from the output
folder (``allowed_paths``; Gradio's own temporary files are kept under it too) and blocks the uploads folder; model
specs, uploaded checkpoints and latent files are checked by :class:`studio.ui.models.ModelCatalog` and
:func:`studio.ui.context.check_timeline_files` before anything is opened.
"""
from __future__ import annotations

import os
from pathlib import Path

import studio.ui  # noqa: F401  (offline environment before gradio is imported)

import gradio as gr

from studio.ui import state
from studio.ui.context import Studio
from studio.ui.jobs import JobManager
from studio.ui.models import ModelCatalog
from studio.ui.prune import CACHE_MAX_AGE_S, PrunePolicy
from studio.ui.tabs import batch, explore, latent, projection, render, timeline

CSS = """
#studio-title h1 {margin-bottom: 0}
#studio-title p {margin-top: 2px; opacity: .75}
#seed-gallery img, #frame-preview img, #projection-preview img {image-rendering: pixelated}
#seed-gallery .grid-wrap {min-height: 0 !important; max-height: none !important; height: auto !important}
#frame-preview img {object-fit: contain}
.compact-row {align-items: end}
"""


def theme() -> gr.themes.Base:
    """The studio's theme: Gradio's default (fonts bundled, nothing fetched) in violet and slate."""
    return gr.themes.Default(primary_hue="violet", secondary_hue="indigo", neutral_hue="slate",
                             radius_size="md")


def build_app(models_dir: str | Path | None = None, output_dir: str | Path = "renders/ui", *,
              device: str = "auto", temp_dir: str | Path | None = None,
              prune: PrunePolicy | None = None) -> gr.Blocks:
    """Build the studio (not launched): ``gr.Blocks`` with its queue configured.

    ``models_dir``: a folder of checkpoints offered besides the built-ins; ``output_dir``: where renders, batches,
    saved timelines, uploads and Gradio's temporary files go (the only folder the server serves); ``device``:
    'auto', 'cpu', 'cuda' or 'cuda:N'; ``temp_dir``: Gradio's temporary folder (default ``$GRADIO_TEMP_DIR`` or
    ``<output_dir>/_gradio``); ``prune``: how long and how much old jobs and Gradio's copies are kept (default
    :class:`studio.ui.prune.PrunePolicy`; applied now and before each render or batch). Launch it with
    :func:`launch`.
    """
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    temp = Path(temp_dir or os.environ.get("GRADIO_TEMP_DIR") or output_dir / "_gradio").resolve()
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)  # read by gr.Blocks() and the server; must be set before both
    policy = prune or PrunePolicy()
    jobs = JobManager(output_dir, device=device, policy=policy, cache_dir=temp)
    jobs.prune()
    ctx = Studio(catalog=ModelCatalog(models_dir, output_dir / "uploads"), jobs=jobs, output_dir=output_dir,
                 device=device)

    # delete_cache: besides the pruning before each job, Gradio itself removes its copies of served files (gallery
    # pages, previews, downloads) older than an hour (or the policy's age) every ten minutes.
    cache_age = max(60, int(min(policy.max_age_s, CACHE_MAX_AGE_S)))
    with gr.Blocks(title="Latent Studio", analytics_enabled=False, delete_cache=(600, cache_age)) as app:
        ctx.timeline = gr.State(state.new_timeline(ctx.catalog.default_spec()))
        with gr.Row():
            gr.Markdown("# Latent Studio\nExplore a GAN's seeds, keyframe a walk through its latent space, "
                        "preview any frame and render it to video.", elem_id="studio-title")
        with gr.Tab("Explore", id="explore"):
            explore_tab = explore.build(ctx, app)
            projection_panel = projection.build(ctx)
        with gr.Tab("Timeline", id="timeline"):
            view = timeline.build(ctx, explore_tab.model)
        with gr.Tab("Latent", id="latent"):
            latent.build(ctx, explore_tab.model, view)
        with gr.Tab("Render", id="render") as render_tab:
            render.build(ctx, render_tab)
        with gr.Tab("Batch", id="batch"):
            batch.build(ctx, explore_tab.model, explore_tab.class_pick, explore_tab.features)
        explore.connect(ctx, explore_tab, view)
        projection.connect(ctx, projection_panel, explore_tab.model, view)

    app.queue(default_concurrency_limit=4, max_size=64)
    app.studio_output_dir = output_dir  # type: ignore[attr-defined]
    app.studio_temp_dir = temp  # type: ignore[attr-defined]
    app.studio_catalog = ctx.catalog  # type: ignore[attr-defined]
    app.studio_jobs = ctx.jobs  # type: ignore[attr-defined]
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860,
           auth: tuple[str, str] | None = None, *, prevent_thread_lock: bool = False, quiet: bool = True):
    """Launch a studio built by :func:`build_app`: no share link, files served only from its output folder
    (uploads folder blocked), theme and CSS applied. Returns what ``Blocks.launch`` returns."""
    out = Path(app.studio_output_dir)  # type: ignore[attr-defined]
    return app.launch(server_name=host, server_port=port, share=False, auth=auth, inbrowser=False,
                      allowed_paths=[str(out)], blocked_paths=[str(out / "uploads")],
                      prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=True,
                      max_file_size="2gb", ssr_mode=False, pwa=False, mcp_server=False,
                      theme=theme(), css=CSS, footer_links=["api", "settings"])
