"""The Music panel of the Timeline tab: upload a track (kept in the studio's output folder), see the features that
will drive the picture (the ``studio audio`` plot), set the offset, and edit the ``react`` rules as table rows.
The rendered video carries the music (the Render tab plays it with its sound)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from ganlib.errors import UserError
from studio.audio.cache import analyse_file
from studio.audio.names import BAND_NAMES, FEATURES
from studio.audio.plot import plot_features
from studio.modulation import TARGETS
from studio.timeline import Timeline
from studio.ui import state
from studio.ui.context import EDIT, Studio, user_errors
from studio.ui.models import safe_name

REACT_HEADERS = ["feature", "band", "target", "amount", "smooth (s)", "seed / direction / seeds", "decay (s)"]
AUDIO_TYPES = [".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus"]


def react_rows(tl: Timeline | None) -> list[list]:
    """The timeline's react rules as table rows (REACT_HEADERS); one empty row when there are none."""
    rows = []
    for rule in (tl.react if tl is not None else []):
        source = rule.seed if rule.seed is not None else rule.latent or rule.direction or (
            ", ".join(str(s) for s in rule.seeds) if rule.seeds else "")
        attack, release = rule.attack_release
        smooth = "" if (attack, release) == (0, 0) else (f"{attack:g}" if attack == release
                                                       else f"{attack:g}/{release:g}")
        rows.append([rule.feature, rule.band or "", rule.target, rule.amount, smooth, source,
                     "" if rule.decay is None else rule.decay])
    return rows or [["", "", "", "", "", "", ""]]


def _number(text: Any, what: str, row: int) -> float | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"row {row + 1}: {what} must be a number, got {text!r}", field="react") from None


def rules_from_rows(rows: list[list]) -> list[dict]:
    """Turn table rows back into react rules (plain data for the schema, which checks them); empty rows are
    skipped. ``smooth`` is seconds or ``attack/release``; the source column is a seed (pulse), a direction
    (direction, motion) or twelve comma-separated seeds (chroma-blend). UserError for a malformed number."""
    rules = []
    for i, row in enumerate(rows or []):
        cells = [("" if c is None else str(c).strip()) for c in list(row) + [""] * (7 - len(row))]
        feature, band, target, amount, smooth, source, decay = cells[:7]
        if not (feature or target):
            continue
        rule: dict[str, Any] = {"feature": feature, "target": target}
        if band:
            rule["band"] = band
        if amount:
            rule["amount"] = _number(amount, "amount", i)
        if smooth:
            parts = smooth.split("/")
            a = _number(parts[0], "smooth", i)
            rule["smooth"] = a if len(parts) == 1 else {"attack": a, "release": _number(parts[1], "smooth", i)}
        if decay:
            rule["decay"] = _number(decay, "decay", i)
        if source:
            if target == "chroma-blend":
                rule["seeds"] = [int(_number(s, "seeds", i)) for s in source.replace(";", ",").split(",") if s.strip()]
            elif target == "pulse" and source.isdigit():
                rule["seed"] = int(source)
            elif target == "pulse":
                rule["latent"] = source
            else:
                rule["direction"] = source
        rules.append(rule)
    return rules


def build(ctx: Studio, yaml_code: Any) -> None:
    """Lay out the Music accordion (inside the Timeline tab) and wire it: its actions update the session's
    Timeline and the tab's ``yaml_code`` panel (``set_audio``, ``set_audio_offset``, ``set_react``)."""
    with gr.Accordion("Music (audio-reactive)", open=False):
        with gr.Row(elem_classes="compact-row"):
            upload = gr.UploadButton("Upload a track…", file_types=AUDIO_TYPES, scale=1)
            offset = gr.Number(0.0, label="Offset (s)", minimum=0, min_width=90, scale=1)
            info = gr.Markdown(scale=3)
        plot = gr.Image(label="Features (beats in orange)", type="filepath", interactive=False, height=320,
                        elem_id="audio-features")
        table = gr.Dataframe(react_rows(None), headers=REACT_HEADERS, interactive=True, row_count=(1, "dynamic"),
                             label=f"React rules — features: {', '.join(FEATURES)}; bands: {', '.join(BAND_NAMES)}; "
                                   f"targets: {', '.join(TARGETS)}", elem_id="react-rules")
        apply_btn = gr.Button("Apply react rules", size="sm")

    def describe(path: Path) -> tuple[str, str]:
        analysis, _ = analyse_file(path)
        png = path.with_suffix(path.suffix + ".features.png")
        if not png.exists():
            plot_features(analysis, png, title=path.name)
        return str(png), (f"**{path.name}**: {analysis.duration:.1f} s · {analysis.tempo:.1f} BPM · "
                          f"{len(analysis.beat_times)} beats")

    @user_errors
    def set_track(tl, file, offset_s):
        if not file:
            raise UserError("choose an audio file to upload", field="audio")
        src = Path(file if isinstance(file, str) else file.name)
        folder = ctx.output_dir / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / (safe_name(src.stem, "track") + src.suffix.lower())
        shutil.copyfile(src, dest)
        png, text = describe(dest)
        tl = state.rebuild(tl, audio={"path": str(dest), "offset": float(offset_s or 0.0)})
        return tl, state.preview_yaml(tl), png, text

    @user_errors
    def set_offset(tl, offset_s):
        if tl.audio is not None:
            tl = state.rebuild(tl, audio={"path": tl.audio.path, "offset": float(offset_s or 0.0)})
        return tl, state.preview_yaml(tl)

    @user_errors
    def apply_rules(tl, rows):
        rules = rules_from_rows(rows.values.tolist() if hasattr(rows, "values") else rows)
        tl = state.rebuild(tl, react=rules or None)
        return tl, state.preview_yaml(tl), react_rows(tl)

    upload.upload(set_track, [ctx.timeline, upload, offset], [ctx.timeline, yaml_code, plot, info],
                  api_name="set_audio", **EDIT)
    offset.change(set_offset, [ctx.timeline, offset], [ctx.timeline, yaml_code], api_name="set_audio_offset", **EDIT)
    apply_btn.click(apply_rules, [ctx.timeline, table], [ctx.timeline, yaml_code, table], api_name="set_react",
                    **EDIT)
