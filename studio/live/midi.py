"""MIDI control of the live player: a YAML mapping file turns control changes (CC) and notes into controls.

A mapping file (validated by the one schema layer; errors name the file, line and field)::

    port: nanoKONTROL2            # optional: the input port to open (``--midi NAME`` overrides it)
    directions: {smile: smile.npy}  # optional: user direction files (as --directions NAME=FILE.npy)
    controls:
      - {cc: 1, address: /studio/truncation, min: 0.2, max: 1.2}   # CC value 0..127 scaled to min..max
      - {cc: 16, channel: 0, address: /studio/direction/sefa0, min: -3, max: 3}
      - {note: 36, address: /studio/seed, value: 12}               # note on sends value
      - {note: 37, address: /studio/pause, value: 1}
      - {note: 38, address: /studio/stop}

``channel`` (0..15) is optional (any channel when absent). :func:`controls_for` is pure: a mido message in, the
controls out.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ganlib.errors import ConfigError, UserError
from ganlib.schema import fail, read_yaml_file, resolve_path, validate
from studio.live.controls import ADDRESSES, Control, ControlError, LogOnce, known_address, parse_control
from studio.live.directions import parse_direction_specs
from studio.live.osc import require

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class MidiControl(BaseModel):
    """One mapping: a ``cc`` or a ``note`` (0..127, optionally on ``channel``) → ``address``, with ``min``/``max``
    (a CC's 0..127 scaled linearly) or a fixed ``value`` (a note on)."""

    model_config = _STRICT
    cc: int | None = Field(None, ge=0, le=127)
    note: int | None = Field(None, ge=0, le=127)
    channel: int | None = Field(None, ge=0, le=15)
    address: str
    min: float = 0.0
    max: float = 1.0
    value: float | None = None

    @model_validator(mode="after")
    def _check(self) -> "MidiControl":
        if (self.cc is None) == (self.note is None):
            raise fail("give either 'cc' (a control change number) or 'note' (a note number), 0..127")
        if not known_address(self.address):
            raise fail(f"unknown address '{self.address}'; allowed: {', '.join(ADDRESSES)}, "
                       f"/studio/direction/<name>", "address")
        if self.address == "/studio/translate":
            raise fail("/studio/translate takes two numbers and cannot be mapped from one MIDI value", "address")
        return self


class MidiMapping(BaseModel):
    """A mapping file: optional input ``port`` name and the list of ``controls``."""

    model_config = _STRICT
    port: str | None = None
    directions: dict[str, str] | None = None  # NAME: FILE.npy (relative to the mapping file), as --directions
    controls: list[MidiControl] = Field(min_length=1)

    @field_validator("directions")
    @classmethod
    def _resolve_directions(cls, v: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        if v is None:
            return v
        try:
            parse_direction_specs([f"{k}={p}" for k, p in v.items()], field="directions")
        except UserError as exc:
            raise fail(exc.message) from None
        base = (info.context or {}).get("base_dir")
        return {k: resolve_path(p, base) for k, p in v.items()}


def load_mapping(path: str | Path) -> MidiMapping:
    """Read and validate a MIDI mapping file; return it. Raises ConfigError naming the file, line and field."""
    data, lines = read_yaml_file(path, ConfigError, "MIDI mapping file")
    return validate(MidiMapping, data, source=str(path), lines=lines, error=ConfigError,
                    context={"base_dir": str(Path(path).parent)})


def controls_for(mapping: MidiMapping, message) -> list[Control]:
    """Return the controls a mido ``message`` triggers under ``mapping`` (CC scaled to min..max; a note on with
    velocity > 0 sends ``value``, or ``max`` when none). Raises ControlError when a scaled value does not fit."""
    kind = getattr(message, "type", None)
    out = []
    for m in mapping.controls:
        if m.channel is not None and getattr(message, "channel", None) != m.channel:
            continue
        if kind == "control_change" and m.cc is not None and message.control == m.cc:
            v = m.value if m.value is not None else m.min + (m.max - m.min) * message.value / 127.0
        elif kind == "note_on" and m.note is not None and message.note == m.note and message.velocity > 0:
            v = m.value if m.value is not None else m.max
        else:
            continue
        kinds = ADDRESSES.get(m.address, ("f",))[0]
        args = [] if kinds == "" else [int(round(v)) if kinds == "i" else float(v)]
        out.append(parse_control(m.address, args))
    return out


class MidiInput:
    """Opens MIDI input ``port`` (mido with python-rtmidi) and submits the controls of each message."""

    def __init__(self, port: str, mapping: MidiMapping, submit: Callable[[Control], None], problems: LogOnce):
        mido = require("mido", "MIDI control")
        self.mapping, self.submit, self.problems = mapping, submit, problems
        try:
            names = mido.get_input_names()
        except Exception as exc:  # the backend (python-rtmidi) is missing or has no MIDI system
            raise ConfigError(f"cannot list MIDI ports ({exc}); install python-rtmidi", field="--midi") from None
        if port not in names:
            listed = ", ".join(repr(n) for n in names) or "none"
            raise ConfigError(f"no MIDI input named {port!r}; found: {listed}", field="--midi")
        self.port = mido.open_input(port, callback=self._on_message)

    def _on_message(self, message) -> None:
        try:
            for control in controls_for(self.mapping, message):
                self.submit(control)
        except ControlError as exc:
            self.problems(f"MIDI {message}: {exc}")

    def close(self) -> None:
        """Close the port. Returns None."""
        self.port.close()


__all__ = ["MidiMapping", "MidiControl", "load_mapping", "controls_for", "MidiInput"]
