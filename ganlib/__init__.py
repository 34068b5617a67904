"""ganlib: GAN building blocks — ops, layers, networks, data, training, checkpoints and metrics."""
