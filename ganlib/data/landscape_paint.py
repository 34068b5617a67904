"""Painting ``LandscapeParams`` into pixels: sky, sun or moon, clouds, hills, water, trees and flowers, then a
brush-stroke pass drawn at 2x or 4x and area-downsampled. Numpy + OpenCV, deterministic for the same params.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from ganlib.data.landscape_params import HillLayer, LandscapeParams, check_size

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
    size = check_size(size)
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
