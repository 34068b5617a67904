"""The live control addresses (OSC, and MIDI through a mapping) and their argument checks. Pure: no sockets.

Every control is one of ``ADDRESSES`` (plus ``/studio/direction/<name>``) with typed arguments; :func:`parse_control`
turns an address and raw arguments into a :class:`Control` or raises :class:`ControlError` with one line saying
what is allowed. :class:`LogOnce` reports each distinct problem once, so a controller flooding a bad address cannot
flood the log.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field

SEED_MAX = 2**32 - 1
DIRECTION_PREFIX = "/studio/direction/"

# address → (argument kinds, help). "i" = whole number, "f" = number.
ADDRESSES: dict[str, tuple[str, str]] = {
    "/studio/seed": ("i", "go to that seed over the transition time"),
    "/studio/keyframe": ("i", "go to keyframe i of the timeline, then play on from it"),
    "/studio/transition": ("f", "seconds a seed or keyframe change takes (0 = cut)"),
    "/studio/truncation": ("f", "truncation psi, 0..2"),
    "/studio/noise": ("f", "noise strength, 0..10 (1 = the model's own noise), at once"),
    "/studio/speed": ("f", "playback speed of the timeline, 0..16 (1 = as written)"),
    "/studio/pause": ("i", "1 holds the current frame, 0 plays on"),
    "/studio/stop": ("", "stop the player (and write the recording)"),
    "/studio/translate": ("ff", "StyleGAN3 camera translation x y in image widths, at once"),
    "/studio/rotate": ("f", "StyleGAN3 camera rotation in degrees, at once"),
}
RANGES = {"/studio/seed": (0, SEED_MAX), "/studio/transition": (0.0, 60.0), "/studio/truncation": (0.0, 2.0),
          "/studio/speed": (0.0, 16.0), "/studio/pause": (0, 1), "/studio/keyframe": (0, None),
          "/studio/noise": (0.0, 10.0), "/studio/translate": (-100.0, 100.0), "/studio/rotate": (-3600.0, 3600.0)}
DIRECTION_RANGE = (-100.0, 100.0)


class ControlError(ValueError):
    """A control message that cannot be applied: unknown address or wrong arguments (one line)."""


@dataclass(frozen=True)
class Control:
    """One checked control change: ``address`` (e.g. "/studio/seed"), ``values`` (typed arguments) and, for
    directions, ``name`` (the direction, e.g. "sefa0"). ``received`` is the monotonic arrival time (seconds)."""

    address: str
    values: tuple = ()
    name: str | None = None
    received: float = field(default=0.0, compare=False)

    @property
    def value(self):
        """The first argument (None for /studio/stop)."""
        return self.values[0] if self.values else None

    def describe(self) -> str:
        """Return the control as an OSC-like line: address and arguments."""
        return " ".join([self.address, *(f"{v:g}" if isinstance(v, float) else str(v) for v in self.values)])


def known_address(address: str) -> bool:
    """Return True when ``address`` is a control address (a direction needs a name after the prefix)."""
    return address in ADDRESSES or (address.startswith(DIRECTION_PREFIX) and len(address) > len(DIRECTION_PREFIX))


def _number(v, kind: str, address: str, i: int):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ControlError(f"{address}: argument {i + 1} must be a {'whole number' if kind == 'i' else 'number'}, "
                           f"got {type(v).__name__} {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ControlError(f"{address}: argument {i + 1} must be finite, got {v!r}")
    if kind == "i":
        if isinstance(v, float):
            if not v.is_integer():
                raise ControlError(f"{address}: argument {i + 1} must be a whole number, got {v!r}")
            v = int(v)
        return int(v)
    return float(v)


def parse_control(address: str, args, received: float = 0.0) -> Control:
    """Return the :class:`Control` for OSC ``address`` and ``args`` (a sequence); raise ControlError naming the
    address and what is allowed when the address is unknown or the arguments do not fit."""
    args = tuple(args)
    if address.startswith(DIRECTION_PREFIX):
        name = address[len(DIRECTION_PREFIX):]
        if not name or "/" in name:
            raise ControlError(f"{address}: give a direction name, e.g. {DIRECTION_PREFIX}sefa0")
        kinds, lo_hi = "f", DIRECTION_RANGE
    elif address in ADDRESSES:
        name, kinds, lo_hi = None, ADDRESSES[address][0], RANGES.get(address)
    else:
        raise ControlError(f"unknown address {address!r}; allowed: {', '.join(ADDRESSES)}, {DIRECTION_PREFIX}<name>")
    if len(args) != len(kinds):
        want = " ".join(kinds) or "no arguments"
        raise ControlError(f"{address} takes {want} ({len(kinds)} argument(s)), got {len(args)}")
    values = tuple(_number(v, k, address, i) for i, (v, k) in enumerate(zip(args, kinds)))
    if lo_hi is not None:
        lo, hi = lo_hi
        for v in values:
            if v < lo or (hi is not None and v > hi):
                raise ControlError(f"{address}: {v} is out of range {lo}..{'' if hi is None else hi}")
    return Control(address, values, name, received)


class LogOnce:
    """Logs each distinct message once (thread-safe); ``seen`` counts every report, ``messages`` lists the lines."""

    def __init__(self, logger: logging.Logger | None = None):
        self.logger = logger or logging.getLogger("studio.live")
        self.messages: list[str] = []
        self.seen = 0
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        """Record ``message``; log it (warning) the first time it is seen. Returns None."""
        with self._lock:
            self.seen += 1
            if message in self.messages:
                return
            self.messages.append(message)
        self.logger.warning("live: %s", message)


__all__ = ["ADDRESSES", "Control", "ControlError", "LogOnce", "parse_control", "known_address",
           "DIRECTION_PREFIX"]
