"""The Timeline tab: the time ruler (keyframe thumbnails to drag, click, copy and paste), the keyframe panel and
table, the direction sliders, the frame preview with playback, the timeline-wide settings and the YAML panel.

Every handler takes the session's Timeline (a ``studio.timeline.Timeline`` in ``ctx.timeline``) and returns a new
one built by :mod:`studio.ui.state`. Edits are recorded in the session's :class:`studio.ui.history.History` (undo,
redo) and the timeline is kept in the browser's storage (restored after a reload). A refused edit changes nothing:
its message goes beside the field it concerns and into the status line, and every field keeps what was typed.
:func:`build` returns a :class:`TimelineView`, through which the Explore tab shows the keyframes it adds.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from ganlib.errors import UserError
from studio.directions import direction_names
from studio.timeline import Keyframe, Timeline
from studio.ui import playback, ruler, state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.history import History
from studio.ui.models import safe_name
from studio.ui.settings import EASES, INTERPOLATIONS, NOISES, SETTINGS, SIZE_CHOICES, SPACES, \
    apply_settings, bounds, default, settings_of
from studio.ui.tabs import music, timeline_play
from studio.ui.tabs.timeline_editor import LATENT_SPACES, editor_changes, editor_values, refusal

TABLE_HEADERS = ["#", "time (s)", "source", "truncation", "easing", "sliders"]
PSI_MIN, PSI_MAX = bounds("truncation")


def history_of(tl: Timeline) -> History:
    """A new undo history whose first state is ``tl`` (timelines compare by their fields)."""
    hist: History = History(key=state.fields_of)
    hist.observe(tl)
    return hist


@dataclass
class TimelineView:
    """The Timeline tab's components that show a timeline, and how to fill them.

    ``outputs``: [state, table, yaml, scrubber, *editor, *sliders, ruler, keyframe message, status], the outputs
    of every event that changes the timeline (:meth:`show` gives their values); ``preview``: keyword arguments for
    ``.then(**preview)`` that preview the selected keyframe.
    """

    outputs: list
    preview: dict
    thumbs: Callable[[Timeline, int], tuple[str, str]] = field(default=lambda tl, i: ("", ""))
    directions: Any = None  # the SeFa sliders' panel (hidden by the Explore tab where sliders cannot work)

    def show(self, tl: Timeline, index: int, message: str = "", saved: bool = False) -> tuple:
        """Values for :attr:`outputs`: the timeline, its table and YAML, the scrubber's range, the editor, the
        ruler, an empty keyframe message, the status line (``saved``: the timeline was just saved or loaded)."""
        index = index if 0 <= index < len(tl.keyframes) else -1
        try:
            full = state.to_timeline(tl)
        except UserError:
            full = None
        n = full.n_frames if full is not None else 1
        bar = ruler.payload(tl, full, index, lambda i: self.thumbs(tl, i), saved=saved)
        return (tl, state.keyframe_rows(tl), state.preview_yaml(tl), gr.update(maximum=max(1, n - 1)),
                *editor_values(tl, index), *state.direction_values(tl, index), bar, "", message)


def summary(tl: Timeline) -> str:
    """A status-line summary of ``tl`` such as "3 keyframes · 97 frames"."""
    k = len(tl.keyframes)
    n = state.frame_count(tl) if k else 0
    return f"{k} keyframe{'s' if k != 1 else ''} · {n} frames"


def build(ctx: Studio, model_picker: Any) -> TimelineView:
    """Lay out the Timeline tab (inside the current ``gr.Tab``) and wire its events: the ruler, keyframe panel,
    table, sliders and preview, the timeline-wide settings (``model_picker`` is the Explore tab's model dropdown,
    the first of them) and the YAML panel. Returns the :class:`TimelineView` the Explore tab shows changes through."""
    start = ctx.timeline.value
    thumbnails = playback.Thumbnails()
    history = gr.State(history_of(start))
    clipboard = gr.State({})
    status = gr.Markdown("Add keyframes from the Explore tab, or load a timeline below.", elem_id="tl-status")
    bar = gr.HTML(ruler.payload(start, None, -1, lambda i: ("", "")), html_template=ruler.TEMPLATE,
                  css_template=ruler.STYLE, js_on_load=ruler.SCRIPT, elem_id="tl-ruler")
    command = gr.Textbox("", visible="hidden", elem_id="ruler-cmd", label="ruler command")
    with gr.Row(elem_classes="compact-row"):
        undo_btn = gr.Button("↶ Undo", size="sm", elem_id="tl-undo", min_width=70)
        redo_btn = gr.Button("↷ Redo", size="sm", elem_id="tl-redo", min_width=70)
        dup_btn = gr.Button("Duplicate", size="sm", elem_id="tl-duplicate", min_width=80)
        copy_btn = gr.Button("Copy", size="sm", elem_id="tl-copy", min_width=60)
        paste_btn = gr.Button("Paste at playhead", size="sm", elem_id="tl-paste", min_width=110)
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Group():
                with gr.Row(elem_classes="compact-row"):
                    sel = gr.Number(-1, label="Keyframe #", precision=0, minimum=-1, min_width=90, elem_id="kf-index")
                    ed_time = gr.Number(0, label="Time (s)", minimum=0, min_width=90, elem_id="kf-time")
                    ed_seed = gr.Number(None, label="Seed", precision=0, minimum=0, min_width=110, elem_id="kf-seed")
                    ed_latent = gr.Textbox("", label="Latent file", interactive=False, min_width=110)
                    ed_space = gr.Dropdown(LATENT_SPACES, value=LATENT_SPACES[0], label="Latent space",
                                           min_width=110)
                    ed_ease = gr.Dropdown(EASES, value=default("ease", Keyframe), label="Easing", min_width=110)
                with gr.Row(elem_classes="compact-row"):
                    ed_own = gr.Checkbox(False, label="Own truncation", min_width=120)
                    ed_psi = gr.Slider(PSI_MIN, PSI_MAX, value=start.truncation, step=0.05,
                                       label="Keyframe truncation ψ", scale=3)
                with gr.Row(elem_classes="compact-row"):
                    ed_label = gr.Number(None, label="Class", precision=0, minimum=0, min_width=70)
                    ed_features = gr.Textbox("", label="Features (numbers or .npy)", min_width=120)
                    ed_mix = gr.Number(None, label="Mix seed", precision=0, minimum=0, min_width=90)
                    ed_layers = gr.Textbox("", label="Mix layers", placeholder="8-", min_width=80)
                    ed_translate = gr.Textbox("", label="Translate x, y", placeholder="0, 0", min_width=90)
                    ed_rotate = gr.Number(None, label="Rotate (°)", min_width=80)
                kf_error = gr.Markdown(elem_id="kf-error")
                with gr.Row():
                    apply_btn = gr.Button("Apply changes", variant="primary", size="sm")
                    up_btn = gr.Button("▲ Up", size="sm")
                    down_btn = gr.Button("▼ Down", size="sm")
                    del_btn = gr.Button("Delete", variant="stop", size="sm", elem_id="kf-delete")
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
            table = gr.Dataframe([], headers=TABLE_HEADERS, interactive=False, max_height=260,
                                 label="Keyframes (click a row to edit it)", elem_id="keyframes")
        with gr.Column(scale=2):
            player = timeline_play.build(ctx)
    values = dict(zip(SETTINGS, settings_of(start)))
    with gr.Accordion("Timeline settings", open=True):
        with gr.Row():
            s_fps = gr.Number(values["fps"], label="fps", minimum=bounds("fps")[0], min_width=80, elem_id="tl-fps")
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
        settings_error = gr.Markdown(elem_id="settings-error")
    by_name = dict(model=model_picker, fps=s_fps, size=s_size, duration=s_dur, interpolation=s_interp, loop=s_loop,
                   truncation=s_psi, space=s_space, noise=s_noise)
    settings = [by_name[name] for name in SETTINGS]
    with gr.Accordion("Save / load timeline YAML", open=False):
        with gr.Row(elem_classes="compact-row"):
            save_name = gr.Textbox("timeline", label="File name", scale=2)
            save_btn = gr.Button("Save timeline", variant="primary", scale=1)
            load_file = gr.UploadButton("Load a timeline (.yaml)…", file_types=[".yaml", ".yml"], scale=1,
                                        elem_id="tl-load")
            save_file = gr.File(label="Saved timeline", interactive=False, scale=3, height=100)
        yaml_code = gr.Code(state.preview_yaml(start), language="yaml", label="Timeline YAML (editable)", lines=12,
                            interactive=True)
        yaml_error = gr.Markdown(elem_id="yaml-error")
        yaml_btn = gr.Button("Use this YAML", size="sm")

    editor = [sel, ed_time, ed_seed, ed_latent, ed_space, ed_ease, ed_own, ed_psi, ed_label, ed_features, ed_mix,
              ed_layers, ed_translate, ed_rotate]
    pending = editor[1:3] + editor[4:]  # the editor's editable values (what editor_changes takes)
    outputs = [ctx.timeline, table, yaml_code, scrubber_of(player), *editor, *sliders, bar, kf_error, status]
    view = TimelineView(outputs=outputs, preview={}, thumbs=lambda tl, i: _thumb(ctx, thumbnails, tl, i))
    show = view.show
    edit_out = outputs + [history]
    n_out = len(outputs)

    def refused(err: UserError, slot: int, line_at: int, size: int) -> tuple:
        """``size`` outputs (the history excluded) that change nothing but the message beside the field (output
        ``slot``) and the status line (output ``line_at``)."""
        beside, line = refusal(err)
        values = [gr.skip()] * (size + 1)
        values[slot] = beside
        values[line_at] = line
        return tuple(values)

    def editing(slot: int = n_out - 2, line_at: int = n_out - 1, size: int = n_out) -> Callable:
        """Wrap a handler ``fn(tl, hist, ...) -> outputs``: both timelines are recorded in ``hist``; a UserError
        becomes :func:`refused` (message in output ``slot``); the history is appended to the outputs."""
        def wrap(fn: Callable) -> Callable:
            @functools.wraps(fn)
            @user_errors
            def handler(tl, hist, *args, **kwargs):
                hist.observe(tl)
                try:
                    out = fn(tl, hist, *args, **kwargs)
                except UserError as err:
                    return refused(err, slot, line_at, size)
                hist.observe(out[0])
                return (*out, hist)
            return handler
        return wrap

    # --- keyframes
    def apply_pending(tl: Timeline, index: Any, values: tuple) -> tuple[Timeline, int, bool]:
        """Apply the editor's values to keyframe ``index``; (timeline, its index, whether anything changed)."""
        i = int(index if index is not None else -1)
        if not 0 <= i < len(tl.keyframes):
            return tl, i, False
        new, j = state.edit_keyframe(tl, i, editor_changes(tl, i, *values))
        return new, j, state.fields_of(new) != state.fields_of(tl)

    def select(tl: Timeline, current: Any, row: int, values: tuple) -> tuple:
        tl, _, changed = apply_pending(tl, current, values)
        if row >= 0:
            state.keyframe_fields(tl, row)  # refuses a keyframe that does not exist
        note = f"Your changes to keyframe {int(current)} were applied. " if changed else ""
        return show(tl, row, f"{note}Keyframe {row} selected" if row >= 0 else note)

    @editing()
    def select_keyframe(tl, hist, index):
        return show(tl, int(index if index is not None else -1), "")

    @editing()
    def table_pick(tl, hist, current, evt: gr.SelectData, *values):
        if evt is None or evt.index is None:
            return show(tl, -1, "")
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return select(tl, current, int(row), values)

    @editing()
    def update_keyframe(tl, hist, index, time_s, seed, latent_space=LATENT_SPACES[0], ease="linear",
                        own_truncation=False, keyframe_truncation=None, label=None, features="", mix_seed=None,
                        mix_layers="", translate="", rotate=None):
        state.keyframe_fields(tl, index)  # refuses a keyframe that does not exist
        values = (time_s, seed, latent_space, ease, own_truncation, keyframe_truncation, label, features, mix_seed,
                  mix_layers, translate, rotate)
        tl, i, _ = apply_pending(tl, index, values)
        return show(tl, i, f"Keyframe {i} updated — {summary(tl)}")

    @editing(size=n_out + len(settings))
    def ruler_command(tl, hist, text, current=None, time_s=None, seed=None, latent_space=None, ease=None,
                      own_truncation=None, keyframe_truncation=None, label=None, features=None, mix_seed=None,
                      mix_layers=None, translate=None, rotate=None):
        cmd = ruler.parse_command(text)
        keep_settings = (gr.skip(),) * len(settings)
        if cmd is None:
            return tuple(gr.skip() for _ in outputs) + keep_settings
        if cmd["op"] == "restore":
            return restore(tl, cmd["data"])
        if cmd["op"] == "select":
            values = (time_s, seed, latent_space, ease, own_truncation, keyframe_truncation, label, features,
                      mix_seed, mix_layers, translate, rotate)
            return (*select(tl, current if time_s is not None else -1, cmd["index"], values), *keep_settings)
        tl, i = state.edit_keyframe(tl, cmd["index"], {"time": cmd["time"]})
        return (*show(tl, i, f"Keyframe moved to {round(cmd['time'], 3):g} s (now #{i}) — {summary(tl)}"),
                *keep_settings)

    @editing()
    def move(tl, hist, index, delta: int = -1):
        tl, i = state.move_keyframe(tl, index, delta)
        return show(tl, i, f"Keyframe moved to #{i}")

    @editing()
    def delete_keyframe(tl, hist, index):
        tl, i = state.delete_keyframe(tl, index)
        return show(tl, i, f"Keyframe {int(index)} deleted — {summary(tl)} (Undo brings it back)")

    @editing()
    def duplicate_keyframe(tl, hist, index):
        tl, i = state.duplicate_keyframe(tl, index)
        return show(tl, i, f"Keyframe {int(index)} duplicated as #{i} — {summary(tl)}")

    @user_errors
    def copy_keyframe(tl, index):
        try:
            content = state.keyframe_content(tl, index)
        except UserError as err:
            return gr.skip(), *refusal(err)
        return content, "", f"Keyframe {int(index)} copied: Paste puts it at the playhead"

    @editing()
    def paste_keyframe(tl, hist, content, frame):
        tl, i = state.paste_keyframe(tl, content, state.frame_seconds(tl, int(frame or 0)))
        return show(tl, i, f"Keyframe pasted as #{i} at {state.keyframe_time(tl, i):g} s — {summary(tl)}")

    @editing(slot=4, line_at=5, size=6)
    def set_directions(tl, hist, index, *amounts):
        tl = state.set_directions(tl, index, list(amounts))
        return show(tl, int(index), "")[:3] + (payload_of(tl, index), "", gr.skip())

    # Gradio names a handler's API parameters after its signature: call the amounts after their sliders.
    set_directions.__signature__ = _signature(["tl", "hist", "index", *names])  # type: ignore[attr-defined]

    @editing()
    def reset_directions(tl, hist, index):
        tl = state.set_directions(tl, index, [0.0] * state.DIRECTION_COUNT)
        return show(tl, int(index), "Sliders reset")

    def payload_of(tl, index):
        try:
            full = state.to_timeline(tl)
        except UserError:
            full = None
        return ruler.payload(tl, full, int(index), lambda i: view.thumbs(tl, i))

    # --- undo / redo
    def step(tl, hist, index, back: bool):
        hist.observe(tl)
        new = hist.undo() if back else hist.redo()
        if new is None:
            return (*[gr.skip()] * (n_out - 1), "Nothing to undo" if back else "Nothing to redo",
                    *[gr.skip()] * len(settings), hist)
        i = int(index if index is not None else -1)
        i = min(i, len(new.keyframes) - 1) if i >= 0 else (0 if new.keyframes else -1)
        done, left = hist.counts()
        word = "Undone" if back else "Redone"
        return (*show(new, i, f"{word} — {summary(new)} ({done} to undo, {left} to redo)"), *settings_of(new), hist)

    @user_errors
    def undo(tl, hist, index):
        return step(tl, hist, index, back=True)

    @user_errors
    def redo(tl, hist, index):
        return step(tl, hist, index, back=False)

    # --- settings and YAML
    @editing(slot=5, line_at=4, size=6)
    def change_settings(tl, hist, *values):
        tl = apply_settings(tl, dict(zip(SETTINGS, values)))
        return (tl, state.preview_yaml(tl), gr.update(maximum=max(1, state.frame_count(tl) - 1)),
                payload_of(tl, -1), f"Settings applied — {summary(tl)}", "")

    change_settings.__signature__ = _signature(["tl", "hist", *SETTINGS])  # type: ignore[attr-defined]

    @user_errors
    def save_timeline(tl, name, index):
        try:
            full = ctx.renderable(tl)
            path = ctx.jobs.save_timeline(full, safe_name(name, "timeline"))
        except UserError as err:
            return gr.skip(), gr.skip(), refusal(err)[1]
        return str(path), state.preview_yaml(full), f"Saved **{path.name}** — render it with `studio render {path}`"

    def mark_saved(tl, index, file):
        """The ruler's picture of the timeline just saved (so Load knows nothing would be lost)."""
        if not file:
            return gr.skip()
        return ruler.payload(tl, ctx.renderable(tl), int(index), lambda i: view.thumbs(tl, i), saved=True)

    def loaded(tl: Timeline, message: str, hist: History) -> tuple:
        ctx.admit(tl)
        return (*show(tl, 0 if tl.keyframes else -1, message, saved=True), *settings_of(tl))

    yaml_slot = n_out + len(settings)  # the YAML message follows the outputs and the settings in load events

    @editing(slot=yaml_slot, size=yaml_slot + 1)
    def load_timeline(tl, hist, file):
        if not file:
            raise UserError("choose a .yaml timeline file to load", field="file")
        path = Path(file if isinstance(file, str) else file.name)
        new = state.from_yaml(path.read_bytes(), source=path.name, base_dir=ctx.output_dir)
        return (*loaded(new, f"Loaded **{path.name}** — {summary(new)} (Undo brings the previous one back)", hist),
                "")

    @editing(slot=yaml_slot, size=yaml_slot + 1)
    def load_yaml(tl, hist, text):
        new = state.from_yaml(text or "", source="timeline YAML", base_dir=ctx.output_dir)
        return (*loaded(new, f"Timeline YAML applied — {summary(new)}", hist), "")

    def restore(tl, data):
        """The timeline this browser kept (sent by the ruler after a reload), with its settings."""
        new = ctx.admit(state.build(data))
        return (*show(new, 0, f"Restored the timeline kept in this browser — {summary(new)}"), *settings_of(new))

    # --- events
    kf_preview = timeline_play.preview_event(ctx, player, ctx.timeline, sel)
    gr.Button("Preview keyframe", visible=False).click(**dict(kf_preview, api_name="preview_keyframe"))
    view.preview = kf_preview
    picks = [ctx.timeline, history, sel, *pending]
    table.select(table_pick, picks, edit_out, api_visibility="private", **EDIT).then(**kf_preview)
    command.change(ruler_command, [ctx.timeline, history, command, sel, *pending], outputs + settings + [history],
                   api_name="ruler",
                  **EDIT).then(**kf_preview)
    sel.submit(select_keyframe, [ctx.timeline, history, sel], edit_out, api_name="select_keyframe",
               **EDIT).then(**kf_preview)
    apply_btn.click(update_keyframe, [ctx.timeline, history, sel, *pending], edit_out, api_name="update_keyframe",
                    **EDIT).then(**kf_preview)
    up_btn.click(functools.partial(move, delta=-1), [ctx.timeline, history, sel], edit_out, api_name="move_up",
                 **EDIT)
    down_btn.click(functools.partial(move, delta=1), [ctx.timeline, history, sel], edit_out, api_name="move_down",
                   **EDIT)
    del_btn.click(delete_keyframe, [ctx.timeline, history, sel], edit_out, api_name="delete_keyframe",
                  **EDIT).then(**kf_preview)
    dup_btn.click(duplicate_keyframe, [ctx.timeline, history, sel], edit_out, api_name="duplicate_keyframe",
                  **EDIT).then(**kf_preview)
    copy_btn.click(copy_keyframe, [ctx.timeline, sel], [clipboard, kf_error, status], api_name="copy_keyframe")
    paste_btn.click(paste_keyframe, [ctx.timeline, history, clipboard, scrubber_of(player)], edit_out,
                    api_name="paste_keyframe", **EDIT).then(**kf_preview)
    step_out = outputs + settings + [history]
    undo_btn.click(undo, [ctx.timeline, history, sel], step_out, api_name="undo", **EDIT).then(**kf_preview)
    redo_btn.click(redo, [ctx.timeline, history, sel], step_out, api_name="redo", **EDIT).then(**kf_preview)
    dir_out = [ctx.timeline, table, yaml_code, bar, kf_error, status, history]
    for slider in sliders:
        slider.release(set_directions, [ctx.timeline, history, sel, *sliders], dir_out,
                       api_name="set_directions" if slider is sliders[0] else False, trigger_mode="always_last",
                       **EDIT).then(**kf_preview, trigger_mode="always_last")
    reset_btn.click(reset_directions, [ctx.timeline, history, sel], edit_out, api_name="reset_directions",
                    **EDIT).then(**kf_preview)
    gr.on([c.change for c in settings], change_settings, [ctx.timeline, history, *settings],
          [ctx.timeline, yaml_code, scrubber_of(player), bar, status, settings_error, history],
          api_name="apply_settings", trigger_mode="always_last", show_progress="hidden", **EDIT)
    save_btn.click(save_timeline, [ctx.timeline, save_name, sel], [save_file, yaml_code, status],
                   api_name="save_timeline").success(mark_saved, [ctx.timeline, sel, save_file], bar, api_name=False,
                                                     show_progress="hidden")
    load_out = outputs + settings + [yaml_error, history]
    load_file.upload(load_timeline, [ctx.timeline, history, load_file], load_out, api_name="load_timeline",
                     **EDIT).then(**kf_preview)
    yaml_btn.click(load_yaml, [ctx.timeline, history, yaml_code], load_out, api_name="load_yaml",
                   **EDIT).then(**kf_preview)
    timeline_play.connect(ctx, player, ctx.timeline)
    music.build(ctx, yaml_code)
    view.directions = directions_panel
    return view


def scrubber_of(player: Any) -> Any:
    """The frame scrubber of the preview panel."""
    return player.scrubber


def _thumb(ctx: Studio, thumbs: playback.Thumbnails, tl: Timeline, index: int) -> tuple[str, str]:
    """Keyframe ``index``'s thumbnail (data URI, problem) with the timeline's model; ("", why) when there is none."""
    try:
        model = ctx.load_model(tl.model)
    except UserError as err:
        return "", err.message
    return thumbs.of(tl, model, index)


def _signature(names: list[str]) -> inspect.Signature:
    """An ``inspect.Signature`` of positional parameters called ``names``."""
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
