"""Timeline editing for the studio UI: pure functions on a plain dict shaped like the timeline YAML.

The UI keeps one dict per browser session (``{"model": ..., "fps": ..., "keyframes": [{...}, ...], ...}``). Every
operation here takes such a dict and returns a *new* dict (the input is never changed), so the functions can be
tested without Gradio. :func:`to_timeline` validates a dict through :func:`studio.timeline.timeline_from_dict`,
the same schema ``studio render`` uses, and :func:`to_yaml` writes it with :func:`studio.timeline.timeline_to_yaml`,
so a timeline saved in the UI renders identically from the command line.

Keyframe times must strictly increase. Editing a keyframe's time re-sorts the list (the edited keyframe is
followed); moving a keyframe up or down swaps its *content* (seed or latent, truncation, easing, directions) with
its neighbour's while the times stay where they are, which is what "play this one earlier" means on a timeline.
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any, Sequence

import yaml

from studio.errors import TimelineError, UserError
from studio.timeline import EASES, INTERPOLATIONS, SEED_MAX, Timeline, parse_timeline, timeline_from_dict, \
    timeline_to_yaml

DEFAULT_SPACING = 2.0   # seconds between a new keyframe and the last one
DIRECTION_COUNT = 8     # SeFa sliders per keyframe (sefa0 .. sefa7)
DIRECTION_LIMIT = 5.0   # slider range: ± this many steps
NATIVE_SIZE = "model"   # the size choice meaning "the model's own resolution"
SIZE_CHOICES = [NATIVE_SIZE, "128", "256", "512", "768", "1024"]
MAX_UI_SIZE = 2048      # largest output side the UI accepts
MAX_UI_FRAMES = 10_000  # longest render the UI accepts (the CLI has no limit)
UI_SOURCE = "<studio ui>"

# The timeline-wide settings the UI shows as components, in this order (see apply_settings / settings_of).
SETTINGS = ("model", "fps", "size", "duration", "interpolation", "loop", "truncation", "space", "noise")
_CONTENT_KEYS = ("seed", "latent", "latent_space", "truncation", "ease", "label", "features", "mix", "directions")


class StateError(UserError):
    """An editing request the timeline cannot take (no such keyframe, two keyframes at one time, ...)."""


def new_timeline(model: str = "builtin:default") -> dict:
    """Return an empty timeline dict for ``model`` with the UI's defaults (30 fps, cubic, truncation 0.7)."""
    return {"model": model, "fps": 30.0, "interpolation": "cubic", "truncation": 0.7, "loop": False,
            "keyframes": []}


def _copy(d: dict | None) -> dict:
    out = copy.deepcopy(d) if d else new_timeline()
    out.setdefault("keyframes", [])
    return out


def _fps(d: dict) -> float:
    try:
        fps = float(d.get("fps", 30.0))
    except (TypeError, ValueError):
        return 30.0
    return fps if fps > 0 else 30.0


def keyframe_time(d: dict, kf: dict) -> float:
    """Return a keyframe's time in seconds (``time``, or ``frame`` / fps)."""
    if kf.get("time") is not None:
        return float(kf["time"])
    if kf.get("frame") is not None:
        return float(kf["frame"]) / _fps(d)
    return 0.0


def _check_index(d: dict, index: Any) -> int:
    n = len(d["keyframes"])
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise StateError("select a keyframe first", field="keyframe") from None
    if not 0 <= i < n:
        if n == 0:
            raise StateError("the timeline has no keyframes yet: add one from the Explore tab", field="keyframe")
        raise StateError(f"there is no keyframe {i}; pick one of 0..{n - 1}", field="keyframe")
    return i


def _check_time(t: Any) -> float:
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise StateError(f"time must be a number of seconds (got {t!r})", field="time") from None
    if not math.isfinite(value) or value < 0:
        raise StateError(f"time must be 0 seconds or later (got {t!r})", field="time")
    return round(value, 6)


def _check_seed(seed: Any) -> int:
    try:
        value = float(seed)
    except (TypeError, ValueError):
        raise StateError(f"seed must be a whole number (got {seed!r})", field="seed") from None
    if not value.is_integer() or not 0 <= value <= SEED_MAX:
        raise StateError(f"seed must be a whole number 0..{SEED_MAX} (got {seed!r})", field="seed")
    return int(value)


def _check_truncation(psi: Any) -> float | None:
    if psi is None:
        return None
    try:
        value = float(psi)
    except (TypeError, ValueError):
        raise StateError(f"truncation must be a number 0..2 (got {psi!r})", field="truncation") from None
    if not 0 <= value <= 2:
        raise StateError(f"truncation must be between 0 and 2 (got {psi!r})", field="truncation")
    return round(value, 6)


