"""The Timeline tab: the keyframe table and editor, the direction sliders, the frame preview, the timeline-wide
settings and the YAML panel (save, load, edit in place).

Every handler takes the session's Timeline (a ``studio.timeline.Timeline`` in ``ctx.timeline``) and returns a new
one built by :mod:`studio.ui.state`; the nine settings components feed one handler (``apply_settings``), which
stores them in that Timeline, so no other handler takes them. :func:`build` returns a :class:`TimelineView`, through
which the Explore tab shows the keyframes it adds.
"""
from __future__ import annotations

import functools
import inspect
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ganlib.errors import UserError
from studio.directions import direction_names
from studio.timeline import Keyframe, Timeline
from studio.ui import imaging, state
from studio.ui.tabs import music
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.models import safe_name
from studio.ui.settings import EASES, INTERPOLATIONS, NOISES, SETTINGS, SIZE_CHOICES, SPACES, \
    apply_settings, bounds, default, settings_of

TABLE_HEADERS = ["#", "time (s)", "source", "truncation", "easing", "sliders"]
PSI_MIN, PSI_MAX = bounds("truncation")


@dataclass
class TimelineView:
    """The Timeline tab's components that show a timeline, and how to fill them.

    ``outputs``: [state, table, yaml, scrubber, *editor, status], the outputs of every event that changes the
    timeline (:meth:`show` gives their values); ``preview``: keyword arguments for ``.then(**preview)`` that
    preview the selected keyframe.
    """

    outputs: list
    preview: dict
    directions: Any = None  # the SeFa sliders' panel (hidden by the Explore tab where sliders cannot work)

    @staticmethod
    def show(tl: Timeline, index: int, message: str = "") -> tuple:
        """Values for :attr:`outputs`: the timeline, its table and YAML, the scrubber's range, the editor, a
        status line."""
        if 0 <= index < len(tl.keyframes):
            f = state.keyframe_fields(tl, index)
            own = f["truncation"] is not None
            editor = (index, f["time"], f["seed"], f["latent"], own, f["truncation"] if own else float(tl.truncation),
                      f["ease"], *f["directions"])
        else:
            editor = (-1, 0, None, "", False, float(tl.truncation), default("ease", Keyframe),
                      *([0.0] * state.DIRECTION_COUNT))
        n = state.frame_count(tl)
        return (tl, state.keyframe_rows(tl), state.preview_yaml(tl), gr.update(maximum=max(1, n - 1)), *editor,
                message)


def summary(tl: Timeline) -> str:
    """A status-line summary of ``tl`` such as "3 keyframes · 97 frames"."""
    k = len(tl.keyframes)
    n = state.frame_count(tl) if k else 0
    return f"{k} keyframe{'s' if k != 1 else ''} · {n} frames"


def render_preview(ctx: Studio, tl: Timeline, frame: Any) -> tuple:
    """Render one frame of ``tl`` for the preview: (image, caption, frame index)."""
    tl = ctx.renderable(tl)
    model = ctx.load_model(tl.model)
    t0 = time.perf_counter()
    i = min(max(0, int(frame or 0)), tl.n_frames - 1)
    img = imaging.preview_frame(tl, model, i)
    caption = state.frame_caption(tl, i, img.shape[1], img.shape[0], (time.perf_counter() - t0) * 1000)
    return img, caption, i


