"""Seed lists as NVlabs' tools take them ("0,3,10-20"); the seed → z convention is ``ganlib.synth.seed_to_z``.

A seed list is lazy: ``--seeds 0-999999999`` is two numbers in memory, not a billion-item list, so a huge run
streams and a capped one (a grid, the UI's batch) is refused from its length before anything is built.
"""
from __future__ import annotations

import bisect
import re
from typing import Iterator, Sequence

from ganlib import limits
from ganlib.errors import UserError
from ganlib.synth import seed_to_z  # the NVlabs seed → z convention lives in the one generation module

MAX_SEED = 2 ** 32 - 1
LARGE_RUN = 10_000  # seed lists at least this long are announced (how many images) before anything starts


class SeedList(Sequence[int]):
    """The seeds of a spec as inclusive ranges; a read-only sequence (len, index, slice, iterate) that never
    materialises the whole list."""

    def __init__(self, ranges: list[tuple[int, int]]):
        self._ranges = ranges
        self._ends: list[int] = []  # cumulative counts: seeds before the end of range k
        total = 0
        for a, b in ranges:
            total += b - a + 1
            self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _at(self, i: int) -> int:
        k = bisect.bisect_right(self._ends, i)
        before = self._ends[k - 1] if k else 0
        return self._ranges[k][0] + (i - before)

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            return [self._at(i) for i in range(start, stop, step)]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("seed index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[int]:
        for a, b in self._ranges:
            yield from range(a, b + 1)

    def __repr__(self) -> str:
        return "SeedList(" + ",".join(str(a) if a == b else f"{a}-{b}" for a, b in self._ranges[:8]) + ")"


def parse_seeds(text: str, option: str = "--seeds") -> SeedList:
    """Return the seeds in ``text`` (comma-separated integers and inclusive ranges ``a-b``) as a lazy
    :class:`SeedList`; raise UserError (naming ``option``) for bad text, a seed above ``MAX_SEED`` or more seeds
    than the ``seed_range`` limit."""
    text = str(text)
    if len(text) > limits.get("text_chars") * 16:
        raise UserError(f"the seed list is {len(text):,} characters long; use ranges like 0-999", field=option)
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,20})\s*-\s*(\d{1,20})", part) or re.fullmatch(r"(\d{1,20})", part)
        if not m:
            shown = part if len(part) <= 40 else part[:37] + "..."
            raise UserError(f"{shown!r} is not a seed; use integers up to {MAX_SEED} and ranges like 0,3,10-20",
                            field=option)
        a = int(m.group(1))
        b = int(m.group(2)) if m.lastindex == 2 else a
        if b < a:
            raise UserError(f"range {part!r} runs backwards; write it low-high, e.g. {b}-{a}", field=option)
        if b > MAX_SEED:
            raise UserError(f"seed {b} is too large (at most {MAX_SEED})", field=option)
        ranges.append((a, b))
    seeds = SeedList(ranges)
    if not len(seeds):
        raise UserError("no seeds given; use integers and ranges like 0,3,10-20", field=option)
    limits.check("seed_range", len(seeds), "the seed list", field=option)
    return seeds


def large_run_notice(seeds: Sequence[int], what: str = "images") -> str | None:
    """A line announcing a seed list of :data:`LARGE_RUN` or more, e.g. "1,000,000 images (seeds 0-999999);
    Ctrl-C stops" (said before a huge run starts); None for a shorter list."""
    n = len(seeds)
    if n < LARGE_RUN:
        return None
    shown = repr(seeds)[len("SeedList("):-1] if isinstance(seeds, SeedList) else f"{seeds[0]}..{seeds[-1]}"
    return f"{n:,} {what} (seeds {shown}); Ctrl-C stops"


__all__ = ["LARGE_RUN", "MAX_SEED", "SeedList", "large_run_notice", "parse_seeds", "seed_to_z"]
