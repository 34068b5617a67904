"""Low-level ops of StyleGAN2: FIR resampling (upfirdn2d), fused bias + activation (bias_act), resampling conv.

Each op has a reference PyTorch implementation; custom CUDA kernels are used where available (see ``backend``).
"""
