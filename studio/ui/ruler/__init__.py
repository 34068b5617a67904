"""The time ruler of the Timeline tab: keyframe thumbnails on a ruler of seconds and frames (and beats when the
timeline has music), drawn in the browser by ``ruler.js`` from a JSON description made here.

The browser talks back through one hidden textbox (``#ruler-cmd``): a drag sends ``{"op": "move", "index": i,
"time": s}``, a click ``{"op": "select", "index": i}``; :func:`parse_command` checks what arrives. The same script
binds the keyboard (Ctrl+Z / Ctrl+Shift+Z, Ctrl+C / Ctrl+V and Delete on the ruler) and asks before "Delete" and
"Load a timeline" discard work.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable

from ganlib.errors import UserError
from studio.timeline import Timeline

HERE = Path(__file__).resolve().parent
SCRIPT = (HERE / "ruler.js").read_text(encoding="utf-8")
STYLE = (HERE / "ruler.css").read_text(encoding="utf-8")
TEMPLATE = '<div class="tl-ruler" tabindex="0" aria-label="Timeline ruler"><div class="tl-track"></div></div>'
OPS = ("move", "select", "restore")
MAX_COMMAND_CHARS = 500
MAX_RESTORE_CHARS = 1_000_000  # a kept timeline (its fields as JSON)


def fingerprint(tl: Timeline | None) -> str:
    """A short digest of the timeline's fields (the browser compares it with the last saved one)."""
    text = json.dumps(tl.model_dump(mode="json", exclude_none=True) if tl is not None else None, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def payload(tl: Timeline, renderable: Timeline | None, selected: int, thumbs: Callable[[int], tuple[str, str]],
            saved: bool = False) -> str:
    """The JSON the ruler draws: fps, length in seconds and frames, beat times (when ``renderable`` has analysed
    music), each keyframe's time, label, thumbnail and problem (``thumbs(i)`` → (data URI, problem)), the
    ``selected`` keyframe, the timeline's :func:`fingerprint`, whether it was just ``saved`` or loaded, and its
    fields (``kept``: the browser keeps them, and sends them back as a ``restore`` command after a reload)."""
    full = renderable if renderable is not None else tl
    try:
        times = [float(t) for t in full.keyframe_times]
    except (TypeError, ValueError, UserError):
        times = [float(kf.time or 0.0) for kf in tl.keyframes]
    n = int(full.n_frames) if renderable is not None else 1
    length = float(full.period) if renderable is not None else (max(times) if times else 0.0)
    track = full.audio_track if renderable is not None else None
    beats = [round(float(b), 4) for b in track.beat_times[:2000]] if track is not None else []
    kfs = []
    for i, kf in enumerate(tl.keyframes):
        uri, problem = thumbs(i)
        label = f"seed {kf.seed}" if kf.seed is not None else f"latent {Path(str(kf.latent)).name}"
        kfs.append({"t": round(times[i], 6) if i < len(times) else 0.0, "label": label, "thumb": uri,
                    "problem": problem})
    data = {"fps": float(tl.fps), "length": round(max(length, max(times, default=0.0)), 6), "frames": n,
            "beats": beats, "keyframes": kfs, "selected": int(selected), "fingerprint": fingerprint(tl),
            "saved": bool(saved),
            "kept": tl.model_dump(mode="json", exclude_none=True) if tl.keyframes else None}
    return json.dumps(data)


def parse_command(text: str | None) -> dict[str, Any] | None:
    """A ruler command from the browser as a dict with ``op`` ('move' or 'select'), ``index`` (int) and, for a
    move, ``time`` (finite seconds ≥ 0); None for an empty text. Raises UserError for anything else."""
    if not text:
        return None
    if len(text) > (MAX_RESTORE_CHARS if text.lstrip().startswith('{"op":"restore"') else MAX_COMMAND_CHARS):
        raise UserError("the ruler sent an over-long command", field="ruler")
    try:
        cmd = json.loads(text)
    except json.JSONDecodeError:
        raise UserError("the ruler sent a command that is not JSON", field="ruler") from None
    if not isinstance(cmd, dict) or cmd.get("op") not in OPS:
        raise UserError(f"a ruler command needs 'op', one of {', '.join(OPS)}", field="ruler")
    if cmd["op"] == "restore":
        if not isinstance(cmd.get("data"), dict):
            raise UserError("a restore command needs the timeline's fields as 'data'", field="ruler")
        return {"op": "restore", "data": cmd["data"]}
    index = cmd.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise UserError("a ruler command needs a keyframe 'index'", field="ruler")
    out: dict[str, Any] = {"op": cmd["op"], "index": index}
    if cmd["op"] == "move":
        t = cmd.get("time")
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) or t < 0:
            raise UserError("a move needs a 'time' in seconds, 0 or more", field="time")
        out["time"] = float(t)
    return out
