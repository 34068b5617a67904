"""The Explore tab: pick a model, page through its seeds, add seeds or latent files to the timeline as keyframes.

:func:`build` lays out the tab and wires the model picker (models that cannot be loaded are listed with the reason),
the class picker / feature box of conditional models, the gallery (paging, jump to a seed, ★ on seeds already on the
timeline, a larger view of the clicked seed); :func:`connect` wires the three ways of adding a keyframe, whose results
the Timeline tab shows (it is built after this tab, so it is connected after), and keeps the marks and the Timeline
tab's SeFa sliders (shown only where they work) in step with the session's timeline.
"""
from __future__ import annotations

import functools
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ganlib.data.feature_files import FEATURE_SUFFIXES, read_features
from ganlib.errors import UserError
from ganlib.paths import escape_text
from ganlib.synth import cond_kind
from studio import directions
from studio.latents import read_latent
from studio.timeline import Keyframe, Timeline
from studio.timeline_model import LATENT_EXTENSIONS
from studio.ui import imaging, playback, state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.models import MODEL_EXTENSIONS, safe_name
from studio.ui.settings import bounds, choices
from studio.seeds import MAX_SEED
from studio.ui.tabs.timeline import TimelineView, summary

LATENT_AUTO = "auto"  # the latent-space choice meaning "as the file says" (no latent_space in the keyframe)


@dataclass
class ExploreTab:
    """The Explore tab's components that other tabs read or that :func:`connect` wires."""

    model: Any        # the model picker (also a timeline setting)
    psi: Any          # the gallery's truncation slider
    gallery: Any
    page_seeds: Any   # gr.State: the seeds on the gallery page shown
    page_images: Any  # gr.State: their images (to re-caption the page without rendering it again)
    page_marks: Any   # gr.State: the seeds of the page marked ★ (on the timeline) when it was last shown
    seed: Any
    add_button: Any
    latent_upload: Any
    latent_space: Any  # "auto", "z" or "w": what an uploaded latent file holds
    status: Any
    class_pick: Any   # class picker (label-conditioned models)
    features: Any     # feature box (feature-conditioned models)
    click_adds: Any   # checkbox: a gallery click also adds the seed as a keyframe
    large: Any        # the larger preview of the clicked seed


def condition_inputs(model) -> tuple:
    """Updates for a class picker and a feature box showing what ``model`` is conditioned on (the other hidden)."""
    kind = cond_kind(model.G) if model is not None else "none"
    classes = imaging.class_choices(model) if kind == "label" else []
    feature_info = f"{model.G.c_dim} numbers, commas between; empty: zeros" if kind == "features" else None
    return (gr.update(choices=classes or [("class 0", 0)], value=0, visible=kind == "label"),
            gr.update(value="", visible=kind == "features", info=feature_info))


def model_problems(ctx: Studio) -> str:
    """Markdown listing the offered models that cannot be loaded, each with its reason ("" when none)."""
    rows = ctx.catalog.problems()
    if not rows:
        return ""
    lines = "\n".join(f"- **{escape_text(name)}**: {escape_text(why)}" for name, why in rows)
    return f"<small>Models that cannot be loaded:\n\n{lines}</small>"


def timeline_seeds(tl: Timeline | None) -> set[int]:
    """The seeds the timeline's keyframes show."""
    return {kf.seed for kf in (tl.keyframes if tl is not None else []) if kf.seed is not None}


