"""Pre-training of the MLP feature encoder (an MLP autoencoder on the dataset's feature vectors, MSE loss); the
encoder is then frozen in front of a conditional generator (``ganlib.networks.mlp_encoder.EncodedGenerator``)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ganlib.networks.mlp_encoder import MLPEncoder, MLPFeatureAutoencoder


def pretrain_encoder(features: np.ndarray, enc_cfg, seed: int, progress: bool = False) -> tuple[MLPEncoder, float]:
    """Train an MLP autoencoder on ``features`` [N, F] for ``enc_cfg.steps`` Adam steps and return its encoder
    (frozen, eval mode, on CPU) and the final reconstruction MSE. Deterministic for a given ``seed``; global RNGs
    are left untouched."""
    x = torch.from_numpy(np.asarray(features, dtype=np.float32))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed * 7 + 3)
        model = MLPFeatureAutoencoder(x.shape[1], enc_cfg.hidden, enc_cfg.code_dim, enc_cfg.layers)
    opt = torch.optim.Adam(model.parameters(), lr=enc_cfg.lr)
    g = torch.Generator().manual_seed(seed * 7 + 5)
    bs = min(enc_cfg.batch_size, len(x))
    bar = None
    if progress:
        bar = tqdm(total=enc_cfg.steps, desc="encoder", unit="step", dynamic_ncols=True, leave=False)
    loss = torch.tensor(0.0)
    for _ in range(enc_cfg.steps):
        idx = torch.randint(0, len(x), (bs,), generator=g)
        loss = F.mse_loss(model(x[idx]), x[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    with torch.no_grad():
        final = float(F.mse_loss(model(x), x))
    enc = model.encoder.eval().requires_grad_(False)
    return enc, final
