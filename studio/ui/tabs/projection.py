"""Explore's "Your own picture" panel: upload a photo, project it into the model's latent space with a progress bar
and a live preview of the current estimate, then add the projection as a keyframe.

The work is :func:`projection_updates` (a plain generator, also what the tests drive): the photo is fitted to the
model (centre crop, resize), :func:`ganlib.projection.project` runs in a worker thread, every preview frame it
reports is yielded, and the result is written with :func:`studio.projection.write_npz` into the studio's latent
folder (so a timeline may name it) as ``projection-<digest>.npz``.
"""
from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import gradio as gr
import numpy as np

from ganlib.errors import UserError
from ganlib.projection import fit_to_model, make_config, project, side_by_side
from ganlib.synth import has_w_space
from studio.projection import write_npz
from studio.ui import imaging, state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.tabs.timeline import TimelineView, summary

PROJECTION = dict(concurrency_id="projection", concurrency_limit=1)  # one projection at a time per studio
PREVIEW_EVERY = 10  # steps between live previews


@dataclass
class ProjectionPanel:
    """The panel's components that :func:`connect` wires."""

    image: Any
    steps: Any
    space: Any
    run: Any
    preview: Any
    status: Any
    result: Any      # gr.State: the path of the last projection's .npz (or None)
    add: Any


def projection_updates(ctx: Studio, spec: str, photo: np.ndarray | None, steps: int, space: str,
                       seed: int = 0) -> Iterator[tuple[np.ndarray, str, str | None, float]]:
    """Project ``photo`` (uint8 H×W×C from the upload) into the model ``spec`` with ``steps`` steps in ``space``
    ("w" or "w+"; z for models without a w space); yield (target | current estimate, status text, None, fraction
    done) while it runs and finally (target | projection, summary, path of the written .npz, 1.0). Raises
    UserError for no photo or an unknown model."""
    if photo is None:
        raise UserError("upload a photo first", field="photo")
    G = ctx.load_model(spec).G
    target, note = fit_to_model(np.asarray(photo, dtype=np.uint8), int(G.img_resolution), int(G.img_channels))
    cfg = make_config(steps=int(steps), space=space if has_w_space(G) else None, seed=int(seed),
                      frame_every=PREVIEW_EVERY)
    frames: queue.Queue = queue.Queue()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = project(G, target, cfg, progress=False,
                                    on_frame=lambda step, loss, f: frames.put((step, loss, f)))
        except BaseException as exc:  # handed to the generator, raised there
            box["error"] = exc
        finally:
            frames.put(None)

    threading.Thread(target=work, name="projection", daemon=True).start()
    while (item := frames.get()) is not None:
        step, loss, frame = item
        text = f"step {step}/{cfg.steps} · loss {loss:.4f} · {note}"
        yield imaging.displayable(side_by_side(target, frame)), text, None, step / cfg.steps
    if "error" in box:
        raise box["error"]
    proj = box["result"]
    digest = hashlib.sha256(proj.latent.tobytes()).hexdigest()[:16]
    ctx.latent_dir.mkdir(parents=True, exist_ok=True)
    path = write_npz(proj, ctx.latent_dir / f"projection-{digest}.npz", note)
    what = " · ".join(proj.notes + [note])
    text = (f"Projected into {proj.space}: PSNR {proj.losses['psnr']:.1f} dB after {cfg.steps} steps ({what}). "
            f"Add it as a keyframe.")
    yield imaging.displayable(side_by_side(target, proj.image)), text, str(path), 1.0


def build(ctx: Studio) -> ProjectionPanel:
    """Lay out the panel (inside the current tab) and wire the projection itself (``project_photo``)."""
    with gr.Accordion("Your own picture → keyframe", open=False):
        with gr.Row(elem_classes="compact-row"):
            image = gr.Image(type="numpy", image_mode="RGB", label="Photo (centre-cropped and resized to the model)",
                             sources=["upload"], height=220, scale=2)
            preview = gr.Image(type="numpy", label="Target | current estimate", interactive=False, height=220,
                               format="png", scale=2, elem_id="projection-preview")
        with gr.Row(elem_classes="compact-row"):
            steps = gr.Slider(10, 1000, value=make_config().steps, step=10, label="Steps", scale=3)
            space = gr.Radio(["w+", "w"], value=make_config().space, label="Space", scale=1,
                             info="w+: one w per layer (closer); w: one for all layers")
            run = gr.Button("Project", variant="primary", scale=1)
            add = gr.Button("Add as keyframe", scale=1)
        status = gr.Markdown()
        result = gr.State(None)
    return ProjectionPanel(image=image, steps=steps, space=space, run=run, preview=preview, status=status,
                           result=result, add=add)


def connect(ctx: Studio, panel: ProjectionPanel, model: Any, view: TimelineView) -> None:
    """Wire "Project" (``project_photo``: progress bar + live preview) and "Add as keyframe"
    (``add_projection``, which appends the last projection to the session's Timeline shown in ``view``)."""

    def project_photo(spec, photo, steps, space, progress=gr.Progress()):
        try:
            for frame, text, path, done in projection_updates(ctx, spec, photo, steps, space):
                progress(done, desc="Projecting")
                yield frame, text, path
        except UserError as err:
            raise gr.Error(str(err), print_exception=False) from None

    @user_errors
    def add_projection(tl, path):
        if not path or not Path(path).is_file():
            raise UserError("project a photo first", field="photo")
        tl, i = state.add_keyframe(tl, latent=str(path))
        msg = f"Added the projection at {state.keyframe_time(tl, i):g} s — {summary(tl)}."
        return (*view.show(tl, i, msg), msg)

    panel.run.click(project_photo, [model, panel.image, panel.steps, panel.space],
                    [panel.preview, panel.status, panel.result], api_name="project_photo", **PROJECTION)
    panel.add.click(add_projection, [ctx.timeline, panel.result], view.outputs + [panel.status],
                    api_name="add_projection", **EDIT).then(**view.preview)
