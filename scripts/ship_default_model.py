"""Ship a trained run as builtin:default: copy its EMA generator to presets/models/default.safetensors (with the
provenance completed), write the model card presets/models/default.md and the README images.

Usage: python scripts/ship_default_model.py RUN_DIR --fid FID.jsonl

``FID.jsonl`` holds the lines ``benchmarks/default_model_fid.py builtin:default RUN_DIR/checkpoint.safetensors``
printed (plus, optionally, a line for the run's checkpoint at ``--seed-start 1000``: the sample noise), so the card
records the FID of the file it replaces and of the new one under the same protocol. A run that continued
``builtin:default`` (``init: builtin:default``) keeps the shipped file's training history as its first stage.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ("1000 generated images (G_ema, seeds 0–999, truncation 1) vs 1000 held-out procedural landscapes "
            "(dataset seed 1; training used seed 0, so no image is shared), offline FID Inception of the `fid` "
            "extra with clean-fid resizing: `python benchmarks/default_model_fid.py builtin:default`, or "
            "`studio metrics fid kid --real procedural:1000:1 --model builtin:default --num 1000`")
# What the card records of each training stage.
STAGE_KEYS = ("trained_by", "steps", "images_seen", "training_wall_clock_hours", "date", "hardware")


def read_fid(path: Path, run_ckpt: Path) -> dict:
    """Return {"before": line, "after": line, "after_noise": line or None} from default_model_fid.py's output."""
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    before = [x for x in lines if x["model"] == "builtin:default" and x["seed_start"] == 0]
    ours = [x for x in lines if x["model"] != "builtin:default" and Path(x["model"]).resolve() == run_ckpt.resolve()]
    after = [x for x in ours if x["seed_start"] == 0]
    noise = [x for x in ours if x["seed_start"] != 0]
    if not before or not after:
        raise SystemExit(f"{path}: needs lines for builtin:default and {run_ckpt} at seed_start 0")
    return {"before": before[0], "after": after[0], "after_noise": noise[0] if noise else None}


def stage_text(prov: dict, cfg: dict) -> str:
    """One sentence on how the run of provenance ``prov`` (settings ``cfg``) trained."""
    if prov.get("trained_by") == "ganlib.train.stylegan2_loop":
        return (f"{prov['steps']} steps of the earlier StyleGAN2 loop (`ganlib.train.stylegan2_loop`, since replaced "
                "by the `stylegan2` Task of the shared loop): Adam lr 0.0025, batch 16, "
                f"{prov.get('training_wall_clock_hours')} h")
    warm = cfg.get("d_warmup_steps") or 0
    return (f"{prov['steps']} steps of the `stylegan2` Task of the shared TrainLoop from those weights "
            f"(`init: {prov.get('init')}`): a new D trained alone for {warm} steps against the frozen G, then "
            f"G and D together; Adam lr G {cfg.get('lr_g')} / D {cfg.get('lr_d')}, EMA {cfg.get('ema_kimg')} kimg, "
            f"batch {cfg.get('batch_size')}, {prov.get('training_wall_clock_hours')} h")