def build(ctx: Studio, app: gr.Blocks) -> ExploreTab:
    """Lay out the Explore tab (inside the current ``gr.Tab``) and wire the model picker and gallery paging;
    ``app`` is the Blocks, whose page load shows the first gallery page. Returns the :class:`ExploreTab`."""
    default_model = ctx.catalog.default_spec()
    page_seeds, page_images, page_marks = gr.State([]), gr.State([]), gr.State([])
    with gr.Row(elem_classes="compact-row"):
        model_dd = gr.Dropdown(ctx.catalog.choices(), value=default_model, label="Model", scale=4,
                               elem_id="model-picker",
                               info="built-in models, files in the models folder, or your upload")
        refresh_btn = gr.Button("↻ Refresh list", scale=1)
        upload = gr.UploadButton("Upload a checkpoint…", file_count="single", scale=2,
                                 file_types=list(MODEL_EXTENSIONS))
    model_info = gr.Markdown()
    problems = gr.Markdown(model_problems(ctx), elem_id="model-problems")
    with gr.Row(elem_classes="compact-row"):
        class_dd = gr.Dropdown([("class 0", 0)], value=0, label="Class", visible=False, allow_custom_value=True,
                               scale=2,
                               elem_id="class-picker", info="the class the gallery and new keyframes show")
        features = gr.Textbox("", label="Features", visible=False, scale=4, elem_id="feature-input",
                              info="the feature vector the gallery and new keyframes show")
        features_row = gr.Number(0, label="Row", precision=0, minimum=0, visible=False, scale=1, min_width=80)
        features_up = gr.UploadButton("Features from a file…", file_types=list(FEATURE_SUFFIXES), visible=False,
                                      scale=2)
    lo, hi = bounds("truncation")
    with gr.Row(elem_classes="compact-row"):
        g_psi = gr.Slider(lo, hi, value=state.START_TRUNCATION, step=0.05, label="Truncation ψ", scale=3,
                          info="lower: closer to the average image, higher: more variety")
        prev_btn = gr.Button("◀ Previous", scale=1)
        page = gr.Number(0, label="Page", precision=0, minimum=0, scale=1)
        next_btn = gr.Button("Next ▶", scale=1)
        jump = gr.Number(None, label="Go to seed", precision=0, minimum=0, scale=1, elem_id="jump-seed")
        jump_btn = gr.Button("Go", scale=1)
    with gr.Row():
        gallery = gr.Gallery(label="Seeds (★ on the timeline): click an image to see it larger", columns=8, rows=2,
                             height="auto", object_fit="contain", allow_preview=False, format="png",
                             elem_id="seed-gallery", buttons=[], scale=3)
        large = gr.Image(label="Clicked seed", type="numpy", format="png", interactive=False, height=320,
                         elem_id="seed-large", buttons=["download"], scale=1)
    with gr.Row(elem_classes="compact-row"):
        add_seed = gr.Number(0, label="Seed", precision=0, minimum=0, scale=2)
        add_btn = gr.Button("Add seed as keyframe", variant="secondary", scale=2)
        click_adds = gr.Checkbox(True, label="A click adds a keyframe", scale=1, min_width=120)
        latent_space = gr.Dropdown([LATENT_AUTO, *choices("latent_space", Keyframe)], value=LATENT_AUTO,
                                   label="The latent file holds", info="auto: as its shape or .npz key says",
                                   scale=1, min_width=120)
        latent_up = gr.UploadButton("Add a latent file (.npy/.npz)…", file_types=list(LATENT_EXTENSIONS), scale=2)
    status = gr.Markdown()

    @user_errors
    def show_gallery(spec, page_no, psi, class_idx=0, feature_text="", tl=None):
        model = ctx.load_model(spec)
        seeds = imaging.page_seeds(int(page_no or 0))
        pairs = imaging.seed_gallery(model, seeds, psi, class_idx=class_idx, features=feature_text)
        images = [img for img, _ in pairs]
        marked = sorted(timeline_seeds(tl) & set(seeds))
        return imaging.mark_seeds(images, seeds, marked), seeds, images, marked

    @user_errors
    def first_page(spec, page_no, psi, class_idx=0, feature_text="", tl=None):
        """The gallery after a model is picked: empty (no toast) when the model cannot be loaded, which the model's
        summary and the list of unloadable models already say."""
        try:
            ctx.load_model(spec)
        except UserError:
            return [], [], [], []
        return show_gallery(spec, page_no, psi, class_idx, feature_text, tl)

    @user_errors
    def step_gallery(spec, page_no, psi, class_idx=0, feature_text="", tl=None, delta=0):
        p = max(0, int(page_no or 0) + delta)
        return (p, *show_gallery(spec, p, psi, class_idx, feature_text, tl))

    @user_errors
    def jump_to_seed(spec, seed, psi, class_idx=0, feature_text="", tl=None):
        if seed is None:
            raise UserError("enter a seed to go to", field="seed")
        seed = int(seed)
        if not 0 <= seed <= MAX_SEED:
            raise UserError(f"a seed is a whole number 0..{MAX_SEED} (got {seed})", field="seed")
        p = seed // imaging.PER_PAGE
        return (p, *show_gallery(spec, p, psi, class_idx, feature_text, tl), seed)

    def select_model(spec):
        """The model's summary; a model that cannot be loaded is reported here (and listed), never raised."""
        if not spec:
            return "No model yet: put checkpoints in the models folder (`--models-dir`) or upload one."
        try:
            return imaging.model_summary(ctx.load_model(spec))
        except UserError as err:
            return f"⚠️ cannot load this model: {escape_text(err.message)}"

    def model_inputs(spec):
        """The class picker, feature box and feature file inputs for model ``spec`` (hidden where they do not
        apply), and the list of models that cannot be loaded."""
        try:
            model = ctx.load_model(spec) if spec else None
        except UserError:
            model = None
        feature_model = model is not None and cond_kind(model.G) == "features"
        return (*condition_inputs(model), gr.update(visible=feature_model), gr.update(visible=feature_model),
                model_problems(ctx))

    select_model, model_inputs = user_errors(select_model), user_errors(model_inputs)

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

    @user_errors
    def load_features(spec, file, row):
        if not file:
            raise UserError("choose a .npy, .csv or HDF5 features file", field="features")
        model = ctx.load_model(spec)
        if cond_kind(model.G) != "features":
            raise UserError("this model is not conditioned on feature vectors", field="features")
        path = Path(file if isinstance(file, str) else file.name)
        rows = read_features(path, int(model.G.c_dim), field="features")
        r = int(row or 0)
        if not 0 <= r < len(rows):
            raise UserError(f"{path.name} has {len(rows)} rows (0..{len(rows) - 1}); row {r} does not exist",
                            field="row")
        return imaging.format_features(rows[r])

    cond = [class_dd, features]
    gallery_io = dict(inputs=[model_dd, page, g_psi, *cond, ctx.timeline],
                      outputs=[gallery, page_seeds, page_images, page_marks])
    step_io = dict(inputs=[model_dd, page, g_psi, *cond, ctx.timeline],
                   outputs=[page, gallery, page_seeds, page_images, page_marks])
    inputs_io = dict(fn=model_inputs, inputs=model_dd, api_name=False,
                     outputs=[class_dd, features, features_row, features_up, problems])
    model_dd.change(select_model, model_dd, model_info, api_name="select_model").then(**inputs_io).then(
        first_page, **gallery_io, api_name=False)
    refresh_btn.click(refresh_models, model_dd, model_dd, api_name="refresh_models").then(
        lambda: model_problems(ctx), None, problems, api_name=False)
    upload.upload(upload_model, upload, [model_dd, model_info], api_name="upload_model")
    g_psi.release(show_gallery, **gallery_io, api_name="gallery")
    page.submit(show_gallery, **gallery_io, api_name=False)
    class_dd.input(show_gallery, **gallery_io, api_name=False)
    features.submit(show_gallery, **gallery_io, api_name=False)
    features_up.upload(load_features, [model_dd, features_up, features_row], features, api_name="load_features").then(
        show_gallery, **gallery_io, api_name=False)
    prev_btn.click(functools.partial(step_gallery, delta=-1), **step_io, api_name="gallery_prev")
    next_btn.click(functools.partial(step_gallery, delta=1), **step_io, api_name="gallery_next")
    jump_io = dict(inputs=[model_dd, jump, g_psi, *cond, ctx.timeline],
                   outputs=[page, gallery, page_seeds, page_images, page_marks, add_seed])
    jump_btn.click(jump_to_seed, **jump_io, api_name="jump_to_seed")
    jump.submit(jump_to_seed, **jump_io, api_name=False)
    app.load(select_model, model_dd, model_info, api_name=False).then(**inputs_io).then(
        first_page, **gallery_io, api_name=False)
    return ExploreTab(model=model_dd, psi=g_psi, gallery=gallery, page_seeds=page_seeds, page_images=page_images,
                      page_marks=page_marks,
                      seed=add_seed, add_button=add_btn, latent_upload=latent_up, latent_space=latent_space,
                      status=status, class_pick=class_dd, features=features, click_adds=click_adds, large=large)


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
    session's Timeline, showing the result in ``view`` (the Timeline tab) and the tab's status line; re-mark the
    gallery's seeds and show or hide the Timeline tab's SeFa sliders whenever the Timeline changes."""
    show = view.show

    def add(tl: Timeline, kf_psi, *, seed=None, latent=None, latent_space=None, class_idx=None,
            feature_text=None) -> tuple:
        psi = float(kf_psi) if kf_psi is not None else None
        if psi is not None and abs(psi - float(tl.truncation)) < 1e-9:
            psi = None  # the timeline's own truncation: let the keyframe follow it
        fields = imaging.condition_fields(ctx.load_model(tl.model), class_idx, feature_text) if tl.model else {}
        tl, i = state.add_keyframe(tl, seed=seed, latent=latent, latent_space=latent_space, truncation=psi,
                                   fields=fields)
        if latent is not None:  # a latent file is checked against the model at once (its shape, its space)
            playback.check_keyframe(tl, ctx.load_model(tl.model), i)
        what = f"seed {seed}" if seed is not None else f"latent {Path(latent).name}"
        msg = f"Added {what} at {state.keyframe_time(tl, i):g} s — {summary(tl)}. Open the Timeline tab to edit " \
              f"and preview."
        return (*show(tl, i, msg), msg)

    @user_errors
    def add_keyframe(tl, seed, keyframe_truncation, class_idx=0, feature_text=""):
        if seed is None:
            raise UserError("enter a seed to add", field="seed")
        return add(tl, keyframe_truncation, seed=int(seed), class_idx=class_idx, feature_text=feature_text)

    @user_errors
    def gallery_pick(tl, seeds, images, kf_psi, click_adds, class_idx, feature_text, evt: gr.SelectData):
        if evt is None or evt.index is None or not seeds:
            raise gr.Error("click an image of the gallery")
        index = int(evt.index if isinstance(evt.index, int) else evt.index[0])
        seed = int(seeds[index])
        large = imaging.enlarge(images[index]) if index < len(images) else None
        if not click_adds:
            msg = f"Seed {seed}: “Add seed as keyframe” puts it on the timeline."
            return (tl, *(gr.update() for _ in view.outputs[1:]), msg, large, seed)
        return (*add(tl, kf_psi, seed=seed, class_idx=class_idx, feature_text=feature_text), large, seed)

    @user_errors
    def add_latent(tl, file, latent_space=LATENT_AUTO):
        if not file:
            return (*show(tl, -1, ""), "")
        return add(tl, None, latent=str(keep_latent(ctx, file)),
                   latent_space=None if latent_space in (None, LATENT_AUTO) else latent_space)

    def timeline_changed(tl, seeds, images, marks):
        """The gallery's captions for the seeds on the timeline now (sent again only when a mark changed), and the
        SeFa sliders shown where they work."""
        try:
            reason = directions.slider_support(ctx.load_model(tl.model).G, tl.space) if tl.model else "no model"
        except UserError as err:
            reason = err.message
        now = sorted(timeline_seeds(tl) & set(seeds or []))
        gallery = imaging.mark_seeds(images, seeds, now) if images and now != list(marks or []) else gr.update()
        return gallery, now, gr.update(visible=reason is None)

    outputs = view.outputs + [tab.status]
    cond = [tab.class_pick, tab.features]
    tab.add_button.click(add_keyframe, [ctx.timeline, tab.seed, tab.psi, *cond], outputs, api_name="add_keyframe",
                         **EDIT).then(**view.preview)
    tab.gallery.select(gallery_pick, [ctx.timeline, tab.page_seeds, tab.page_images, tab.psi, tab.click_adds, *cond],
                       outputs + [tab.large, tab.seed], api_visibility="private", **EDIT).then(**view.preview)
    tab.latent_upload.upload(add_latent, [ctx.timeline, tab.latent_upload, tab.latent_space], outputs,
                             api_name="add_latent", **EDIT).then(**view.preview)
    ctx.timeline.change(timeline_changed, [ctx.timeline, tab.page_seeds, tab.page_images, tab.page_marks],
                        [tab.gallery, tab.page_marks, view.directions], api_name="timeline_changed", show_progress="hidden")
