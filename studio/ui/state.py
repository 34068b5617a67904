"""Timeline editing for the studio UI: pure operations on the real :class:`studio.timeline.Timeline`.

The UI keeps one ``Timeline`` per browser session. Every operation here takes a Timeline and returns a *new* one
(the input is never changed), built by :func:`studio.timeline.timeline_from_dict`, the schema ``studio render``
uses, so a bad value is refused with the CLI's own message and a timeline saved in the UI renders identically from
the command line. Frame numbers and times come from the engine (:func:`studio.engine.frame_time`), the function
the renderer times its frames with.

Two kinds of timeline are steps on the way rather than mistakes, so the studio keeps them as *drafts*: one with no
keyframes yet, and a loop with a single keyframe and no ``duration``. A draft has every field validated by the
schema except the one rule it is waiting on; :func:`to_timeline` (render, save, preview) validates the whole
timeline and says what is missing.

Keyframe times must strictly increase. Editing a keyframe's time re-sorts the list (the edited keyframe is
followed); moving a keyframe up or down swaps its *content* (seed or latent, truncation, easing, directions) with
its neighbour's while the times stay where they are, which is what "play this one earlier" means on a timeline.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from studio.directions import direction_names
from studio.engine import frame_time
from studio.errors import UserError
from studio.timeline import Keyframe, Timeline, parse_timeline, timeline_from_dict, timeline_to_yaml, with_audio
from studio.timeline_model import STUDIO_SOURCE

DEFAULT_SPACING = 2.0   # seconds between a new keyframe and the last one
DIRECTION_COUNT = 8     # SeFa sliders per keyframe (sefa0 .. sefa7)
DIRECTION_LIMIT = 5.0   # slider range: ± this many steps
MAX_UI_SIZE = 2048      # largest output side the UI accepts
MAX_UI_FRAMES = 10_000  # longest render the UI accepts (the CLI has no limit)
UI_SOURCE = STUDIO_SOURCE
# The studio starts new timelines (and its truncation sliders) at ψ 0.7, which shows typical images; a YAML file
# without 'truncation' keeps the schema's default (no truncation).
START_TRUNCATION = 0.7

_WHEN = ("time", "frame")
_CONTENT_KEYS = tuple(k for k in Keyframe.model_fields if k not in _WHEN)  # what "move up/down" swaps
_STAND_IN = {"time": 0.0, "seed": 0}  # validates the settings of a timeline that has no keyframes yet


class StateError(UserError):
    """An editing request the timeline cannot take (no such keyframe, two keyframes at one time, ...)."""


# ------------------------------------------------------------------------------------------- validation
def tidy_number(value: Any) -> Any:
    """Round a float from a slider or number box to 6 decimals (0.7000000000000001 → 0.7); other values pass
    through unchanged for the schema to judge."""
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 6)
    return value


def whole_number(value: Any) -> Any:
    """A number box's 12.0 as the int 12 (the schema wants whole numbers for seeds); other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def fields_of(tl: Timeline) -> dict:
    """Return the timeline's fields as plain data (the YAML's shape, unset options left out)."""
    return tl.model_dump(exclude_none=True)


def _is_draft(data: dict) -> bool:
    kfs = data.get("keyframes") or []
    return not kfs or (data.get("loop") is True and len(kfs) == 1 and data.get("duration") is None)


def build(data: dict) -> Timeline:
    """Validate timeline fields (plain data) with the schema and return the Timeline; a draft (no keyframes yet,
    or a loop with one keyframe and no duration) is validated in every other field. Raises TimelineError with the
    schema's message otherwise."""
    if not _is_draft(data):
        return timeline_from_dict(data, source=UI_SOURCE)
    kfs = list(data.get("keyframes") or [])
    checked = timeline_from_dict({**data, "loop": False, "keyframes": kfs or [dict(_STAND_IN)]}, source=UI_SOURCE)
    return checked.model_copy(update={"loop": data.get("loop", False), "keyframes": checked.keyframes if kfs else []})


