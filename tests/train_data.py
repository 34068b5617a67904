"""Settings that keep the training tests tiny; the data itself is conftest's ``train_data`` fixture."""
from __future__ import annotations

# Settings that keep every KIND tiny: 32 px, batch 4, a few channels, no periodic checkpoints.
TINY = {"resolution": 32, "batch_size": 4, "sample_count": 4, "checkpoint_every": 0, "eval_every": 0}
TINY_KIND = {
    "dcgan": {"ngf": 4, "ndf": 4},
    "dcgan-mod": {"ngf": 4, "ndf": 4},
    "wgan": {"ngf": 4, "ndf": 4, "n_critic": 2},
    "wgan-gp": {"arch": "mlp", "hidden": 16, "layers": 2, "resolution": 16, "n_critic": 2},
    "cgan": {"ngf": 4, "ndf": 4, "embed_dim": 4},
    "mse": {"ngf": 4, "embed_dim": 8},
    "autoencoder": {"width": 4, "code_dim": 8},
    "classifier": {"width": 4},
    "stylegan2": {"channel_base": 128, "channel_max": 8, "z_dim": 8, "w_dim": 8, "mapping_layers": 1,
                  "r1_interval": 2, "pl_interval": 2},
}


def tiny(kind: str, **extra) -> dict:
    """Return overrides that make ``kind`` tiny (plus ``extra``)."""
    return {**TINY, **TINY_KIND[kind], **extra}
