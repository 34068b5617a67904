"""Procedural "impressionist landscape" images: the real data of every test and of the shipped default model.

Each image is a sky gradient (dawn, day, dusk or night palette), a sun or moon with a soft glow, clouds, two to
four layers of hills or mountains with atmospheric perspective, sometimes a lake with a rippled reflection, trees
and flowers, all finished with a brush-stroke pass: thousands of short oriented strokes whose colours are sampled
from the picture underneath and jittered, drawn at 2x or 4x and area-downsampled.

Everything is numpy + OpenCV (no torch) and deterministic: the same seed gives the same bytes.

    params = sample_params(np.random.default_rng(7))   # every random choice lives in the params
    img = render_landscape(params, size=64)            # uint8 H x W x 3 RGB
    img, label = landscape_with_label(7, 64)           # label indexes LANDSCAPE_CLASSES
    batch = landscape_batch(16, 64, seed=0)            # [16, 64, 64, 3]; image i is landscape((0, i), label=i % 4)

Class labels are the palette family. ``LANDSCAPE_CLASSES`` is in sorted order, so a loader that numbers class
folders alphabetically gets the same indices.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence, Union

import cv2
import numpy as np

from ganlib.errors import UserError

__all__ = [
    "LANDSCAPE_CLASSES", "HillLayer", "LandscapeParams", "sample_params", "render_landscape", "landscape",
    "landscape_with_label", "landscape_params", "landscape_batch", "batch_seed", "batch_label", "check_count",
    "MIN_SIZE", "MAX_SIZE",
]

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
    label = drawn if label is None else _check_label(label)
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


# --------------------------------------------------------------------------------------------- render helpers
def _supersample(size: int) -> int:
    return 4 if size <= 48 else 2


def _smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """1-D value noise in [-1, 1] with ``knots`` control points, sampled at ``n`` points."""
    k = rng.uniform(-1.0, 1.0, knots + 1)
    return np.interp(np.linspace(0, knots, n), np.arange(knots + 1), k)


def _ridge(layer: HillLayer, w: int) -> np.ndarray:
    """Ridge line of one layer: y (fraction from the top) for each of ``w`` columns."""
    rng = np.random.default_rng(layer.seed)
    x = np.linspace(0.0, 1.0, w)
    if layer.kind == "mountains":
        n = int(rng.integers(2, 5))
        xs = np.linspace(-0.15, 1.15, 2 * n + 1)
        xs = xs + rng.uniform(-0.3, 0.3, 2 * n + 1) * (xs[1] - xs[0])  # spaced: no needle peaks
        ys = np.where(np.arange(2 * n + 1) % 2 == 1, rng.uniform(0.5, 1.0, 2 * n + 1),
                      rng.uniform(0.0, 0.3, 2 * n + 1))
        shape = np.interp(x, xs, ys)
        shape = shape + 0.05 * _smooth_noise(rng, w, 12) + 0.025 * _smooth_noise(rng, w, 36)
    else:
        shape = np.zeros(w)
        for _ in range(3):
            f, ph, a = rng.uniform(0.4, 2.6), rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 1.0)
            shape += a * np.sin(2 * np.pi * f * x + ph)
        shape += 0.25 * _smooth_noise(rng, w, 10)
    lo, hi = shape.min(), shape.max()
    shape = (shape - lo) / max(hi - lo, 1e-6)
    return layer.base - layer.amp * shape


def _stroke_geometry(hi: int, family: str) -> tuple[int, float, int, int]:
    """(map side, mean stroke length, thickness, stroke count) of a stroke map for a canvas of side ``hi``."""
    m = hi + hi // 4
    length = hi * (0.07 if family == "sky" else 0.055)
    thick = max(1, round(hi / 60))
    return m, length, thick, int(2.8 * m * m / (length * thick))


@functools.lru_cache(maxsize=32)
def _stroke_map(hi: int, family: str, variant: int):
    """Precomputed brush strokes for a canvas of side ``hi``: an id map, a bristle shade map and per-stroke data.

    The map is larger than the canvas; each image crops it at a random offset. ``family`` "sky" gives nearly
    horizontal strokes, "land" a mix of horizontal and slanted ones. Every pixel belongs to a stroke (gaps take
    the nearest stroke). Land ids start after the sky ids, so both index one colour table.
    """
    rng = np.random.default_rng([hi, 1 if family == "sky" else 2, variant, 20240611])
    m, length, thick, n = _stroke_geometry(hi, family)
    ids = np.full((m, m), -1, np.int32)
    shade = np.ones((m, m), np.float32)
    cx = rng.uniform(0, m, n)
    cy = rng.uniform(0, m, n)
    if family == "sky":
        ang = rng.normal(0.0, 0.14, n)
    else:
        slant = rng.random(n) < 0.45
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        ang = np.where(slant, sign * rng.normal(0.6, 0.2, n), rng.normal(0.0, 0.22, n))
    lens = length * rng.uniform(0.55, 1.45, n)
    th = thick + (rng.random(n) < 0.35).astype(int)
    body = 1.0 + rng.normal(0.0, 0.035, n)
    dx, dy = np.cos(ang) * lens / 2, np.sin(ang) * lens / 2
    ox, oy = -np.sin(ang) * th / 2.5, np.cos(ang) * th / 2.5  # bristle highlight along one edge
    p1 = np.rint(np.stack([cx - dx, cy - dy], 1)).astype(int).tolist()
    p2 = np.rint(np.stack([cx + dx, cy + dy], 1)).astype(int).tolist()
    q1 = np.rint(np.stack([cx - dx * 0.8 - ox, cy - dy * 0.8 - oy], 1)).astype(int).tolist()
    q2 = np.rint(np.stack([cx + dx * 0.8 - ox, cy + dy * 0.8 - oy], 1)).astype(int).tolist()
    thl, bodyl = th.tolist(), body.tolist()
    for k in range(n):
        cv2.line(ids, p1[k], p2[k], k, thl[k])
        cv2.line(shade, p1[k], p2[k], bodyl[k], thl[k])
        if thl[k] >= 2:
            cv2.line(shade, q1[k], q2[k], bodyl[k] + 0.05, 1)
    gaps = (ids < 0).astype(np.uint8)
    if gaps.any():
        _, near = cv2.distanceTransformWithLabels(gaps, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
        lut = np.zeros(int(near.max()) + 1, np.int32)
        lut[near[gaps == 0]] = ids[gaps == 0]
        ids = lut[near]
    if family == "land":
        ids += _stroke_geometry(hi, "sky")[3]
    jitter = rng.normal(0.0, 1.0, (n, 3)).astype(np.float32)
    noise = 0.6 * jitter + 0.7 * rng.normal(0.0, 1.0, (n, 1)).astype(np.float32)  # broken colour + value
    pick = rng.random(n).astype(np.float32)
    for a in (ids, shade, jitter, noise, pick):
        a.setflags(write=False)
    return ids, shade, cx.astype(np.int64), cy.astype(np.int64), jitter, noise, pick


_STROKE_VARIANTS = 4


def _cloud_density(p: LandscapeParams, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Soft cloud density in [0, 1], [h, w] float32 (blobs drawn small, blurred, upsampled)."""
    s = max(16, h // 4)
    small = np.zeros((s, s), np.float32)
    for _ in range(p.clouds):
        cw = rng.uniform(0.14, 0.38)
        cxc, cyc = rng.uniform(-0.05, 1.05), rng.uniform(0.04, max(0.08, p.horizon - 0.1))
        for _ in range(int(rng.integers(3, 7))):
            ex = cxc + rng.uniform(-0.5, 0.5) * cw
            ey = cyc + rng.uniform(-0.25, 0.12) * cw * 0.5
            ax, ay = cw * rng.uniform(0.18, 0.4), cw * rng.uniform(0.08, 0.18)
            cv2.ellipse(small, (int(ex * s), int(ey * s)), (max(1, int(ax * s)), max(1, int(ay * s))),
                        float(rng.normal(0, 4)), 0, 360, float(rng.uniform(0.7, 1.0)), -1, cv2.LINE_AA)
    small = cv2.GaussianBlur(small, (0, 0), s / 48)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) * p.cloud_cover, 0, 1)


