"""Writing a string with a label-conditioned model: characters → class indices, and tiles → one strip (pure).

The class names are the ones the model was trained with (the data's sub-folder names, stored in the checkpoint's
provenance as ``class_names``). A character matches the class named exactly by it, else the one class whose name
matches it ignoring case; a space is a blank gap one tile wide.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ganlib.errors import UserError


def parse_classes(spec: str) -> list[str]:
    """Return the class names of a ``--classes A,B,C`` value, in class-index order; UserError for an empty or
    repeated name."""
    names = [c.strip() for c in spec.split(",")]
    if not names or any(not n for n in names):
        raise UserError("give the class names in class-index order separated by commas, e.g. A,B,C",
                        field="--classes")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"class names repeat: {', '.join(dupes)}", field="--classes")
    return names


def char_classes(text: str, class_names: Sequence[str], field: str = "TEXT") -> list[int | None]:
    """Return one entry per character of ``text``: its class index in ``class_names``, or None for a space.
    UserError naming ``field`` for an empty text or a character no class is named by (listing the classes)."""
    if not text.strip():
        raise UserError("the text is empty: give some characters, e.g. \"HELLO WORLD\"", field=field)
    exact = {name: i for i, name in enumerate(class_names)}
    folded: dict[str, list[int]] = {}
    for i, name in enumerate(class_names):
        folded.setdefault(name.casefold(), []).append(i)
    out: list[int | None] = []
    unknown: list[str] = []
    for ch in text:
        if ch == " ":
            out.append(None)
        elif ch in exact:
            out.append(exact[ch])
        elif len(folded.get(ch.casefold(), [])) == 1:
            out.append(folded[ch.casefold()][0])
        else:
            unknown.append(ch)
    if unknown:
        missing = "".join(dict.fromkeys(unknown))
        raise UserError(f"no class for {missing!r}: the model's classes are {', '.join(class_names)} "
                        "(a space is a gap)", field=field)
    return out


def compose_strip(tiles: Sequence[np.ndarray | None], spacing: int, fill: int = 0) -> np.ndarray:
    """Return one uint8 H×W×C image with ``tiles`` (uint8 H×W×C, all one size; None = a blank tile) side by side,
    ``spacing`` px of ``fill`` between neighbours: width = n·W + (n−1)·spacing."""
    shape = next(t.shape for t in tiles if t is not None)
    h, w, c = shape
    n = len(tiles)
    strip = np.full((h, n * w + (n - 1) * spacing, c), fill, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        if tile is not None:
            x = i * (w + spacing)
            strip[:, x:x + w] = tile
    return strip
