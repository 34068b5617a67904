"""Random image batches by seed (``studio random``) and contact sheets (``studio grid``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from ganlib.checkpoints import LoadedModel
from ganlib.errors import UserError
from studio.render import has_w_space, make_condition, to_uint8
from studio.seeds import seed_to_z


def seed_images(model: LoadedModel, seeds: Sequence[int], *, truncation: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const", class_idx: int | None = None,
                batch: int = 8, mix_seed: int | None = None, mix_layers: Sequence[int] | None = None,
                dtype: str = "auto") -> Iterator[tuple[int, np.ndarray]]:
    """Yield (seed, uint8 H×W×3 image) for each seed: z from ``RandomState(seed)``, pixels as NVlabs converts them.

    ``noise_mode`` 'random' draws noise from a generator seeded by the image's seed, so results are repeatable.
    ``mix_seed``/``mix_layers`` replace those w layers by the mixing seed's (style mixing). ``dtype`` is the synthesis
    precision (see ``studio.render.precision_context``; 'auto' matches NVlabs: fp16 layers on GPU, fp32 on CPU).
    """
    from studio.render import precision_context
    G = model.G
    if noise_mode not in ("const", "random", "none"):
        raise UserError(f"unknown noise mode {noise_mode!r}; allowed: const, random, none", field="--noise-mode")
    if G.c_dim and getattr(G, "cond_kind", "label") == "label":
        if class_idx is None:
            raise UserError(f"this model is conditional with {G.c_dim} classes: give --class 0..{G.c_dim - 1}",
                            field="--class")
    elif class_idx is not None:
        raise UserError("this model is not class-conditional; leave out --class", field="--class")
    if mix_seed is not None and not has_w_space(G):
        raise UserError("style mixing needs a StyleGAN2-style model with a w space", field="--mix-seed")
    c_vec = make_condition(G, class_idx, None, where="--class") if G.c_dim else None
    dev = next(G.parameters()).device
    for i in range(0, len(seeds), batch):
        chunk = list(seeds[i:i + batch])
        z = torch.from_numpy(np.stack([seed_to_z(s, G.z_dim) for s in chunk])).float().to(dev)
        c = torch.from_numpy(np.stack([c_vec] * len(chunk))).float().to(dev) if c_vec is not None else None
        with torch.no_grad():
            if has_w_space(G):
                cc = c if c is not None else torch.zeros([len(chunk), G.c_dim], device=dev)
                ws = G.mapping(z, cc, truncation_psi=truncation, truncation_cutoff=truncation_cutoff)
                if mix_seed is not None:
                    zm = torch.from_numpy(seed_to_z(mix_seed, G.z_dim)).float().to(dev).reshape(1, -1)
                    wm = G.mapping(zm.repeat(len(chunk), 1), cc, truncation_psi=truncation,
                                   truncation_cutoff=truncation_cutoff)
                    idx = list(mix_layers) if mix_layers is not None else list(range(G.num_ws // 2, G.num_ws))
                    ws[:, idx] = wm[:, idx]
                noise = None
                if noise_mode == "random":
                    shapes = G.synthesis.noise_shapes()
                    per = []
                    for s in chunk:
                        gen = torch.Generator().manual_seed(int(s))
                        per.append([torch.randn([1, 1, h, w], generator=gen) for h, w in shapes])
                    noise = [torch.cat([p[j] for p in per]).to(dev) for j in range(len(shapes))]
                with precision_context(G, dtype, dev):
                    images = G.synthesis(ws, noise_mode="none" if noise_mode == "none" else "const",
                                         noise_inputs=noise).float()
            else:
                with precision_context(G, dtype, dev):
                    images = G(z, c, truncation_psi=truncation).float()
        for s, img in zip(chunk, to_uint8(images)):
            yield s, img


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str], cols: int | None = None,
                  scale: int = 1) -> np.ndarray:
    """Return one uint8 image tiling ``images`` in a grid, each with its caption underneath."""
    from PIL import Image, ImageDraw, ImageFont
    n = len(images)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w = images[0].shape[:2]
    h, w = h * scale, w * scale
    pad, cap = 4, 14
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + cap + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (img, text) in enumerate(zip(images, captions)):
        r, c = divmod(i, cols)
        x, y = pad + c * (w + pad), pad + r * (h + cap + pad)
        tile = Image.fromarray(img)
        if scale != 1:
            tile = tile.resize((w, h), Image.NEAREST)
        sheet.paste(tile, (x, y))
        draw.text((x + 2, y + h + 1), text, fill=(220, 220, 220), font=font)
    return np.asarray(sheet)


def write_seed_images(model: LoadedModel, seeds: Sequence[int], out: Path, *, progress: bool = True,
                      on_progress: Callable[[int, int], None] | None = None, **kwargs) -> Path:
    """Write ``seedNNNN.png`` per seed into folder ``out`` or a ``.zip``; returns the output path."""
    from studio.sinks import open_sink
    out = Path(out)
    is_zip = out.suffix.lower() == ".zip"
    if out.suffix and not is_zip:
        raise UserError("--out must be a folder or a .zip file", field="--out")
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(seeds), desc=f"random {out.name}", unit="img", dynamic_ncols=True)
    try:
        if is_zip:
            with open_sink(out, fps=1) as sink:
                for k, (seed, img) in enumerate(seed_images(model, seeds, **kwargs)):
                    sink.write(img, name=f"seed{seed:04d}.png")
                    if bar is not None:
                        bar.update(1)
                    if on_progress:
                        on_progress(k + 1, len(seeds))
                return sink.close()
        from PIL import Image
        from ganlib.io_utils import atomic_path
        out.mkdir(parents=True, exist_ok=True)
        for k, (seed, img) in enumerate(seed_images(model, seeds, **kwargs)):
            with atomic_path(out / f"seed{seed:04d}.png") as tmp:
                Image.fromarray(img).save(tmp, format="PNG")
            if bar is not None:
                bar.update(1)
            if on_progress:
                on_progress(k + 1, len(seeds))
        return out
    finally:
        if bar is not None:
            bar.close()
