"""Errors raised by the studio front ends; all are ganlib ``UserError`` subclasses (exit code 2)."""
from __future__ import annotations

from ganlib.errors import CheckpointError, ConfigError, DataError, UserError


class TimelineError(UserError):
    """A timeline file that cannot be used: syntax, schema, or a file it names."""


__all__ = ["UserError", "TimelineError", "CheckpointError", "ConfigError", "DataError"]
