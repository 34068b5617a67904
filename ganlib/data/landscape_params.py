"""What a procedural landscape is: the class names, palettes, ``HillLayer`` and ``LandscapeParams`` (every random
choice behind one image), and ``sample_params``, which draws them from a numpy generator. Pure numpy, no pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ganlib.errors import UserError

LANDSCAPE_CLASSES = ("dawn", "day", "dusk", "night")
MIN_SIZE = 16
MAX_SIZE = 512

RGB = tuple[float, float, float]
Seed = Union[int, Sequence[int]]

# --------------------------------------------------------------------------------------------- palettes
# Each family has a few variants; a sampled palette blends two variants of one family and jitters the colours.
_KEYS = ("top", "mid", "horizon", "sun", "glow", "near", "far", "haze", "cloud_light", "cloud_dark", "water",
         "tree")
_PALETTES: dict[int, list[tuple[str, dict[str, RGB], float]]] = {
    0: [  # dawn: pinks, peach, lilac, misty greens
        ("rose", dict(top=(112, 114, 188), mid=(224, 156, 184), horizon=(255, 210, 176), sun=(255, 246, 222),
                      glow=(255, 198, 168), near=(92, 80, 118), far=(188, 160, 198), haze=(238, 200, 208),
                      cloud_light=(255, 216, 212), cloud_dark=(162, 130, 174), water=(112, 112, 164),
                      tree=(52, 44, 72)), 0.25),
        ("mist", dict(top=(148, 170, 210), mid=(226, 198, 210), horizon=(255, 226, 192), sun=(255, 250, 228),
                      glow=(255, 216, 174), near=(70, 108, 86), far=(168, 182, 198), haze=(228, 218, 216),
                      cloud_light=(255, 238, 224), cloud_dark=(172, 170, 198), water=(124, 148, 172),
                      tree=(34, 60, 46)), 0.2),
        ("lilac", dict(top=(78, 84, 160), mid=(178, 130, 192), horizon=(252, 182, 170), sun=(255, 238, 204),
                       glow=(255, 172, 152), near=(72, 60, 98), far=(152, 122, 172), haze=(212, 162, 192),
                       cloud_light=(252, 194, 204), cloud_dark=(118, 94, 150), water=(90, 86, 142),
                       tree=(40, 34, 62)), 0.3),
    ],
    1: [  # day: noon blues, summer fields, stormy greys
        ("noon", dict(top=(34, 94, 188), mid=(94, 156, 222), horizon=(184, 216, 238), sun=(255, 255, 238),
                      glow=(255, 250, 222), near=(70, 134, 50), far=(126, 160, 188), haze=(198, 222, 238),
                      cloud_light=(252, 252, 252), cloud_dark=(170, 184, 212), water=(54, 108, 164),
                      tree=(26, 70, 34)), 0.3),
        ("fields", dict(top=(58, 128, 210), mid=(120, 180, 232), horizon=(212, 230, 236), sun=(255, 255, 236),
                        glow=(255, 250, 220), near=(198, 170, 70), far=(118, 152, 162), haze=(210, 226, 230),
                        cloud_light=(255, 254, 248), cloud_dark=(180, 190, 206), water=(70, 132, 172),
                        tree=(44, 82, 36)), 0.35),
        ("storm", dict(top=(64, 68, 82), mid=(102, 108, 122), horizon=(162, 166, 170), sun=(226, 228, 228),
                       glow=(192, 198, 202), near=(52, 76, 56), far=(102, 114, 122), haze=(150, 156, 162),
                       cloud_light=(156, 160, 170), cloud_dark=(60, 62, 76), water=(68, 80, 92),
                       tree=(28, 42, 34)), 0.9),
    ],
    2: [  # dusk: golden, teal/orange, crimson
        ("golden", dict(top=(72, 58, 124), mid=(228, 120, 80), horizon=(255, 208, 100), sun=(255, 238, 164),
                        glow=(255, 172, 72), near=(66, 38, 50), far=(162, 92, 98), haze=(242, 152, 102),
                        cloud_light=(255, 186, 112), cloud_dark=(122, 62, 92), water=(122, 72, 82),
                        tree=(34, 18, 28)), 0.3),
        ("teal", dict(top=(24, 102, 118), mid=(168, 150, 110), horizon=(252, 158, 72), sun=(255, 228, 152),
                      glow=(255, 150, 60), near=(24, 58, 66), far=(72, 112, 114), haze=(212, 152, 112),
                      cloud_light=(255, 172, 102), cloud_dark=(38, 88, 100), water=(38, 90, 102),
                      tree=(12, 34, 40)), 0.3),
        ("crimson", dict(top=(86, 28, 74), mid=(204, 72, 72), horizon=(252, 152, 82), sun=(255, 222, 142),
                         glow=(255, 122, 62), near=(52, 20, 38), far=(142, 62, 82), haze=(222, 112, 92),
                         cloud_light=(252, 132, 102), cloud_dark=(92, 30, 62), water=(92, 40, 62),
                         tree=(26, 10, 22)), 0.3),
    ],
    3: [  # night: indigo, moonlit teal, violet
        ("indigo", dict(top=(10, 12, 44), mid=(28, 36, 92), horizon=(64, 78, 134), sun=(244, 242, 220),
                        glow=(118, 130, 192), near=(14, 18, 34), far=(44, 54, 98), haze=(62, 72, 124),
                        cloud_light=(110, 118, 162), cloud_dark=(28, 32, 66), water=(20, 28, 62),
                        tree=(6, 8, 18)), 0.25),
        ("moonteal", dict(top=(8, 26, 40), mid=(18, 58, 74), horizon=(50, 104, 114), sun=(236, 244, 228),
                          glow=(110, 162, 162), near=(10, 26, 30), far=(36, 78, 86), haze=(50, 98, 106),
                          cloud_light=(100, 142, 142), cloud_dark=(20, 44, 54), water=(12, 40, 52),
                          tree=(4, 14, 16)), 0.25),
        ("violet", dict(top=(26, 12, 52), mid=(62, 32, 94), horizon=(114, 72, 134), sun=(250, 236, 210),
                        glow=(162, 122, 172), near=(20, 12, 34), far=(72, 48, 102), haze=(112, 78, 132),
                        cloud_light=(142, 112, 162), cloud_dark=(40, 24, 60), water=(34, 20, 56),
                        tree=(10, 6, 18)), 0.25),
    ],
}
_FLOWERS: tuple[RGB, ...] = ((222, 40, 36), (250, 218, 70), (252, 246, 236), (176, 128, 214), (240, 120, 160))


@dataclass(frozen=True)
class HillLayer:
    """One band of hills or mountains. Heights are fractions of the image height, measured from the top.

    ``base`` is the valley line of the ridge, ``amp`` how far peaks rise above it, ``kind`` "hills" (smooth)
    or "mountains" (jagged), ``mist`` 0..1 haze toward the layer's foot, ``snow`` 0 or the snow depth
    (a fraction of ``amp``), ``seed`` drives the ridge shape.
    """

    base: float
    amp: float
    kind: str
    color: RGB
    mist: float
    snow: float
    seed: int


@dataclass(frozen=True)
class LandscapeParams:
    """Every choice behind one landscape; ``render_landscape`` turns it into pixels deterministically.

    Positions and sizes are fractions of the image size (x from the left, y from the top), colours RGB 0..255.
    ``label`` indexes ``LANDSCAPE_CLASSES``; ``palette`` names the blended palette variants.
    """

    label: int
    palette: str
    sky_top: RGB
    sky_mid: RGB
    sky_horizon: RGB
    mid_pos: float
    haze: RGB
    horizon: float
    sun_visible: bool
    sun_x: float
    sun_y: float
    sun_radius: float
    sun_color: RGB
    glow_color: RGB
    glow_radius: float
    glow_strength: float
    crescent: float
    stars: int
    clouds: int
    cloud_cover: float
    cloud_light: RGB
    cloud_dark: RGB
    layers: tuple[HillLayer, ...]
    water: bool
    water_level: float
    water_color: RGB
    water_dark: float
    ripple: float
    shore: float
    shore_side: int
    shore_color: RGB
    trees: int
    tree_layer: int
    tree_x: float
    tree_kind: str
    tree_color: RGB
    flowers: float
    flower_colors: tuple[RGB, ...]
    stroke_jitter: float
    stroke_alpha: float
    detail_seed: int

# --------------------------------------------------------------------------------------------- sampling
def _rgb(c) -> RGB:
    a = np.clip(np.asarray(c, dtype=np.float64), 0, 255)
    return (round(float(a[0]), 2), round(float(a[1]), 2), round(float(a[2]), 2))


def _mix(a, b, t: float) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a + (np.asarray(b, dtype=np.float64) - a) * t


def sample_params(rng: np.random.Generator, label: int | None = None) -> LandscapeParams:
    """Draw one landscape's parameters from ``rng`` (a ``numpy.random.Generator``); returns ``LandscapeParams``.

    ``label`` (an index into ``LANDSCAPE_CLASSES``) forces the palette family; otherwise it is drawn too.
    The same generator state (and label) always gives the same parameters.
    """
    drawn = int(rng.integers(len(LANDSCAPE_CLASSES)))
    label = drawn if label is None else check_label(label)
    variants = _PALETTES[label]
    cum = np.cumsum([0.45, 0.37, 0.18] if label == 1 else [1.0 / len(variants)] * len(variants))
    i, j = (min(len(variants) - 1, int(np.searchsorted(cum, u, side="right"))) for u in rng.random(2))
    t = float(rng.beta(0.5, 0.5)) if i != j else 0.0
    tint = rng.normal(0.0, 7.0, 3)
    pal = {k: _mix(variants[i][1][k], variants[j][1][k], t) + tint + rng.normal(0.0, 8.0, 3) for k in _KEYS}
    storminess = (1 - t) * variants[i][2] + t * variants[j][2]
    name = variants[i][0] if i == j else f"{variants[i][0]}+{variants[j][0]}"
    # night skies stay dark: jitter less in absolute terms
    if label == 3:
        for k in ("top", "mid", "horizon", "near", "far", "water", "tree"):
            pal[k] = np.maximum(pal[k], 0) * 0.8 + np.asarray(_mix(variants[i][1][k], variants[j][1][k], t)) * 0.2

    water = bool(rng.random() < 0.42)
    horizon = float(rng.uniform(0.36, 0.6) if water else rng.uniform(0.36, 0.72))
    water_level = float(min(0.86, horizon + rng.uniform(0.03, 0.1))) if water else 1.0

    # sun / moon
    if label in (0, 2):
        sun_y = horizon - float(rng.uniform(-0.02, 0.24))
        sun_r = float(rng.uniform(0.05, 0.085) if label == 2 else rng.uniform(0.04, 0.07))
        sun_visible = bool(rng.random() < 0.88)
        glow_r, glow_s = float(rng.uniform(0.18, 0.38)), float(rng.uniform(0.55, 0.95))
    elif label == 1:
        sun_y = float(rng.uniform(0.07, max(0.12, horizon - 0.18)))
        sun_r = float(rng.uniform(0.045, 0.065))
        sun_visible = bool(rng.random() < 0.7 - 0.6 * max(0.0, storminess - 0.4))
        glow_r, glow_s = float(rng.uniform(0.12, 0.28)), float(rng.uniform(0.35, 0.75)) * (1.2 - storminess)
    else:
        sun_y = float(rng.uniform(0.08, max(0.12, horizon - 0.14)))
        sun_r = float(rng.uniform(0.045, 0.07))
        sun_visible = bool(rng.random() < 0.88)
        glow_r, glow_s = float(rng.uniform(0.1, 0.22)), float(rng.uniform(0.35, 0.7))
    sun_x = float(rng.uniform(0.12, 0.88))
    crescent = float(rng.uniform(0.35, 0.8)) * (1 if rng.random() < 0.5 else -1) if (
        label == 3 and rng.random() < 0.45) else 0.0
    stars = int(rng.integers(6, 28)) if label == 3 else 0

    # clouds
    if storminess > 0.6:
        clouds, cover = int(rng.integers(6, 11)), float(rng.uniform(0.75, 1.0))
    else:
        clouds = int(np.searchsorted([0.2, 0.35, 0.55, 0.75, 0.9], rng.random(), side="right"))
        cover = float(rng.uniform(0.55, 0.95))

    # hills: far (index 0) to near
    n_layers = int(rng.integers(2, 5))
    span_end = (water_level - 0.015) if water else horizon + (1.0 - horizon) * float(rng.uniform(0.25, 0.55))
    layers = []
    far_mountains = rng.random() < 0.55
    for k in range(n_layers):
        depth = k / (n_layers - 1)  # 0 far .. 1 near
        base = horizon + depth * (span_end - horizon) * (0.75 if water else 1.0)
        mountains = k == 0 and far_mountains
        if mountains:
            amp = float(rng.uniform(0.1, 0.26)) * (horizon / 0.55)
        else:
            amp = float(rng.uniform(0.025, 0.09)) * (0.5 if water else 1.0)
        color = _mix(pal["far"], pal["near"], depth ** 0.8) + rng.normal(0, 6, 3)
        if mountains:  # mountains stand out from the sky: a deeper, cooler tone than the haze
            color = _mix(pal["far"], pal["near"], 0.3) * 0.85 + np.array([-4.0, 0.0, 8.0])
        mist = float(rng.uniform(0.2, 0.7)) * (1 - depth) if not (k == n_layers - 1 and not water) else 0.0
        snow = float(rng.uniform(0.2, 0.4)) if (mountains and label in (0, 1) and rng.random() < 0.5) else 0.0
        layers.append(HillLayer(base=round(float(base), 4), amp=round(amp, 4),
                                kind="mountains" if mountains else "hills", color=_rgb(color),
                                mist=round(mist, 3), snow=round(snow, 3), seed=int(rng.integers(2 ** 31))))

    shore = float(rng.uniform(0.06, 0.2)) if (water and rng.random() < 0.5) else 0.0
    shore_side = 1 if rng.random() < 0.5 else -1
    trees = int(rng.integers(3, 12)) if rng.random() < 0.5 else 0
    tree_layer = n_layers - 1 if (water or rng.random() < 0.6) else max(0, n_layers - 2)
    if layers[tree_layer].kind == "mountains":  # trees grow on hills, not on mountain peaks
        tree_layer = n_layers - 1
    flowers = float(rng.uniform(0.04, 0.14)) if (not water and label in (0, 1, 2) and rng.random() < 0.4) else 0.0
    f0 = int(rng.integers(len(_FLOWERS)))
    fidx = (f0, (f0 + 1 + int(rng.integers(len(_FLOWERS) - 1))) % len(_FLOWERS))

    return LandscapeParams(
        label=label, palette=name,
        sky_top=_rgb(pal["top"]), sky_mid=_rgb(pal["mid"]), sky_horizon=_rgb(pal["horizon"]),
        mid_pos=float(rng.uniform(0.45, 0.8)), haze=_rgb(pal["haze"]), horizon=round(horizon, 4),
        sun_visible=sun_visible, sun_x=round(sun_x, 4), sun_y=round(float(sun_y), 4), sun_radius=round(sun_r, 4),
        sun_color=_rgb(pal["sun"]), glow_color=_rgb(pal["glow"]), glow_radius=round(glow_r, 4),
        glow_strength=round(float(np.clip(glow_s, 0, 1)), 4), crescent=round(crescent, 4), stars=stars,
        clouds=clouds, cloud_cover=round(cover, 4), cloud_light=_rgb(pal["cloud_light"]),
        cloud_dark=_rgb(pal["cloud_dark"]), layers=tuple(layers),
        water=water, water_level=round(water_level, 4), water_color=_rgb(pal["water"]),
        water_dark=round(float(rng.uniform(0.25, 0.5)), 4), ripple=round(float(rng.uniform(0.4, 1.0)), 4),
        shore=round(shore, 4), shore_side=shore_side, shore_color=_rgb(_mix(pal["near"], pal["tree"], 0.4)),
        trees=trees, tree_layer=tree_layer, tree_x=round(float(rng.uniform(0.1, 0.9)), 4),
        tree_kind="cypress" if rng.random() < 0.3 else "round", tree_color=_rgb(pal["tree"]),
        flowers=round(flowers, 4), flower_colors=(_FLOWERS[int(fidx[0])], _FLOWERS[int(fidx[1])]),
        stroke_jitter=round(float(rng.uniform(4.0, 9.0)), 3), stroke_alpha=round(float(rng.uniform(0.8, 0.95)), 3),
        detail_seed=int(rng.integers(2 ** 31)),
    )


def check_label(label) -> int:
    """Return ``label`` as an int index into ``LANDSCAPE_CLASSES``; UserError naming ``label`` otherwise."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(LANDSCAPE_CLASSES):
        raise UserError(f"label must be an integer from 0 to {len(LANDSCAPE_CLASSES) - 1} "
                        f"({', '.join(LANDSCAPE_CLASSES)}), got {label!r}", field="label")
    return int(label)


def check_size(size) -> int:
    """Return the image ``size`` as an int from ``MIN_SIZE`` to ``MAX_SIZE``; UserError naming ``size`` otherwise."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise UserError(f"image size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}", field="size")
    return int(size)
