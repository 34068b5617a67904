"""The studio's Gradio Blocks: four tabs (Explore, Timeline, Render, Batch) wired to the plain functions of
:mod:`studio.ui.state`, :mod:`studio.ui.models`, :mod:`studio.ui.imaging` and :mod:`studio.ui.jobs`.

The layout is kept thin: each handler merges the timeline-wide settings into the session's timeline dict, calls one
plain function, turns a :class:`ganlib.errors.UserError` into a ``gr.Error`` (a message, never a traceback) and maps
the result onto components. Every event has an ``api_name`` (``gradio_client`` can drive the whole studio) except
those that only exist for the mouse (a gallery click, a table row click) and need browser event data.

Security: :func:`launch` binds 127.0.0.1 unless told otherwise, never shares, serves files only from the output
folder (``allowed_paths``; Gradio's own temporary files are kept under it too) and blocks the uploads folder; model
specs, uploaded checkpoints and latent files are checked by :class:`studio.ui.models.ModelCatalog` and
:func:`check_timeline_files` before anything is opened.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import studio.ui  # noqa: F401  (offline environment before gradio is imported)

import gradio as gr
import pandas as pd

from ganlib.errors import UserError
from ganlib.synth import cond_kind
from studio.directions import direction_names
from studio.errors import TimelineError
from studio.ui import imaging, state
from studio.ui.jobs import RENDER_CONCURRENCY, JobManager
from studio.ui.models import ModelCatalog, safe_name

TABLE_HEADERS = ["#", "time (s)", "source", "truncation", "easing", "sliders"]
JOB_HEADERS = ["job", "what", "status", "frames", "seconds"]
LATENT_EXTENSIONS = (".npy", ".npz")

CSS = """
#studio-title h1 {margin-bottom: 0}
#studio-title p {margin-top: 2px; opacity: .75}
#seed-gallery img, #frame-preview img {image-rendering: pixelated}
#seed-gallery .grid-wrap {min-height: 0 !important; max-height: none !important; height: auto !important}
#frame-preview img {object-fit: contain}
.compact-row {align-items: end}
"""


def theme() -> gr.themes.Base:
    """The studio's theme: Gradio's default (fonts bundled, nothing fetched) in violet and slate."""
    return gr.themes.Default(primary_hue="violet", secondary_hue="indigo", neutral_hue="slate",
                             radius_size="md")


def _errors(fn: Callable) -> Callable:
    """Run ``fn``; report a UserError as a ``gr.Error`` with its one-line message."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as err:
            raise gr.Error(str(err), print_exception=False) from None
    return wrapper