def _dab(img: np.ndarray, x: float, y: float, ax: float, ay: float, col, angle: float = 0.0) -> None:
    """A filled anti-aliased ellipse with sub-pixel centre and axes (pixels)."""
    f = 16
    cv2.ellipse(img, (int(x * f), int(y * f)), (max(f // 2, int(ax * f)), max(f // 2, int(ay * f))), angle, 0, 360,
                col, -1, cv2.LINE_AA, 4)


def _draw_trees(img: np.ndarray, p: LandscapeParams, ridge: np.ndarray, depth: float, rng: np.random.Generator):
    """A grove of round trees or cypresses standing on ``ridge``, lit a little from the sun's side."""
    h, w = img.shape[:2]
    scale = (0.4 + 0.6 * depth) * h
    base = np.asarray(p.tree_color)
    lit = base + 0.25 * (np.asarray(p.glow_color) - base)
    side = 1.0 if p.sun_x > p.tree_x else -1.0
    xs = np.sort(np.clip(p.tree_x + rng.normal(0, 0.09, p.trees), 0.0, 0.999))
    for x in xs:
        px = x * w
        py = ridge[int(px)] * h + 0.015 * h
        jit = rng.normal(0, 7, 3)
        col = tuple(float(c) for c in np.clip(base + jit, 0, 255))
        lcol = tuple(float(c) for c in np.clip(lit + jit, 0, 255))
        if p.tree_kind == "cypress":
            th = scale * rng.uniform(0.12, 0.22)
            tw = th * rng.uniform(0.14, 0.2)
            _dab(img, px, py - th / 2, tw, th / 2, col)
            _dab(img, px + side * tw * 0.35, py - th * 0.55, tw * 0.45, th * 0.35, lcol)
        else:
            r = scale * rng.uniform(0.03, 0.055)
            cv2.line(img, (int(px * 16), int(py * 16)), (int(px * 16), int((py - 1.4 * r) * 16)), col,
                     max(1, int(r / 3)), cv2.LINE_AA, 4)
            cy = py - 1.7 * r
            for _ in range(4):
                _dab(img, px + rng.normal(0, 0.45 * r), cy + rng.normal(0, 0.3 * r), r * rng.uniform(0.6, 0.9),
                     r * rng.uniform(0.5, 0.75), col)
            _dab(img, px + side * 0.35 * r, cy - 0.3 * r, 0.45 * r, 0.4 * r, lcol)


# --------------------------------------------------------------------------------------------- render
def render_landscape(params: LandscapeParams, size: int = 64) -> np.ndarray:
    """Render ``params`` as a ``size`` x ``size`` RGB image; returns a uint8 array [size, size, 3].

    The scene is painted at 1x (2x for sizes up to 48), brushed with strokes at 2x (4x) and area-downsampled.
    Raises ``UserError`` for a size outside ``MIN_SIZE``..``MAX_SIZE``.
    """
    size = _check_size(size)
    p = params
    ss = _supersample(size)
    hi = size * ss
    res = hi // 2
    rng = np.random.default_rng(p.detail_seed)
    base, land, near, cloud, sun_a, trees = _paint_scene(p, res, rng)
    out = _brush(base, p, rng, land, near, hi)
    if trees is not None:  # keep tree silhouettes readable through the strokes
        a = cv2.resize(trees, (hi, hi), interpolation=cv2.INTER_LINEAR)[..., None] * 0.5
        out += a * (cv2.resize(base, (hi, hi), interpolation=cv2.INTER_LINEAR) - out)
    if sun_a is not None:  # the sun or moon shines through the paint
        a = cv2.resize(sun_a, (hi, hi), interpolation=cv2.INTER_LINEAR)[..., None] * 0.7
        out += a * (np.asarray(p.sun_color, np.float32) - out)
    if p.stars:  # crisp on the night sky, never over land, water or clouds
        top = min(p.horizon, p.water_level) * 0.85
        star = np.array([250, 248, 230], np.float32)
        r = max(1, ss // 2)
        for _ in range(p.stars):
            sx, sy, b = rng.uniform(0, 1), rng.uniform(0, top), float(rng.uniform(0.45, 1.0))
            bx, by = int(sx * res), int(sy * res)
            if land[by, bx] > 0.1 or (cloud is not None and cloud[by, bx] > 0.15):
                continue
            x, y = int(sx * hi), int(sy * hi)
            out[y:y + r, x:x + r] += b * (star - out[y:y + r, x:x + r])
    small = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(small + 0.5, 0, 255).astype(np.uint8)


def _paint_scene(p: LandscapeParams, res: int, rng: np.random.Generator):
    """Paint the smooth scene at ``res`` x ``res``.

    Returns ``(image float32 [res,res,3], land alpha, near-ground alpha, cloud density or None, sun alpha or None,
    tree alpha or None)``.
    """
    h = w = res
    yy = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
    xx = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]

    # sky gradient
    stops_y = [0.0, p.mid_pos * p.horizon, p.horizon, 1.0]
    cols = np.array([p.sky_top, p.sky_mid, p.sky_horizon, p.sky_horizon], np.float32)
    sky = np.stack([np.interp(yy[:, 0], stops_y, cols[:, c]) for c in range(3)], axis=1).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = sky[:, None, :]

    # glow, sun or moon
    d = np.sqrt((xx - p.sun_x) ** 2 + (yy - p.sun_y) ** 2)  # in image heights
    glow = None
    if p.glow_strength > 0:
        g = p.glow_strength * (0.7 * np.exp(-(d / p.glow_radius) ** 2) + 0.3 * np.exp(-d / p.glow_radius))
        glow = np.minimum(g, 1.0).astype(np.float32)
        img += glow[..., None] * (np.asarray(p.glow_color, np.float32) - img)
    sun_a = None
    if p.sun_visible:
        sun_a = np.clip((p.sun_radius - d) * h + 0.5, 0, 1).astype(np.float32)
        if p.crescent:
            d2 = np.sqrt((xx - p.sun_x - p.crescent * p.sun_radius) ** 2
                         + (yy - p.sun_y + 0.3 * p.sun_radius * abs(p.crescent)) ** 2)
            sun_a *= 1 - np.clip((p.sun_radius * 0.95 - d2) * h + 0.5, 0, 1)
        img += sun_a[..., None] * (np.asarray(p.sun_color, np.float32) - img)

    # clouds: top-lit blobs, warmed near the sun
    cloud = None
    if p.clouds:
        cloud = _cloud_density(p, rng, h, w)
        shift = max(1, h // 40)
        above = np.empty_like(cloud)
        above[shift:] = cloud[:-shift]
        above[:shift] = cloud[:1]
        lit = np.clip(0.45 + 2.5 * (cloud - above), 0, 1)[..., None]
        light = np.asarray(p.cloud_light, np.float32)
        dark = np.asarray(p.cloud_dark, np.float32)
        ccol = dark + lit * (light - dark)
        if glow is not None:
            ccol += (0.5 * glow)[..., None] * (np.asarray(p.glow_color, np.float32) - ccol)
        img += cloud[..., None] * (ccol - img)
        if sun_a is not None:
            sun_a *= 1 - cloud

    # hills and mountains, far to near, with valley mist and sun-facing light
    land = np.zeros((h, w), np.float32)
    near = np.zeros((h, w), np.float32)
    trees = None
    haze = np.asarray(p.haze, np.float32)
    n = len(p.layers)
    patches = cv2.resize(rng.normal(0.0, 1.0, (5, 7)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    for k, layer in enumerate(p.layers):
        depth = k / max(1, n - 1)
        ridge = _ridge(layer, w).astype(np.float32)
        below = yy - ridge[None, :]
        a = np.clip(below * h + 0.5, 0, 1)
        field = np.empty((h, w, 3), np.float32)
        field[:] = np.asarray(layer.color, np.float32)
        if layer.kind == "mountains":
            slope = np.gradient(ridge) * w  # dy/dx in heights per width
            side = np.sign(p.sun_x - xx[0])
            light = np.tanh(-slope * side * 3.0)[None, :] * np.exp(-np.maximum(below, 0) / 0.12)
            field *= (1 + 0.22 * light)[..., None]
            if layer.snow:
                snow_line = layer.base - layer.amp * (1 - layer.snow) + 0.02 * _smooth_noise(rng, w, 30)
                snow = np.clip((snow_line[None, :] - yy) * h * 0.7, 0, 1)
                snow_col = np.asarray(p.sky_horizon, np.float32) * 0.3 + 255 * 0.7
                snow_col = snow_col * 0.75 + haze * 0.25
                snow_field = snow_col * (0.85 + 0.15 * light)[..., None]  # shaded on the side away from the sun
                field += snow[..., None] * (snow_field - field)
        field *= (1 + (0.04 + 0.08 * depth) * patches)[..., None]  # light and shade across the slopes
        if layer.mist:
            m = np.clip(below / 0.14, 0, 1) * layer.mist
            field += m[..., None] * (haze - field)
        if k == n - 1 and not p.water:
            field *= (1 - 0.3 * np.clip(below / max(1e-3, 1 - layer.base), 0, 1))[..., None]
            near = a
        img += a[..., None] * (field - img)
        land += a * (1 - land)
        if p.trees and k == p.tree_layer:
            before = img.copy()
            _draw_trees(img, p, ridge, depth, rng)
            trees = np.clip(np.abs(img - before).max(axis=2) / 8.0, 0, 1)
            land = np.maximum(land, trees)

    if sun_a is not None:
        sun_a *= 1 - land
    # water: mirrored, rippled, darkened reflection
    if p.water:
        wl = int(round(p.water_level * h))
        rows = np.arange(wl, h, dtype=np.float32)
        t = (rows - wl) / max(1, h - wl)
        amp = p.ripple * h * (0.006 + 0.025 * t)
        wob = amp * (np.sin(rows * 0.9 + rng.uniform(0, 6.3)) + 0.6 * rng.normal(0, 1, rows.size))
        src_y = np.clip(2 * wl - rows - 1 + 0.3 * amp * rng.normal(0, 1, rows.size), 0, h - 1)
        map_x = (np.arange(w, dtype=np.float32)[None, :] + wob[:, None]).astype(np.float32)
        map_y = np.broadcast_to(src_y[:, None], map_x.shape).astype(np.float32)
        refl = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        dark = (p.water_dark + (1 - p.water_dark) * 0.45 * t)[:, None, None]
        refl = refl * 0.9 + dark * (np.asarray(p.water_color, np.float32) - refl * 0.9)
        img[wl:] = refl
        if p.sun_visible and p.sun_y < p.water_level:  # glitter path under the sun or moon
            width = p.sun_radius * (1.0 + 3.0 * t)[:, None]
            gx = np.exp(-((xx - p.sun_x) / width) ** 2)
            streak = (0.35 + 0.65 * rng.random(rows.size) ** 1.5) * (1 - 0.5 * t)
            strength = 0.75 if p.label in (0, 2) else 0.55
            g = (strength * gx * streak[:, None]).astype(np.float32)
            img[wl:] += g[..., None] * (np.asarray(p.sun_color, np.float32) - img[wl:])
        img[wl:wl + max(1, h // 96)] *= 0.8  # shoreline
        land[wl:] = 0
        if sun_a is not None:
            sun_a[wl:] = 0
        if p.shore:
            x = xx[0] if p.shore_side > 0 else 1 - xx[0]
            reach = rng.uniform(0.35, 0.75)
            s = np.clip(1 - x / reach, 0, 1) ** 0.7
            prof = 1.0 - p.shore * (0.15 + s) + 0.012 * _smooth_noise(rng, w, 20) + 0.05 * (s <= 0)
            a = np.clip((yy - prof[None, :]) * h + 0.5, 0, 1)
            scol = np.asarray(p.shore_color, np.float32)
            sfield = scol * (1 - 0.3 * np.clip((yy - prof[None, :]) / 0.2, 0, 1))[..., None]
            img += a[..., None] * (sfield - img)
            land = np.maximum(land, a)
            near = a
    return img, land, near, cloud, sun_a, trees


def _brush(base: np.ndarray, p: LandscapeParams, rng: np.random.Generator, land: np.ndarray, near: np.ndarray,
           hi: int) -> np.ndarray:
    """Impressionist pass at ``hi`` x ``hi``: most pixels become short strokes of jittered colour sampled from
    ``base`` under each stroke's centre; nearly horizontal strokes on sky and water, mixed ones on land."""
    res = base.shape[0]
    parts = []
    for family in ("sky", "land"):
        ids, shade, cx, cy, jit, noise, pick = _stroke_map(hi, family, int(rng.integers(_STROKE_VARIANTS)))
        m = ids.shape[0]
        oy, ox = int(rng.integers(0, m - hi + 1)), int(rng.integers(0, m - hi + 1))
        ids_c = ids[oy:oy + hi, ox:ox + hi]
        sh_c = shade[oy:oy + hi, ox:ox + hi]
        px = np.clip(cx - ox, 0, hi - 1)
        py = np.clip(cy - oy, 0, hi - 1)
        if rng.random() < 0.5:
            ids_c, sh_c, px = ids_c[:, ::-1], sh_c[:, ::-1], hi - 1 - px
        bx, by = px * res // hi, py * res // hi
        col = base[by, bx]
        k = p.stroke_jitter * (0.8 if family == "sky" else 1.0)
        amt = np.minimum(col @ np.full((3, 1), 0.7 * k / 450, np.float32), 0.7 * k) + 0.3 * k
        col = col + amt * noise
        if family == "land" and p.flowers:
            fl = (pick < p.flowers) & (near[by, bx] > 0.5) & (by > res * 0.05 + p.layers[-1].base * res)
            if fl.any():
                fc = np.asarray(p.flower_colors, np.float32)[(pick[fl] * 1e4).astype(int) % 2]
                col[fl] = fc + 10 * jit[fl]
        parts.append((ids_c, sh_c, col.astype(np.float32)))
    (ids_s, sh_s, col_s), (ids_l, sh_l, col_l) = parts
    if res != hi:
        base = cv2.resize(base, (hi, hi), interpolation=cv2.INTER_LINEAR)
        land = cv2.resize(land, (hi, hi), interpolation=cv2.INTER_LINEAR)
    is_land = land > 0.5
    idx = np.where(is_land, ids_l, ids_s)
    shade = np.where(is_land, sh_l, sh_s)[..., None]
    palette = np.concatenate([col_s, col_l])
    out = palette[idx]
    out -= base
    out *= p.stroke_alpha
    out += base
    out *= shade
    return out


# --------------------------------------------------------------------------------------------- convenience
def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise UserError(f"image size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}", field="size")
    return int(size)


def _rng(seed: Seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise UserError(f"seed must be a non-negative integer (or a sequence of them), got {seed!r}",
                        field="seed") from exc


def _check_label(label) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(LANDSCAPE_CLASSES):
        raise UserError(f"label must be an integer from 0 to {len(LANDSCAPE_CLASSES) - 1} "
                        f"({', '.join(LANDSCAPE_CLASSES)}), got {label!r}", field="label")
    return int(label)


def landscape_params(seed: Seed, label: int | None = None) -> LandscapeParams:
    """The parameters of the landscape of ``seed`` (an int >= 0 or a tuple of them), optionally forcing ``label``;
    returns ``LandscapeParams`` (``sample_params(np.random.default_rng(seed), label)``)."""
    return sample_params(_rng(seed), label)


def landscape_with_label(seed: Seed, size: int = 64, label: int | None = None) -> tuple[np.ndarray, int]:
    """Render the landscape of ``seed`` (an int >= 0 or a tuple of them) at ``size``; ``label`` forces the class.

    Returns ``(image, label)``: uint8 [size, size, 3] RGB and the index of its class in ``LANDSCAPE_CLASSES``.
    """
    params = landscape_params(seed, label)
    return render_landscape(params, size), params.label


def landscape(seed: Seed, size: int = 64, label: int | None = None) -> np.ndarray:
    """Render the landscape of ``seed`` (an int >= 0 or a tuple of them); returns uint8 [size, size, 3] RGB."""
    return landscape_with_label(seed, size, label)[0]


def batch_seed(seed: int, index: int) -> tuple[int, int]:
    """The per-image seed of image ``index`` in a batch or dataset made with ``seed``: ``(seed, index)``.

    Batches from different seeds share no images (unlike ``seed + index`` numbering).
    """
    return (int(seed), int(index))


def batch_label(index: int, balanced: bool) -> int | None:
    """The forced class of image ``index`` of a batch: ``index % 4`` when ``balanced``, else None (drawn)."""
    return int(index) % len(LANDSCAPE_CLASSES) if balanced else None


def landscape_batch(n: int, size: int = 64, seed: int = 0, with_labels: bool = False, balanced: bool = True):
    """Render ``n`` landscapes; image ``i`` is ``landscape(batch_seed(seed, i), size, batch_label(i, balanced))``.

    With ``balanced`` (the default) the classes cycle dawn, day, dusk, night, so every class appears once ``n >= 4``.
    Returns a uint8 array [n, size, size, 3]; with ``with_labels=True`` returns ``(images, labels)`` where
    labels is int64 [n].
    """
    n = check_count(n, minimum=0)
    size = _check_size(size)
    out = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    for i in range(n):
        out[i], labels[i] = landscape_with_label(batch_seed(seed, i), size, batch_label(i, balanced))
    return (out, labels) if with_labels else out


def check_count(n, minimum: int = 1, field: str = "n") -> int:
    """Validate an image count; returns it as int or raises ``UserError`` naming ``field``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise UserError(f"number of images must be an integer >= {minimum}, got {n!r}", field=field)
    return int(n)
