"""Seed lists as NVlabs' tools take them ("0,3,10-20"); the seed → z convention is ``ganlib.synth.seed_to_z``."""
from __future__ import annotations

import re

from ganlib.errors import UserError
from ganlib.synth import seed_to_z  # the NVlabs seed → z convention lives in the one generation module

MAX_SEED = 2 ** 32 - 1


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """Return the seeds in ``text``: comma-separated integers and inclusive ranges ``a-b``; raise UserError if bad."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise UserError(f"range {part!r} runs backwards; write it low-high, e.g. {b}-{a}", field=option)
            seeds.extend(range(a, b + 1))
        elif re.fullmatch(r"\d+", part):
            seeds.append(int(part))
        else:
            raise UserError(f"{part!r} is not a seed; use integers and ranges like 0,3,10-20", field=option)
    if not seeds:
        raise UserError("no seeds given; use integers and ranges like 0,3,10-20", field=option)
    too_big = [s for s in seeds if s > MAX_SEED]
    if too_big:
        raise UserError(f"seed {too_big[0]} is too large (at most {MAX_SEED})", field=option)
    return seeds


__all__ = ["MAX_SEED", "parse_seeds", "seed_to_z"]