def check_timeline_files(d: dict, allowed: list[Path]) -> None:
    """Refuse a timeline whose latent/feature files lie outside the ``allowed`` folders (TimelineError)."""
    for i, kf in enumerate(d.get("keyframes") or []):
        for key in ("latent", "features"):
            value = kf.get(key)
            if not isinstance(value, str):
                continue
            p = Path(value)
            ok = p.is_absolute() and any(_inside(p, a) for a in allowed)
            if not ok:
                raise TimelineError(f"{key} file {value!r} is outside the studio's folders; add latents with "
                                    f"'Add a latent file' in the Explore tab", field=f"keyframes[{i}].{key}")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def build_app(models_dir: str | Path | None = None, output_dir: str | Path = "renders/ui", *,
              device: str = "auto", temp_dir: str | Path | None = None) -> gr.Blocks:
    """Build the studio (not launched): ``gr.Blocks`` with its queue configured.

    ``models_dir``: a folder of checkpoints offered besides the built-ins; ``output_dir``: where renders, batches,
    saved timelines, uploads and Gradio's temporary files go (the only folder the server serves); ``device``:
    'auto', 'cpu' or 'cuda'; ``temp_dir``: Gradio's temporary folder (default ``$GRADIO_TEMP_DIR`` or
    ``<output_dir>/_gradio``). Launch it with :func:`launch`.
    """
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    temp = Path(temp_dir or os.environ.get("GRADIO_TEMP_DIR") or output_dir / "_gradio").resolve()
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)  # read by gr.Blocks() and the server; must be set before both
    catalog = ModelCatalog(models_dir, output_dir / "uploads")
    jobs = JobManager(output_dir, device=device)
    latent_dir = output_dir / "latents"
    dir_names = direction_names(state.DIRECTION_COUNT)
    default_model = catalog.default_spec()

    def load_model(spec):
        return catalog.load(spec, device)

    def merged(d, settings) -> dict:
        return state.apply_settings(d, *settings)

    def timeline_of(d: dict):
        catalog.check(d.get("model"))
        check_timeline_files(d, [output_dir])
        return state.to_timeline(d)

    # delete_cache: Gradio's copies of served files (gallery pages, previews, downloads) older than a day are
    # removed every hour; the job folders themselves are never touched.
    with gr.Blocks(title="Latent Studio", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        tl_state = gr.State(state.new_timeline(default_model or "builtin:default"))
        page_seeds = gr.State([])
        with gr.Row():
            gr.Markdown("# Latent Studio\nExplore a GAN's seeds, keyframe a walk through its latent space, "
                        "preview any frame and render it to video.", elem_id="studio-title")

        # ---------------------------------------------------------------------------------- Explore
        with gr.Tab("Explore", id="explore"):
            with gr.Row(elem_classes="compact-row"):
                model_dd = gr.Dropdown(catalog.choices(), value=default_model, label="Model", scale=4,
                                       info="built-in models, files in the models folder, or your upload")
                refresh_btn = gr.Button("↻ Refresh list", scale=1)
                upload = gr.UploadButton("Upload a checkpoint…", file_count="single", scale=2,
                                         file_types=[".safetensors", ".pkl", ".pt", ".pth"])
            model_info = gr.Markdown()
            with gr.Row(elem_classes="compact-row"):
                g_psi = gr.Slider(0, 2, value=0.7, step=0.05, label="Truncation ψ", scale=3,
                                  info="lower: closer to the average image, higher: more variety")
                prev_btn = gr.Button("◀ Previous", scale=1)
                page = gr.Number(0, label="Page", precision=0, minimum=0, scale=1)
                next_btn = gr.Button("Next ▶", scale=1)
            gallery = gr.Gallery(label="Seeds: click an image to add it as a keyframe", columns=8, rows=2,
                                 height="auto", object_fit="contain", allow_preview=False, format="png",
                                 elem_id="seed-gallery", buttons=[])
            with gr.Row(elem_classes="compact-row"):
                add_seed = gr.Number(0, label="Seed", precision=0, minimum=0, scale=2)
                add_btn = gr.Button("Add seed as keyframe", variant="secondary", scale=2)
                latent_up = gr.UploadButton("Add a latent file (.npy/.npz)…", file_types=list(LATENT_EXTENSIONS),
                                            scale=2)
            explore_status = gr.Markdown()

        # --------------------------------------------------------------------------------- Timeline
        with gr.Tab("Timeline", id="timeline"):
            with gr.Row():
                with gr.Column(scale=3):
                    table = gr.Dataframe(pd.DataFrame([], columns=TABLE_HEADERS), headers=TABLE_HEADERS,
                                         interactive=False, label="Keyframes (click a row to edit it)",
                                         max_height=260, elem_id="keyframes")
                    with gr.Group():
                        with gr.Row(elem_classes="compact-row"):
                            sel = gr.Number(-1, label="Keyframe #", precision=0, minimum=-1, min_width=90,
                                            elem_id="kf-index")
                            ed_time = gr.Number(0, label="Time (s)", minimum=0, min_width=90)
                            ed_seed = gr.Number(None, label="Seed", precision=0, minimum=0, min_width=110)
                            ed_latent = gr.Textbox("", label="Latent file", interactive=False, min_width=110)
                            ed_ease = gr.Dropdown(list(state.EASES), value="linear", label="Easing",
                                                  min_width=110)
                        with gr.Row(elem_classes="compact-row"):
                            ed_own = gr.Checkbox(False, label="Own truncation", min_width=120)
                            ed_psi = gr.Slider(0, 2, value=0.7, step=0.05, label="Keyframe truncation ψ", scale=3)
                        with gr.Row():
                            apply_btn = gr.Button("Apply changes", variant="primary", size="sm")
                            up_btn = gr.Button("▲ Up", size="sm")
                            down_btn = gr.Button("▼ Down", size="sm")
                            del_btn = gr.Button("Delete", variant="stop", size="sm")
                    with gr.Accordion("Direction sliders (SeFa: the model's strongest style directions)",
                                      open=True):
                        sliders = []
                        with gr.Row():
                            for half in (dir_names[:4], dir_names[4:]):
                                with gr.Column(min_width=200):
                                    for name in half:
                                        sliders.append(gr.Slider(-state.DIRECTION_LIMIT, state.DIRECTION_LIMIT,
                                                                 value=0, step=0.1, label=name))
                        reset_btn = gr.Button("Reset sliders", size="sm")
                with gr.Column(scale=2):
                    preview = gr.Image(label="Preview", type="numpy", format="png", interactive=False,
                                       height=360, elem_id="frame-preview", buttons=["download"])
                    scrubber = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="scrubber")
                    preview_info = gr.Markdown()
            with gr.Accordion("Timeline settings", open=True):
                with gr.Row():
                    s_fps = gr.Number(30, label="fps", minimum=1, maximum=120, min_width=80)
                    s_size = gr.Dropdown(state.SIZE_CHOICES, value=state.NATIVE_SIZE, label="Size (px)",
                                         allow_custom_value=True, min_width=110)
                    s_dur = gr.Number(0, label="Length (s, 0 = auto)", minimum=0, min_width=110)
                    s_interp = gr.Dropdown(list(state.INTERPOLATIONS), value="cubic", label="Interpolation",
                                           min_width=110)
                    s_psi = gr.Slider(0, 2, value=0.7, step=0.05, label="Truncation ψ", min_width=180, scale=2)
                    s_space = gr.Dropdown(["w", "z"], value="w", label="Space", min_width=80)
                    s_noise = gr.Dropdown(["fixed", "random", "loop"], value="fixed", label="Noise", min_width=100)
                    s_loop = gr.Checkbox(False, label="Loop", min_width=80)
            settings = [model_dd, s_fps, s_size, s_dur, s_interp, s_loop, s_psi, s_space, s_noise]
            with gr.Accordion("Save / load timeline YAML", open=False):
                with gr.Row(elem_classes="compact-row"):
                    save_name = gr.Textbox("timeline", label="File name", scale=2)
                    save_btn = gr.Button("Save timeline", variant="primary", scale=1)
                    load_file = gr.UploadButton("Load a timeline (.yaml)…", file_types=[".yaml", ".yml"], scale=1)
                    save_file = gr.File(label="Saved timeline", interactive=False, scale=3, height=100)
                yaml_code = gr.Code(state.preview_yaml(None), language="yaml", label="Timeline YAML (editable)",
                                    lines=12, interactive=True)
                yaml_btn = gr.Button("Use this YAML", size="sm")
            tl_status = gr.Markdown()

        # ----------------------------------------------------------------------------------- Render
        with gr.Tab("Render", id="render"):
            with gr.Row(elem_classes="compact-row"):
                r_name = gr.Textbox("walk", label="Video name", scale=3)
                render_btn = gr.Button("Render video", variant="primary", size="lg", scale=2)
            with gr.Row():
                with gr.Column(scale=1):
                    video = gr.Video(label="Video", interactive=False, autoplay=True, loop=True, height=420,
                                     elem_id="video-player")
                with gr.Column(scale=1):
                    r_file = gr.File(label="Download MP4 and timeline", interactive=False, file_count="multiple")
                    r_status = gr.Markdown()
                    jobs_table = gr.Dataframe(pd.DataFrame([], columns=JOB_HEADERS), headers=JOB_HEADERS,
                                              interactive=False, label="Recent jobs", max_height=260)
                    jobs_btn = gr.Button("↻ Refresh jobs", size="sm")

        # ------------------------------------------------------------------------------------ Batch
        with gr.Tab("Batch", id="batch"):
            with gr.Row(elem_classes="compact-row"):
                b_seeds = gr.Textbox("0-31", label="Seeds", info="numbers and ranges, e.g. 0-99 or 1,5,10-20",
                                     scale=3)
                b_psi = gr.Slider(0, 2, value=0.7, step=0.05, label="Truncation ψ", scale=3)
                batch_btn = gr.Button("Make zip of images", variant="primary", scale=2)
            with gr.Row():
                b_sheet = gr.Image(label="First images", type="numpy", format="png", interactive=False, scale=3,
                                   height=420, buttons=["download"])
                with gr.Column(scale=2):
                    b_file = gr.File(label="Zip of PNGs", interactive=False)
                    b_status = gr.Markdown()

        # ====================================================================================== handlers
        editor = [sel, ed_time, ed_seed, ed_latent, ed_own, ed_psi, ed_ease, *sliders]
        view_outputs = [tl_state, table, yaml_code, scrubber, *editor, tl_status]

        def view(d: dict, index: int, message: str = "") -> tuple:
            """Outputs for ``view_outputs``: the timeline, its table and YAML, the scrubber's range, the editor."""
            n = state.frame_count(d)
            kfs = d.get("keyframes") or []
            if 0 <= index < len(kfs):
                f = state.keyframe_fields(d, index)
                ed = (index, f["time"], f["seed"], f["latent"], f["truncation"] is not None,
                      f["truncation"] if f["truncation"] is not None else float(d.get("truncation", 1.0)),
                      f["ease"], *f["directions"])
            else:
                ed = (-1, 0, None, "", False, float(d.get("truncation", 1.0)), "linear",
                      *([0.0] * state.DIRECTION_COUNT))
            rows = pd.DataFrame(state.keyframe_rows(d), columns=TABLE_HEADERS)
            return (d, rows, state.preview_yaml(d), gr.update(maximum=max(1, n - 1)), *ed, message)

        def summary(d: dict) -> str:
            k = len(d.get("keyframes") or [])
            n = state.frame_count(d) if k else 0
            return f"{k} keyframe{'s' if k != 1 else ''} · {n} frames"

        # --- Explore
        @_errors
        def show_gallery(spec, page_no, psi):
            model = load_model(spec)
            seeds = imaging.page_seeds(int(page_no or 0))
            return imaging.seed_gallery(model, seeds, psi), seeds

        @_errors
        def step_gallery(spec, page_no, psi, delta):
            p = max(0, int(page_no or 0) + delta)
            images, seeds = show_gallery(spec, p, psi)
            return p, images, seeds

        @_errors
        def select_model(spec):
            if not spec:
                return "No model yet: put checkpoints in the models folder (`--models-dir`) or upload one."
            return imaging.model_summary(load_model(spec))

        @_errors
        def refresh_models(spec):
            choices = catalog.choices()
            specs = [s for _, s in choices]
            return gr.update(choices=choices, value=spec if spec in specs else catalog.default_spec())

        @_errors
        def upload_model(file):
            if not file:
                return gr.update(), gr.update()
            path = file if isinstance(file, str) else getattr(file, "name", str(file))
            spec = catalog.add_upload(path, Path(path).name, device=device)
            return gr.update(choices=catalog.choices(), value=spec), f"Loaded **{Path(spec).name}** (safe loader)."

        def _add(d, settings, kf_psi, *, seed=None, latent=None):
            d = merged(d, settings)
            psi = float(kf_psi) if kf_psi is not None else None
            if psi is not None and abs(psi - float(d.get("truncation", 1.0))) < 1e-9:
                psi = None
            d, i = state.add_keyframe(d, seed=seed, latent=latent, truncation=psi)
            t = state.keyframe_time(d, d["keyframes"][i])
            what = f"seed {seed}" if seed is not None else f"latent {Path(latent).name}"
            msg = f"Added {what} at {t:g} s — {summary(d)}. Open the Timeline tab to edit and preview."
            return (*view(d, i, msg), msg)

        @_errors
        def add_keyframe(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, seed,
                         keyframe_truncation):
            settings = (model, fps, size, duration, interpolation, loop, truncation, space, noise)
            if seed is None:
                raise UserError("enter a seed to add", field="seed")
            return _add(d, settings, keyframe_truncation, seed=int(seed))

        @_errors
        def gallery_pick(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, seeds,
                         kf_psi, evt: gr.SelectData):
            if evt is None or evt.index is None or not seeds:
                raise gr.Error("click an image of the gallery")
            index = evt.index if isinstance(evt.index, int) else evt.index[0]
            settings = (model, fps, size, duration, interpolation, loop, truncation, space, noise)
            return _add(d, settings, kf_psi, seed=int(seeds[int(index)]))

        @_errors
        def add_latent(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, file):
            settings = (model, fps, size, duration, interpolation, loop, truncation, space, noise)
            if not file:
                return (*view(d, -1, ""), "")
            from studio.latents import read_latent
            src = Path(file if isinstance(file, str) else file.name)
            if src.suffix.lower() not in LATENT_EXTENSIONS:
                raise UserError("a latent must be a .npy or .npz file", field="latent")
            read_latent(src)  # refuses pickles, NaNs, non-numeric data
            digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
            latent_dir.mkdir(parents=True, exist_ok=True)
            dest = latent_dir / f"{safe_name(src.stem, 'latent')}-{digest}{src.suffix.lower()}"
            if not dest.exists():
                shutil.copyfile(src, dest)
            return _add(d, settings, None, latent=str(dest))

        # --- Timeline editing
        @_errors
        def select_keyframe(d, index):
            i = int(index if index is not None else -1)
            if i >= 0:
                state.keyframe_fields(d, i)  # refuses a keyframe that does not exist
            return view(d, i, "")

        def table_pick(d, evt: gr.SelectData):
            if evt is None or evt.index is None:
                return view(d, -1, "")
            row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            return select_keyframe(d, int(row))

        @_errors
        def update_keyframe(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index,
                            time_s, seed, own_truncation, keyframe_truncation, ease):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            d, i = state.update_keyframe(d, index, time=time_s, seed=seed,
                                         truncation=keyframe_truncation if own_truncation else None,
                                         inherit_truncation=not own_truncation, ease=ease)
            return view(d, i, f"Keyframe {i} updated — {summary(d)}")

        @_errors
        def move(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index, delta: int = -1):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            d, i = state.move_keyframe(d, index, delta)
            return view(d, i, f"Keyframe moved to #{i}")

        @_errors
        def delete_keyframe(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            d, i = state.delete_keyframe(d, index)
            return view(d, i, f"Keyframe deleted — {summary(d)}")

        @_errors
        def set_directions(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index,
                           sefa0, sefa1, sefa2, sefa3, sefa4, sefa5, sefa6, sefa7):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            d = state.set_directions(d, index, [sefa0, sefa1, sefa2, sefa3, sefa4, sefa5, sefa6, sefa7])
            return d, pd.DataFrame(state.keyframe_rows(d), columns=TABLE_HEADERS), state.preview_yaml(d)

        @_errors
        def reset_directions(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            d = state.set_directions(d, index, [0.0] * state.DIRECTION_COUNT)
            return view(d, int(index), "Sliders reset")

        @_errors
        def apply_settings(d, model, fps, size, duration, interpolation, loop, truncation, space, noise):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            return d, state.preview_yaml(d), gr.update(maximum=max(1, state.frame_count(d) - 1))

        def _preview(d, settings, frame):
            d = merged(d, settings)
            tl = timeline_of(d)
            model = load_model(d["model"])
            t0 = time.perf_counter()
            i = min(max(0, int(frame or 0)), tl.n_frames - 1)
            img = imaging.preview_frame(tl, model, i)
            ms = (time.perf_counter() - t0) * 1000
            t = i * tl.total_duration / tl.n_frames if tl.loop else i / tl.fps
            info = (f"frame **{i}** of {tl.n_frames} · {t:.2f} s · {img.shape[1]}×{img.shape[0]} px · "
                    f"rendered in {ms:.0f} ms")
            return img, info, i

        @_errors
        def preview_frame(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, frame):
            settings = (model, fps, size, duration, interpolation, loop, truncation, space, noise)
            img, info, _ = _preview(d, settings, frame)
            return img, info

        def preview_keyframe(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, index):
            """Preview the selected keyframe's frame; problems are shown under the preview, not raised."""
            settings = (model, fps, size, duration, interpolation, loop, truncation, space, noise)
            try:
                d2 = merged(d, settings)
                if not d2.get("keyframes") or int(index if index is not None else -1) < 0:
                    return gr.update(), gr.update(), gr.update()
                return _preview(d, settings, state.keyframe_frame(d2, int(index)))
            except UserError as err:
                return None, f"⚠️ no preview: {err}", gr.update()

        # --- YAML
        @_errors
        def save_timeline(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, name):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            tl = timeline_of(d)
            path = jobs.save_timeline(tl, safe_name(name, "timeline"))
            return str(path), state.preview_yaml(d), f"Saved **{path.name}** — render it with " \
                                                     f"`studio render {path}`"

        def _load(d_new: dict, message: str):
            catalog.check(d_new.get("model"))
            check_timeline_files(d_new, [output_dir])
            return (*view(d_new, 0 if d_new.get("keyframes") else -1, message), *state.settings_of(d_new))

        @_errors
        def load_timeline(file):
            if not file:
                raise UserError("choose a .yaml timeline file to load", field="file")
            path = Path(file if isinstance(file, str) else file.name)
            d_new = state.from_yaml(path.read_bytes(), source=path.name, base_dir=output_dir)
            return _load(d_new, f"Loaded **{path.name}** — {summary(d_new)}")

        @_errors
        def load_yaml(text):
            d_new = state.from_yaml(text or "", source="timeline YAML", base_dir=output_dir)
            return _load(d_new, f"Timeline YAML applied — {summary(d_new)}")

        # --- Render and batch
        @_errors
        def render(d, model, fps, size, duration, interpolation, loop, truncation, space, noise, name,
                   progress=gr.Progress()):
            d = merged(d, (model, fps, size, duration, interpolation, loop, truncation, space, noise))
            tl = timeline_of(d)
            progress(0, desc="Queued / loading model")
            load_model(d["model"])

            def on_progress(done: int, total: int) -> None:
                progress((done, total), desc="Rendering", unit="frames")

            job = jobs.render(tl, safe_name(name, "walk"), on_progress=on_progress)
            fps_done = job.frames / job.seconds if job.seconds else 0.0
            msg = (f"Rendered **{job.output.name}**: {job.frames} frames in {job.seconds:.1f} s "
                   f"({fps_done:.1f} frames/s) · job `{job.id}`")
            files = [str(job.output), str(job.folder / f"{job.name}.yaml")]
            return str(job.output), files, msg, pd.DataFrame(jobs.recent(), columns=JOB_HEADERS)

        @_errors
        def batch(spec, seeds_text, psi, progress=gr.Progress()):
            from studio.seeds import parse_seeds
            seeds = parse_seeds(seeds_text or "", option="seeds")
            model = load_model(spec)
            class_idx = 0 if cond_kind(model.G) == "label" else None

            def on_progress(done: int, total: int) -> None:
                progress((done, total), desc="Images", unit="images")

            job, sheet = jobs.batch(model, seeds, truncation=float(psi), class_idx=class_idx,
                                    on_progress=on_progress)
            msg = f"**{job.output.name}**: {len(seeds)} PNGs in {job.seconds:.1f} s · job `{job.id}`"
            return str(job.output), sheet, msg

        def recent_jobs():
            return pd.DataFrame(jobs.recent(), columns=JOB_HEADERS)

        # ====================================================================================== events
        heavy = dict(concurrency_id="heavy", concurrency_limit=RENDER_CONCURRENCY)
        gallery_io = dict(inputs=[model_dd, page, g_psi], outputs=[gallery, page_seeds])

        model_dd.change(select_model, model_dd, model_info, api_name="select_model").then(
            show_gallery, **gallery_io, api_name=False)
        refresh_btn.click(refresh_models, model_dd, model_dd, api_name="refresh_models")
        upload.upload(upload_model, upload, [model_dd, model_info], api_name="upload_model")
        g_psi.release(show_gallery, **gallery_io, api_name="gallery")
        page.submit(show_gallery, **gallery_io, api_name=False)
        prev_btn.click(functools.partial(step_gallery, delta=-1), [model_dd, page, g_psi],
                       [page, gallery, page_seeds], api_name="gallery_prev")
        next_btn.click(functools.partial(step_gallery, delta=1), [model_dd, page, g_psi],
                       [page, gallery, page_seeds], api_name="gallery_next")
        app.load(select_model, model_dd, model_info, api_name=False).then(show_gallery, **gallery_io,
                                                                          api_name=False)

        preview_out = [preview, preview_info, scrubber]
        kf_preview = dict(fn=preview_keyframe, inputs=[tl_state, *settings, sel], outputs=preview_out,
                          api_name=False, show_progress="hidden")

        explore_outputs = view_outputs + [explore_status]
        add_btn.click(add_keyframe, [tl_state, *settings, add_seed, g_psi], explore_outputs,
                      api_name="add_keyframe").then(**kf_preview)
        gallery.select(gallery_pick, [tl_state, *settings, page_seeds, g_psi], explore_outputs,
                       api_visibility="private").then(**kf_preview)
        latent_up.upload(add_latent, [tl_state, *settings, latent_up], explore_outputs,
                         api_name="add_latent").then(**kf_preview)
        table.select(table_pick, tl_state, view_outputs, api_visibility="private").then(
            **kf_preview)
        sel.submit(select_keyframe, [tl_state, sel], view_outputs, api_name="select_keyframe").then(
            **kf_preview)
        apply_btn.click(update_keyframe, [tl_state, *settings, sel, ed_time, ed_seed, ed_own, ed_psi, ed_ease],
                        view_outputs, api_name="update_keyframe").then(**kf_preview)
        up_btn.click(functools.partial(move, delta=-1), [tl_state, *settings, sel], view_outputs,
                     api_name="move_up")
        down_btn.click(functools.partial(move, delta=1), [tl_state, *settings, sel], view_outputs,
                       api_name="move_down")
        del_btn.click(delete_keyframe, [tl_state, *settings, sel], view_outputs, api_name="delete_keyframe")
        for slider in sliders:
            slider.release(set_directions, [tl_state, *settings, sel, *sliders], [tl_state, table, yaml_code],
                           api_name="set_directions" if slider is sliders[0] else False,
                           trigger_mode="always_last").then(**kf_preview,
                                                            trigger_mode="always_last")
        reset_btn.click(reset_directions, [tl_state, *settings, sel], view_outputs,
                        api_name="reset_directions").then(**kf_preview)
        scrubber.input(preview_frame, [tl_state, *settings, scrubber], [preview, preview_info],
                       api_name="preview", trigger_mode="always_last", show_progress="hidden")
        scrubber.release(preview_frame, [tl_state, *settings, scrubber], [preview, preview_info],
                         api_name=False, trigger_mode="always_last", show_progress="hidden")
        gr.on([c.change for c in settings], apply_settings, [tl_state, *settings],
              [tl_state, yaml_code, scrubber], api_name="apply_settings", trigger_mode="always_last",
              show_progress="hidden")
        gr.Button("Preview keyframe", visible=False).click(**dict(kf_preview, api_name="preview_keyframe"))

        save_btn.click(save_timeline, [tl_state, *settings, save_name], [save_file, yaml_code, tl_status],
                       api_name="save_timeline")
        load_outputs = view_outputs + settings
        load_file.upload(load_timeline, load_file, load_outputs, api_name="load_timeline").then(**kf_preview)
        yaml_btn.click(load_yaml, yaml_code, load_outputs, api_name="load_yaml").then(**kf_preview)

        render_btn.click(render, [tl_state, *settings, r_name], [video, r_file, r_status, jobs_table],
                         api_name="render", **heavy)
        jobs_btn.click(recent_jobs, None, jobs_table, api_name="jobs")
        batch_btn.click(batch, [model_dd, b_seeds, b_psi], [b_file, b_sheet, b_status], api_name="batch", **heavy)

    app.queue(default_concurrency_limit=4, max_size=64)
    app.studio_output_dir = output_dir  # type: ignore[attr-defined]
    app.studio_temp_dir = temp  # type: ignore[attr-defined]
    app.studio_catalog = catalog  # type: ignore[attr-defined]
    app.studio_jobs = jobs  # type: ignore[attr-defined]
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
