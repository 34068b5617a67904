"""Writing a live performance as a timeline file that ``studio render`` draws again frame for frame.

``OUT.yaml`` holds the keyframes and per-keyframe settings (seeds, truncation, directions, and latent files for the
frames a control cut into); the latents go to the folder ``OUT.latents/`` beside it, written relative to the file, so
the pair can be moved together. The control events, each with its frame and time, head the file as comments.
Everything is written under temporary names and renamed when complete.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ganlib.errors import UserError
from ganlib.io_utils import atomic_path
from studio.timeline import timeline_from_dict, timeline_to_yaml


def latents_folder(out: str | Path) -> Path:
    """Return the folder that holds the latent files of recording ``out`` (``OUT.latents`` beside it)."""
    out = Path(out)
    return out.with_name(out.stem + ".latents")


def write_recording(record: dict, out: str | Path, events: list[str] = (), source: str = "") -> Path:
    """Write the recording ``record`` (a timeline dict from ``Performance.close``) to ``out`` (.yaml), copying its
    latent files into :func:`latents_folder`; ``events`` are comment lines (frame, time, control). Returns ``out``.
    Raises UserError for a path that is not .yaml/.yml."""
    out = Path(out)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"a recording is a timeline file: give a .yaml path, got '{out.name}'", field="--record")
    folder = latents_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    keyframes = [dict(kf) for kf in record["keyframes"]]
    latents = [kf for kf in keyframes if "latent" in kf]
    tmp_folder = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp_folder, ignore_errors=True)
    if latents:
        tmp_folder.mkdir(parents=True)
        for kf in latents:
            src = Path(kf["latent"])
            shutil.copyfile(src, tmp_folder / src.name)
            kf["latent"] = str((folder / src.name).absolute())
    tl = timeline_from_dict({**record, "keyframes": keyframes}, source=str(out))
    header = [f"# Recorded with 'studio live'{f' from {source}' if source else ''}. Render it again with",
              f"#   studio render {out.name} --batch 1   (same frames, bit for bit, on the same device)",
              "# Control events (frame, seconds, control):"]
    header += [f"#   {line}" for line in events] or ["#   (none)"]
    text = "\n".join(header) + "\n" + timeline_to_yaml(tl, relative_to=out.parent)
    if latents:
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp_folder, folder)
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


__all__ = ["write_recording", "latents_folder"]
