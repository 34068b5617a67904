"""The Latent tab: a latent explorer for every model (DCGAN, cGAN, feature models, StyleGAN).

One slider per latent dimension, paged (:data:`PER_PAGE` at a time), each an *offset* added to that dimension of the
chosen seed's latent: z, or w when the timeline interpolates in w (``space: w``) and the model has a w space, the
keyframe field ``dims: {index: offset}`` the renderer applies. A class picker (label models, names from the
checkpoint's provenance) and a feature box (feature models) condition it. "Record keyframe" appends what the sliders
show to the session's timeline as a keyframe (and with "record every move" each slider release does), so the
traversal renders as a GIF/MP4 from the Render tab like any timeline. The preview is drawn by
:func:`studio.ui.imaging.keyframe_preview`: the frame ``studio render`` draws for that keyframe.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ganlib.checkpoints import LoadedModel
from ganlib.errors import UserError
from ganlib.paths import escape_text
from ganlib.synth import has_w_space
from studio.timeline import Timeline
from studio.ui import imaging, state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.tabs.explore import condition_inputs
from studio.ui.tabs.timeline import TimelineView, _signature, summary

PER_PAGE = 16        # sliders on one page
DIM_LIMIT = 4.0      # slider range: ± this offset (z is N(0, 1))
DEFAULT_SEED = 0
SLOTS = [f"dim{k}" for k in range(PER_PAGE)]  # API names of the sliders (the k-th slider of the page shown)


@dataclass
class Explorer:
    """Which latent the sliders move for one model and timeline: ``space`` 'z' or 'w' and its ``size``."""

    space: str
    size: int

    @property
    def pages(self) -> int:
        """How many slider pages the latent needs."""
        return max(1, math.ceil(self.size / PER_PAGE))

    def page_dims(self, page: Any) -> list[int]:
        """The latent indices on slider page ``page`` (clamped to the pages there are)."""
        p = self.clamp(page)
        return list(range(p * PER_PAGE, min(self.size, (p + 1) * PER_PAGE)))

    def clamp(self, page: Any) -> int:
        """``page`` as a valid page number."""
        return min(max(0, int(page or 0)), self.pages - 1)


def explorer_for(tl: Timeline, model: LoadedModel) -> Explorer:
    """The latent the sliders move: w (w_dim values) when ``tl`` interpolates in w and the model has a w space,
    else z (z_dim values)."""
    G = model.G
    if has_w_space(G) and tl.space == "w":
        return Explorer("w", int(G.w_dim))
    return Explorer("z", int(G.z_dim))


def clean_dims(offsets: dict | None, size: int) -> dict[int, float]:
    """The non-zero offsets of ``offsets`` (index → value; string keys from the browser) below ``size``, rounded
    to 4 decimals, by index."""
    out = {}
    for key, value in (offsets or {}).items():
        i = int(key)
        if 0 <= i < size and value is not None and round(float(value), 4) != 0:
            out[i] = round(float(value), 4)
    return dict(sorted(out.items()))


def keyframe_fields(model: LoadedModel, explorer: Explorer, seed: Any, offsets: dict | None, class_idx: Any,
                    feature_text: str | None) -> dict:
    """Plain keyframe data for what the explorer shows: ``seed``, ``dims`` (when any offset is set) and the
    condition (``label`` or ``features``). UserError for a missing seed or a bad class or feature vector."""
    if seed is None:
        raise state.StateError("enter a seed to explore", field="seed")
    fields: dict[str, Any] = {"seed": state.whole_number(seed)}
    dims = clean_dims(offsets, explorer.size)
    if dims:
        fields["dims"] = dims
    fields.update(imaging.condition_fields(model, class_idx, feature_text))
    return fields


def slider_updates(explorer: Explorer, offsets: dict | None, page: Any) -> list:
    """Updates for the :data:`PER_PAGE` sliders showing page ``page``: label "z 17", value, hidden past the end."""
    dims = explorer.page_dims(page)
    offsets = clean_dims(offsets, explorer.size)
    out = []
    for k in range(PER_PAGE):
        if k < len(dims):
            out.append(gr.update(label=f"{explorer.space} {dims[k]}", value=offsets.get(dims[k], 0.0), visible=True))
        else:
            out.append(gr.update(visible=False, value=0.0))
    return out


def page_text(explorer: Explorer, page: Any) -> str:
    """The line naming the dimensions shown: "z 16–31 of 128 (page 2 of 8)"."""
    dims = explorer.page_dims(page)
    return (f"{explorer.space} {dims[0]}–{dims[-1]} of {explorer.size} (page {explorer.clamp(page) + 1} of "
            f"{explorer.pages})")


def initial_explorer(ctx: Studio) -> Explorer:
    """The explorer of the studio's default model and a new timeline (z, 16 values when it cannot be loaded): how
    the sliders start before a model is picked."""
    try:
        return explorer_for(ctx.timeline.value, ctx.load_model(ctx.catalog.default_spec()))
    except Exception:  # noqa: BLE001 - a broken default model is reported by the Explore tab, not here
        return Explorer("z", PER_PAGE)


def build(ctx: Studio, model_picker: Any, view: TimelineView) -> None:
    """Lay out the Latent tab (inside the current ``gr.Tab``) and wire it: ``model_picker`` is the Explore tab's
    model dropdown, ``view`` the Timeline tab through which recorded keyframes are shown."""
    offsets, shown_for = gr.State({}), gr.State("")  # the offsets; the model and space the sliders are set up for
    start = initial_explorer(ctx)
    info = gr.Markdown("Pick a model in the Explore tab; the sliders follow it.")
    with gr.Row(elem_classes="compact-row"):
        seed = gr.Number(DEFAULT_SEED, label="Seed", precision=0, minimum=0, scale=1, elem_id="latent-seed")
        class_dd = gr.Dropdown([("class 0", 0)], value=0, label="Class", visible=False, allow_custom_value=True,
                               scale=2, elem_id="latent-class")
        features = gr.Textbox("", label="Features", visible=False, scale=4, elem_id="latent-features")
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row(elem_classes="compact-row"):
                prev_btn = gr.Button("◀ Dimensions", size="sm", scale=1)
                page = gr.Number(0, label="Page", precision=0, minimum=0, scale=1, min_width=80)
                next_btn = gr.Button("Dimensions ▶", size="sm", scale=1)
                page_info = gr.Markdown(page_text(start, 0))
            sliders = []
            with gr.Row():
                for half in range(2):
                    with gr.Column(min_width=200):
                        sliders += [gr.Slider(-DIM_LIMIT, DIM_LIMIT, value=0.0, step=0.05,
                                              label=f"{start.space} {k}", visible=k < start.size,
                                              elem_id=f"latent-dim-{k}")
                                    for k in range(half * PER_PAGE // 2, (half + 1) * PER_PAGE // 2)]
        with gr.Column(scale=2):
            preview = gr.Image(label="Latent preview", type="numpy", format="png", interactive=False, height=360,
                               elem_id="latent-preview", buttons=["download"])
            caption = gr.Markdown()
    with gr.Row(elem_classes="compact-row"):
        preview_btn = gr.Button("Preview", size="sm")
        reset_btn = gr.Button("Reset sliders", size="sm")
        record_btn = gr.Button("● Record keyframe", variant="primary", size="sm", elem_id="latent-record")
        record_moves = gr.Checkbox(False, label="Record every slider move", min_width=160)
        spacing = gr.Number(state.DEFAULT_SPACING, label="Seconds between recorded keyframes", minimum=0.05,
                            min_width=160)
    status = gr.Markdown()

    def current(tl: Timeline, spec: Any) -> tuple[LoadedModel, Explorer]:
        model = ctx.load_model(spec or tl.model)
        return model, explorer_for(tl, model)

    def picture(tl, model, explorer, seed_no, values, class_idx, feature_text) -> tuple:
        t0 = time.perf_counter()
        fields = keyframe_fields(model, explorer, seed_no, values, class_idx, feature_text)
        img = imaging.keyframe_preview(tl, model, fields)
        dims = fields.get("dims") or {}
        moved = ", ".join(f"{explorer.space}[{i}] {v:+g}" for i, v in list(dims.items())[:6])
        more = f" (+{len(dims) - 6} more)" if len(dims) > 6 else ""
        return img, (f"seed **{fields['seed']}** · {moved or 'no offsets'}{more} · {img.shape[1]}×{img.shape[0]} px "
                     f"· {(time.perf_counter() - t0) * 1000:.0f} ms")

    def record(tl, model, explorer, seed_no, values, class_idx, feature_text, gap) -> tuple:
        fields = keyframe_fields(model, explorer, seed_no, values, class_idx, feature_text)
        gap = float(gap) if gap else state.DEFAULT_SPACING
        tl, i = state.add_keyframe(tl, seed=fields.pop("seed"), spacing=gap, fields=fields)
        msg = f"Recorded keyframe {i} at {state.keyframe_time(tl, i):g} s — {summary(tl)}; render it in the " \
              f"Render tab."
        return view.show(tl, i, msg)

    @user_errors
    def setup(tl, spec, key, values, page_no, seed_no, class_idx, feature_text):
        """Configure the sliders for the model and the timeline's space (offsets beyond the latent dropped); nothing
        changes while both stay what they were (``key``)."""
        n_out = len(setup_io["outputs"])
        try:
            model, explorer = current(tl, spec)
        except UserError as err:  # the Explore tab lists the model with its reason; no toast on every edit
            return (f"⚠️ cannot load this model: {escape_text(err.message)}",) + (gr.update(),) * (n_out - 2) + ("",)
        new_key = f"{spec or tl.model}|{explorer.space}|{explorer.size}"
        if new_key == key:
            return (gr.update(),) * (n_out - 1) + (key,)
        values = clean_dims(values, explorer.size)
        p = explorer.clamp(page_no)
        where = "w (the timeline interpolates in w)" if explorer.space == "w" else "z"
        text = (f"{imaging.model_summary(model)}  \nThe sliders offset single dimensions of the seed's {where}; "
                f"**record** stores them as keyframes (`dims:`).")
        cls_update, feat_update = condition_inputs(model)
        img, cap = picture(tl, model, explorer, seed_no, values, class_idx if cls_update["visible"] else None,
                           feature_text if feat_update["visible"] else "")
        return (text, cls_update, feat_update, values, p, page_text(explorer, p), *slider_updates(explorer, values, p),
                img, cap, new_key)

    @user_errors
    def turn_page(tl, spec, values, page_no, delta=0):
        _, explorer = current(tl, spec)
        p = explorer.clamp(int(page_no or 0) + delta)
        return (p, page_text(explorer, p), *slider_updates(explorer, values, p))

    @user_errors
    def move(tl, spec, values, page_no, seed_no, class_idx, feature_text, record_each, gap, *slots):
        """Store the page's slider values as offsets, preview them, and with ``record_each`` record a keyframe."""
        model, explorer = current(tl, spec)
        values = dict(clean_dims(values, explorer.size))
        for index, value in zip(explorer.page_dims(page_no), slots):
            values[index] = float(value or 0.0)
        values = clean_dims(values, explorer.size)
        img, cap = picture(tl, model, explorer, seed_no, values, class_idx, feature_text)
        shown = record(tl, model, explorer, seed_no, values, class_idx, feature_text, gap) if record_each else \
            (tl, *(gr.update() for _ in view.outputs[1:]))
        return (values, img, cap, *shown, shown[-1] if record_each else gr.update())

    move.__signature__ = _signature(["tl", "spec", "offsets", "page", "seed", "class_idx", "features",  # type: ignore
                                     "record_each", "spacing", *SLOTS])

    @user_errors
    def show_preview(tl, spec, values, seed_no, class_idx, feature_text):
        model, explorer = current(tl, spec)
        return picture(tl, model, explorer, seed_no, values, class_idx, feature_text)

    @user_errors
    def record_now(tl, spec, values, seed_no, class_idx, feature_text, gap):
        model, explorer = current(tl, spec)
        shown = record(tl, model, explorer, seed_no, values, class_idx, feature_text, gap)
        return (*shown, shown[-1])

    @user_errors
    def reset(tl, spec, page_no, seed_no, class_idx, feature_text):
        model, explorer = current(tl, spec)
        img, cap = picture(tl, model, explorer, seed_no, {}, class_idx, feature_text)
        return ({}, *slider_updates(explorer, {}, page_no), img, cap)

    cond = [class_dd, features]
    setup_io = dict(fn=setup, inputs=[ctx.timeline, model_picker, shown_for, offsets, page, seed, *cond],
                    outputs=[info, class_dd, features, offsets, page, page_info, *sliders, preview, caption, shown_for],
                    show_progress="hidden")
    ctx.timeline.change(**setup_io, api_name="latent_setup")  # a model or space change reaches the timeline
    model_picker.change(**setup_io, api_name=False)
    gr.on([seed.submit, class_dd.input, features.submit, preview_btn.click], show_preview,
          [ctx.timeline, model_picker, offsets, seed, *cond], [preview, caption], api_name="latent_preview")
    page_io = dict(inputs=[ctx.timeline, model_picker, offsets, page], outputs=[page, page_info, *sliders])
    prev_btn.click(functools.partial(turn_page, delta=-1), **page_io, api_name="latent_page_prev")
    next_btn.click(functools.partial(turn_page, delta=1), **page_io, api_name="latent_page_next")
    page.submit(turn_page, **page_io, api_name="latent_page")
    recorded = view.outputs + [status]
    for k, slider in enumerate(sliders):
        slider.release(move, [ctx.timeline, model_picker, offsets, page, seed, *cond, record_moves, spacing, *sliders],
                       [offsets, preview, caption, *recorded], api_name="latent_move" if k == 0 else False,
                       trigger_mode="always_last", **EDIT)
    record_btn.click(record_now, [ctx.timeline, model_picker, offsets, seed, *cond, spacing], recorded,
                     api_name="latent_record", **EDIT)
    reset_btn.click(reset, [ctx.timeline, model_picker, page, seed, *cond],
                    [offsets, *sliders, preview, caption], api_name="latent_reset")
