"""The Explore tab: pick a model, page through its seeds, add seeds or latent files to the timeline as keyframes.

:func:`build` lays out the tab and wires the model picker and the gallery; :func:`connect` wires the three ways of
adding a keyframe, whose results the Timeline tab shows (it is built after this tab, so it is connected after).
"""
from __future__ import annotations

import functools
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ganlib.errors import UserError
from studio.latents import read_latent
from studio.timeline import Keyframe, Timeline
from studio.timeline_model import LATENT_EXTENSIONS
from studio.ui import imaging, playback, state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.models import MODEL_EXTENSIONS, safe_name
from studio.ui.settings import bounds, choices
from studio.ui.tabs.timeline import TimelineView, summary

LATENT_AUTO = "auto"  # the latent-space choice meaning "as the file says" (no latent_space in the keyframe)


@dataclass
class ExploreTab:
    """The Explore tab's components that other tabs read or that :func:`connect` wires."""

    model: Any        # the model picker (also a timeline setting)
    psi: Any          # the gallery's truncation slider
    gallery: Any
    page_seeds: Any   # gr.State: the seeds on the gallery page shown
    seed: Any
    add_button: Any
    latent_upload: Any
    latent_space: Any  # "auto", "z" or "w": what an uploaded latent file holds
    status: Any


def build(ctx: Studio, app: gr.Blocks) -> ExploreTab:
    """Lay out the Explore tab (inside the current ``gr.Tab``) and wire the model picker and gallery paging;
    ``app`` is the Blocks, whose page load shows the first gallery page. Returns the :class:`ExploreTab`."""
    default_model = ctx.catalog.default_spec()
    page_seeds = gr.State([])
    with gr.Row(elem_classes="compact-row"):
        model_dd = gr.Dropdown(ctx.catalog.choices(), value=default_model, label="Model", scale=4,
                               info="built-in models, files in the models folder, or your upload")
        refresh_btn = gr.Button("↻ Refresh list", scale=1)
        upload = gr.UploadButton("Upload a checkpoint…", file_count="single", scale=2,
                                 file_types=list(MODEL_EXTENSIONS))
    model_info = gr.Markdown()
    lo, hi = bounds("truncation")
    with gr.Row(elem_classes="compact-row"):
        g_psi = gr.Slider(lo, hi, value=state.START_TRUNCATION, step=0.05, label="Truncation ψ", scale=3,
                          info="lower: closer to the average image, higher: more variety")
        prev_btn = gr.Button("◀ Previous", scale=1)
        page = gr.Number(0, label="Page", precision=0, minimum=0, scale=1)
        next_btn = gr.Button("Next ▶", scale=1)
    gallery = gr.Gallery(label="Seeds: click an image to add it as a keyframe", columns=8, rows=2, height="auto",
                         object_fit="contain", allow_preview=False, format="png", elem_id="seed-gallery", buttons=[])
    with gr.Row(elem_classes="compact-row"):
        add_seed = gr.Number(0, label="Seed", precision=0, minimum=0, scale=2)
        add_btn = gr.Button("Add seed as keyframe", variant="secondary", scale=2)
        latent_space = gr.Dropdown([LATENT_AUTO, *choices("latent_space", Keyframe)], value=LATENT_AUTO,
                                   label="The latent file holds", info="auto: as its shape or .npz key says",
                                   scale=1, min_width=120)
        latent_up = gr.UploadButton("Add a latent file (.npy/.npz)…", file_types=list(LATENT_EXTENSIONS), scale=2)
    status = gr.Markdown()

    @user_errors
    def show_gallery(spec, page_no, psi):
        model = ctx.load_model(spec)
        seeds = imaging.page_seeds(int(page_no or 0))
        return imaging.seed_gallery(model, seeds, psi), seeds

    @user_errors
    def step_gallery(spec, page_no, psi, delta):
        p = max(0, int(page_no or 0) + delta)
        images, seeds = show_gallery(spec, p, psi)
        return p, images, seeds

    @user_errors
    def select_model(spec):
        if not spec:
            return "No model yet: put checkpoints in the models folder (`--models-dir`) or upload one."
        return imaging.model_summary(ctx.load_model(spec))

    @user_errors
    def refresh_models(spec):
        choices = ctx.catalog.choices()
        specs = [s for _, s in choices]
        return gr.update(choices=choices, value=spec if spec in specs else ctx.catalog.default_spec())

    @user_errors
    def upload_model(file):
        if not file:
            return gr.update(), gr.update()
        path = file if isinstance(file, str) else getattr(file, "name", str(file))
        spec = ctx.catalog.add_upload(path, Path(path).name, device=ctx.device)
        return gr.update(choices=ctx.catalog.choices(), value=spec), f"Loaded **{Path(spec).name}** (safe loader)."

    gallery_io = dict(inputs=[model_dd, page, g_psi], outputs=[gallery, page_seeds])
    step_io = dict(inputs=[model_dd, page, g_psi], outputs=[page, gallery, page_seeds])
    model_dd.change(select_model, model_dd, model_info, api_name="select_model").then(
        show_gallery, **gallery_io, api_name=False)
    refresh_btn.click(refresh_models, model_dd, model_dd, api_name="refresh_models")
    upload.upload(upload_model, upload, [model_dd, model_info], api_name="upload_model")
    g_psi.release(show_gallery, **gallery_io, api_name="gallery")
    page.submit(show_gallery, **gallery_io, api_name=False)
    prev_btn.click(functools.partial(step_gallery, delta=-1), **step_io, api_name="gallery_prev")
    next_btn.click(functools.partial(step_gallery, delta=1), **step_io, api_name="gallery_next")
    app.load(select_model, model_dd, model_info, api_name=False).then(show_gallery, **gallery_io, api_name=False)
    return ExploreTab(model=model_dd, psi=g_psi, gallery=gallery, page_seeds=page_seeds, seed=add_seed,
                      add_button=add_btn, latent_upload=latent_up, latent_space=latent_space, status=status)