def rebuild(tl: Timeline, **changes: Any) -> Timeline:
    """Return ``tl`` with fields replaced by ``changes`` (None removes an option), validated with :func:`build`."""
    data = fields_of(tl)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return build(data)


def new_timeline(model: str | None = None) -> Timeline:
    """Return an empty (draft) timeline for ``model`` with the schema's defaults and the studio's starting
    truncation (:data:`START_TRUNCATION`)."""
    data: dict[str, Any] = {"truncation": START_TRUNCATION, "keyframes": []}
    if model:
        data["model"] = model
    return build(data)


def to_timeline(tl: Timeline | None) -> Timeline:
    """Return ``tl`` when it can be rendered: validated whole by the schema and within the studio's limits.
    Raises StateError (no keyframes, too many frames, too large) or TimelineError (the schema's message)."""
    if tl is None or not tl.keyframes:
        raise StateError("the timeline has no keyframes yet: click images in the Explore tab to add some",
                         field="keyframes")
    full = with_audio(timeline_from_dict(fields_of(tl), source=UI_SOURCE))  # music: its length and beats
    if full.n_frames > MAX_UI_FRAMES:
        raise StateError(f"this timeline has {full.n_frames} frames; the studio renders at most {MAX_UI_FRAMES} "
                         f"(lower fps or shorten it, or use 'studio render')", field="fps")
    size = full.frame_size
    if size is not None and max(size) > MAX_UI_SIZE:
        raise StateError(f"the studio renders at most {MAX_UI_SIZE} pixels a side", field="size")
    return full


# -------------------------------------------------------------------------------------------- keyframes
def _check_index(tl: Timeline, index: Any) -> int:
    n = len(tl.keyframes)
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise StateError("select a keyframe first", field="keyframe") from None
    if not 0 <= i < n:
        if n == 0:
            raise StateError("the timeline has no keyframes yet: add one from the Explore tab", field="keyframe")
        raise StateError(f"there is no keyframe {i}; pick one of 0..{n - 1}", field="keyframe")
    return i


def keyframe_time(tl: Timeline, index: int) -> float:
    """Return keyframe ``index``'s time in seconds (the schema's ``Keyframe.time_s``)."""
    return tl.keyframes[_check_index(tl, index)].time_s(tl.fps)


def _seconds(kf: dict, fps: float) -> float | None:
    """A keyframe dict's time by the schema's ``Keyframe.time_s``; None while its time is not a number (the schema
    then says why)."""
    try:
        t = Keyframe.model_construct(**kf).time_s(fps)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return float(t) if math.isfinite(t) else None


def _sorted(data: dict, follow: int) -> tuple[Timeline, int]:
    """Sort keyframes by time, refuse two at one time, validate; return (Timeline, new index of ``follow``)."""
    kfs = data["keyframes"]
    fps = data.get("fps", Timeline.model_fields["fps"].default)
    times = [_seconds(kf, fps) for kf in kfs]
    order = list(range(len(kfs)))
    if None not in times:  # else leave the order alone: the schema reports the bad time
        order.sort(key=lambda k: times[k])
    ordered = [times[k] for k in order if times[k] is not None]
    for a, b in zip(ordered, ordered[1:]):
        if abs(a - b) < 1e-9:
            raise StateError(f"two keyframes would be at {a:g} s; keyframe times must differ", field="time")
    tl = build({**data, "keyframes": [kfs[k] for k in order]})
    return tl, (order.index(follow) if 0 <= follow < len(order) else follow)


