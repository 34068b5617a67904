"""Undo/redo for the studio: a linear history of values with a cursor (pure; no Gradio, no I/O).

The Timeline tab keeps one :class:`History` per browser session. It does not need to be told about every edit:
each handler calls :meth:`History.observe` with the timeline it received and the one it returns, so edits made
elsewhere (the Explore tab adding a keyframe) are recorded the next time the Timeline tab acts. Undo moves the
cursor back, redo forward; a new value after an undo drops the undone future, as every editor does.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 200  # states kept; the oldest are dropped beyond this


class History(Generic[T]):
    """Values in the order they were observed and a cursor on the current one.

    ``key`` turns a value into what is compared (default: the value itself), so two equal timelines built
    separately count as one state; ``limit`` is how many states are kept.
    """

    def __init__(self, key: Callable[[T], Any] | None = None, limit: int = DEFAULT_LIMIT):
        self._key = key or (lambda v: v)
        self._limit = max(2, int(limit))
        self._entries: list[T] = []
        self._cursor = -1
        self._saved: Any = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def current(self) -> T | None:
        """The value at the cursor, or None before anything was observed."""
        return self._entries[self._cursor] if self._entries else None

    def observe(self, value: T) -> bool:
        """Record ``value`` as the newest state unless it equals the current one; drops any redo states.
        Returns whether it was recorded."""
        if self._entries and self._key(self._entries[self._cursor]) == self._key(value):
            return False
        del self._entries[self._cursor + 1:]
        self._entries.append(value)
        if len(self._entries) > self._limit:
            del self._entries[:len(self._entries) - self._limit]
        self._cursor = len(self._entries) - 1
        return True

    @property
    def can_undo(self) -> bool:
        """Whether there is an older state to go back to."""
        return self._cursor > 0

    @property
    def can_redo(self) -> bool:
        """Whether an undone state can be restored."""
        return 0 <= self._cursor < len(self._entries) - 1

    def undo(self) -> T | None:
        """Step back one state and return it; None (and no change) when there is none."""
        if not self.can_undo:
            return None
        self._cursor -= 1
        return self._entries[self._cursor]

    def redo(self) -> T | None:
        """Step forward one undone state and return it; None (and no change) when there is none."""
        if not self.can_redo:
            return None
        self._cursor += 1
        return self._entries[self._cursor]

    def mark_saved(self, value: T) -> None:
        """Remember ``value`` as saved (written to a file or loaded from one): :meth:`unsaved` compares with it."""
        self._saved = self._key(value)

    def unsaved(self, value: T) -> bool:
        """Whether ``value`` differs from the last value marked saved (True when none was)."""
        return self._saved is None or self._key(value) != self._saved

    def counts(self) -> tuple[int, int]:
        """(states that can be undone, states that can be redone)."""
        if not self._entries:
            return 0, 0
        return self._cursor, len(self._entries) - 1 - self._cursor
