"""Checks run before a render writes anything: no output destroys an input, an existing folder is never taken for
a file, and a frames folder holding another render is not silently overwritten.

Public API::

    timeline_inputs(tl) -> list[str]                       # the files a timeline reads (itself, model, latents)
    check_render_target(tl, target, frames, overwrite) -> None   # UserError naming the output and the clash
"""
from __future__ import annotations

from pathlib import Path

from ganlib.errors import UserError
from ganlib.paths import check_name, refuse_same, regular_or_missing
from studio.timeline_model import BUILTIN_PREFIX


def timeline_inputs(tl) -> list[str]:
    """Return the paths timeline ``tl`` reads: its own file (when it has one), the model checkpoint and every
    keyframe's latent and feature files."""
    out = [tl.source] if tl.source and not tl.source.startswith("<") else []
    if not tl.model.startswith(BUILTIN_PREFIX):
        out.append(tl.model)
    for kf in tl.keyframes:
        out += [p for p in (kf.latent, kf.features if isinstance(kf.features, str) else None) if p]
    return out


def check_render_target(tl, target: str | Path, frames: bool, overwrite: bool = False, resume: bool = False) -> None:
    """Refuse (UserError, one line) a render output ``target`` that is one of the timeline's inputs, an existing
    folder where a file is written (or a file where a folder is), or — for a frames folder (``frames``) — a folder
    that already holds ``frame_*.png`` files when neither ``overwrite`` nor ``resume`` is given. Returns None."""
    field = "--frames" if frames else "--out"
    text = check_name(target, "output", field=field)
    if frames:
        if Path(text).exists() and not Path(text).is_dir():
            raise UserError("is a file, not a folder for a PNG sequence", file=text, field=field)
        if not (overwrite or resume) and Path(text).is_dir() and any(Path(text).glob("frame_*.png")):
            raise UserError("already holds frame_*.png files from another render; pass --overwrite to replace "
                            "them or --resume to continue", file=text, field=field)
        return
    if not text.endswith("/"):
        regular_or_missing(text, "output file", field=field)
    refuse_same(text, timeline_inputs(tl), field=field)