def add_keyframe(tl: Timeline, *, seed: int | None = None, latent: str | None = None,
                 latent_space: str | None = None, truncation: float | None = None, at: float | None = None,
                 spacing: float = DEFAULT_SPACING, fields: dict[str, Any] | None = None) -> tuple[Timeline, int]:
    """Add a keyframe showing ``seed`` (or a ``latent`` file, holding a z or w vector as ``latent_space`` says;
    None: as the file's shape or .npz key tells) and return (new Timeline, its index).

    It goes at time ``at`` (seconds) when given, else ``spacing`` seconds after the last keyframe (0 for the
    first). ``truncation`` None means "use the timeline's"; ``fields``: other keyframe fields as plain data
    (``label``, ``features``, ``dims``, ...), validated by the schema. Raises StateError for an occupied time or neither a
    seed nor a latent, TimelineError (the schema's message) for a bad value.
    """
    if (seed is None) == (latent is None):
        raise StateError("a keyframe needs either a seed or a latent file", field="seed")
    if at is None:
        at = max(tl.keyframe_times) + float(spacing) if tl.keyframes else 0.0
    kf: dict[str, Any] = {"time": tidy_number(at)}
    if seed is not None:
        kf["seed"] = whole_number(seed)
    else:
        kf["latent"] = str(latent)
        if latent_space is not None:
            kf["latent_space"] = latent_space
    if truncation is not None:
        kf["truncation"] = tidy_number(truncation)
    kf.update(fields or {})
    data = fields_of(tl)
    data["keyframes"] = data["keyframes"] + [kf]
    return _sorted(data, len(data["keyframes"]) - 1)


def update_keyframe(tl: Timeline, index: int, *, time: float | None = None, seed: int | None = None,
                    truncation: float | None = None, inherit_truncation: bool = False,
                    ease: str | None = None) -> tuple[Timeline, int]:
    """Edit keyframe ``index``: its ``time`` (seconds; re-sorts), ``seed`` (replaces a latent), ``truncation``
    (or ``inherit_truncation`` to use the timeline's) and ``ease``. Arguments left None are unchanged.
    Returns (new Timeline, the keyframe's index after sorting)."""
    i = _check_index(tl, index)
    data = fields_of(tl)
    kf = data["keyframes"][i]
    if time is not None:
        kf.pop("frame", None)
        kf["time"] = tidy_number(time)
    if seed is not None:
        kf["seed"] = whole_number(seed)
        kf.pop("latent", None)
        kf.pop("latent_space", None)
    if inherit_truncation:
        kf.pop("truncation", None)
    elif truncation is not None:
        kf["truncation"] = tidy_number(truncation)
    if ease is not None:
        kf["ease"] = ease
    return _sorted(data, i)


_WHEN_KEYS = ("time", "frame", "beat", "bar")


def edit_keyframe(tl: Timeline, index: int, changes: dict[str, Any]) -> tuple[Timeline, int]:
    """Set keyframe ``index``'s fields from ``changes`` (field name → value; None removes the field, so the
    keyframe falls back to the timeline's value). A new ``time`` replaces frame/beat/bar placement and re-sorts; a
    new ``seed`` replaces a latent file. Returns (new Timeline, the keyframe's index after sorting); the schema's
    message (naming ``keyframes[i].field``) otherwise."""
    i = _check_index(tl, index)
    data = fields_of(tl)
    kf = data["keyframes"][i]
    for name, value in changes.items():
        if name not in Keyframe.model_fields:
            raise StateError(f"unknown keyframe field {name!r}", field=name)
        if value is None:
            if name in _WHEN_KEYS or (name == "seed" and "latent" not in kf):
                continue  # a keyframe keeps its place in time and its source
            kf.pop(name, None)
            continue
        if name == "time":
            for other in _WHEN_KEYS:
                kf.pop(other, None)
        if name == "seed":
            kf.pop("latent", None)
            kf.pop("latent_space", None)
        kf[name] = whole_number(value) if name in ("seed", "label") else tidy_number(value)
    return _sorted(data, i)


def _free_time(tl: Timeline, at: float) -> float:
    """``at`` (snapped to a frame) when no keyframe is there, else DEFAULT_SPACING after the last keyframe."""
    at = round(max(0.0, float(at)) * tl.fps) / tl.fps
    times = tl.keyframe_times
    if all(abs(at - t) > 1e-9 for t in times):
        return tidy_number(at)
    return tidy_number(max(times) + DEFAULT_SPACING)


def keyframe_content(tl: Timeline, index: int) -> dict:
    """Keyframe ``index`` as plain data without its time (what "copy" keeps)."""
    kf = dict(fields_of(tl)["keyframes"][_check_index(tl, index)])
    for when in _WHEN_KEYS:
        kf.pop(when, None)
    return kf