def _sort(d: dict, follow: int) -> tuple[dict, int]:
    """Sort keyframes by time; refuse two at one time; return (dict, new index of keyframe ``follow``)."""
    kfs = d["keyframes"]
    order = sorted(range(len(kfs)), key=lambda k: keyframe_time(d, kfs[k]))
    times = [keyframe_time(d, kfs[k]) for k in order]
    for a, b in zip(times, times[1:]):
        if abs(a - b) < 1e-9:
            raise StateError(f"two keyframes would be at {a:g} s; keyframe times must differ", field="time")
    d["keyframes"] = [kfs[k] for k in order]
    return d, (order.index(follow) if 0 <= follow < len(order) else follow)


# ----------------------------------------------------------------------------------------------- keyframes
def add_keyframe(d: dict | None, *, seed: int | None = None, latent: str | None = None,
                 truncation: float | None = None, at: float | None = None,
                 spacing: float = DEFAULT_SPACING) -> tuple[dict, int]:
    """Add a keyframe showing ``seed`` (or a ``latent`` file) and return (new dict, its index).

    It goes at time ``at`` (seconds) when given, else ``spacing`` seconds after the last keyframe (0 for the
    first). ``truncation`` None means "use the timeline's". Raises StateError for a bad seed or an occupied time.
    """
    out = _copy(d)
    kfs = out["keyframes"]
    if (seed is None) == (latent is None):
        raise StateError("a keyframe needs either a seed or a latent file", field="seed")
    if at is None:
        at = (max(keyframe_time(out, k) for k in kfs) + float(spacing)) if kfs else 0.0
    kf: dict[str, Any] = {"time": _check_time(at)}
    if seed is not None:
        kf["seed"] = _check_seed(seed)
    else:
        kf["latent"] = str(latent)
    psi = _check_truncation(truncation)
    if psi is not None:
        kf["truncation"] = psi
    kfs.append(kf)
    return _sort(out, len(kfs) - 1)


def update_keyframe(d: dict, index: int, *, time: float | None = None, seed: int | None = None,
                    truncation: float | None = None, inherit_truncation: bool = False,
                    ease: str | None = None) -> tuple[dict, int]:
    """Edit keyframe ``index``: its ``time`` (seconds; re-sorts), ``seed`` (replaces a latent), ``truncation``
    (or ``inherit_truncation`` to use the timeline's) and ``ease``. Arguments left None are unchanged.
    Returns (new dict, the keyframe's index after sorting)."""
    out = _copy(d)
    i = _check_index(out, index)
    kf = out["keyframes"][i]
    if time is not None:
        kf.pop("frame", None)
        kf["time"] = _check_time(time)
    if seed is not None:
        kf["seed"] = _check_seed(seed)
        kf.pop("latent", None)
        kf.pop("latent_space", None)
    if inherit_truncation:
        kf.pop("truncation", None)
    elif truncation is not None:
        kf["truncation"] = _check_truncation(truncation)
    if ease is not None:
        if ease not in EASES:
            raise StateError(f"easing must be one of {', '.join(EASES)} (got {ease!r})", field="ease")
        if ease == "linear":
            kf.pop("ease", None)
        else:
            kf["ease"] = ease
    return _sort(out, i)


def move_keyframe(d: dict, index: int, delta: int) -> tuple[dict, int]:
    """Swap keyframe ``index``'s content with the one ``delta`` (-1 up, +1 down) places away; times stay put.
    Returns (new dict, the index where the content now is); moving past either end changes nothing."""
    out = _copy(d)
    i = _check_index(out, index)
    j = i + int(delta)
    kfs = out["keyframes"]
    if not 0 <= j < len(kfs) or j == i:
        return out, i
    a, b = kfs[i], kfs[j]
    ca = {k: a.pop(k) for k in _CONTENT_KEYS if k in a}
    cb = {k: b.pop(k) for k in _CONTENT_KEYS if k in b}
    a.update(cb)
    b.update(ca)
    return out, j


def delete_keyframe(d: dict, index: int) -> tuple[dict, int]:
    """Remove keyframe ``index``; return (new dict, the index to select next, -1 when none are left)."""
    out = _copy(d)
    i = _check_index(out, index)
    del out["keyframes"][i]
    n = len(out["keyframes"])
    return out, (min(i, n - 1) if n else -1)


