"""Style-mixing layer specs: ``"8-"`` (8 to the last), ``"0-3"``, ``"4,5,6"`` or a list of layer indices.

Pure text parsing, shared by the timeline schema (``keyframes[i].mix.layers``) and ``studio random --mix-layers``.

Public API::

    layer_ranges(spec) -> list[(first, last | None)]    # ValueError with a user-ready message
    parse_layers(spec, num_ws) -> list[int]
"""
from __future__ import annotations

import re

from ganlib.limits import get as limit

_LAYER_ITEM = re.compile(r"^\s*(\d+)?\s*(-)?\s*(\d+)?\s*$")


def layer_ranges(spec: str) -> list[tuple[int, int | None]]:
    """Parse a layer spec such as ``"8-"``, ``"0-3"`` or ``"4,5,6"`` into (first, last or None) ranges.

    Raises ValueError with a user-ready message when the text is not a layer spec.
    """
    ranges: list[tuple[int, int | None]] = []
    for item in spec.split(","):
        m = _LAYER_ITEM.match(item)
        if not m or (m.group(1) is None and m.group(3) is None) or (m.group(2) is None and m.group(3) is not None
                                                                     and m.group(1) is not None):
            raise ValueError(f"'{spec}' is not a layer list; write layers like '8-' (8 to the last), '0-3' or "
                             f"'4,5,6'")
        lo, dash, hi = m.group(1), m.group(2), m.group(3)
        top = max(int(x) for x in (lo, hi) if x is not None)
        if top > limit("layer_index"):
            raise ValueError(f"layer {top} does not exist: models have at most {limit('layer_index') + 1} w layers")
        if dash is None:
            first = int(lo if lo is not None else hi)
            ranges.append((first, first))
            continue
        first = int(lo) if lo is not None else 0
        last = int(hi) if hi is not None else None
        if last is not None and last < first:
            raise ValueError(f"layer range '{item.strip()}' runs backwards; write it as '{last}-{first}'")
        ranges.append((first, last))
    return ranges


def parse_layers(spec: str | list[int], num_ws: int) -> list[int]:
    """Turn a mix layer spec (``"8-"``, ``"0-3"``, ``"4,5,6"`` or a list of ints) into sorted layer indices.

    Takes the spec and the model's number of w layers; returns a sorted list of distinct indices in
    ``range(num_ws)``. Raises ValueError (user-ready text) for a bad spec or a layer the model does not have.
    """
    if isinstance(spec, str):
        idx: set[int] = set()
        for first, last in layer_ranges(spec):
            end = num_ws - 1 if last is None else last
            if first > num_ws - 1 or end > num_ws - 1:  # checked before the range is built
                raise ValueError(f"layer {max(first, end)} does not exist: this model has {num_ws} w layers (0-{num_ws - 1})")
            idx.update(range(first, end + 1))
    else:
        idx = set(int(i) for i in spec[:limit('layer_index') + 1])
    bad = sorted(i for i in idx if i >= num_ws)
    if bad:
        raise ValueError(f"layer {bad[0]} does not exist: this model has {num_ws} w layers (0-{num_ws - 1})")
    if not idx:
        raise ValueError("selects no layers")
    return sorted(idx)