def paste_keyframe(tl: Timeline, content: dict, at: float) -> tuple[Timeline, int]:
    """Add a keyframe with ``content`` (from :func:`keyframe_content`) at ``at`` seconds, or after the last
    keyframe when a keyframe is already there. Returns (new Timeline, its index)."""
    if not isinstance(content, dict) or not content:
        raise StateError("copy a keyframe first (select it, then Copy or Ctrl+C on the ruler)", field="keyframe")
    data = fields_of(tl)
    data["keyframes"] = data["keyframes"] + [{"time": _free_time(tl, at), **content}]
    return _sorted(data, len(data["keyframes"]) - 1)


def duplicate_keyframe(tl: Timeline, index: int) -> tuple[Timeline, int]:
    """Copy keyframe ``index`` halfway to the next keyframe (DEFAULT_SPACING after it when it is the last).
    Returns (new Timeline, the copy's index)."""
    i = _check_index(tl, index)
    times = tl.keyframe_times
    at = (times[i] + times[i + 1]) / 2 if i + 1 < len(times) else times[i] + DEFAULT_SPACING
    return paste_keyframe(tl, keyframe_content(tl, i), at)


def move_keyframe(tl: Timeline, index: int, delta: int) -> tuple[Timeline, int]:
    """Swap keyframe ``index``'s content with the one ``delta`` (-1 up, +1 down) places away; times stay put.
    Returns (new Timeline, the index where the content now is); moving past either end changes nothing."""
    i = _check_index(tl, index)
    j = i + int(delta)
    if not 0 <= j < len(tl.keyframes) or j == i:
        return tl.model_copy(), i
    data = fields_of(tl)
    a, b = data["keyframes"][i], data["keyframes"][j]
    ca = {k: a.pop(k) for k in _CONTENT_KEYS if k in a}
    cb = {k: b.pop(k) for k in _CONTENT_KEYS if k in b}
    a.update(cb)
    b.update(ca)
    return build(data), j


def delete_keyframe(tl: Timeline, index: int) -> tuple[Timeline, int]:
    """Remove keyframe ``index``; return (new Timeline, the index to select next, -1 when none are left)."""
    i = _check_index(tl, index)
    data = fields_of(tl)
    del data["keyframes"][i]
    n = len(data["keyframes"])
    return build(data), (min(i, n - 1) if n else -1)


def set_directions(tl: Timeline, index: int, amounts: Sequence[float] | dict[str, float]) -> Timeline:
    """Set keyframe ``index``'s slider amounts (steps along sefa0, sefa1, ...; a list or a name → amount dict).
    Zero amounts are dropped; no amounts removes ``directions``. Returns the new Timeline."""
    i = _check_index(tl, index)
    names = direction_names(DIRECTION_COUNT)
    if not isinstance(amounts, dict):
        amounts = dict(zip(direction_names(len(amounts)), amounts))
    clean: dict[str, Any] = {}
    for name, value in amounts.items():
        if name not in names:
            raise StateError(f"unknown direction {name!r}; the sliders are {names[0]} .. {names[-1]}",
                             field="directions")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and abs(value) > 2 * DIRECTION_LIMIT:
            raise StateError(f"slider {name} must be within ±{DIRECTION_LIMIT:g} (got {value!r})",
                             field="directions")
        if value is None or value == 0:
            continue
        clean[str(name)] = round(value, 4) if isinstance(value, float) and math.isfinite(value) else value
    data = fields_of(tl)
    kf = data["keyframes"][i]
    if clean:
        kf["directions"] = clean
    else:
        kf.pop("directions", None)
    return build(data)


def direction_values(tl: Timeline, index: int, count: int = DIRECTION_COUNT) -> list[float]:
    """Return keyframe ``index``'s amounts for sefa0..sefa{count-1} (0 where unset); zeros for no keyframe."""
    if not isinstance(index, (int, float)) or not 0 <= int(index) < len(tl.keyframes):
        return [0.0] * count
    dirs = tl.keyframes[int(index)].directions or {}
    return [float(dirs.get(name, 0.0)) for name in direction_names(count)]