def main(argv: list[str] | None = None) -> None:
    """Export RUN_DIR/checkpoint.safetensors (a 'studio train stylegan2' run) as the default model with its card,
    FID record and preview images."""
    from ganlib.checkpoints import load_generator, save_generator
    from studio.batch import contact_sheet, seed_images
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--fid", required=True, help="default_model_fid.py output (JSON lines)")
    args = ap.parse_args(argv)
    run = Path(args.run_dir)
    ckpt = run / "checkpoint.safetensors"
    fid = read_fid(Path(args.fid), ckpt)
    m = load_generator(ckpt)
    prov = dict(m.provenance)
    cfg = dict(prov.get("config", {}))
    grids = sorted((run / "samples").glob("grid_*.png"), key=lambda p: p.stat().st_mtime)
    secs = grids[-1].stat().st_mtime - grids[0].stat().st_mtime if grids else 0.0  # first to last sample grid
    prov["training_wall_clock_hours"] = round(secs / 3600, 2)
    stages = []
    if prov.get("init") == "builtin:default":  # a continuation: the file it replaces is its first stage
        base = dict(load_generator("builtin:default").provenance)
        stages = list(base.get("stages") or [{k: base.get(k) for k in STAGE_KEYS}])
    stage = {k: prov.get(k) for k in (*STAGE_KEYS, "init")} | {"config": cfg}
    if stages and json.dumps(stages[-1], sort_keys=True) == json.dumps(stage, sort_keys=True):
        raise SystemExit(f"builtin:default already holds {ckpt} (its last training stage is this run's): restore the "
                         "file it replaced from git history (git log -- presets/models/default.safetensors) and run "
                         "again")
    stages.append(stage)
    if int(m.G.c_dim) == 0:  # an unconditional model: the landscapes' classes and features are not its labels
        prov.pop("class_names", None)
        prov.pop("features_dim", None)
    prov.update({"name": "default", "stages": stages,
                 "steps_total": sum(int(s["steps"]) for s in stages),
                 "images_seen_total": sum(int(s["images_seen"]) for s in stages),
                 "fid_1000": fid["after"]["fid"], "kid_1000": fid["after"]["kid"],
                 "data_generator": "ganlib.data.landscapes (procedural impressionist landscapes, 64 px)"})
    dst = ROOT / "presets" / "models" / "default.safetensors"
    save_generator(dst, m.G, m.arch, m.kwargs, prov)  # written under a temporary name, then renamed
    loaded = load_generator(dst)
    G = loaded.G
    n_params = sum(p.numel() for p in G.parameters())
    syn = dict(loaded.kwargs.get("synthesis_kwargs") or {})
    mapping = dict(loaded.kwargs.get("mapping_kwargs") or {})

    # Speed at native size, batch 8, this machine.
    with torch.no_grad():
        G(torch.randn(8, G.z_dim))
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

    before, after, noise = fid["before"], fid["after"], fid["after_noise"]
    noise_text = (f" A disjoint sample set (seeds {noise['seed_start']}–{noise['seed_start'] + noise['num_fake'] - 1}) "
                  f"scores {noise['fid']:.1f}: the sample noise." if noise else "")
    hours = sum(float(s.get("training_wall_clock_hours") or 0) for s in stages)
    card = f"""# builtin:default — impressionist landscapes, StyleGAN2 64 px

| | |
| --- | --- |
| architecture | StyleGAN2 generator, "skip" synthesis, {G.img_resolution}×{G.img_resolution} RGB; z_dim {G.z_dim}, w_dim {G.w_dim}, {G.num_ws} ws; mapping {mapping.get('num_layers', 8)} layers (lr multiplier 0.01); channel_base {syn.get('channel_base')}, channel_max {syn.get('channel_max')}; {n_params:,} parameters; fp32 |
| file | `presets/models/default.safetensors` ({dst.stat().st_size / 1e6:.1f} MB), Latent Studio format (safetensors + JSON config) |
| data | 12000 procedural "impressionist landscapes" (`procedural:12000`, dataset seed 0) rendered by `ganlib.data.landscapes` (sky gradients in dawn/day/dusk/night palettes, sun or moon with glow, layered hills with atmospheric perspective, water with rippled reflections, clouds, trees, brush-stroke texture), x-flipped at random |
| training | {'; then '.join(stage_text(s, s.get('config') or {}) for s in stages)}. Both: non-saturating logistic loss, lazy R1 (every 16 steps, gamma = 0.0002·res²/batch), generator EMA, style mixing p=0.5, betas (0, 0.99), no path-length regularisation, no augmentation |
| steps | {prov['steps_total']} steps in all, {prov['images_seen_total']:,} images shown to D, {hours:.2f} h wall clock |
| hardware | {stages[-1].get('hardware')} (2 CPU cores, no GPU) |
| date | {prov.get('date')} |
| FID / KID | **FID {after['fid']:.1f}**, KID {after['kid']:.3f} (the file it replaced: FID {before['fid']:.1f}, KID {before['kid']:.3f}, measured in the same run). Protocol: {PROTOCOL}.{noise_text} |
| speed | {fps:.0f} images/s at 64 px, batch 8, on the machine that exported it (2 CPU cores) |
| recipe | `studio train stylegan2 --data procedural:12000 --config presets/train/default-model.yaml --out runs/default`, then `studio train stylegan2 --data procedural:12000 --config presets/train/default-model-continue.yaml --init runs/default/checkpoint.safetensors --out runs/default-continue --set steps={stages[-1]['steps']}` (the preset's `init: builtin:default` continues this file instead; `--resume` continues a stopped run); how the continuation's D warm-up and lr_g were chosen, with the FID of each trial: [docs/training.md](../../docs/training.md#continuing-the-default-model) |
| licence | weights and data made entirely by this project's code |

Seeds 0–15 at truncation 1:

![seeds 0-15](../../docs/images/default_grid.png)

Limits: 64 px only (the demo upscales); trained for about {hours:.0f} hours on a CPU, so textures are soft and some
seeds are muddy; use truncation 0.6–0.8 for the cleanest images.
"""
    (ROOT / "presets" / "models" / "default.md").write_text(card)
    print(json.dumps({"fps": fps, "params": n_params, "steps_total": prov["steps_total"],
                      "fid_before": before["fid"], "fid_after": after["fid"]}, indent=1))


if __name__ == "__main__":
    main()
