"""The Batch tab: a list of seeds becomes a zip of PNGs, with a contact sheet of the first images."""
from __future__ import annotations

from typing import Any

import gradio as gr

from ganlib.synth import cond_kind
from studio.seeds import parse_seeds
from studio.ui import state
from studio.ui.context import HEAVY, Studio, user_errors
from studio.ui.settings import bounds


def build(ctx: Studio, model_picker: Any) -> None:
    """Lay out the Batch tab (inside the current ``gr.Tab``) and wire its ``batch`` event; the images come from the
    model chosen in ``model_picker`` (the Explore tab's dropdown)."""
    lo, hi = bounds("truncation")
    with gr.Row(elem_classes="compact-row"):
        seeds_box = gr.Textbox("0-31", label="Seeds", info="numbers and ranges, e.g. 0-99 or 1,5,10-20", scale=3)
        psi_slider = gr.Slider(lo, hi, value=state.START_TRUNCATION, step=0.05, label="Truncation ψ", scale=3)
        batch_btn = gr.Button("Make zip of images", variant="primary", scale=2)
    with gr.Row():
        sheet_img = gr.Image(label="First images", type="numpy", format="png", interactive=False, scale=3,
                             height=420, buttons=["download"])
        with gr.Column(scale=2):
            zip_file = gr.File(label="Zip of PNGs", interactive=False)
            status = gr.Markdown()

    @user_errors
    def batch(spec, seeds_text, psi, progress=gr.Progress()):
        seeds = parse_seeds(seeds_text or "", option="seeds")
        model = ctx.load_model(spec)

        def on_progress(done: int, total: int) -> None:
            progress((done, total), desc="Images", unit="images")

        class_idx = 0 if cond_kind(model.G) == "label" else None  # class 0 of a class-conditional model
        job, sheet = ctx.jobs.batch(model, seeds, truncation=float(psi), class_idx=class_idx, on_progress=on_progress)
        return str(job.output), sheet, f"**{job.output.name}**: {len(seeds)} PNGs in {job.seconds:.1f} s · job " \
                                       f"`{job.id}`"

    batch_btn.click(batch, [model_picker, seeds_box, psi_slider], [zip_file, sheet_img, status], api_name="batch",
                    **HEAVY)