def build(ctx: Studio, model_picker: Any) -> TimelineView:
    """Lay out the Timeline tab (inside the current ``gr.Tab``) and wire its events: the keyframe table, editor,
    sliders and preview, the timeline-wide settings (``model_picker`` is the Explore tab's model dropdown, the
    first of them) and the YAML panel. Returns the :class:`TimelineView` the Explore tab shows changes through."""
    start = ctx.timeline.value
    with gr.Row():
        with gr.Column(scale=3):
            table = gr.Dataframe([], headers=TABLE_HEADERS, interactive=False, max_height=260,
                                 label="Keyframes (click a row to edit it)", elem_id="keyframes")
            with gr.Group():
                with gr.Row(elem_classes="compact-row"):
                    sel = gr.Number(-1, label="Keyframe #", precision=0, minimum=-1, min_width=90, elem_id="kf-index")
                    ed_time = gr.Number(0, label="Time (s)", minimum=0, min_width=90)
                    ed_seed = gr.Number(None, label="Seed", precision=0, minimum=0, min_width=110)
                    ed_latent = gr.Textbox("", label="Latent file", interactive=False, min_width=110)
                    ed_ease = gr.Dropdown(EASES, value=default("ease", Keyframe), label="Easing", min_width=110)
                with gr.Row(elem_classes="compact-row"):
                    ed_own = gr.Checkbox(False, label="Own truncation", min_width=120)
                    ed_psi = gr.Slider(PSI_MIN, PSI_MAX, value=start.truncation, step=0.05,
                                       label="Keyframe truncation ψ", scale=3)
                with gr.Row():
                    apply_btn = gr.Button("Apply changes", variant="primary", size="sm")
                    up_btn = gr.Button("▲ Up", size="sm")
                    down_btn = gr.Button("▼ Down", size="sm")
                    del_btn = gr.Button("Delete", variant="stop", size="sm")
            with gr.Accordion("Direction sliders (SeFa: the model's strongest style directions)", open=True,
                              elem_id="sefa-sliders") as directions_panel:
                names = direction_names(state.DIRECTION_COUNT)
                half = len(names) // 2
                sliders = []
                with gr.Row():
                    for column in (names[:half], names[half:]):
                        with gr.Column(min_width=200):
                            sliders += [gr.Slider(-state.DIRECTION_LIMIT, state.DIRECTION_LIMIT, value=0, step=0.1,
                                                  label=name) for name in column]
                reset_btn = gr.Button("Reset sliders", size="sm")
        with gr.Column(scale=2):
            preview = gr.Image(label="Preview", type="numpy", format="png", interactive=False, height=360,
                               elem_id="frame-preview", buttons=["download"])
            scrubber = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="scrubber")
            preview_info = gr.Markdown()
    values = dict(zip(SETTINGS, settings_of(start)))
    with gr.Accordion("Timeline settings", open=True):
        with gr.Row():
            s_fps = gr.Number(values["fps"], label="fps", minimum=bounds("fps")[0], min_width=80)
            s_size = gr.Dropdown(SIZE_CHOICES, value=values["size"], label="Size (px)", allow_custom_value=True,
                                 min_width=110)
            s_dur = gr.Number(values["duration"], label="Length (s, 0 = auto)", minimum=0, min_width=110)
            s_interp = gr.Dropdown(INTERPOLATIONS, value=values["interpolation"], label="Interpolation",
                                   min_width=110)
            s_psi = gr.Slider(PSI_MIN, PSI_MAX, value=values["truncation"], step=0.05, label="Truncation ψ",
                              min_width=180, scale=2)
            s_space = gr.Dropdown(SPACES, value=values["space"], label="Space", min_width=80)
            s_noise = gr.Dropdown(NOISES, value=values["noise"], label="Noise", min_width=100)
            s_loop = gr.Checkbox(values["loop"], label="Loop", min_width=80)
    by_name = dict(model=model_picker, fps=s_fps, size=s_size, duration=s_dur, interpolation=s_interp, loop=s_loop,
                   truncation=s_psi, space=s_space, noise=s_noise)
    settings = [by_name[name] for name in SETTINGS]
    with gr.Accordion("Save / load timeline YAML", open=False):
        with gr.Row(elem_classes="compact-row"):
            save_name = gr.Textbox("timeline", label="File name", scale=2)
            save_btn = gr.Button("Save timeline", variant="primary", scale=1)
            load_file = gr.UploadButton("Load a timeline (.yaml)…", file_types=[".yaml", ".yml"], scale=1)
            save_file = gr.File(label="Saved timeline", interactive=False, scale=3, height=100)
        yaml_code = gr.Code(state.preview_yaml(start), language="yaml", label="Timeline YAML (editable)", lines=12,
                            interactive=True)
        yaml_btn = gr.Button("Use this YAML", size="sm")
    status = gr.Markdown()

    editor = [sel, ed_time, ed_seed, ed_latent, ed_own, ed_psi, ed_ease, *sliders]
    outputs = [ctx.timeline, table, yaml_code, scrubber, *editor, status]
    show = TimelineView.show

    # --- keyframes
    @user_errors
    def select_keyframe(tl, index):
        i = int(index if index is not None else -1)
        if i >= 0:
            state.keyframe_fields(tl, i)  # refuses a keyframe that does not exist
        return show(tl, i, "")

    def table_pick(tl, evt: gr.SelectData):
        if evt is None or evt.index is None:
            return show(tl, -1, "")
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return select_keyframe(tl, int(row))

    @user_errors
    def update_keyframe(tl, index, time_s, seed, own_truncation, keyframe_truncation, ease):
        tl, i = state.update_keyframe(tl, index, time=time_s, seed=seed,
                                      truncation=keyframe_truncation if own_truncation else None,
                                      inherit_truncation=not own_truncation, ease=ease)
        return show(tl, i, f"Keyframe {i} updated — {summary(tl)}")

    @user_errors
    def move(tl, index, delta: int = -1):
        tl, i = state.move_keyframe(tl, index, delta)
        return show(tl, i, f"Keyframe moved to #{i}")

    @user_errors
    def delete_keyframe(tl, index):
        tl, i = state.delete_keyframe(tl, index)
        return show(tl, i, f"Keyframe deleted — {summary(tl)}")

    @user_errors
    def set_directions(tl, index, *amounts):
        tl = state.set_directions(tl, index, list(amounts))
        return tl, state.keyframe_rows(tl), state.preview_yaml(tl)

    # Gradio names a handler's API parameters after its signature: call the amounts after their sliders.
    set_directions.__signature__ = _signature(["tl", "index", *names])  # type: ignore[attr-defined]

    @user_errors
    def reset_directions(tl, index):
        tl = state.set_directions(tl, index, [0.0] * state.DIRECTION_COUNT)
        return show(tl, int(index), "Sliders reset")

    # --- preview
    @user_errors
    def preview_frame(tl, frame):
        img, caption, _ = render_preview(ctx, tl, frame)
        return img, caption

    def preview_keyframe(tl, index):
        """Preview the selected keyframe's frame; problems are shown under the preview, not raised."""
        try:
            if not tl.keyframes or int(index if index is not None else -1) < 0:
                return gr.update(), gr.update(), gr.update()
            return render_preview(ctx, tl, state.keyframe_frame(tl, int(index)))
        except UserError as err:
            return None, f"⚠️ no preview: {err}", gr.update()

    # --- settings and YAML
    @user_errors
    def change_settings(tl, *values):
        tl = apply_settings(tl, dict(zip(SETTINGS, values)))
        return tl, state.preview_yaml(tl), gr.update(maximum=max(1, state.frame_count(tl) - 1))

    change_settings.__signature__ = _signature(["tl", *SETTINGS])  # type: ignore[attr-defined]

    @user_errors
    def save_timeline(tl, name):
        tl = ctx.renderable(tl)
        path = ctx.jobs.save_timeline(tl, safe_name(name, "timeline"))
        return str(path), state.preview_yaml(tl), f"Saved **{path.name}** — render it with `studio render {path}`"

    def loaded(tl: Timeline, message: str) -> tuple:
        ctx.admit(tl)
        return (*show(tl, 0 if tl.keyframes else -1, message), *settings_of(tl))

    @user_errors
    def load_timeline(file):
        if not file:
            raise UserError("choose a .yaml timeline file to load", field="file")
        path = Path(file if isinstance(file, str) else file.name)
        tl = state.from_yaml(path.read_bytes(), source=path.name, base_dir=ctx.output_dir)
        return loaded(tl, f"Loaded **{path.name}** — {summary(tl)}")

    @user_errors
    def load_yaml(text):
        tl = state.from_yaml(text or "", source="timeline YAML", base_dir=ctx.output_dir)
        return loaded(tl, f"Timeline YAML applied — {summary(tl)}")

    # --- events
    kf_preview = dict(fn=preview_keyframe, inputs=[ctx.timeline, sel], outputs=[preview, preview_info, scrubber],
                      api_name=False, show_progress="hidden")
    table.select(table_pick, ctx.timeline, outputs, api_visibility="private", **EDIT).then(**kf_preview)
    sel.submit(select_keyframe, [ctx.timeline, sel], outputs, api_name="select_keyframe", **EDIT).then(**kf_preview)
    apply_btn.click(update_keyframe, [ctx.timeline, sel, ed_time, ed_seed, ed_own, ed_psi, ed_ease], outputs,
                    api_name="update_keyframe", **EDIT).then(**kf_preview)
    up_btn.click(functools.partial(move, delta=-1), [ctx.timeline, sel], outputs, api_name="move_up", **EDIT)
    down_btn.click(functools.partial(move, delta=1), [ctx.timeline, sel], outputs, api_name="move_down", **EDIT)
    del_btn.click(delete_keyframe, [ctx.timeline, sel], outputs, api_name="delete_keyframe", **EDIT)
    for slider in sliders:
        slider.release(set_directions, [ctx.timeline, sel, *sliders], [ctx.timeline, table, yaml_code],
                       api_name="set_directions" if slider is sliders[0] else False, trigger_mode="always_last",
                       **EDIT).then(**kf_preview, trigger_mode="always_last")
    reset_btn.click(reset_directions, [ctx.timeline, sel], outputs, api_name="reset_directions",
                    **EDIT).then(**kf_preview)
    scrubber.input(preview_frame, [ctx.timeline, scrubber], [preview, preview_info], api_name="preview",
                   trigger_mode="always_last", show_progress="hidden")
    scrubber.release(preview_frame, [ctx.timeline, scrubber], [preview, preview_info], api_name=False,
                     trigger_mode="always_last", show_progress="hidden")
    gr.Button("Preview keyframe", visible=False).click(**dict(kf_preview, api_name="preview_keyframe"))

    gr.on([c.change for c in settings], change_settings, [ctx.timeline, *settings], [ctx.timeline, yaml_code, scrubber],
          api_name="apply_settings", trigger_mode="always_last", show_progress="hidden", **EDIT)
    save_btn.click(save_timeline, [ctx.timeline, save_name], [save_file, yaml_code, status], api_name="save_timeline")
    load_file.upload(load_timeline, load_file, outputs + settings, api_name="load_timeline", **EDIT).then(**kf_preview)
    yaml_btn.click(load_yaml, yaml_code, outputs + settings, api_name="load_yaml", **EDIT).then(**kf_preview)
    music.build(ctx, yaml_code)
    return TimelineView(outputs=outputs, preview=kf_preview, directions=directions_panel)


def _signature(names: list[str]) -> inspect.Signature:
    """An ``inspect.Signature`` of positional parameters called ``names``."""
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