def keep_latent(ctx: Studio, file: Any) -> Path:
    """Check an uploaded latent file (no pickles, NaNs or non-numeric data) and keep a copy in the studio's latent
    folder, named by its content; return the copy's path. UserError for anything else."""
    src = Path(file if isinstance(file, str) else file.name)
    if src.suffix.lower() not in LATENT_EXTENSIONS:
        raise UserError("a latent must be a .npy or .npz file", field="latent")
    read_latent(src)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    ctx.latent_dir.mkdir(parents=True, exist_ok=True)
    dest = ctx.latent_dir / f"{safe_name(src.stem, 'latent')}-{digest}{src.suffix.lower()}"
    if not dest.exists():
        shutil.copyfile(src, dest)
    return dest


def connect(ctx: Studio, tab: ExploreTab, view: TimelineView) -> None:
    """Wire the Explore tab's ways of adding a keyframe (a seed number, a gallery click, a latent upload) to the
    session's Timeline, showing the result in ``view`` (the Timeline tab) and the tab's status line."""
    show = view.show

    def add(tl: Timeline, kf_psi, *, seed=None, latent=None, latent_space=None) -> tuple:
        psi = float(kf_psi) if kf_psi is not None else None
        if psi is not None and abs(psi - float(tl.truncation)) < 1e-9:
            psi = None  # the timeline's own truncation: let the keyframe follow it
        tl, i = state.add_keyframe(tl, seed=seed, latent=latent, latent_space=latent_space, truncation=psi)
        if latent is not None:  # a latent file is checked against the model at once (its shape, its space)
            playback.check_keyframe(tl, ctx.load_model(tl.model), i)
        what = f"seed {seed}" if seed is not None else f"latent {Path(latent).name}"
        msg = f"Added {what} at {state.keyframe_time(tl, i):g} s — {summary(tl)}. Open the Timeline tab to edit " \
              f"and preview."
        return (*show(tl, i, msg), msg)

    @user_errors
    def add_keyframe(tl, seed, keyframe_truncation):
        if seed is None:
            raise UserError("enter a seed to add", field="seed")
        return add(tl, keyframe_truncation, seed=int(seed))

    @user_errors
    def gallery_pick(tl, seeds, kf_psi, evt: gr.SelectData):
        if evt is None or evt.index is None or not seeds:
            raise gr.Error("click an image of the gallery")
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        return add(tl, kf_psi, seed=int(seeds[int(index)]))

    @user_errors
    def add_latent(tl, file, latent_space=LATENT_AUTO):
        if not file:
            return (*show(tl, -1, ""), "")
        return add(tl, None, latent=str(keep_latent(ctx, file)),
                   latent_space=None if latent_space in (None, LATENT_AUTO) else latent_space)

    outputs = view.outputs + [tab.status]
    tab.add_button.click(add_keyframe, [ctx.timeline, tab.seed, tab.psi], outputs, api_name="add_keyframe",
                         **EDIT).then(**view.preview)
    tab.gallery.select(gallery_pick, [ctx.timeline, tab.page_seeds, tab.psi], outputs, api_visibility="private",
                       **EDIT).then(**view.preview)
    tab.latent_upload.upload(add_latent, [ctx.timeline, tab.latent_upload, tab.latent_space], outputs,
                             api_name="add_latent", **EDIT).then(**view.preview)
