"""Ship a trained run as builtin:default: copy its EMA generator to presets/models/default.safetensors (with the
provenance completed), write the model card presets/models/default.md and the README images.

Usage: python scripts/ship_default_model.py RUN_DIR
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def main(run_dir: str) -> None:
    """Export RUN_DIR/checkpoint.safetensors (a 'studio train stylegan2' run) as the default model with its card and
    preview images."""
    from ganlib.checkpoints import load_generator, save_generator
    from studio.batch import contact_sheet, seed_images
    run = Path(run_dir)
    m = load_generator(run / "checkpoint.safetensors")
    prov = dict(m.provenance)
    grids = sorted((run / "samples").glob("grid_*.png"), key=lambda p: p.stat().st_mtime)
    secs = grids[-1].stat().st_mtime - grids[0].stat().st_mtime if grids else 0.0  # first to last sample grid
    prov.update({"name": "default", "training_wall_clock_hours": round(secs / 3600, 2),
                 "data_generator": "ganlib.data.landscapes (procedural impressionist landscapes, 64 px)"})
    dst = ROOT / "presets" / "models" / "default.safetensors"
    save_generator(dst, m.G, m.arch, m.kwargs, prov)
    loaded = load_generator(dst)
    G = loaded.G
    n_params = sum(p.numel() for p in G.parameters())

    # Speed at native size, batch 8, this machine.
    z = torch.randn(8, G.z_dim)
    with torch.no_grad():
        G(z)
        t0 = time.perf_counter()
        for _ in range(5):
            G(torch.randn(8, G.z_dim))
        fps = 40 / (time.perf_counter() - t0)

    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    pairs = list(seed_images(loaded, list(range(16)), truncation=1.0))
    from PIL import Image
    sheet = contact_sheet([p[1] for p in pairs], [f"seed {p[0]}" for p in pairs], cols=8, scale=2)
    Image.fromarray(sheet).save(images / "default_grid.png")

    # A looping GIF of the whole demo timeline for the README (128 px, 10 fps).
    from studio.render import render_timeline
    from studio.timeline import load_timeline
    demo = load_timeline(ROOT / "presets" / "timelines" / "demo.yaml")
    gif = demo.model_copy(update={"fps": 10, "size": 128})
    render_timeline(gif, out=images / "demo.gif", device="cpu", progress=False)

    cfg = prov.get("config", {})
    card = f"""# builtin:default — impressionist landscapes, StyleGAN2 64 px

| | |
| --- | --- |
| architecture | StyleGAN2 generator, "skip" synthesis, {G.img_resolution}×{G.img_resolution} RGB; z_dim {G.z_dim}, w_dim {G.w_dim}, {G.num_ws} ws; mapping {cfg.get('mapping_layers')} layers (lr multiplier 0.01); channel_base {cfg.get('channel_base')}, channel_max {cfg.get('channel_max')}; {n_params:,} parameters; fp32 |
| file | `presets/models/default.safetensors` ({dst.stat().st_size / 1e6:.1f} MB), Latent Studio format (safetensors + JSON config) |
| data | {prov.get('data')} procedural "impressionist landscapes" rendered by `ganlib.data.landscapes` (sky gradients in dawn/day/dusk/night palettes, sun or moon with glow, layered hills with atmospheric perspective, water with rippled reflections, clouds, trees, brush-stroke texture), x-flipped at random |
| training | `ganlib.train.stylegan2_task` (the shared TrainLoop): non-saturating logistic loss, lazy R1 (every {cfg.get('r1_interval')} steps, gamma = 0.0002·res²/batch), generator EMA, style mixing p={cfg.get('style_mixing_prob')}, Adam lr {cfg.get('lr_g')} betas (0, 0.99), batch {cfg.get('batch_size')} |
| steps | {prov.get('steps')} steps, {prov.get('images_seen'):,} images shown to D, {prov['training_wall_clock_hours']} h wall clock |
| hardware | {prov.get('hardware')} (2 CPU cores shared with other work; no GPU) |
| date | {prov.get('date')} |
| speed | {fps:.0f} images/s at 64 px, batch 8, on the machine that exported it (2 CPU cores) |
| recipe | `studio train stylegan2 --data procedural:12000 --config presets/train/default-model.yaml --out runs/default` |
| licence | weights and data made entirely by this project's code |

Seeds 0–15 at truncation 1:

![seeds 0-15](../../docs/images/default_grid.png)

Limits: 64 px only (the demo upscales); trained for about an hour on a CPU, so textures are soft and some seeds
are muddy; use truncation 0.6–0.8 for the cleanest images.
"""
    (ROOT / "presets" / "models" / "default.md").write_text(card)
    print(json.dumps({"fps": fps, "params": n_params, "steps": prov.get("steps")}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