def keyframe_fields(tl: Timeline, index: int) -> dict:
    """Return what the keyframe editor shows for keyframe ``index``: time, seed (None for a latent), latent
    (file name or ""), latent_space, truncation (None = the timeline's), ease, label (class), features (a list
    or file), mix (seed and layers, or None), translate, rotate and directions (a list)."""
    i = _check_index(tl, index)
    kf = tl.keyframes[i]
    try:
        when = float(tl.keyframe_times[i])
    except (TypeError, ValueError, UserError):  # beat keyframes before the music is analysed
        when = float(kf.time or 0.0)
    return {"time": when, "seed": kf.seed, "latent": Path(kf.latent).name if kf.latent else "",
            "latent_space": kf.latent_space, "truncation": kf.truncation, "ease": kf.ease, "label": kf.label,
            "features": kf.features, "mix": kf.mix.model_dump() if kf.mix is not None else None,
            "translate": kf.translate, "rotate": kf.rotate, "directions": direction_values(tl, i)}


def keyframe_rows(tl: Timeline | None) -> list[list]:
    """Rows for the keyframe table: [#, time s, source, truncation, easing, sliders]."""
    rows = []
    for i, kf in enumerate(tl.keyframes if tl is not None else []):
        source = f"seed {kf.seed}" if kf.seed is not None else f"latent {Path(str(kf.latent)).name}"
        if kf.mix is not None:
            source += f" + mix {kf.mix.seed}"
        dirs = kf.directions or {}
        rows.append([i, round(kf.time_s(tl.fps), 3), source, "timeline" if kf.truncation is None else kf.truncation,
                     kf.ease, ", ".join(f"{k} {v:+g}" for k, v in dirs.items())])
    return rows


# ----------------------------------------------------------------------------------------------- YAML
def to_yaml(tl: Timeline) -> str:
    """Validate ``tl`` (:func:`to_timeline`) and return it as timeline YAML (what ``studio render`` reads)."""
    return timeline_to_yaml(to_timeline(tl))


def preview_yaml(tl: Timeline | None) -> str:
    """YAML text for the live view: the timeline when it can render, else its YAML with the problem as a comment
    on top. Never raises."""
    try:
        return to_yaml(tl)
    except UserError as err:
        return f"# not renderable yet: {err.message}\n" + (timeline_to_yaml(tl) if tl is not None else "")


def from_yaml(text: str | bytes, source: str = "timeline.yaml", base_dir: str | Path | None = None) -> Timeline:
    """Parse timeline YAML (errors name the line and field, as the CLI's) and return the Timeline; relative latent
    paths resolve against ``base_dir``."""
    return parse_timeline(text, source=source, base_dir=base_dir)


# -------------------------------------------------------------------------------------------- frames
def frame_count(tl: Timeline | None) -> int:
    """Frames the timeline renders, or 1 when it is not renderable yet (for the scrubber's range)."""
    try:
        return max(1, to_timeline(tl).n_frames)
    except UserError:
        return 1


def frame_seconds(tl: Timeline, index: int) -> float:
    """The time in seconds at which the renderer draws frame ``index`` (the engine's :func:`frame_time`)."""
    return float(frame_time(int(index), tl.fps))


def keyframe_frame(tl: Timeline, index: int) -> int:
    """The frame drawn nearest to keyframe ``index``'s time (by the engine's frame times), for previews."""
    t = keyframe_time(tl, index)
    times = frame_time(np.arange(frame_count(tl)), tl.fps)
    return int(np.argmin(np.abs(times - t)))


def frame_caption(tl: Timeline, index: int, width: int, height: int, ms: float) -> str:
    """The line under a preview: frame number, its time (the engine's), size and how long it took."""
    return (f"frame **{index}** of {tl.n_frames} · {frame_seconds(tl, index):.2f} s · {width}×{height} px · "
            f"rendered in {ms:.0f} ms")