def set_directions(d: dict, index: int, amounts: Sequence[float] | dict[str, float]) -> dict:
    """Set keyframe ``index``'s slider amounts (steps along sefa0, sefa1, ...; a list or a name → amount dict).
    Zero amounts are dropped; no amounts removes ``directions``. Returns the new dict."""
    from studio.directions import direction_names
    out = _copy(d)
    i = _check_index(out, index)
    if not isinstance(amounts, dict):
        amounts = dict(zip(direction_names(len(amounts)), amounts))
    clean: dict[str, float] = {}
    for name, value in amounts.items():
        if not re.fullmatch(r"sefa\d+", str(name)):
            raise StateError(f"unknown direction {name!r}; sliders are named sefa0, sefa1, ...", field="directions")
        try:
            v = float(value or 0.0)
        except (TypeError, ValueError):
            raise StateError(f"slider {name} must be a number (got {value!r})", field="directions") from None
        if not math.isfinite(v) or abs(v) > 2 * DIRECTION_LIMIT:
            raise StateError(f"slider {name} must be within ±{DIRECTION_LIMIT:g} (got {value!r})",
                             field="directions")
        if v != 0.0:
            clean[str(name)] = round(v, 4)
    kf = out["keyframes"][i]
    if clean:
        kf["directions"] = clean
    else:
        kf.pop("directions", None)
    return out


def direction_values(d: dict, index: int, count: int = DIRECTION_COUNT) -> list[float]:
    """Return keyframe ``index``'s amounts for sefa0..sefa{count-1} (0 where unset); zeros for no keyframe."""
    kfs = (d or {}).get("keyframes") or []
    if not isinstance(index, (int, float)) or not 0 <= int(index) < len(kfs):
        return [0.0] * count
    dirs = kfs[int(index)].get("directions") or {}
    return [float(dirs.get(f"sefa{k}", 0.0)) for k in range(count)]


def keyframe_fields(d: dict, index: int) -> dict:
    """Return what the keyframe editor shows for keyframe ``index``: time, seed (None for a latent), latent
    (file name or ""), truncation (None = the timeline's), ease and directions (a list)."""
    i = _check_index(_copy(d), index)
    kf = d["keyframes"][i]
    return {"time": keyframe_time(d, kf), "seed": kf.get("seed"),
            "latent": Path(kf["latent"]).name if kf.get("latent") else "",
            "truncation": kf.get("truncation"), "ease": kf.get("ease", "linear"),
            "directions": direction_values(d, i)}


def keyframe_rows(d: dict | None) -> list[list]:
    """Rows for the keyframe table: [#, time s, source, truncation, easing, sliders]."""
    rows = []
    d = d or {}
    for i, kf in enumerate(d.get("keyframes") or []):
        source = f"seed {kf['seed']}" if kf.get("seed") is not None else f"latent {Path(str(kf.get('latent'))).name}"
        if kf.get("mix"):
            source += f" + mix {kf['mix'].get('seed')}"
        psi = kf.get("truncation")
        dirs = kf.get("directions") or {}
        rows.append([i, round(keyframe_time(d, kf), 3), source, "timeline" if psi is None else psi,
                     kf.get("ease", "linear"), ", ".join(f"{k} {v:+g}" for k, v in dirs.items())])
    return rows


# ------------------------------------------------------------------------------------------------ settings
def parse_size(value: Any) -> int | list[int] | None:
    """Turn the size choice ("model", "512", "768x512", 512, [w, h]) into the timeline's ``size`` (None = native).
    Raises StateError for anything else or a side over the UI limit."""
    if value is None or value == "" or value == 0 or str(value).strip().lower() in (NATIVE_SIZE, "native"):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        sides = list(value)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*(?:px)?\s*", str(value))
        if not m:
            raise StateError(f"size must be 'model', a number of pixels like 512, or WIDTHxHEIGHT like 768x512 "
                             f"(got {value!r})", field="size")
        sides = [m.group(1)] + ([m.group(2)] if m.group(2) else [])
    try:
        ints = [int(float(s)) for s in sides]
    except (TypeError, ValueError):
        raise StateError(f"size must be whole numbers of pixels (got {value!r})", field="size") from None
    if any(s > MAX_UI_SIZE for s in ints):
        raise StateError(f"the studio renders at most {MAX_UI_SIZE} pixels a side (got {value!r}); use "
                         f"'studio render' for larger videos", field="size")
    return ints[0] if len(ints) == 1 else ints


def size_label(size: Any) -> str:
    """The size choice shown for a timeline ``size`` value (inverse of :func:`parse_size`)."""
    if size is None:
        return NATIVE_SIZE
    if isinstance(size, (list, tuple)):
        return f"{size[0]}x{size[1]}"
    return str(size)


