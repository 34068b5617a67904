"""The Batch tab: a list of seeds becomes a zip of PNGs, with a contact sheet of the first images.

A conditional model's images are of the class chosen in the Explore tab's class picker, or conditioned on the
vector typed in its feature box (one vector for every seed).

The seed list is parsed lazily (:class:`studio.seeds.SeedList`) as it is typed, and the tab says how many images
it means; more than :data:`studio.ui.jobs.MAX_BATCH` are refused with that number before anything is made. A
running batch can be cancelled (its folder is removed).
"""
from __future__ import annotations

from typing import Any

import gradio as gr

import numpy as np

from ganlib.errors import UserError
from studio.seeds import parse_seeds
from studio.ui import state
from studio.ui.context import CONTROL, HEAVY, Studio, session_id, user_errors
from studio.ui.imaging import condition_fields
from studio.ui.jobs import MAX_BATCH
from studio.ui.settings import bounds


def count_text(seeds_text: str) -> str:
    """One line saying how many images ``seeds_text`` means, or why it is refused (too many, or not seeds)."""
    try:
        n = len(parse_seeds(seeds_text or "", option="seeds"))
    except UserError as err:
        return f"⚠️ {err.message}"
    if n > MAX_BATCH:
        return f"⚠️ {n:,} images: the studio makes at most {MAX_BATCH:,} per batch (use `studio random` for more)"
    return f"{n:,} image{'s' if n != 1 else ''}"


def build(ctx: Studio, model_picker: Any, class_pick: Any = None, features: Any = None) -> None:
    """Lay out the Batch tab (inside the current ``gr.Tab``) and wire its ``batch``, ``batch_count`` and
    ``cancel_batch`` events; the images come from the model chosen in ``model_picker`` (the Explore tab's
    dropdown), conditioned by the Explore tab's ``class_pick`` and ``features`` components when given."""
    lo, hi = bounds("truncation")
    with gr.Row(elem_classes="compact-row"):
        seeds_box = gr.Textbox("0-31", label="Seeds", info=f"numbers and ranges, e.g. 0-99 or 1,5,10-20 (at most "
                               f"{MAX_BATCH} images)", scale=3, elem_id="batch-seeds")
        psi_slider = gr.Slider(lo, hi, value=state.START_TRUNCATION, step=0.05, label="Truncation ψ", scale=3)
        batch_btn = gr.Button("Make zip of images", variant="primary", scale=2)
        cancel_btn = gr.Button("Cancel", variant="stop", scale=1, interactive=False)
    count = gr.Markdown(count_text("0-31"), elem_id="batch-count")
    with gr.Row():
        sheet_img = gr.Image(label="First images", type="numpy", format="png", interactive=False, scale=3,
                             height=420, buttons=["download"])
        with gr.Column(scale=2):
            zip_file = gr.File(label="Zip of PNGs", interactive=False)
            status = gr.Markdown()

    @user_errors
    def batch(spec, seeds_text, psi, class_idx=None, feature_text="", request: gr.Request = None,
              progress=gr.Progress()):
        seeds = parse_seeds(seeds_text or "", option="seeds")
        model = ctx.load_model(spec)

        def on_progress(done: int, total: int) -> None:
            progress((done, total), desc="Images", unit="images")

        cond = condition_fields(model, class_idx, feature_text)  # {"label": i}, {"features": [...]} or {}
        rows = None if "features" not in cond else np.tile(np.asarray(cond["features"], np.float32), (len(seeds), 1))
        job, sheet = ctx.jobs.batch(model, seeds, truncation=float(psi), class_idx=cond.get("label"), features=rows,
                                    on_progress=on_progress, session=session_id(request))
        if job.status == "cancelled":
            return None, None, job.cancelled_line()
        return str(job.output), sheet, f"**{job.output.name}**: {len(seeds)} PNGs in {job.seconds:.1f} s · job " \
                                       f"`{job.id}`"

    def cancel(request: gr.Request):
        return ctx.cancel(request)

    seeds_box.change(count_text, seeds_box, count, api_name="batch_count", **CONTROL)
    batch_btn.click(lambda: (gr.update(interactive=False), gr.update(interactive=True)), None,
                    [batch_btn, cancel_btn], queue=False) \
        .then(batch, [model_picker, seeds_box, psi_slider] + [c for c in (class_pick, features) if c is not None],
              [zip_file, sheet_img, status], api_name="batch",
              show_progress_on=[status], **HEAVY) \
        .then(lambda: (gr.update(interactive=True), gr.update(interactive=False)), None, [batch_btn, cancel_btn],
              queue=False)
    cancel_btn.click(cancel, None, status, api_name="cancel_batch", **CONTROL)
