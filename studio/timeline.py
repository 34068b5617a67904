"""Reading and writing timeline YAML files.

A timeline names a model, a frame rate and a list of keyframes (a seed or a latent file at a time); see
``docs/contracts.md`` and the README for the whole format. The schema lives in :mod:`studio.timeline_model`; the
YAML dialect, line numbers and the error style come from the one schema layer, :mod:`ganlib.schema`. Every problem
is reported as ONE :class:`studio.errors.TimelineError` naming the file, the 1-based line and the field path
(``keyframes[2].time``), and saying what is allowed. Pydantic's own messages never reach the user.

Public API::

    parse_timeline(text, source="timeline text", base_dir=None) -> Timeline
    load_timeline(path) -> Timeline                     # also checks that latent/feature files exist
    timeline_from_dict(d, source="timeline data", base_dir=None) -> Timeline
    timeline_to_yaml(tl, relative_to=None) -> str        # parse_timeline(timeline_to_yaml(tl)) == tl
    check_files(tl) -> None
    parse_layers(spec, num_ws) -> list[int]

Decisions worth knowing:

* Keyframes keep what was written (``time`` or ``frame``); :attr:`Timeline.keyframe_times` gives seconds.
* ``duration`` keeps what was written (``None`` when absent); :attr:`Timeline.total_duration` gives the duration
  actually rendered: the last keyframe time for non-loops, ``t_last + average spacing`` for loops.
* Paths resolve one way: ``model`` (unless ``builtin:NAME``), ``latent``, ``features`` and ``output.path`` are
  relative to ``base_dir`` (the timeline file's folder for :func:`load_timeline`) and stored absolute, so a
  project folder renders from anywhere. Without a ``base_dir`` they are kept as written.
* Without ``output.path``, :attr:`Timeline.output_path` is ``renders/<timeline stem>.mp4`` relative to the working
  folder. ``output.codec`` is ``None`` unless given; :attr:`Output.codec_name` gives the codec to use.
* Formats, codecs, CRF ranges and frame-rate limits (a GIF plays at most 50 fps) come from the one format table,
  ``studio.sinks.formats``, and are checked here, at parse time, with the file and line.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ganlib.schema import load_yaml, read_yaml_file, show, suggest, validate
from studio.errors import TimelineError
from studio.timeline_audio import load_track
from studio.layer_specs import parse_layers
from studio.timeline_model import (DATA_SOURCE, EASES, INTERPOLATIONS, KEYFRAME_FIELDS, SEED_MAX, TEXT_SOURCE,
                                   TIMELINE_FIELDS, Keyframe, MixSpec, Output, Timeline)

_WHAT = "timeline file"


def _hints(err: dict, loc: tuple) -> str | None:
    """Timeline-specific wording for some errors (the rest is :func:`ganlib.schema.describe`)."""
    kind, got = err["type"], f", got {show(err.get('input'))}"
    if loc == ("keyframes",):
        if kind == "missing":
            return "is required: a list of keyframes such as [{time: 0, seed: 12}, {time: 4, seed: 345}]"
        if kind == "too_short":
            return "needs at least one keyframe, e.g. keyframes: [{time: 0, seed: 12}]"
        if kind == "list_type":
            return "must be a list of keyframes such as [{time: 0, seed: 12}]" + got
    if len(loc) == 2 and loc[0] == "keyframes" and kind in ("dict_type", "model_type", "model_attributes_type"):
        return "each keyframe must be a mapping such as {time: 0, seed: 12}" + got
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if loc[:-1] == () and key in KEYFRAME_FIELDS and suggest(key, TIMELINE_FIELDS) is None:
            return f"unknown field '{key}' at the top level; '{key}' belongs inside a keyframe"
        if len(loc) == 3 and loc[0] == "keyframes" and key in TIMELINE_FIELDS and suggest(key, KEYFRAME_FIELDS) is None:
            return f"unknown keyframe field '{key}'; '{key}' is set once at the top level of the timeline"
    return None


def _build(data: Any, source: str, base_dir: Path | str | None, lines: dict[str, int],
           audio_track=None) -> Timeline:
    """Validate constructed YAML data into a Timeline, translating every error."""
    if data is None:
        raise TimelineError("is empty; a timeline needs at least 'keyframes', e.g. keyframes: [{time: 0, seed: 12}]",
                            file=source, line=1)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({show(data)})"
        raise TimelineError(f"the top level must be a mapping of fields (model, fps, keyframes, ...), not {kind}",
                            file=source, line=lines.get("", 1))
    context = {"base_dir": Path(base_dir).absolute() if base_dir is not None else None, "audio_track": audio_track}
    tl = validate(Timeline, data, source=source, lines=lines, error=TimelineError, context=context, hints=_hints)
    tl._source = source
    tl._lines = dict(lines)
    return tl


# ------------------------------------------------------------------------------------------------- public API
def parse_timeline(text: str | bytes, source: str = TEXT_SOURCE, base_dir: Path | str | None = None) -> Timeline:
    """Parse timeline YAML ``text`` (str or bytes).

    ``source`` names the file in error messages; ``base_dir`` resolves relative model/latent/feature/output paths
    (stored absolute). Returns a validated Timeline; raises TimelineError (file, line, field, what is allowed)
    otherwise. Does not check that latent files exist (see :func:`check_files`).
    """
    source = str(source)
    data, lines = load_yaml(text, source, TimelineError, _WHAT)
    return _build(data, source, base_dir, lines)


def timeline_from_dict(d: Any, source: str = DATA_SOURCE, base_dir: Path | str | None = None) -> Timeline:
    """Validate a plain dict (e.g. built by the UI) into a Timeline; TimelineError (no line numbers) otherwise."""
    return _build(d, str(source), base_dir, {})


def check_files(tl: Timeline) -> None:
    """Check that every latent and feature file a timeline names exists; raise TimelineError naming the path,
    the line and the field otherwise. Returns None."""
    for i, kf in enumerate(tl.keyframes):
        for name, value in (("latent", kf.latent), ("features", kf.features)):
            if not isinstance(value, str):
                continue
            path = Path(value)
            what = "latent" if name == "latent" else "feature"
            if path.is_dir():
                raise tl.error(f"{what} file {value} is a folder, not a .npy/.npz file", f"keyframes[{i}].{name}")
            if not path.is_file():
                raise tl.error(f"{what} file not found: {value}", f"keyframes[{i}].{name}")


def load_timeline(path: str | Path) -> Timeline:
    """Read and parse a timeline file; relative model/latent/feature/output paths resolve against its folder.

    Takes a path; returns the Timeline (``source`` = the path). Raises TimelineError for an unreadable file, bad
    content, or a latent/feature file that does not exist.
    """
    data, lines = read_yaml_file(path, TimelineError, _WHAT)
    tl = _build(data, str(path), Path(path).parent, lines)
    check_files(tl)
    return with_audio(tl)


def with_audio(tl: Timeline) -> Timeline:
    """Return ``tl`` with its ``audio`` analysed and attached (``Timeline.audio_track``; analyses are cached by
    content), validated again now that beat times and the audio's length are known; ``tl`` itself when it has no
    audio or has it attached already. Raises TimelineError (file, line) for missing or undecodable audio, beat
    keyframes out of order or past the end."""
    if tl.audio is None or tl.audio_track is not None:
        return tl
    track = load_track(tl.audio, source=tl.source, line=tl.line_of("audio"))
    out = _build(tl.model_dump(), tl.source, None, tl._lines, audio_track=track)
    return out


class _FlowMap(dict):
    pass


class _FlowList(list):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                                   flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def timeline_to_yaml(tl: Timeline, relative_to: Path | str | None = None) -> str:
    """Write a Timeline as YAML text, one keyframe per line.

    ``parse_timeline(timeline_to_yaml(tl)) == tl``. With ``relative_to`` (a folder) the model, latent, feature
    and output paths are written relative to it; parse the text with ``base_dir=relative_to`` (or save it in that
    folder and :func:`load_timeline` it) to get the same timeline back.
    """
    def rel(p: Any) -> Any:
        if relative_to is None or not isinstance(p, str) or not os.path.isabs(p):
            return p
        try:
            out = os.path.relpath(p, Path(relative_to).absolute())
        except ValueError:  # another drive on Windows
            return p
        return out + "/" if p.endswith(("/", "\\")) and not out.endswith("/") else out

    out: dict[str, Any] = {}
    for name in Timeline.model_fields:
        value = getattr(tl, name)
        if value is None or name in ("keyframes", "output", "audio", "react"):
            continue
        if name == "stabilize" and not value:
            continue
        if name == "beats_per_bar" and value == 4:
            continue
        out[name] = _FlowList(value) if isinstance(value, list) else value
    if "model" in out:
        out["model"] = rel(out["model"])
    keyframes = []
    for kf in tl.keyframes:
        d = kf.model_dump(exclude_none=True, exclude_defaults=True)
        for key in ("latent", "features"):
            if key in d:
                d[key] = rel(d[key])
        keyframes.append(_FlowMap(d))
    out["keyframes"] = keyframes
    if tl.audio is not None:
        audio = tl.audio.model_dump(exclude_defaults=True)
        audio["path"] = rel(audio["path"])
        out["audio"] = audio["path"] if set(audio) == {"path"} else _FlowMap(audio)
    if tl.react:
        rules = []
        for rule in tl.react:
            d = rule.model_dump(exclude_none=True, exclude_defaults=True)
            for key in ("latent", "direction"):
                if key in d and d[key].endswith((".npy", ".npz")):
                    d[key] = rel(d[key])
            if "seeds" in d:
                d["seeds"] = _FlowList(d["seeds"])
            if isinstance(d.get("smooth"), dict):
                d["smooth"] = _FlowMap(d["smooth"])
            rules.append(_FlowMap(d))
        out["react"] = rules
    output = tl.output.model_dump(exclude_none=True)
    if "path" in output:
        output["path"] = rel(output["path"])
    out["output"] = output
    return yaml.dump(out, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


__all__ = ["Timeline", "Keyframe", "MixSpec", "Output", "parse_timeline", "load_timeline", "timeline_from_dict",
           "timeline_to_yaml", "check_files", "parse_layers", "SEED_MAX", "EASES", "INTERPOLATIONS"]