def apply_settings(d: dict | None, model: str | None = None, fps: float | None = None, size: Any = None,
                   duration: float | None = None, interpolation: str | None = None, loop: bool | None = None,
                   truncation: float | None = None, space: str | None = None, noise: str | None = None) -> dict:
    """Return a new dict with the timeline-wide settings from the UI's components (see :data:`SETTINGS`).

    ``model`` None leaves the model; ``size`` "model"/None means native; ``duration`` 0/None means automatic.
    Only obviously malformed values are refused here (StateError); the schema checks the rest.
    """
    out = _copy(d)
    if model:
        out["model"] = str(model)
    if fps is not None:
        try:
            out["fps"] = float(fps)
        except (TypeError, ValueError):
            raise StateError(f"fps must be a number (got {fps!r})", field="fps") from None
    new_size = parse_size(size)
    if new_size is None:
        out.pop("size", None)
    else:
        out["size"] = new_size
    if duration in (None, "", 0, 0.0):
        out.pop("duration", None)
    else:
        try:
            out["duration"] = float(duration)
        except (TypeError, ValueError):
            raise StateError(f"length must be a number of seconds (got {duration!r})", field="duration") from None
    if interpolation is not None:
        if interpolation not in INTERPOLATIONS:
            raise StateError(f"interpolation must be one of {', '.join(INTERPOLATIONS)} (got {interpolation!r})",
                             field="interpolation")
        out["interpolation"] = interpolation
    if loop is not None:
        out["loop"] = bool(loop)
    if truncation is not None:
        out["truncation"] = _check_truncation(truncation)
    if space is not None:
        out["space"] = str(space)
    if noise is not None:
        out["noise"] = str(noise)
    return out


def settings_of(d: dict | None) -> tuple:
    """Return the values the settings components show for ``d``, in :data:`SETTINGS` order."""
    d = d or new_timeline()
    fields = Timeline.model_fields
    return (d.get("model", fields["model"].default), float(d.get("fps", 30.0)), size_label(d.get("size")),
            float(d.get("duration") or 0), d.get("interpolation", fields["interpolation"].default),
            bool(d.get("loop", False)), float(d.get("truncation", fields["truncation"].default)),
            d.get("space", fields["space"].default), d.get("noise", fields["noise"].default))


# ----------------------------------------------------------------------------------- validation and YAML
def to_timeline(d: dict | None) -> Timeline:
    """Validate the dict with the timeline schema; return the Timeline or raise TimelineError / StateError."""
    d = d or {}
    if not d.get("keyframes"):
        raise StateError("the timeline has no keyframes yet: click images in the Explore tab to add some",
                         field="keyframes")
    tl = timeline_from_dict(copy.deepcopy(d), source=UI_SOURCE)
    if tl.n_frames > MAX_UI_FRAMES:
        raise StateError(f"this timeline has {tl.n_frames} frames; the studio renders at most {MAX_UI_FRAMES} "
                         f"(lower fps or shorten it, or use 'studio render')", field="fps")
    size = tl.frame_size
    if size is not None and max(size) > MAX_UI_SIZE:
        raise StateError(f"the studio renders at most {MAX_UI_SIZE} pixels a side", field="size")
    return tl


def timeline_dict(tl: Timeline) -> dict:
    """Return the plain dict (YAML shape) of a Timeline: ``timeline_from_dict(timeline_dict(tl)) == tl``."""
    return yaml.safe_load(timeline_to_yaml(tl))


def to_yaml(d: dict) -> str:
    """Validate ``d`` and return it as timeline YAML (what ``studio render`` reads)."""
    return timeline_to_yaml(to_timeline(d))


def preview_yaml(d: dict | None) -> str:
    """YAML text for the live view: the validated timeline when valid, else the raw dict with the problem as a
    comment on top. Never raises."""
    try:
        return to_yaml(d)
    except UserError as err:
        raw = yaml.safe_dump(d or {}, sort_keys=False, default_flow_style=None, width=100)
        return f"# not renderable yet: {err.message}\n{raw}"


def from_yaml(text: str | bytes, source: str = "timeline.yaml", base_dir: str | Path | None = None) -> dict:
    """Parse timeline YAML (errors name the line and field) and return its dict; relative latent paths resolve
    against ``base_dir``."""
    tl = parse_timeline(text, source=source, base_dir=base_dir)
    return timeline_dict(tl)


def frame_count(d: dict | None) -> int:
    """Frames the timeline renders, or 1 when it is not valid yet (for the scrubber's range)."""
    try:
        return max(1, to_timeline(d).n_frames)
    except (UserError, TimelineError):
        return 1


def keyframe_frame(d: dict, index: int) -> int:
    """The frame index at keyframe ``index``'s time (clamped to the timeline), for previews."""
    i = _check_index(_copy(d), index)
    n = frame_count(d)
    t = keyframe_time(d, d["keyframes"][i])
    tl = None
    try:
        tl = to_timeline(d)
    except UserError:
        pass
    if tl is not None and tl.loop:
        return min(n - 1, int(round(t * n / tl.total_duration)))
    return min(n - 1, int(round(t * _fps(d))))
