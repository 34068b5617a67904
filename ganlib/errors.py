"""User-facing error types shared by ganlib and studio.

A ``UserError`` is bad input (a file, a field, an option) rather than a bug: front ends print
its message on one line and exit with code 2, never with a traceback.
"""
from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input, reported as one clear line naming the file, the line or field, and what is allowed."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        if self.field:
            where += f"'{self.field}': "
        return where + self.message


class CheckpointError(UserError):
    """A checkpoint that cannot be read: missing, corrupt, unsupported or unsafe."""


class DataError(UserError):
    """A dataset that cannot be used: empty folder, missing HDF5 dataset, unreadable archive."""


class ConfigError(UserError):
    """A configuration file or option with a bad value."""
